// wasmgrad train: build a model (built-in or JSON), train it on the embedded sample or an IDX folder,
// report per-epoch metrics and the test accuracy, and optionally save a checkpoint.

import { writeSync } from "node:fs";
import type { CAC } from "cac";
import { ImageAugmenter } from "../../data/augmentation";
import { importOnnx } from "../../onnx/import";
import { parseInputShapeFlag } from "../input-shape-flag";
import type { Model } from "../../model/model";
import type { LossSpec } from "../../model/losses";
import { trainingCurvesSvg } from "../training-curves";
import { checkSplitFitsModel, resolveTrainingData, targetsFor, type TableOptions, type TrainingData } from "../training-data";
import { encodeCheckpoint } from "../../model/checkpoint";
import { buildModel, recipeOf, tasksOf, withHiddenLayers, type ModelFile } from "../../model/model-file";
import { describeTask, isTask, TASKS, type Task } from "../../model/tasks";
import { describeTarget } from "../../data/table-dataset";
import { adaptInputNormalization, adaptTargetScaling, rawCoefficients, targetScaling, withTableNormalization } from "../table-models";
import { optimizerFromConfig, OPTIMIZERS } from "../../optimizers/registry";
import { checkSaveTarget, writeFileAtomic } from "../../io/atomic-file";
import { cosineDecay, ReduceLearningRateOnPlateau, scheduleFromConfig, stepDecay, WarmupCosineDecay, type Schedule } from "../../model/schedules";
import { EarlyStopping } from "../../model/early-stopping";
import { DivergenceError, InputError, UsageError, didYouMean } from "../../errors";
import type { Callback } from "../../model/callbacks";
import { numberFlag, optionalNumberFlag, optionalPathFlag, stringFlag } from "../options";
import { ProgressBar } from "../progress";
import { loadCheckpointWithText, readInputFile, resolveModelFile } from "../sources";
import { TextVectorizer, type TextVectorizerConfig } from "../../data/text-vectorizer";
import type { NextCharTask } from "../../data/next-char";
import { displayText } from "../../io/display";
import { writeOut } from "../output";

interface TrainFlags {
  model: string;
  from?: string;
  inputShape?: unknown;
  freeze?: unknown;
  data: string;
  target?: string;
  textColumn?: string;
  maxTokens?: unknown;
  sequenceLength?: unknown;
  split?: string;
  task?: string;
  context?: unknown;
  categorical?: unknown;
  ignore?: unknown;
  strict?: boolean;
  normalize: boolean;
  hidden?: unknown;
  testSplit: unknown;
  augment?: string;
  plot?: string;
  epochs?: unknown;
  batchSize?: unknown;
  optimizer?: string;
  lr?: unknown;
  lrDecay?: unknown;
  lrSchedule?: string;
  lrPatience: unknown;
  warmupSteps?: unknown;
  seed: unknown;
  validationSplit: unknown;
  save?: string;
  checkpointEvery?: unknown;
  patience?: unknown;
  monitor: string;
  resume?: string;
  json?: boolean;
  progress: boolean;
}

