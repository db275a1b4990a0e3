// Model description files (models/*.json): the architecture plus the training recipe it was published
// with. Parsing is strict so a typo becomes one clear line naming the file and the key.

import { InputError, didYouMean } from "../errors";
import { locateJsonError } from "../io/json-syntax";
import { checkJsonTextDepth } from "../io/json-depth";
import { ConfigReader } from "../layers/config-reader";
import type { Kernels } from "../engine/kernels";
import { parseLoss, type LossSpec } from "./losses";
import { parseMetrics } from "./metrics";
import { scheduleFromConfig } from "./schedules";
import type { Model } from "./model";
import { modelFromConfig } from "./model-config";

export interface TrainingRecipe {
  optimizer: unknown;
  loss: LossSpec | string;
  metrics: string[];
  batchSize: number;
  epochs: number;
  /** Optional learning-rate schedule, e.g. {"type": "step", "factor": 0.5, "everyEpochs": 1}. */
  schedule?: unknown;
}

export interface ModelFile {
  name: string;
  description?: string;
  /** Per-sample input shape; when absent, the data supplies it (e.g. the feature count of a CSV). */
  inputShape?: number[];
  /** A graph's inputs ([{"name", "shape"}]); with them, layers name their inputs (see src/model/graph.ts). */
  inputs?: unknown[];
  layers: unknown[];
  /** A graph's outputs, by layer name (default: the last layer). */
  outputs?: unknown;
  seed?: number;
  training?: Partial<TrainingRecipe>;
}

const TOP_LEVEL_KEYS = ["name", "description", "inputShape", "inputs", "layers", "outputs", "seed", "training"];
const DEFAULT_RECIPE: TrainingRecipe = {
  optimizer: { type: "adam", learningRate: 0.001 },
  loss: "sparseCategoricalCrossentropy",
  metrics: ["accuracy"],
  batchSize: 32,
  epochs: 5,
};

/** Parses JSON text, turning a syntax error into "file: line L, column C: …". */
export function parseModelJson(text: string, source: string): ModelFile {
  checkJsonTextDepth(text, source);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const at = locateJsonError(text);
    throw new InputError(`${source}: not valid JSON: expected ${at.expected} at line ${at.line}, column ${at.column}`);
  }
  return validateModelFile(value, source);
}

export function validateModelFile(value: unknown, source: string): ModelFile {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError(`${source}: a model file must be a JSON object with "inputShape" and "layers"`);
  }
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL_KEYS.includes(key)) throw new InputError(`${source}: unknown key '${key}'${didYouMean(key, TOP_LEVEL_KEYS)}`);
  }
  const file = value as ModelFile;
  if (file.training !== undefined) {
    const t = new ConfigReader({ type: "training", ...(file.training as object) }, `${source} training`, ["optimizer", "loss", "metrics", "batchSize", "epochs", "schedule"]);
    t.int("batchSize", { min: 1, max: 1 << 20, default: 32 });
    t.int("epochs", { min: 1, max: 1e6, default: 1 });
    if (file.training.loss !== undefined) parseLoss(file.training.loss, `${source} training.loss`);
    parseMetrics(file.training.metrics);
    if (file.training.schedule !== undefined) scheduleFromConfig(file.training.schedule, `${source} training.schedule`);
  }
  return { ...file, name: typeof file.name === "string" ? file.name : "model" };
}

export function recipeOf(file: ModelFile): TrainingRecipe {
  return { ...DEFAULT_RECIPE, ...file.training };
}

export function buildModel(file: ModelFile, source: string, options: { seed?: number; kernels?: Kernels; inputShape?: number[] } = {}): Model {
  const chain = file.inputs === undefined;
  if (!chain && file.inputShape !== undefined) throw new InputError(`${source}: a graph gives its inputs' shapes in "inputs"; drop "inputShape"`);
  const config = chain && file.inputShape === undefined && options.inputShape ? { ...file, inputShape: options.inputShape } : file;
  return modelFromConfig(config, { where: source, seed: options.seed ?? file.seed, kernels: options.kernels });
}
