// The data a training run names on the command line, as model-ready arrays: the embedded MNIST sample, a
// folder of MNIST-layout IDX files, or a CSV table with a named target column (split into train and
// test by a seeded shuffle, since tables are often sorted).

import {
  chooseTask, describeEncoding, encodedWidth, encodeRows, fitColumns, parseTable, readTarget, targetValues, trainedTargetValues, type TablePreprocessing,
} from "../data/table-dataset";
import { TASKS, type Task } from "../model/tasks";
import { isTextFolder, loadTextCsv, loadTextFolder, type TextDataset } from "../data/text-dataset";
import { TextVectorizer, type TextVectorizerConfig } from "../data/text-vectorizer";
import { characterVectorizer, exampleLines, nextCharWindows, type NextCharTask } from "../data/next-char";
import { toFloatImages } from "../data/image-dataset";
import { InputError } from "../errors";
import { Rng } from "../engine/rng";
import type { Model } from "../model/model";
import { readInputFile, resolveData } from "./sources";
import { displayText } from "../io/display";

export interface Split {
  x: Float32Array;
  count: number;
  /** Per-sample input shape. */
  shape: number[];
  /** Class labels (images), or one value per row (tables). */
  labels?: Uint8Array;
  values?: Float32Array;
  /** The values are class indices (a table's or text's classes), not numbers to regress. */
  classIndices?: boolean;
}

export interface TrainingData {
  train: Split;
  test: Split;
  source: string;
  kind: "images" | "table" | "text" | "next-char";
  /** Text data: how raw text becomes model input, and the class names, for the checkpoint. */
  text?: TextPreprocessing;
  /** The next-character task: its characters and context length, for the checkpoint and `generate`. */
  language?: NextCharTask;
  /** A table: how its rows become model input, the task and the class names, for the checkpoint. */
  table?: TablePreprocessing;
  /** What a user should know about how the data was read (the task chosen, missing cells filled): stderr lines. */
  notes?: string[];
}

/** What a checkpoint keeps so that `predict` and `eval` take raw text and print class names. */
export interface TextPreprocessing {
  vectorizer: TextVectorizerConfig;
  classNames: string[];
}

export interface DataOptions {
  target?: string;
  testSplit: number;
  seed: number;
  /** The CSV column holding text: the data is text, vectorized as `text` says. */
  textColumn?: string;
  /** Settings for a new vectorizer (adapted to the training texts). */
  text?: Partial<TextVectorizerConfig>;
  /** A trained model's preprocessing (resume, eval): used as it is, never adapted again. */
  preprocessing?: TextPreprocessing;
  /** A language-model task: predict each line's next character from the `context` before it. */
  nextChar?: { context: number; trained?: NextCharTask };
  /** How to read a table. */
  table?: TableOptions;
}

export interface TableOptions {
  /** The task the user forced (--task); otherwise the target decides, within `supported`. */
  forcedTask?: Task;
  /** The tasks the model learns (default: any). */
  supported?: readonly Task[];
  /** The model, as messages name it ("built-in model logistic"). */
  model?: string;
  /** Columns to one-hot encode even though they hold numbers (--categorical). */
  categorical?: string[];
  /** Columns that are not features (--ignore). */
  ignore?: string[];
  /** Refuse missing cells instead of filling them (--strict). */
  strict?: boolean;
  /** A trained model's reading of the table (resume, eval): used as it is, never learned again. */
  trained?: TablePreprocessing;
}

export async function resolveTrainingData(data: string, options: DataOptions): Promise<TrainingData> {
  if (options.nextChar) return loadNextChar(data, options, options.nextChar);
  if (options.textColumn !== undefined || (!data.toLowerCase().endsWith(".csv") && data !== "embedded" && isTextFolder(data))) return loadText(data, options);
  if (data.toLowerCase().endsWith(".csv")) return loadTable(data, options);
  if (options.target !== undefined) throw new InputError(`--target names a CSV column, but --data ${displayText(data)} is not a .csv file`);
  const splits = await resolveData(data);
  const split = (d: typeof splits.train): Split => ({ x: toFloatImages(d), count: d.count, shape: d.shape, labels: d.labels });
  return { train: split(splits.train), test: split(splits.test), source: splits.source, kind: "images" };
}

/**
 * A CSV table: the target read and the task chosen (or a trained model's kept), the feature columns read
 * as the training rows say (numbers, one-hot categories, fills for missing cells; see
 * src/data/table-dataset.ts), and train and test rows split by the seeded shuffle.
 */