export function registerTrain(cli: CAC): void {
  cli
    .command("train", "Train a model and report train/validation/test metrics")
    .option("--model <name|file>", "mlp, mlp512, cnn, resnet, torch_mlp, linear, logistic (for tables: linear, logistic and the MLPs, sized from the data); for text text_cnn, text_bilstm, bow_logistic; or a model .json file (a chain, or a graph whose layers name their inputs)", { default: "mlp" })
    .option("--from <model.onnx>", "Start from an ONNX model's graph and weights instead (fine-tuning / transfer learning)")
    .option("--input-shape <dims>", "For --from: the per-sample input shape in the file's layout where it leaves sizes open, e.g. 3,224,224 (name=3,224,224 per input for several)")
    .option("--freeze <n>", "Keep the first n layers fixed (their weights are not trained)")
    .option("--data <embedded|dir|file.csv>", "'embedded' (the built-in MNIST sample), a folder of MNIST-layout IDX files, a CSV table, or text: a CSV with --text-column, or a folder with a sub-folder of .txt files per class", { default: "embedded" })
    .option("--target <column>", "For CSV data: the column to predict (every other column is a feature)")
    .option("--text-column <column>", "For CSV data holding text: the column of texts (the model learns --target from them)")
    .option("--max-tokens <n>", "For text: vocabulary size, the padding and out-of-vocabulary indices included (default: the model file's, else every token seen)")
    .option("--sequence-length <n>", "For text: tokens per text fed to the model, cut or padded (default: the model file's, else 200)")
    .option("--split <word|character>", "For text: split texts into words (default) or characters")
    .option("--task <binary|multiclass|regression|next-char>", "For CSV data: what to learn from --target (default: as the target says: words or up to 50 integers are classes, two values binary, other numbers a regression). next-char: a language model over a text file's lines (--data names.txt), predicting each character from the --context before it; then `wasmgrad generate`")
    .option("--categorical <columns>", "For CSV data: columns of numbers to read as categories (one-hot), e.g. --categorical zip,grade; columns of words always are")
    .option("--ignore <columns>", "For CSV data: columns that are not features (an id, free text)")
    .option("--strict", "For CSV data: refuse missing cells (\"\", NA, NaN, …) instead of filling them with the training rows' mean or most frequent category")
    .option("--no-normalize", "For CSV data: do not standardise: no Normalization layer in front of the model adapted to the training rows (nor, for a regression, an inverted one after it for the target)")
    .option("--hidden <widths>", "Hidden layer widths of an MLP, e.g. --hidden 64,32 (mlp, mlp512, torch_mlp, or a chain of Dense layers)")
    .option("--context <n>", "For --task next-char: characters of context (default 16)")
    .option("--test-split <fraction>", "For CSV data and text: rows held out (seeded shuffle) for the final test", { default: 0.2 })
    .option("--augment <spec>", "Augment training images, e.g. rotation=10,shift=0.1,zoom=0.1,elastic=34:4 (seeded)")
    .option("--plot <curves.svg>", "Write loss and metric curves per epoch as an SVG chart")
    .option("--epochs <n>", "Epochs to train (default: the model file's recipe)")
    .option("--batch-size <n>", "Samples per step (default: the model file's recipe)")
    .option("--optimizer <name>", `Optimizer: ${OPTIMIZERS.join(", ")} (default: the recipe's)`)
    .option("--lr <rate>", "Learning rate (default: the recipe's)")
    .option("--lr-decay <factor>", "Multiply the learning rate by this after every epoch (default: the recipe's schedule)")
    .option("--lr-schedule <step|cosine|plateau|warmup-cosine>", "step: ×--lr-decay each epoch; cosine: anneal to 0 over --epochs; plateau: ×--lr-decay (default 0.5) after --lr-patience epochs without val_loss improving; warmup-cosine: per step, a linear warm-up over --warmup-steps then cosine decay to 0 by the last step")
    .option("--warmup-steps <n>", "For --lr-schedule warmup-cosine: steps of linear warm-up (default 100)")
    .option("--lr-patience <n>", "Epochs without improvement before the plateau schedule cuts the rate", { default: 2 })
    .option("--seed <n>", "Seed for weights, shuffling and dropout", { default: 1 })
    .option("--validation-split <fraction>", "Fraction of the training data held out for validation", { default: 0.1 })
    .option("--patience <n>", "Early stopping: stop after n epochs without improvement of --monitor, keeping the best weights")
    .option("--monitor <metric>", "What early stopping watches: val_loss, val_accuracy, loss, accuracy", { default: "val_loss" })
    .option("--save <file.wgd>", "Write a checkpoint when training ends (and on Ctrl-C)")
    .option("--checkpoint-every <n>", "Also write the --save checkpoint every n epochs")
    .option("--resume <file.wgd>", "Continue a saved run up to --epochs in total (same seed: same result)")
    .option("--json", "Print a JSON summary on stdout")
    .option("--no-progress", "No live progress bar")
    .example("wasmgrad train --model cnn --epochs 3 --save cnn.wgd")
    .example("wasmgrad train --model cnn --epochs 10 --save cnn.wgd --checkpoint-every 1   # then, after a stop:")
    .example("wasmgrad train --model cnn --epochs 10 --save cnn.wgd --resume cnn.wgd")
    .example("wasmgrad train --model models/mlp.json --data /usr/share/datasets/fashion-mnist --optimizer sgd --lr 0.05")
    .example("wasmgrad train --model linear --data points.csv --target y")
    .example("wasmgrad train --model logistic --data iris.csv --target species --save iris.wgd   # then: wasmgrad predict iris.wgd --input rows.csv")
    .example("wasmgrad train --model mlp --hidden 64,32 --data wine.csv --target class --categorical region --epochs 50")
    .example("wasmgrad train --model text_bilstm --data messages.csv --text-column body --target label --save spam.wgd")
    .example("wasmgrad train --model text_cnn --data mail/ --save spam.wgd   # mail/spam/*.txt, mail/ham/*.txt")
    .example("wasmgrad train --model char_transformer --task next-char --context 16 --data names.txt --save names.wgd")
    .example("wasmgrad train --from pretrained.onnx --freeze 2 --epochs 2 --save tuned.wgd")
    .example("wasmgrad train --from resnet.onnx --input-shape 3,65,65 --data images/   # a file with dynamic height and width")
    .action(async (flags: TrainFlags) => {
      // An empty path is a usage error, never "not given": `--resume ''` must not start a fresh model.
      const paths = { resume: optionalPathFlag(flags.resume, "resume"), from: optionalPathFlag(flags.from, "from"), save: optionalPathFlag(flags.save, "save"), plot: optionalPathFlag(flags.plot, "plot") };
      if (paths.from && paths.resume) throw new UsageError("--from starts a new run from an ONNX model and --resume continues a checkpoint; use one");
      const resolved = paths.from ? { file: { name: "imported", layers: [] } as ModelFile, source: displayText(paths.from) } : resolveModelFile(stringFlag(flags.model, "model"));
      const source = resolved.source;
      const hidden = parseWidths(flags.hidden);
      if (hidden && (paths.from || paths.resume)) throw new UsageError("--hidden picks the widths of a new model; drop it with --from and --resume");
      let file = hidden ? withHiddenLayers(resolved.file, hidden, source) : resolved.file;
      const inputShape = parseInputShapeFlag(flags.inputShape);
      if (inputShape && !paths.from) throw new UsageError("--input-shape sets the input shape of an ONNX model: use it with --from model.onnx");
      const recipe = recipeOf(file);
      const epochs = numberFlag(flags.epochs ?? recipe.epochs, "epochs", { min: 1, max: 100000, integer: true });
      const batchSize = numberFlag(flags.batchSize ?? recipe.batchSize, "batch-size", { min: 1, max: 65536, integer: true });
      const seed = numberFlag(flags.seed, "seed", { min: 0, max: 2 ** 32 - 1, integer: true });
      const validationSplit = numberFlag(flags.validationSplit, "validation-split", { min: 0, max: 0.9 });
      const testSplit = numberFlag(flags.testSplit, "test-split", { min: 0, max: 0.9 });
      const lr = optionalNumberFlag(flags.lr, "lr", { min: 1e-9, max: 10 });
      const optimizerConfig = chooseOptimizer(recipe.optimizer, flags.optimizer, lr);
      const lrDecay = optionalNumberFlag(flags.lrDecay, "lr-decay", { min: 1e-6, max: 1 });
      const schedule = chooseSchedule(flags, lrDecay, epochs, validationSplit) ?? (recipe.schedule !== undefined ? scheduleFromConfig(recipe.schedule, `${source} training.schedule`) : undefined);
      const freeze = optionalNumberFlag(flags.freeze, "freeze", { min: 0, max: 100000, integer: true });
      const augment = flags.augment !== undefined ? ImageAugmenter.parse(String(flags.augment)) : undefined;
      if (paths.plot !== undefined && !String(paths.plot).endsWith(".svg")) throw new InputError(`--plot ${displayText(paths.plot)}: name the chart file with the .svg extension`);

      const checkpointEvery = optionalNumberFlag(flags.checkpointEvery, "checkpoint-every", { min: 1, max: 100000, integer: true });
      const patience = optionalNumberFlag(flags.patience, "patience", { min: 0, max: 100000, integer: true });
      const monitors = ["val_loss", "val_accuracy", "loss", "accuracy"];
      if (!monitors.includes(flags.monitor)) throw new InputError(`--monitor: unknown metric '${displayText(flags.monitor)}'${didYouMean(String(flags.monitor), monitors)}`);
      if (patience !== undefined && flags.monitor.startsWith("val_") && !(validationSplit > 0)) {
        throw new InputError(`--patience watches ${displayText(flags.monitor)}, which needs --validation-split above 0`);
      }
      const earlyStopping = patience !== undefined ? new EarlyStopping({ patience, monitor: flags.monitor, restoreBestWeights: true }) : undefined;
      // Where results go is checked before the run, not after hours of training.
      for (const target of [paths.save, paths.plot]) if (target !== undefined) checkSaveTarget(target);
      if (checkpointEvery !== undefined && !paths.save) throw new InputError("--checkpoint-every needs --save <file.wgd> to know where to write");

      // A resumed text model reads its data through the vocabulary it was trained with.
      const resumed = paths.resume ? loadCheckpointWithText(paths.resume) : undefined;
      const nextChar = languageTask(flags, resumed?.nextChar);
      if (resumed && !resumed.nextChar && nextChar) throw new InputError(`${displayText(paths.resume!)} is not a next-character model; drop --task next-char`);
      const table = tableOptions(flags, file, source, paths.from !== undefined, resumed?.table);
      const data = await resolveTrainingData(stringFlag(flags.data, "data"), {
        target: flags.target, testSplit, seed, textColumn: flags.textColumn, text: textSettings(flags, file.text), preprocessing: resumed?.text, nextChar, table,
      });
      if (data.kind !== "table" && (table.forcedTask !== undefined || flags.categorical !== undefined || flags.ignore !== undefined || flags.strict || flags.normalize === false)) {
        throw new InputError(`--task ${table.forcedTask ?? "…"}, --categorical, --ignore, --strict and --no-normalize are for CSV tables (--data file.csv --target column)`);
      }
      if (resumed && !resumed.table && data.table) throw new InputError(`${displayText(paths.resume!)} was not trained on a table, but --data is one`);
      if (augment && data.kind !== "images") throw new InputError(`--augment transforms images; the data is ${data.kind === "table" ? "a table" : "text"}`);
      if (data.kind !== "text" && (flags.maxTokens !== undefined || flags.sequenceLength !== undefined || flags.split !== undefined)) {
        throw new InputError("--max-tokens, --sequence-length and --split are for text data (--text-column, or a folder of .txt files per class)");
      }
      if (resumed && !resumed.text && data.text) throw new InputError(`${displayText(paths.resume!)} is not a text model, but --data holds text`);
      let model: Model;
      if (resumed) model = resumed.model;
      else if (paths.from) model = importOnnx(readInputFile(paths.from, "--from"), { source: displayText(paths.from), seed, inputShape });
      else {
        const vectorizer = data.text?.vectorizer ?? data.language?.vectorizer;
        const vocabularySize = vectorizer ? new TextVectorizer(vectorizer).vocabularySize : undefined;
        if (data.table && flags.normalize !== false) {
          const normalized = withTableNormalization(file, data.table.task);
          file = normalized.file;
          if (normalized.note) (data.notes ??= []).push(normalized.note);
        }
        // The samples fit trains on: the training split less the validation rows it holds out (as fit does).
        const rows = validationSplit > 0 ? Math.floor(data.train.count * (1 - validationSplit)) : data.train.count;
        model = buildModel(file, source, { seed, inputShape: data.train.shape, vocabularySize, ...taskFacts(data), rows, context: data.language?.context });
        // Standardising inputs: the Normalization layers on the input learn the training rows' statistics.
        adaptInputNormalization(model, data.train, data.table);
      }
      if (!paths.resume) {
        const facts = taskFacts(data);
        const loss = paths.from ? lossForImported(model, data.table?.task) : recipeOf(file, facts).loss;
        // A regression's target scale: the squared error in standardised units is what the optimizer sees.
        const targetWeight = paths.from || !data.table ? undefined : adaptTargetScaling(model, data.train);
        model.compile({
          optimizer: optimizerFromConfig(optimizerConfig, "--optimizer"), loss, metrics: paths.from ? recipe.metrics : recipeOf(file, facts).metrics,
          ...(targetWeight !== undefined ? { lossWeights: [targetWeight] } : {}),
        });
      } else if (!model.optimizer) throw new InputError(`${displayText(paths.resume)} holds no optimizer state, so training cannot resume from it`);
      if (freeze !== undefined) {
        if (freeze > model.layers.length) throw new InputError(`--freeze ${freeze}: the model has only ${model.layers.length} layers`);
        model.layers.forEach((layer, i) => (layer.trainable = i >= freeze));
      }
      checkSplitFitsModel(model, data.train, data.source);
      checkSplitFitsModel(model, data.test, data.source);
      const initialEpoch = model.epochsTrained;
      if (paths.resume && initialEpoch >= epochs) throw new InputError(`${displayText(paths.resume)} has already trained ${initialEpoch} epochs; ask for more with --epochs`);

      const say = (line: string) => writeSync(2, line + "\n");
      say(`${paths.resume ? `resuming ${displayText(paths.resume)} at epoch ${initialEpoch + 1}: ` : ""}${model.name}: ${model.countParams().toLocaleString("en-US")} parameters, kernels ${model.kernels.variant}`);
      say(`data: ${data.source}: ${data.train.count.toLocaleString("en-US")} train, ${data.test.count.toLocaleString("en-US")} test`);
      if (data.table) {
        const scaled = targetScaling(model);
        const standardised = model.layers[0]?.type === "Normalization" ? "; features standardised by a Normalization layer adapted to the training rows" : "";
        const target = scaled ? `; the target too (mean ${Number(scaled.mean[0].toPrecision(6))}, sd ${Number(Math.sqrt(scaled.variance[0]).toPrecision(6))}): the last layer, a Normalization with invert, gives predictions in its units, and the loss is the squared error over its variance` : "";
        say(`${describeTarget(data.table)}${standardised}${target}`);
      }
      for (const note of data.notes ?? []) say(note);
      if (data.table && paths.from) say("note: the features are not standardised: an imported model is trained as it is");
      const decay = schedule ? `, ${schedule.description}` : "";
      const optimizerText = paths.resume ? `${model.optimizer!.getConfig().type} (from the checkpoint)` : describeOptimizer(optimizerConfig);
      if (paths.from) say(model.summary());
      const frozen = model.layers.filter((l) => !l.trainable).map((l) => l.name);
      if (frozen.length > 0) say(`frozen: ${frozen.join(", ")}`);
      say(`training ${epochs} epoch(s), batch ${batchSize}, ${optimizerText}${decay}, seed ${model.seed}, validation split ${validationSplit}${augment ? `, augmentation ${augment.describe()}` : ""}`);

      const preprocessing = data.text ? { text: data.text } : data.language ? { nextChar: data.language } : data.table ? { table: data.table } : undefined;
      const save = (path: string) => writeFileAtomic(path, encodeCheckpoint(model, { notes: { data: data.source }, preprocessing }));
      const periodic: Callback = {
        onEpochEnd: (epoch) => {
          if (checkpointEvery && (epoch + 1) % checkpointEvery === 0) save(paths.save!);
        },
      };
      // Ctrl-C: finish the current batch, save, exit 130. A second Ctrl-C exits at once.
      const onInterrupt = () => {
        if (model.interruptRequested) process.exit(130);
        model.interruptRequested = true;
        say("\ninterrupted: stopping after this batch (Ctrl-C again to quit without saving)");
      };
      process.on("SIGINT", onInterrupt);
      const started = performance.now();
      let history;
      try {
        history = await model.fit(data.train.x, targetsFor(data.train, model, data.source), {
          epochs, batchSize, initialEpoch, validationSplit: validationSplit > 0 ? validationSplit : undefined, augment,
          callbacks: [...(schedule ? [schedule] : []), ...(earlyStopping ? [earlyStopping] : []), periodic, new ProgressBar(2, flags.progress && process.stderr.isTTY === true)],
        });
      } catch (error) {
        if (error instanceof DivergenceError && paths.save && checkpointEvery) {
          throw new DivergenceError(`${error.message}. The last good checkpoint, ${displayText(paths.save)}, is untouched`);
        }
        throw error;
      } finally {
        process.off("SIGINT", onInterrupt);
      }
      if (model.interruptRequested) {
        const target = paths.save ?? "interrupted.wgd";
        save(target);
        say(`saved ${target} after ${model.epochsTrained} complete epoch(s) and part of the next; continue with --resume ${target}`);
        process.exit(130);
      }
      const seconds = (performance.now() - started) / 1000;
      if (earlyStopping && earlyStopping.stoppedEpoch >= 0) {
        say(`early stopping after epoch ${earlyStopping.stoppedEpoch + 1}: best ${displayText(flags.monitor)} at epoch ${earlyStopping.bestEpoch + 1}, whose weights are kept`);
      }
      const test = data.test.count > 0 ? model.evaluate(data.test.x, targetsFor(data.test, model, data.source), { batchSize: 256 }) : {};
      if (data.test.count > 0) say(`test: ${Object.entries(test).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  ")} on ${data.test.count.toLocaleString("en-US")} samples (trained in ${seconds.toFixed(1)}s)`);
      else say(`trained in ${seconds.toFixed(1)}s (no test rows: --test-split 0)`);
      // A model small enough to read (linear or logistic regression) is shown in full.
      if (model.countParams() <= 32) {
        for (const [i, p] of model.params.entries()) say(`${p.name} [${p.shape}]: ${Array.from(model.getWeights()[i].data, (v) => v.toFixed(4)).join(" ")}`);
        // Weights on standardised features, read back in the columns' own units.
        for (const line of (data.table && rawCoefficients(model, data.table)) || []) say(line);
      }
      if (paths.plot) {
        writeFileAtomic(paths.plot, new TextEncoder().encode(trainingCurvesSvg(history.history, model.name)));
        say(`wrote ${displayText(paths.plot)}`);
      }

      if (paths.save) {
        save(paths.save);
        say(`saved ${displayText(paths.save)}`);
      }
      if (flags.json) {
        const task = data.table ? { task: data.table.task, ...(data.table.classNames ? { classNames: data.table.classNames } : {}) } : {};
        writeOut(JSON.stringify({ model: model.name, epochs, batchSize, seed: model.seed, seconds, ...task, history: history.history, test, checkpoint: paths.save ?? null }, null, 2) + "\n");
      }
    });
}

