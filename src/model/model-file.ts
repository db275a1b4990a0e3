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
import { headFor, isTask, TASKS, tasksOfLoss, type Task } from "./tasks";
import { describeValue, displayText } from "../io/display";

export interface TrainingRecipe {
  optimizer: unknown;
  /** A loss, or "task": the one the data's task needs (see src/model/tasks.ts). */
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
  /**
   * The recipe. In a file, "loss" and "metrics" may also be the word "task": the task's loss and metrics
   * (accuracy, precision, recall and F1 for two classes, accuracy for more, MAE, RMSE and R² for numbers).
   */
  training?: Partial<TrainingRecipe>;
  /** For text data: how texts become model input (a TextVectorizer's settings; flags override them). */
  text?: Partial<TextVectorizerConfig>;
  /** The tasks the model is for (default: what its loss learns; any, for a loss that follows the task). */
  tasks?: Task[];
  /** The facts assumed when no data gives any (summary, bench): the MLPs assume MNIST's. */
  defaults?: Pick<DataFacts, "inputShape" | "task" | "classes">;
}

/** What the data tells a model file that leaves sizes to it. */
export interface DataFacts {
  /** Per-sample input shape (a chain without "inputShape" takes it). */
  inputShape?: number[];
  /** Distinct token indices of text input: an Embedding without "inputDim" takes it. */
  vocabularySize?: number;
  /** Classes of the target: "units": "classes" takes it. */
  classes?: number;
  /** What the target asks for: "units": "outputs" and "activation": "task" follow it. */
  task?: Task;
  /** Samples a fit trains on (after the validation split): a regularizer's "C" is per sample. */
  rows?: number;
  /** Steps of context a language model reads ("context", "context - 1"). */
  context?: number;
}

const TOP_LEVEL_KEYS = ["name", "description", "inputShape", "inputs", "layers", "outputs", "seed", "training", "text", "tasks", "defaults"];
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
    if (file.training.loss !== undefined && file.training.loss !== "task") parseLoss(file.training.loss, `${source} training.loss`);
    if ((file.training.metrics as unknown) !== "task") parseMetrics(file.training.metrics);
    if (file.training.schedule !== undefined) scheduleFromConfig(file.training.schedule, `${source} training.schedule`);
  }
  if (file.text !== undefined) {
    const t = new ConfigReader({ type: "text", ...(file.text as object) }, `${source} text`, ["standardize", "split", "outputMode", "maxTokens", "outputSequenceLength"]);
    // The vectorizer checks the values; a vocabulary comes from the data, never from a model file.
    new TextVectorizer({ ...(file.text as object), maxTokens: t.has("maxTokens") ? t.int("maxTokens", { min: 3 }) : undefined });
  }
  if (file.tasks !== undefined && !(Array.isArray(file.tasks) && file.tasks.length > 0 && file.tasks.every(isTask))) {
    throw new InputError(`${source}: "tasks" must be a non-empty list of ${TASKS.map((t) => `"${t}"`).join(", ")}, got ${describeValue(file.tasks)}`);
  }
  if (file.defaults !== undefined) {
    const d = new ConfigReader({ type: "defaults", ...(file.defaults as object) }, `${source} defaults`, ["inputShape", "task", "classes"]);
    if (d.has("classes")) d.int("classes", { min: 2 });
    if (d.has("task") && !isTask(d.value("task"))) throw new InputError(`${source} defaults: 'task' must be one of ${TASKS.join(", ")}`);
    const shape = d.value("inputShape");
    if (shape !== undefined && !(Array.isArray(shape) && shape.length > 0 && shape.every((v) => Number.isInteger(v) && v >= 1))) throw new InputError(`${source} defaults: 'inputShape' must be a list of positive integers`);
  }
  return { ...file, name: typeof file.name === "string" ? file.name : "model" };
}

