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
import { TextVectorizer, type TextVectorizerConfig } from "../data/text-vectorizer";

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
  /** For text data: how texts become model input (a TextVectorizer's settings; flags override them). */
  text?: Partial<TextVectorizerConfig>;
}

/** What the data tells a model file that leaves sizes to it. */
export interface DataFacts {
  /** Per-sample input shape (a chain without "inputShape" takes it). */
  inputShape?: number[];
  /** Distinct token indices of text input: an Embedding without "inputDim" takes it. */
  vocabularySize?: number;
  /** Classes of the target: "units": "classes" takes it. */
  classes?: number;
  /** Steps of context a language model reads ("context", "context - 1"). */
  context?: number;
}

const TOP_LEVEL_KEYS = ["name", "description", "inputShape", "inputs", "layers", "outputs", "seed", "training", "text"];
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
  if (file.text !== undefined) {
    const t = new ConfigReader({ type: "text", ...(file.text as object) }, `${source} text`, ["standardize", "split", "outputMode", "maxTokens", "outputSequenceLength"]);
    // The vectorizer checks the values; a vocabulary comes from the data, never from a model file.
    new TextVectorizer({ ...(file.text as object), maxTokens: t.has("maxTokens") ? t.int("maxTokens", { min: 3 }) : undefined });
  }
  return { ...file, name: typeof file.name === "string" ? file.name : "model" };
}

export function recipeOf(file: ModelFile): TrainingRecipe {
  return { ...DEFAULT_RECIPE, ...file.training };
}

export function buildModel(file: ModelFile, source: string, options: { seed?: number; kernels?: Kernels } & DataFacts = {}): Model {
  const chain = file.inputs === undefined;
  if (!chain && file.inputShape !== undefined) throw new InputError(`${source}: a graph gives its inputs' shapes in "inputs"; drop "inputShape"`);
  const sized = {
    ...file,
    layers: file.layers.map((layer, i) => sizeFromData(layer, options, `${source} layers[${i}]`)),
    ...(file.inputs ? { inputs: file.inputs.map((input, i) => sizeFromData(input, options, `${source} inputs[${i}]`)) } : {}),
  };
  const config = chain && file.inputShape === undefined && options.inputShape ? { ...sized, inputShape: options.inputShape } : sized;
  return modelFromConfig(config, { where: source, seed: options.seed ?? file.seed, kernels: options.kernels });
}

/** The words a model file may put where a size belongs, and the facts they stand for. */
const DATA_SIZES: Record<string, { fact: keyof DataFacts; offset: number; needs: string }> = {
  classes: { fact: "classes", offset: 0, needs: "labelled data to count the classes" },
  vocabulary: { fact: "vocabularySize", offset: 0, needs: "text data, whose vocabulary sets it" },
  context: { fact: "context", offset: 0, needs: "a language-model task (--task next-char --context N)" },
  "context - 1": { fact: "context", offset: -1, needs: "a language-model task (--task next-char --context N)" },
};

/** The options that hold sizes, where those words may stand (names, activations and the rest are left alone). */
const SIZE_KEYS = new Set(["units", "inputDim", "outputDim", "sequenceLength", "cropping", "shape", "filters", "numHeads", "keyDim", "valueDim", "outputShape", "targetShape"]);

/**
 * A layer config with the sizes it leaves to the data filled in, inside wrappers too: the words "classes",
 * "vocabulary", "context" and "context - 1" as the value of a size option or an item of one ("units":
 * "classes", "cropping": ["context - 1", 0], an input's "shape": ["context"]), and an Embedding's missing
 * inputDim (the text vocabulary). A layer named "classes" stays named so.
 */
function sizeFromData(layer: unknown, facts: DataFacts, where: string): unknown {
  if (typeof layer !== "object" || layer === null || Array.isArray(layer)) return layer;
  const config: Record<string, unknown> = { ...(layer as Record<string, unknown>) };
  for (const [key, value] of Object.entries(config)) {
    if (SIZE_KEYS.has(key)) config[key] = Array.isArray(value) ? value.map((v, i) => dataSize(v, facts, `${where} ${key}[${i}]`)) : dataSize(value, facts, `${where} ${key}`);
  }
  if (config.type === "Embedding" && config.inputDim === undefined) {
    if (facts.vocabularySize === undefined) throw new InputError(`${where} (Embedding): 'inputDim' is required unless the data is text, whose vocabulary then sets it`);
    config.inputDim = facts.vocabularySize;
  }
  if (config.layer !== undefined) config.layer = sizeFromData(config.layer, facts, `${where} layer`);
  return config;
}

/** One size value: a number as it is, or the fact a word stands for. */
function dataSize(value: unknown, facts: DataFacts, where: string): unknown {
  if (typeof value !== "string" || !Object.hasOwn(DATA_SIZES, value)) return value;
  const size = DATA_SIZES[value];
  const fact = facts[size.fact];
  if (typeof fact !== "number") throw new InputError(`${where}: "${value}" needs ${size.needs}`);
  return fact + size.offset;
}