/** The next-character task the flags ask for (a resumed one keeps its own), or undefined. */
function languageTask(flags: TrainFlags, resumed: NextCharTask | undefined): { context: number; trained?: NextCharTask } | undefined {
  if (flags.task === undefined || isTask(String(flags.task))) {
    if (flags.context !== undefined) throw new UsageError("--context goes with --task next-char");
    return resumed ? { context: resumed.context, trained: resumed } : undefined;
  }
  if (String(flags.task) !== "next-char") throw new UsageError(`--task: one of ${[...TASKS, "next-char"].join(", ")}, got '${displayText(String(flags.task))}'${didYouMean(String(flags.task), [...TASKS, "next-char"])}`);
  const context = numberFlag(flags.context ?? resumed?.context ?? 16, "context", { min: 1, max: 4096, integer: true });
  if (resumed && context !== resumed.context) throw new InputError(`--context ${context}: the resumed model reads ${resumed.context} characters`);
  return { context, trained: resumed };
}

/** How to read a CSV table: the flags, the tasks the model learns, and a resumed model's own reading. */
function tableOptions(flags: TrainFlags, file: ModelFile, source: string, imported: boolean, trained: TableOptions["trained"]): TableOptions {
  const forcedTask = flags.task !== undefined && isTask(String(flags.task)) ? (String(flags.task) as Task) : undefined;
  if (trained && forcedTask && forcedTask !== trained.task) throw new InputError(`--task ${forcedTask}: the resumed model learns ${describeTask(trained.task, trained.classNames?.length)}`);
  if (trained && (flags.categorical !== undefined || flags.ignore !== undefined)) throw new InputError("--categorical and --ignore set how a new model reads the table; a resumed model reads it as it was trained to");
  const list = (value: unknown, flag: string) => {
    if (value === undefined) return undefined;
    const names = [value].flat().flatMap((v) => String(v).split(",")).map((v) => v.trim()).filter(Boolean);
    if (names.length === 0) throw new UsageError(`--${flag} takes column names separated by commas`);
    return names;
  };
  return {
    forcedTask, supported: imported ? TASKS : tasksOf(file), model: source, categorical: list(flags.categorical, "categorical"), ignore: list(flags.ignore, "ignore"),
    strict: flags.strict === true, trained,
  };
}