/**
 * The file's training recipe over the defaults. A loss or metrics left to the task ("task") are filled in
 * when the task is known: from `facts`, else from the file's defaults; until then the loss stays "task"
 * and the metrics are none.
 */
export function recipeOf(file: ModelFile, facts: Pick<DataFacts, "task" | "classes"> = {}): TrainingRecipe {
  const { metrics, ...rest } = file.training ?? {};
  const fromTask = (metrics as unknown) === "task";
  const recipe: TrainingRecipe = { ...DEFAULT_RECIPE, ...rest, metrics: fromTask ? [] : (metrics ?? DEFAULT_RECIPE.metrics) };
  const known = facts.task !== undefined ? facts : file.defaults?.task !== undefined ? file.defaults : undefined;
  if (known?.task === undefined) return recipe;
  const head = headFor(known.task, known.classes);
  return { ...recipe, loss: recipe.loss === "task" ? head.loss : recipe.loss, metrics: fromTask ? head.metrics : recipe.metrics };
}

/** The tasks a model file can learn: its "tasks", else its loss's (any, when the loss follows the task). */
export function tasksOf(file: ModelFile): Task[] {
  if (file.tasks) return file.tasks;
  const loss = file.training?.loss ?? DEFAULT_RECIPE.loss;
  return loss === "task" ? [...TASKS] : tasksOfLoss(loss);
}

/**
 * The file with its hidden Dense layers replaced by one per width (`--hidden 64,32`): the layers from the
 * first Dense up to the last one are the hidden block; each new layer copies the first hidden Dense (its
 * activation, initializers) and the layers that follow it up to the next Dense (a Dropout, say). Only a
 * chain of Dense layers with at least one hidden layer has widths to pick.
 */
export function withHiddenLayers(file: ModelFile, widths: number[], source: string): ModelFile {
  const type = (layer: unknown) => (typeof layer === "object" && layer !== null ? (layer as { type?: unknown }).type : undefined);
  const dense = file.layers.flatMap((layer, i) => (type(layer) === "Dense" ? [i] : []));
  const allowed = new Set(["Dense", "Dropout", "Flatten", "Activation", "Normalization", "BatchNormalization", "LayerNormalization", "ReLU", "LeakyReLU", "ELU"]);
  const other = file.layers.find((layer) => !allowed.has(String(type(layer))));
  if (file.inputs !== undefined || other !== undefined || dense.length < 2) {
    throw new InputError(`--hidden sets the hidden layers of a multilayer perceptron; ${source} ${dense.length < 2 && other === undefined && file.inputs === undefined ? "has no hidden Dense layer (use --model mlp)" : `is not a chain of Dense layers${other !== undefined ? ` (it has ${displayText(String(type(other)))})` : ""}`}`);
  }
  const first = dense[0], last = dense[dense.length - 1];
  const next = dense[1];
  const template = file.layers.slice(first, next).map((layer) => {
    const { name: _name, ...rest } = layer as Record<string, unknown>;
    return rest;
  });
  const hidden = widths.flatMap((units) => template.map((layer, j) => (j === 0 ? { ...layer, units } : { ...layer })));
  return { ...file, layers: [...file.layers.slice(0, first), ...hidden, ...file.layers.slice(last)] };
}

