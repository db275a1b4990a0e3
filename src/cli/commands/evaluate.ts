// wasmgrad eval: a checkpoint's loss and metrics on the test split of a dataset, with precision, recall,
// F1 and the confusion matrix for classifiers.

import type { CAC } from "cac";
import { numberFlag, stringFlag } from "../options";
import { loadCheckpointWithText } from "../sources";
import { checkSplitFitsModel, resolveTrainingData, targetsFor } from "../training-data";
import { ConfusionMatrix, predictedClass, RegressionSums } from "../../model/metrics";
import { writeSync } from "node:fs";
import { describeTarget } from "../../data/table-dataset";
import { targetScaling } from "../table-models";
import { InputError } from "../../errors";
import { displayText } from "../../io/display";
import { writeOut } from "../output";

export function registerEvaluate(cli: CAC): void {
  cli
    .command("eval <checkpoint>", "Evaluate a saved model on the test split: metrics, and the confusion matrix for classifiers")
    .option("--data <embedded|dir|file.csv>", "'embedded', a folder of MNIST-layout IDX files, or a CSV table", { default: "embedded" })
    .option("--target <column>", "For CSV data: the column the model predicts")
    .option("--text-column <column>", "For a text model on a CSV: the column of texts")
    .option("--test-split <fraction>", "For CSV data: the held-out fraction, as in training (same seed, same rows)", { default: 0.2 })
    .option("--strict", "For CSV data: refuse missing cells instead of filling them as in training")
    .option("--batch-size <n>", "Samples per forward pass", { default: 256 })
    .option("--json", "Print the metrics (and the confusion matrix) as JSON")
    .example("wasmgrad eval mlp.wgd --data /usr/share/datasets/fashion-mnist")
    .example("wasmgrad eval iris.wgd --data iris.csv --target species")
    .action(async (checkpoint: string, flags: { data: string; target?: string; textColumn?: string; testSplit: unknown; batchSize: unknown; json?: boolean; strict?: boolean }) => {
      const batchSize = numberFlag(flags.batchSize, "batch-size", { min: 1, max: 65536, integer: true });
      const testSplit = numberFlag(flags.testSplit, "test-split", { min: 0.01, max: 0.9 });
      const { model, text, table } = loadCheckpointWithText(checkpoint);
      if (!model.loss) throw new InputError(`${displayText(checkpoint)} holds no training configuration (loss), so it cannot be evaluated`);
      if (table && !String(flags.data).toLowerCase().endsWith(".csv")) throw new InputError(`${displayText(checkpoint)} was trained on a table: give one with --data file.csv`);
      const data = await resolveTrainingData(stringFlag(flags.data, "data"), {
        target: flags.target ?? table?.target, testSplit, seed: model.seed, textColumn: flags.textColumn, preprocessing: text, table: table ? { trained: table, strict: flags.strict === true } : undefined,
      });
      if (data.text && !text) throw new InputError(`${displayText(checkpoint)} is not a text model, but --data holds text`);
      if (flags.strict && data.kind !== "table") throw new InputError("--strict is for CSV tables");
      const scaled = targetScaling(model) ? "; loss: the squared error over the target's training variance (MAE and RMSE are in its units)" : "";
      if (table) for (const note of [describeTarget(table) + scaled, ...(data.notes ?? [])]) writeSync(2, note + "\n");
      checkSplitFitsModel(model, data.test, data.source);
      const targets = targetsFor(data.test, model, data.source);
      const metrics = model.evaluate(data.test.x, targets, { batchSize });
      const outputs = model.outputShape.reduce((a, b) => a * b, 1);
      const classifier = model.loss.head !== "none" || model.loss.sparse;
      let confusion: ConfusionMatrix | undefined;
      if (classifier) {
        const predictions = model.predictAll(data.test.x, { batchSize })[0].data;
        const truth = targets instanceof Int32Array ? targets : Int32Array.from({ length: data.test.count }, (_, r) => predictedClass(targets, r, outputs));
        confusion = ConfusionMatrix.fromOutputs(predictions, truth, outputs);
        Object.assign(metrics, confusion.summary());
      } else if (targets instanceof Float32Array && targets.length === data.test.count * outputs) {
        // A regression: MAE, RMSE and R² beside the loss, whatever metrics the model was trained with.
        const predictions = model.predictAll(data.test.x, { batchSize })[0].data;
        const sums = new RegressionSums(outputs);
        sums.add(predictions, targets, data.test.count);
        let absolute = 0;
        for (let i = 0; i < targets.length; i++) absolute += Math.abs(predictions[i] - targets[i]);
        Object.assign(metrics, { mae: absolute / targets.length, rmse: sums.rmse(), r2: sums.r2() });
      }
      const classNames = text?.classNames ?? table?.classNames;
      if (flags.json) {
        const matrix = confusion && Array.from({ length: confusion.classes }, (_, t) => Array.from(confusion!.counts.subarray(t * confusion!.classes, (t + 1) * confusion!.classes)));
        writeOut(JSON.stringify({ checkpoint, data: data.source, samples: data.test.count, ...(table ? { task: table.task } : {}), ...metrics, ...(matrix ? { confusionMatrix: matrix } : {}), ...(classNames ? { classNames } : {}) }, null, 2) + "\n");
        return;
      }
      writeOut(`${Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  ")}  (${data.test.count} samples of ${data.source})\n`);
      if (confusion && confusion.classes <= 20) writeOut(`confusion matrix (rows: true class, columns: predicted${classNames ? `; classes ${classNames.map((c, i) => `${i} ${displayText(c, 40)}`).join(", ")}` : ""}):\n${confusion.format(table?.classNames)}\n`);
    });
}