/** What the data tells a model file about its head: the task and the number of classes. */
function taskFacts(data: TrainingData): { task?: Task; classes?: number } {
  if (data.table) return { task: data.table.task, classes: data.table.classNames?.length };
  if (data.text) return { task: data.text.classNames.length === 2 ? "binary" : "multiclass", classes: data.text.classNames.length };
  if (data.language) return { task: "multiclass", classes: new TextVectorizer(data.language.vectorizer).vocabularySize };
  if (data.kind === "images" && data.train.labels) {
    // Digits 0–9 are 10 classes: one more than the largest label in either split.
    let largest = 1;
    for (const split of [data.train, data.test]) for (const l of split.labels ?? []) if (l > largest) largest = l;
    return { task: "multiclass", classes: largest + 1 };
  }
  return {};
}

/** --hidden 64,32 as widths, or undefined. */
function parseWidths(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = String(value).split(",").map((v) => v.trim());
  const widths = parts.map((v) => Number(v));
  if (parts.length === 0 || !widths.every((w) => Number.isInteger(w) && w >= 1 && w <= 1 << 16)) throw new UsageError(`--hidden takes layer widths separated by commas, such as 64,32; got '${displayText(String(value))}'`);
  return widths;
}

/** A new text vectorizer's settings: the model file's, then the flags over them. */
function textSettings(flags: TrainFlags, fromFile: Partial<TextVectorizerConfig> | undefined): Partial<TextVectorizerConfig> {
  const settings: Partial<TextVectorizerConfig> = { ...fromFile };
  if (flags.maxTokens !== undefined) settings.maxTokens = numberFlag(flags.maxTokens, "max-tokens", { min: 3, max: 1 << 24, integer: true });
  if (flags.sequenceLength !== undefined) settings.outputSequenceLength = numberFlag(flags.sequenceLength, "sequence-length", { min: 1, max: 1 << 16, integer: true });
  if (flags.split !== undefined) {
    const split = String(flags.split);
    if (split !== "word" && split !== "character") throw new UsageError(`--split takes word or character, got '${displayText(split)}'`);
    settings.split = split === "word" ? "whitespace" : "character";
  }
  return settings;
}