function loadTable(path: string, options: DataOptions): TrainingData {
  if (options.target === undefined) throw new InputError(`--data ${displayText(path)} is a CSV file: name the column to predict with --target <column>`);
  const settings = options.table ?? {};
  const trained = settings.trained;
  if (trained && trained.target !== options.target) throw new InputError(`--target ${displayText(options.target)}: the model predicts '${displayText(trained.target)}'`);
  const table = parseTable(new TextDecoder().decode(readInputFile(path, "--data")), displayText(path));
  const target = readTarget(table, options.target);
  const rows = table.rows.length;
  const order = seededOrder(rows, options.seed);
  const testCount = Math.round(rows * options.testSplit);
  if (rows - testCount < 2) throw new InputError(`${displayText(path)} has ${rows} rows: too few to train on after holding out --test-split ${options.testSplit}`);
  const trainCount = rows - testCount;
  const [trainRows, testRows] = [order.subarray(0, trainCount), order.subarray(trainCount)];
  const notes: string[] = [];
  let preprocessing: TablePreprocessing, values: Float32Array;
  if (trained) {
    preprocessing = trained;
    values = trainedTargetValues(target, trained);
  } else {
    const { task, note } = chooseTask(target, { forced: settings.forcedTask, supported: settings.supported ?? TASKS, model: settings.model ?? "the model" });
    if (note) notes.push(`note: ${note}`);
    const columns = fitColumns(table, options.target, trainRows, { categorical: settings.categorical, ignore: settings.ignore });
    preprocessing = { target: options.target, task, ...(task === "regression" ? {} : { classNames: target.classNames }), columns };
    values = targetValues(target, task);
  }
  const { columns, task } = preprocessing;
  const width = encodedWidth(columns);
  const take = (which: Int32Array, what: string): Split => {
    const encoded = encodeRows(table, columns, which, { strict: settings.strict });
    notes.push(...describeEncoding(columns, encoded, what));
    return { x: encoded.x, count: which.length, shape: [width], values: Float32Array.from(which, (r) => values[r]), classIndices: task !== "regression" };
  };
  const categorical = columns.filter((c) => c.kind === "categorical").length;
  const features = `${columns.length} feature column${columns.length > 1 ? "s" : ""}${categorical > 0 ? ` (${categorical} categorical, one-hot: ${width} features)` : ""}`;
  return {
    train: take(trainRows, "training rows"),
    test: take(testRows, "test rows"),
    source: `${displayText(path)} (${features} → '${displayText(options.target)}', ${trainCount} train / ${testCount} test rows)`,
    kind: "table",
    table: preprocessing,
    notes,
  };
}

/** Rows in the seeded order that splits train from test (tables are often sorted): the first rows − round(rows · testSplit) train. */
export function seededOrder(rows: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  new Rng(seed ^ 0x5eed).shuffle(order);
  return order;
}

/**
 * Labelled texts, split by the same seeded shuffle as tables, and vectorized: by the vectorizer a trained
 * model carries, or by a new one adapted to the training split alone (the test texts stay unseen).
 */
function loadText(path: string, options: DataOptions): TrainingData {
  let dataset: TextDataset;
  if (path.toLowerCase().endsWith(".csv")) {
    if (options.textColumn === undefined) throw new InputError(`--data ${displayText(path)} holds text: name its column with --text-column`);
    if (options.target === undefined) throw new InputError(`--data ${displayText(path)}: name the label column with --target <column>`);
    dataset = loadTextCsv(path, options.textColumn, options.target);
  } else {
    if (options.textColumn !== undefined) throw new InputError(`--text-column names a CSV column, but --data ${displayText(path)} is not a .csv file`);
    dataset = loadTextFolder(path);
  }
  let labels = dataset.labels, classNames = dataset.classNames;
  if (options.preprocessing) {
    // A trained model's classes keep their numbers; a label it never saw is an error, not a new class.
    const known = new Map(options.preprocessing.classNames.map((name, i) => [name, i]));
    const unknown = classNames.find((name) => !known.has(name));
    if (unknown !== undefined) throw new InputError(`${dataset.source} has the label '${displayText(unknown, 60)}', which the model was not trained on (its classes: ${options.preprocessing.classNames.map((c) => displayText(c, 40)).join(", ")})`);
    labels = labels.map((l) => known.get(dataset.classNames[l])!);
    classNames = options.preprocessing.classNames;
  }
  const rows = dataset.texts.length;
  const order = seededOrder(rows, options.seed);
  const testCount = Math.round(rows * options.testSplit);
  if (rows - testCount < 2) throw new InputError(`${dataset.source} has ${rows} texts: too few to train on after holding out --test-split ${options.testSplit}`);
  const part = (from: number, to: number) => Array.from(order.subarray(from, to));
  const [trainRows, testRows] = [part(0, rows - testCount), part(rows - testCount, rows)];
  const vectorizer = options.preprocessing ? TextVectorizer.fromConfig(options.preprocessing.vectorizer, "the checkpoint's text preprocessing") : new TextVectorizer(options.text);
  if (!options.preprocessing) vectorizer.adapt(trainRows.map((r) => dataset.texts[r]));
  const split = (which: number[]): Split => ({
    x: vectorizer.transform(which.map((r) => dataset.texts[r])),
    count: which.length,
    shape: vectorizer.outputShape,
    values: Float32Array.from(which, (r) => labels[r]),
  });
  const { outputMode, split: by } = vectorizer.config;
  return {
    train: split(trainRows),
    test: split(testRows),
    source: `${dataset.source}, ${vectorizer.vocabularySize.toLocaleString("en-US")}-token ${by === "character" ? "character" : "word"} vocabulary, ${outputMode === "int" ? `sequences of ${vectorizer.config.outputSequenceLength}` : outputMode.replace("_", "-")}`,
    kind: "text",
    text: { vectorizer: vectorizer.config, classNames },
  };
}