export function buildModel(file: ModelFile, source: string, options: { seed?: number; kernels?: Kernels } & DataFacts = {}): Model {
  const chain = file.inputs === undefined;
  if (!chain && file.inputShape !== undefined) throw new InputError(`${source}: a graph gives its inputs' shapes in "inputs"; drop "inputShape"`);
  // The file's defaults stand in for data only when there is none: never mixed with the data's own facts.
  const facts: DataFacts = options.inputShape === undefined && options.task === undefined && options.classes === undefined ? { ...file.defaults, ...options } : options;
  const sized = {
    ...file,
    layers: file.layers.map((layer, i) => sizeFromData(layer, facts, `${source} layers[${i}]`)),
    ...(file.inputs ? { inputs: file.inputs.map((input, i) => sizeFromData(input, facts, `${source} inputs[${i}]`)) } : {}),
  };
  const config = chain && file.inputShape === undefined && facts.inputShape ? { ...sized, inputShape: facts.inputShape } : sized;
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
 * "outputs", "vocabulary", "context" and "context - 1" as the value of a size option or an item of one
 * ("units": "classes", "cropping": ["context - 1", 0], an input's "shape": ["context"]), "activation":
 * "task" (sigmoid, softmax or linear, as the task needs), a regularizer given as scikit-learn's C, and an
 * Embedding's missing inputDim (the text vocabulary). A layer named "classes" stays named so.
 */
function sizeFromData(layer: unknown, facts: DataFacts, where: string): unknown {
  if (typeof layer !== "object" || layer === null || Array.isArray(layer)) return layer;
  const config: Record<string, unknown> = { ...(layer as Record<string, unknown>) };
  for (const [key, value] of Object.entries(config)) {
    if (SIZE_KEYS.has(key)) config[key] = Array.isArray(value) ? value.map((v, i) => dataSize(v, facts, `${where} ${key}[${i}]`)) : dataSize(value, facts, `${where} ${key}`);
  }
  for (const [key, value] of Object.entries(config)) {
    if (key.endsWith("Regularizer") && typeof value === "object" && value !== null && Object.hasOwn(value, "C")) config[key] = penaltyOfC(value as Record<string, unknown>, facts, `${where} ${key}`);
  }
  if (config.activation === "task") {
    if (facts.task === undefined) throw new InputError(`${where} activation: "task" needs data whose target sets the task (classes or numbers)`);
    config.activation = headFor(facts.task, facts.classes).activation;
  }
  if (config.type === "Embedding" && config.inputDim === undefined) {
    if (facts.vocabularySize === undefined) throw new InputError(`${where} (Embedding): 'inputDim' is required unless the data is text, whose vocabulary then sets it`);
    config.inputDim = facts.vocabularySize;
  }
  if (config.layer !== undefined) config.layer = sizeFromData(config.layer, facts, `${where} layer`);
  return config;
}

/**
 * {"C": c} as scikit-learn's LogisticRegression means it: the loss is c·Σ(per-sample loss) + ½‖w‖², which
 * divided by c·n is the mean loss (what wasmgrad minimises) + ‖w‖²/(2·c·n): an L2 strength of 1/(2·c·n)
 * for n training samples.
 */
function penaltyOfC(value: Record<string, unknown>, facts: DataFacts, where: string): { l2: number } {
  const extra = Object.keys(value).find((k) => k !== "C");
  if (extra !== undefined) throw new InputError(`${where}: "C" (scikit-learn's inverse L2 strength) stands alone; drop '${displayText(extra)}'`);
  const c = value.C;
  if (typeof c !== "number" || !(c > 0) || !Number.isFinite(c)) throw new InputError(`${where}: "C" must be a positive number, got ${describeValue(c)}`);
  if (facts.rows === undefined) throw new InputError(`${where}: "C" needs the number of training samples (data)`);
  return { l2: 1 / (2 * c * facts.rows) };
}

/** One size value: a number as it is, or the fact a word stands for. */
function dataSize(value: unknown, facts: DataFacts, where: string): unknown {
  if (value === "outputs") {
    // One unit for two classes (a sigmoid) or a number, one per class for more.
    if (facts.task === undefined) throw new InputError(`${where}: "outputs" needs data whose target sets the task (classes or numbers)`);
    return headFor(facts.task, facts.classes).units;
  }
  if (typeof value !== "string" || !Object.hasOwn(DATA_SIZES, value)) return value;
  const size = DATA_SIZES[value];
  const fact = facts[size.fact];
  if (typeof fact !== "number") throw new InputError(`${where}: "${value}" needs ${size.needs}`);
  return fact + size.offset;
}
