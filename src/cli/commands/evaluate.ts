// wasmgrad eval: a checkpoint's loss and metrics on the test split of a dataset.

import type { CAC } from "cac";
import { toFloatImages } from "../../data/image-dataset";
import { numberFlag, stringFlag } from "../options";
import { checkDataFitsModel, loadCheckpoint, resolveData } from "../sources";
import { InputError } from "../../errors";

export function registerEvaluate(cli: CAC): void {
  cli
    .command("eval <checkpoint>", "Evaluate a saved model on the test split")
    .option("--data <embedded|dir>", "'embedded' or a folder of MNIST-layout IDX files", { default: "embedded" })
    .option("--batch-size <n>", "Samples per forward pass", { default: 256 })
    .option("--json", "Print the metrics as JSON")
    .example("wasmgrad eval mlp.wgd --data /usr/share/datasets/fashion-mnist")
    .action(async (checkpoint: string, flags: { data: string; batchSize: unknown; json?: boolean }) => {
      const batchSize = numberFlag(flags.batchSize, "batch-size", { min: 1, max: 65536, integer: true });
      const model = loadCheckpoint(checkpoint);
      if (!model.loss) throw new InputError(`${checkpoint} holds no training configuration (loss), so it cannot be evaluated`);
      const data = await resolveData(stringFlag(flags.data, "data"));
      checkDataFitsModel(model, data.test, data.source);
      const metrics = model.evaluate(toFloatImages(data.test), data.test.labels, { batchSize });
      if (flags.json) {
        process.stdout.write(JSON.stringify({ checkpoint, data: data.source, samples: data.test.count, ...metrics }, null, 2) + "\n");
      } else {
        process.stdout.write(`${Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  ")}  (${data.test.count} samples of ${data.source})\n`);
      }
    });
}