/**
 * A text file as next-character windows: lines (not windows) are split between train and test by the
 * seeded shuffle, so test lines are unseen; the characters are learned from the training lines alone.
 */
function loadNextChar(path: string, options: DataOptions, task: { context: number; trained?: NextCharTask }): TrainingData {
  if (path === "embedded" || isTextFolder(path)) throw new InputError("--task next-char reads a text file with one example per line (--data names.txt)");
  const lines = exampleLines(new TextDecoder().decode(readInputFile(path, "--data")));
  const order = seededOrder(lines.length, options.seed);
  const testCount = Math.round(lines.length * options.testSplit);
  if (lines.length - testCount < 2) throw new InputError(`${displayText(path)} has ${lines.length} non-empty lines: too few to train on after holding out --test-split ${options.testSplit}`);
  const pick = (from: number, to: number) => Array.from(order.subarray(from, to), (i) => lines[i]);
  const [trainLines, testLines] = [pick(0, lines.length - testCount), pick(lines.length - testCount, lines.length)];
  const vectorizer = characterVectorizer(task.trained?.vectorizer);
  if (!task.trained) vectorizer.adapt(trainLines);
  const context = task.trained?.context ?? task.context;
  const split = (which: string[]): Split => {
    const { x, y, count } = nextCharWindows(which, vectorizer, context);
    return { x, count, shape: [context], values: Float32Array.from(y) };
  };
  return {
    train: split(trainLines),
    test: split(testLines),
    source: `${displayText(path)} (${trainLines.length.toLocaleString("en-US")} train / ${testLines.length.toLocaleString("en-US")} test lines, ${vectorizer.vocabularySize} characters with the boundary and unknown, next character after ${context})`,
    kind: "next-char",
    language: { vectorizer: vectorizer.config, context },
  };
}

/** The targets the model's loss wants: class indices for sparse categorical losses, values otherwise. */
export function targetsFor(split: Split, model: Model, source: string): Int32Array | Float32Array {
  const sparse = model.loss?.sparse ?? true;
  if (split.labels) return sparse ? Int32Array.from(split.labels) : oneHotOrValues(split.labels, model);
  const values = split.values!;
  if (split.classIndices && !sparse) return oneHotOrValues(values, model);
  if (!sparse) return values;
  const labels = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i]) || values[i] < 0) throw new InputError(`${source}: a classification target must be a class number 0, 1, 2, …; row ${i + 1} of the split has ${values[i]}`);
    labels[i] = values[i];
  }
  return labels;
}

/** Class labels for a non-sparse loss: one-hot rows for several outputs, the label itself for one. */
function oneHotOrValues(labels: Uint8Array | Float32Array, model: Model): Float32Array {
  const k = model.outputShape.reduce((a, b) => a * b, 1);
  if (k === 1) return Float32Array.from(labels);
  const out = new Float32Array(labels.length * k);
  labels.forEach((l, i) => (out[i * k + l] = 1));
  return out;
}

/** The model's input and output must fit the data before a single step runs. */
export function checkSplitFitsModel(model: Model, split: Split, source: string): void {
  const want = model.inputShape!;
  if (want.join(",") !== split.shape.join(",")) {
    throw new InputError(`${source} holds samples shaped [${split.shape}] but the model takes inputs shaped [${want}]`);
  }
  const outputs = model.outputShape.reduce((a, b) => a * b, 1);
  const labels = split.labels ?? (split.classIndices ? split.values : undefined);
  if (labels && (model.loss?.sparse ?? true)) {
    let maxLabel = 0;
    for (const l of labels) if (l > maxLabel) maxLabel = l;
    if (maxLabel >= outputs) throw new InputError(`${source} has ${split.labels ? `labels up to ${maxLabel}` : `${maxLabel + 1} classes`} but the model has only ${outputs} outputs`);
  }
}