/**
 * An imported model's loss: for a table's numbers, mean squared error on one output; for classes,
 * cross-entropy on its probabilities if it ends in softmax (sigmoid for one output), else on its logits
 * (PyTorch's way).
 */
function lossForImported(model: Model, task: Task | undefined): LossSpec {
  const last = model.layers[model.layers.length - 1] as { activation?: { name: string } };
  const outputs = model.outputShape.reduce((a, b) => a * b, 1);
  if (task === "regression") {
    if (outputs !== 1) throw new InputError(`the target is a number (a regression), but the imported model has ${outputs} outputs`);
    return { type: "meanSquaredError" };
  }
  if (outputs === 1) {
    if (task === "multiclass") throw new InputError("the target has more than two classes, but the imported model has one output");
    return { type: "binaryCrossentropy", fromLogits: last.activation?.name !== "sigmoid" };
  }
  return { type: "sparseCategoricalCrossentropy", fromLogits: last.activation?.name !== "softmax" };
}


const SCHEDULES = ["step", "cosine", "plateau", "warmup-cosine"];

/** The schedule the flags ask for, or undefined to use the recipe's. */
function chooseSchedule(flags: TrainFlags, lrDecay: number | undefined, epochs: number, validationSplit: number): Schedule | undefined {
  const name = flags.lrSchedule === undefined ? (lrDecay !== undefined ? "step" : undefined) : String(flags.lrSchedule);
  if (flags.warmupSteps !== undefined && name !== "warmup-cosine") throw new UsageError("--warmup-steps goes with --lr-schedule warmup-cosine");
  if (name === undefined) return undefined;
  if (!SCHEDULES.includes(name)) throw new InputError(`--lr-schedule: unknown schedule '${name}'${didYouMean(name, SCHEDULES)}`);
  if (name === "cosine") return cosineDecay(epochs);
  if (name === "warmup-cosine") return new WarmupCosineDecay(numberFlag(flags.warmupSteps ?? 100, "warmup-steps", { min: 0, max: 1e9, integer: true }));
  if (name === "plateau") {
    if (!(validationSplit > 0)) throw new InputError("--lr-schedule plateau watches val_loss, which needs --validation-split above 0");
    const patience = numberFlag(flags.lrPatience, "lr-patience", { min: 0, max: 100000, integer: true });
    return new ReduceLearningRateOnPlateau({ monitor: "val_loss", factor: lrDecay ?? 0.5, patience });
  }
  if (lrDecay === undefined) throw new InputError("--lr-schedule step needs --lr-decay <factor>, e.g. --lr-decay 0.5");
  return stepDecay(lrDecay);
}

function chooseOptimizer(recipe: unknown, name: string | undefined, lr: number | undefined): Record<string, unknown> {
  const base: Record<string, unknown> = typeof recipe === "string" ? { type: recipe } : { ...(recipe as Record<string, unknown>) };
  let config: Record<string, unknown> = base;
  if (name !== undefined) {
    const wanted = String(name).toLowerCase();
    if (!OPTIMIZERS.includes(wanted as (typeof OPTIMIZERS)[number])) {
      throw new InputError(`--optimizer: unknown optimizer '${name}'${didYouMean(String(name), OPTIMIZERS)}`);
    }
    // A different optimizer keeps only the learning rate of the recipe's.
    config = wanted === String(base.type).toLowerCase() ? base : { type: wanted };
  }
  if (lr !== undefined) config = { ...config, learningRate: lr };
  return config;
}

function describeOptimizer(config: Record<string, unknown>): string {
  return `${String(config.type)}${config.learningRate !== undefined ? ` lr ${config.learningRate}` : ""}`;
}
