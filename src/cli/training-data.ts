// The data a training run names on the command line, as model-ready arrays: the embedded MNIST sample, a
// folder of MNIST-layout IDX files, or a CSV table with a named target column (split into train and
// test by a seeded shuffle, since tables are often sorted).

import { parseCsv, splitTarget } from "../data/csv";
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
}

export interface TrainingData {
  train: Split;
  test: Split;
  source: string;
  kind: "images" | "table";
}

export async function resolveTrainingData(data: string, options: { target?: string; testSplit: number; seed: number }): Promise<TrainingData> {
  if (data.toLowerCase().endsWith(".csv")) return loadTable(data, options);
  if (options.target !== undefined) throw new InputError(`--target names a CSV column, but --data ${displayText(data)} is not a .csv file`);
  const splits = await resolveData(data);
  const split = (d: typeof splits.train): Split => ({ x: toFloatImages(d), count: d.count, shape: d.shape, labels: d.labels });
  return { train: split(splits.train), test: split(splits.test), source: splits.source, kind: "images" };
}

function loadTable(path: string, options: { target?: string; testSplit: number; seed: number }): TrainingData {
  if (options.target === undefined) throw new InputError(`--data ${displayText(path)} is a CSV file: name the column to predict with --target <column>`);
  const text = new TextDecoder().decode(readInputFile(path, "--data"));
  const table = splitTarget(parseCsv(text, { source: path }), options.target, { source: path });
  const features = table.featureColumns.length;
  const order = Int32Array.from({ length: table.rows }, (_, i) => i);
  new Rng(options.seed ^ 0x5eed).shuffle(order);
  const testCount = Math.round(table.rows * options.testSplit);
  if (table.rows - testCount < 2) throw new InputError(`${displayText(path)} has ${table.rows} rows: too few to train on after holding out --test-split ${options.testSplit}`);
  const take = (from: number, to: number): Split => {
    const count = to - from;
    const x = new Float32Array(count * features), values = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const row = order[from + i];
      x.set(table.features.subarray(row * features, (row + 1) * features), i * features);
      values[i] = table.targets[row];
    }
    return { x, count, shape: [features], values };
  };
  const trainCount = table.rows - testCount;
  return {
    train: take(0, trainCount),
    test: take(trainCount, table.rows),
    source: `${displayText(path)} (${features} feature column${features > 1 ? "s" : ""} → '${table.targetColumn}', ${trainCount} train / ${testCount} test rows)`,
    kind: "table",
  };
}

/** The targets the model's loss wants: class indices for sparse categorical losses, values otherwise. */
export function targetsFor(split: Split, model: Model, source: string): Int32Array | Float32Array {
  const sparse = model.loss?.sparse ?? true;
  if (split.labels) return sparse ? Int32Array.from(split.labels) : oneHotOrValues(split.labels, model);
  const values = split.values!;
  if (!sparse) return values;
  const labels = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i]) || values[i] < 0) throw new InputError(`${source}: a classification target must be a class number 0, 1, 2, …; row ${i + 1} of the split has ${values[i]}`);
    labels[i] = values[i];
  }
  return labels;
}

/** Image labels for a non-sparse loss: one-hot rows for several outputs, the label itself for one. */
function oneHotOrValues(labels: Uint8Array, model: Model): Float32Array {
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
  if (split.labels && (model.loss?.sparse ?? true)) {
    let maxLabel = 0;
    for (const l of split.labels) if (l > maxLabel) maxLabel = l;
    if (maxLabel >= outputs) throw new InputError(`${source} has labels up to ${maxLabel} but the model has only ${outputs} outputs`);
  }
}
