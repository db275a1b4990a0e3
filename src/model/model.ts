// Model: a graph of layers trained with compile / fit / evaluate / predict, as Keras' functional API and
// TF.js' tf.model. Several inputs and outputs, shared layers, any DAG; Sequential is the chain case.
//
// Memory: every model owns one kernel instance and its linear memory. build() lays out parameters and
// gradients, compile() the optimizer's slots, and the first batch of a given size the activations
// (re-laid only when a larger batch arrives). Steps allocate nothing, so memory after epoch 1 equals memory
// after epoch 5, and the user never disposes anything: dropping the model frees it all.

import { Heap } from "../engine/heap";
import type { Kernels, Pointer } from "../engine/kernels";
import { newKernels } from "../engine/backend";
import { Rng } from "../engine/rng";
import { DivergenceError, InputError } from "../errors";
import type { Layer, LayerConfig, Parameter } from "../layers/layer";
import { layerFromConfig } from "../layers/registry";
import type { SymbolicTensor } from "../layers/symbolic";
import { Optimizer, type OptimizerConfig } from "../optimizers/optimizer";
import { optimizerFromConfig } from "../optimizers/registry";
import type { Samples, Targets } from "../data/samples";
import { tensor, type Tensor } from "../tensor";
import type { ImageAugmenter } from "../data/augmentation";
import { CompiledLoss, parseLoss, type LossSpec } from "./losses";
import { MetricAccumulator, argmax, parseMetrics, type MetricName } from "./metrics";
import type { Callback, EpochLogs, History, TrainableModel } from "./callbacks";
import { ExecutionPlan, type PlanForwardMode, type PlanStep, type TensorId } from "./plan";
import { traceGraph, type GraphConfig, type GraphDefinition } from "./graph";
import {
  perOutput, sliceSamples, sliceTargets, toModelSamples, toModelTargets, type ModelInputs, type ModelTargets,
} from "./model-data";

export interface ModelOptions {
  inputs: SymbolicTensor | SymbolicTensor[];
  outputs: SymbolicTensor | SymbolicTensor[];
  /** Seeds initial weights, shuffling and dropout: the same seed gives the same run. */
  seed?: number;
  name?: string;
  /** Kernel instance to run on (default: a fresh WebAssembly SIMD instance; tests pass the reference). */
  kernels?: Kernels;
}

export interface CompileOptions {
  optimizer: Optimizer | OptimizerConfig | string;
  /** One loss for every output, a list in output order, or a record keyed by output name. */
  loss: LossSpec | string | (LossSpec | string)[] | Record<string, LossSpec | string>;
  /** Metrics for every output, or a record of lists keyed by output name. */
  metrics?: string[] | Record<string, string[]>;
  /** The total loss is Σ weight·loss over outputs (Keras' loss_weights); default 1 each. */
  lossWeights?: number[] | Record<string, number>;
  /** Keep room to add a backward pass's gradients to the previous ones (PyTorch's accumulation). */
  accumulateGradients?: boolean;
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Fraction of the samples, taken from the end before shuffling (as Keras does), held out for validation. */
  validationSplit?: number;
  validationData?: [ModelInputs, ModelTargets];
  shuffle?: boolean;
  initialEpoch?: number;
  callbacks?: Callback[];
  /** Random image transformations applied to every training batch (never to validation data); one-input models. */
  augment?: ImageAugmenter;
}

/** Per-output state of a compiled model. */
interface OutputHead {
  loss: CompiledLoss;
  weight: number;
  metrics: MetricName[];
}

/** Buffers of one output for the current batch capacity. */
interface OutputBuffers {
  targets: Pointer;
  probs: Pointer;
  grad: Pointer;
}

interface Batch {
  inputs: Samples[];
  targets: Targets[];
}

export class Model implements TrainableModel {
  /** Every distinct layer, in the order the graph first uses it (Keras' model.layers). */
  readonly layers: Layer[] = [];
  readonly name: string;
  readonly seed: number;
  optimizer?: Optimizer;
  heads: OutputHead[] = [];
  /** A callback may set this to end fit() after the current epoch (Keras' model.stop_training). */
  stopTraining = false;
  /** Set (from a signal handler, say) to end fit() after the current batch; the epoch is left unfinished. */
  interruptRequested = false;
  /** Epochs completed over the model's life (checkpoints carry it); seeds each epoch's shuffle. */
  epochsTrained = 0;

  protected plan?: ExecutionPlan;
  private graph?: GraphDefinition;
  private heap?: Heap;
  private rng: Rng;
  private workspaceMark = 0;
  private capacity = 0;
  private outputBuffers: OutputBuffers[] = [];
  private readonly requestedKernels?: Kernels;
  private layerOfParam = new Map<Parameter, Layer>();
  /** Where backwardBatch keeps the previous gradients while it accumulates. */
  private gradientStash: Pointer = 0;

  constructor(options?: ModelOptions, defaults: { name: string; seed?: number; kernels?: Kernels } = { name: "model" }) {
    this.name = options?.name ?? defaults.name;
    this.seed = options?.seed ?? defaults.seed ?? 1;
    this.requestedKernels = options?.kernels ?? defaults.kernels;
    this.rng = new Rng(this.seed);
    if (options) {
      const inputs = Array.isArray(options.inputs) ? options.inputs : [options.inputs];
      const outputs = Array.isArray(options.outputs) ? options.outputs : [options.outputs];
      this.graph = traceGraph(inputs, outputs);
      for (const node of this.graph.nodes) if (!this.layers.includes(node.layer)) this.layers.push(node.layer);
      // Names now, as Keras gives them, so configs and errors can use them before the model is built.
      assignDefaultNames(this.layers, this.graph.inputs.map((i) => i.name));
    }
  }

  /** A model from a graph already traced (the PyTorch-style tracer hands over its rewritten graph). */
  static fromGraph(graph: GraphDefinition, options: { name?: string; seed?: number; kernels?: Kernels } = {}): Model {
    const model = new Model(undefined, { name: options.name ?? "model", seed: options.seed, kernels: options.kernels });
    model.graph = graph;
    for (const node of graph.nodes) if (!model.layers.includes(node.layer)) model.layers.push(node.layer);
    assignDefaultNames(model.layers, graph.inputs.map((i) => i.name));
    return model;
  }

  /** The graph to build; Sequential makes its chain here, once its layers are added. */
  protected defineGraph(): GraphDefinition {
    if (!this.graph) throw new InputError("the model has no graph: construct it with { inputs, outputs }");
    return this.graph;
  }

  get built(): boolean {
    return this.heap !== undefined;
  }

  get kernels(): Kernels {
    return this.requireHeap().kernels;
  }

  /** The built plan: steps in order, tensor shapes, outputs. */
  get executionPlan(): ExecutionPlan {
    this.build();
    return this.plan!;
  }

  get inputNames(): string[] {
    return (this.graph ?? this.defineGraph()).inputs.map((i) => i.name);
  }

  get inputShapes(): number[][] {
    return (this.graph ?? this.defineGraph()).inputs.map((i) => i.shape);
  }

  /** The first input's per-sample shape (the only one for most models). */
  get inputShape(): number[] | undefined {
    return this.graph?.inputs[0].shape;
  }

  get outputNames(): string[] {
    const plan = this.executionPlan;
    return plan.outputs.map((t) => this.tensorName(t));
  }

  get outputShapes(): number[][] {
    const plan = this.executionPlan;
    return plan.outputs.map((t) => plan.shapes[t]);
  }

  /** The first output's per-sample shape. */
  get outputShape(): number[] {
    return this.outputShapes[0];
  }

  /** Every parameter, in layer order (kernel, then bias); a shared layer's once. */
  get params(): Parameter[] {
    this.build();
    return this.layers.flatMap((l) => l.params);
  }

  /** The first output's compiled loss (the only one for most models). */
  get loss(): CompiledLoss | undefined {
    return this.heads[0]?.loss;
  }

  get metricNames(): MetricName[] {
    return this.heads[0]?.metrics ?? [];
  }

  /** Bytes of WebAssembly memory this model holds (parameters, optimizer state, activations). */
  get memoryBytes(): number {
    return this.heap?.memory.buffer.byteLength ?? 0;
  }

  /** The name a tensor goes by: its input's, its step's node name, or "node[k]" for a step's output k > 0. */
  tensorName(t: TensorId): string {
    const plan = this.plan ?? this.executionPlan;
    const s = plan.producerOf(t);
    if (s < 0) return this.inputNames[t];
    const step = plan.steps[s];
    const k = step.outputs.indexOf(t);
    return k === 0 ? step.nodeName : `${step.nodeName}[${k}]`;
  }

  build(): void {
    if (this.heap) return;
    const graph = this.defineGraph();
    this.graph = graph;
    if (graph.nodes.length === 0) throw new InputError("the model has no layers");
    for (const layer of this.layers) {
      if (layer.isBuilt) throw new InputError(`layer ${layer.name} (${layer.type}) already belongs to another model; create a new layer object per model`);
    }
    assignDefaultNames(this.layers, graph.inputs.map((i) => i.name));
    const heap = new Heap(this.requestedKernels ?? newKernels());
    const shapes: number[][] = graph.inputs.map((i) => i.shape);
    const applications = new Map<Layer, number>();
    const steps: PlanStep[] = graph.nodes.map((node) => {
      const count = (applications.get(node.layer) ?? 0) + 1;
      applications.set(node.layer, count);
      const layer = count === 1 ? node.layer : twinOf(node.layer);
      layer.build(node.inputs.map((t) => shapes[t]), heap, this.rng.fork());
      node.outputs.forEach((t, j) => (shapes[t] = layer.outputShapes[j]));
      return { layer, nodeName: count === 1 ? layer.name : `${layer.name}:${count}`, inputs: node.inputs, outputs: node.outputs, output: node.outputs[0] };
    });
    const repeated = graph.outputs.find((t, i) => graph.outputs.indexOf(t) !== i);
    this.plan = new ExecutionPlan(graph.inputs.map((i) => i.shape), steps, graph.outputs);
    if (repeated !== undefined) throw new InputError(`the tensor '${this.tensorName(repeated)}' is listed twice among the model's outputs`);
    for (const layer of this.layers) for (const p of layer.params) this.layerOfParam.set(p, layer);
    this.heap = heap;
    this.workspaceMark = heap.mark();
  }

  compile(options: CompileOptions): void {
    this.build();
    const plan = this.plan!;
    const names = this.outputNames;
    const isSpec = (v: unknown) => typeof v === "string" || (typeof v === "object" && v !== null && "type" in v);
    const lossSpecs = perOutput(options.loss as LossSpec | string, names, undefined as unknown as LossSpec, "loss", isSpec);
    const weights = perOutput(options.lossWeights, names, 1, "lossWeights", (v) => typeof v === "number");
    const metrics = perOutput(options.metrics as string[] | Record<string, string[]> | undefined, names, [] as string[], "metrics", (v) => Array.isArray(v));
    plan.fusedHeads.clear();
    this.heads = plan.outputs.map((t, i) => {
      if (lossSpecs[i] === undefined) throw new InputError(`compile: no loss for output '${names[i]}'`);
      if (!(Number.isFinite(weights[i]) && weights[i] >= 0)) throw new InputError(`compile: lossWeights for '${names[i]}' must be a number ≥ 0, got ${weights[i]}`);
      const step = plan.producerOf(t);
      const layer = step >= 0 ? plan.steps[step].layer : undefined;
      if (plan.masked[t]) {
        // Keras would weight each step's loss by the mask; unweighted, padded steps would be fitted too.
        throw new InputError(`output '${names[i]}' carries a mask (padded time steps), which its loss would count: pool or run a recurrent layer over the sequence before the output`);
      }
      const loss = new CompiledLoss(parseLoss(lossSpecs[i]), layer?.outputActivation, plan.shapes[t]);
      // Softmax + cross-entropy from logits: the producing step stops short of its activation. Only
      // where nothing else reads that output, since every other reader wants the probabilities.
      if (loss.fusesActivation) {
        if (plan.steps.some((s) => s.inputs.includes(t))) {
          throw new InputError(`output '${names[i]}' is also read by other layers, so its ${loss.head} cannot be fused into the loss: end it with a linear activation and use fromLogits: true`);
        }
        plan.fusedHeads.add(step);
      }
      return { loss, weight: weights[i], metrics: parseMetrics(metrics[i]) };
    });
    const optimizer = options.optimizer instanceof Optimizer ? options.optimizer : optimizerFromConfig(options.optimizer);
    // Optimizer slots are persistent: lay them out below the activation workspace.
    const heap = this.requireHeap();
    this.releaseWorkspace();
    optimizer.attach(this.params, heap);
    this.optimizer = optimizer;
    if (options.accumulateGradients && !this.gradientStash) this.gradientStash = heap.allocFloats(this.countParams());
    this.workspaceMark = heap.mark();
    // Activations moved: replay a pending forward pass (same layer states, so the same dropout masks).
    const pending = this.pendingBackward;
    if (pending) {
      this.restoreStates(pending.states);
      pending.outputs = this.runForward(pending.inputs, pending.count, this.trainingMode(pending.training));
    }
  }

  /** One optimizer step on one batch; returns the batch loss. */
  trainOnBatch(x: ModelInputs, y: ModelTargets): number {
    const batch = this.prepare(x, y);
    return this.trainStep(batch, identityOrder(batch.inputs[0].count), 0, batch.inputs[0].count, null, "trainOnBatch");
  }

  /** Loss and parameter gradients for one batch, without updating anything (for custom training loops). */
  computeGradients(x: ModelInputs, y: ModelTargets, options: { training?: boolean } = {}): { loss: number; grads: Tensor[] } {
    const batch = this.prepare(x, y);
    const count = batch.inputs[0].count;
    const { loss } = this.forwardBackward(batch, identityOrder(count), 0, count, options.training ?? true);
    const heap = this.requireHeap();
    return { loss, grads: this.params.map((p) => tensor(heap.f32(p.grad, p.size).slice(), p.shape)) };
  }

  async fit(x: ModelInputs, y: ModelTargets, options: FitOptions = {}): Promise<History> {
    this.requireCompiled();
    const epochs = options.epochs ?? 1;
    const batchSize = options.batchSize ?? 32;
    checkCount("epochs", epochs, 1, 1e6);
    checkCount("batchSize", batchSize, 1, 1 << 20);
    if (options.augment && this.inputNames.length !== 1) throw new InputError("augment applies to models with one (image) input");
    let train = this.prepare(x, y);
    let validation: Batch | undefined;
    if (options.validationData) {
      validation = this.prepare(options.validationData[0], options.validationData[1]);
    } else if (options.validationSplit) {
      const split = options.validationSplit;
      const count = train.inputs[0].count;
      if (!(split > 0 && split < 1)) throw new InputError(`validationSplit must be between 0 and 1, got ${split}`);
      const keep = Math.floor(count * (1 - split));
      if (keep < 1 || keep >= count) throw new InputError(`validationSplit ${split} leaves no samples on one side of ${count}`);
      validation = sliceBatch(train, keep, count);
      train = sliceBatch(train, 0, keep);
    }
    const count = train.inputs[0].count;
    const callbacks = options.callbacks ?? [];
    const history: History = { epoch: [], history: {} };
    const batches = Math.ceil(count / batchSize);
    this.stopTraining = false;
    this.interruptRequested = false;
    let lastYield = performance.now();
    for (const cb of callbacks) cb.setModel?.(this);
    for (const cb of callbacks) await cb.onTrainBegin?.({ epochs, batches, samples: count });
    for (let epoch = options.initialEpoch ?? 0; epoch < epochs && !this.stopTraining; epoch++) {
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch);
      // Each epoch's order depends only on the seed and the epoch count, so a resumed run sees the same
      // batches as an uninterrupted one.
      const order = identityOrder(count);
      if (options.shuffle ?? true) new Rng((this.seed ^ Math.imul(this.epochsTrained + 1, 0x9e3779b9)) >>> 0).shuffle(order);
      const metrics = this.newMetrics();
      const lossSums = new Float64Array(this.heads.length + 1);
      for (let b = 0; b < batches; b++) {
        const start = b * batchSize;
        const size = Math.min(batchSize, count - start);
        // Augmentation is seeded by the model seed, epoch and batch, like the shuffle, for exact resumes.
        const augment = options.augment && this.batchAugmenter(options.augment, b);
        for (const cb of callbacks) cb.onBatchBegin?.(b);
        const batchLoss = this.trainStep(train, order, start, size, metrics, `epoch ${epoch + 1}, batch ${b + 1}`, augment, lossSums);
        lossSums[0] += batchLoss * size;
        for (const cb of callbacks) await cb.onBatchEnd?.(b, { loss: batchLoss, size });
        if (performance.now() - lastYield > 250) {
          // Let signal handlers and timers run: the steps themselves never yield to the event loop.
          await new Promise((resolve) => setTimeout(resolve, 0));
          lastYield = performance.now();
        }
        if (this.interruptRequested) break;
      }
      if (this.interruptRequested) break;
      this.epochsTrained++;
      const logs: EpochLogs = this.logsFrom(lossSums, count, metrics);
      if (validation) {
        const v = this.evaluateBatch(validation, batchSize);
        for (const [key, value] of Object.entries(v)) logs[`val_${key}`] = value;
      }
      history.epoch.push(epoch);
      for (const [key, value] of Object.entries(logs)) (history.history[key] ??= []).push(value);
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs);
    }
    for (const cb of callbacks) await cb.onTrainEnd?.(history);
    return history;
  }

  evaluate(x: ModelInputs, y: ModelTargets, options: { batchSize?: number } = {}): Record<string, number> {
    return this.evaluateBatch(this.prepare(x, y), options.batchSize ?? 32);
  }

  /**
   * Outputs for every sample: class probabilities for classifiers (the output activation applied), raw
   * values otherwise. One tensor for a one-output model, else one per output (as TF.js' predict).
   */
  predict(x: ModelInputs, options: { batchSize?: number } = {}): Tensor | Tensor[] {
    const outputs = this.predictAll(x, options);
    return outputs.length === 1 ? outputs[0] : outputs;
  }

  /** predict(), always as a list with one tensor per output. */
  predictAll(x: ModelInputs, options: { batchSize?: number } = {}): Tensor[] {
    this.build();
    const plan = this.plan!;
    const inputs = toModelSamples(x, this.inputNames, this.inputShapes);
    const count = inputs[0].count;
    const batchSize = options.batchSize ?? 32;
    checkCount("batchSize", batchSize, 1, 1 << 20);
    const dims = plan.outputs.map((t) => size(plan.shapes[t]));
    const out = dims.map((d) => new Float32Array(count * d));
    this.reserve(Math.min(batchSize, count));
    const heap = this.requireHeap();
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const views = inputs.map((s) => s.x.subarray(start * s.sampleSize, (start + n) * s.sampleSize));
      // No head is fused here: every layer applies its own activation, so outputs are what users see.
      const raw = this.runForward(views, n, { training: false, backwardFollows: false, logitsAt: NO_HEADS });
      raw.forEach((ptr, i) => out[i].set(heap.f32(ptr, n * dims[i]), start * dims[i]));
    }
    return out.map((data, i) => tensor(data, [count, ...plan.shapes[plan.outputs[i]]]));
  }

  /**
   * Gradient saliency (Simonyan et al., 2013): d(class score)/d(input) for one sample, where the score is
   * the class's logit (before softmax/sigmoid), in inference mode. Defaults to the predicted class.
   * Overwrites the parameter gradients as a side effect. One-input, one-output models.
   */
  saliency(x: ModelInputs, classIndex?: number): { gradient: Tensor; predicted: number; scores: Float32Array } {
    this.build();
    const plan = this.plan!;
    if (plan.inputCount !== 1 || plan.outputs.length !== 1) throw new InputError("saliency explains models with one input and one output");
    if (this.outputShape.length > 1) throw new InputError(`saliency explains one row of class scores; this model outputs [${this.outputShape}] per sample`);
    const [samples] = toModelSamples(x, this.inputNames, this.inputShapes);
    if (samples.count !== 1) throw new InputError(`saliency explains one sample at a time; got ${samples.count}`);
    const last = plan.producerOf(plan.outputs[0]);
    const logits = new Set(last >= 0 && plan.steps[last].layer.outputActivation ? [last] : []);
    const [output] = this.runForward([samples.x], 1, { training: false, backwardFollows: true, logitsAt: logits });
    const heap = this.requireHeap();
    const outputDim = this.outputShape.reduce((a, b) => a * b, 1);
    const scores = heap.f32(output, outputDim).slice();
    // Scores are logits here, so one output's decision threshold is 0, not 0.5.
    const predicted = outputDim === 1 ? (scores[0] > 0 ? 1 : 0) : argmax(scores, 0, outputDim);
    const target = classIndex ?? predicted;
    if (!Number.isInteger(target) || target < 0 || target >= Math.max(outputDim, 2)) {
      throw new InputError(`class ${classIndex} is not one of the model's classes 0..${Math.max(outputDim, 2) - 1}`);
    }
    // The seed is d(score)/d(output): one-hot on the class's logit; for one sigmoid output, the positive
    // class's logit is the output itself and the negative class's is its negative.
    const seedBuffer = this.outputBuffers[0].grad;
    const seed = heap.f32(seedBuffer, outputDim);
    seed.fill(0);
    if (outputDim === 1) seed[0] = target === 1 ? 1 : -1;
    else seed[target] = 1;
    const [inputGrad] = plan.backward([seedBuffer], 1, this.kernels, true);
    return { gradient: tensor(heap.f32(inputGrad, samples.sampleSize).slice(), this.inputShapes[0]), predicted, scores };
  }

  /** Copies of every parameter, in layer order (kernel, then bias). */
  getWeights(): Tensor[] {
    const heap = this.requireHeap();
    return this.params.map((p) => tensor(heap.f32(p.value, p.size).slice(), p.shape));
  }

  setWeights(weights: (Tensor | Float32Array)[]): void {
    const heap = this.requireHeap();
    const params = this.params;
    if (weights.length !== params.length) throw new InputError(`the model has ${params.length} weight tensors, ${weights.length} were given`);
    params.forEach((p, i) => {
      const w = weights[i];
      const data = w instanceof Float32Array ? w : w.data;
      if (data.length !== p.size) throw new InputError(`weight ${p.name} needs ${p.size} values ([${p.shape}]), ${data.length} were given`);
      heap.f32(p.value, p.size).set(data);
    });
  }

  /** The graph as JSON (see graph.ts): every application with its inputs, shared layers by name. */
  toConfig(): GraphConfig | import("./sequential").SequentialConfig {
    const plan = this.executionPlan;
    const layers = plan.steps.map((step): LayerConfig => {
      const inputs = step.inputs.map((t) => this.tensorName(t));
      const original = step.layer.sharesWeightsOf;
      if (original) return { type: "", name: step.nodeName, shares: original.name, inputs } as unknown as LayerConfig;
      return { ...configOf(step.layer), inputs };
    });
    // Entries that share a layer carry no type: drop the placeholder key.
    for (const entry of layers) if (entry.type === "") delete (entry as Partial<LayerConfig>).type;
    return { name: this.name, seed: this.seed, inputs: this.graph!.inputs.map((i) => ({ name: i.name, shape: i.shape })), layers, outputs: this.outputNames };
  }

  countParams(): number {
    return this.params.reduce((sum, p) => sum + p.size, 0);
  }

  /** Keras' summary table, with the tensors each application reads ("Connected to"). */
  summary(): string {
    const plan = this.executionPlan;
    const rows: string[][] = this.inputNames.map((name, i) => [`${name} (InputLayer)`, `[${this.inputShapes[i]}]`, "0", ""]);
    for (const step of plan.steps) {
      const shared = step.layer.sharesWeightsOf;
      const params = shared ? 0 : step.layer.params.reduce((s, p) => s + p.size, 0);
      const type = shared ? `${step.layer.type}, shared` : step.layer.type;
      rows.push([`${step.nodeName} (${type})`, step.layer.outputShapes.map((shape) => `[${shape}]`).join(", "), String(params), step.inputs.map((t) => this.tensorName(t)).join(", ")]);
    }
    const header = ["Layer (type)", "Output shape", "Params", "Connected to"];
    const chain = plan.steps.every((s, i) => s.inputs.length === 1 && s.inputs[0] === (i === 0 ? 0 : plan.steps[i - 1].output)) && plan.inputCount === 1;
    // A chain reads top to bottom; the column would only repeat the row above.
    const columns = chain ? 3 : 4;
    const shown = (chain ? rows.slice(1) : rows).map((r) => r.slice(0, columns));
    const widths = header.slice(0, columns).map((h, i) => Math.max(h.length, ...shown.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [line(header.slice(0, columns)), ...shown.map(line), `Total params: ${this.countParams()}`].join("\n");
  }

  // ---- the step in three calls (the PyTorch-style API in src/nn drives these) ------------------------

  /** The last forwardBatch, kept so compile() (which re-lays memory) can replay it bit for bit. */
  private pendingBackward?: { outputs: Pointer[]; count: number; inputs: Float32Array[]; training: boolean; states: number[][] };

  /** Forward one batch (`training` turns dropout and batch statistics on); returns a copy of the first output. */
  forwardBatch(x: ModelInputs, training: boolean): Tensor {
    this.build();
    const samples = toModelSamples(x, this.inputNames, this.inputShapes);
    const states = this.captureStates();
    const inputs = samples.map((s) => s.x.slice());
    const count = samples[0].count;
    const outputs = this.runForward(inputs, count, this.trainingMode(training));
    this.pendingBackward = { outputs, count, inputs, training, states };
    const heap = this.requireHeap();
    const shape = this.outputShape;
    return tensor(heap.f32(outputs[0], count * size(shape)).slice(), [count, ...shape]);
  }

  /**
   * The compiled loss of the last forwardBatch against `y`, back-propagated: parameter gradients are
   * written (or, with accumulate, added to the ones already there). Returns the loss.
   */
  backwardBatch(y: ModelTargets, options: { accumulate?: boolean } = {}): number {
    this.requireCompiled();
    const pending = this.pendingBackward;
    if (!pending) throw new InputError("backward needs a forward pass first (and each forward pass can be back-propagated once)");
    this.pendingBackward = undefined;
    this.loadTargets(y, pending.count);
    const value = this.computeLosses(pending.outputs, pending.count) + this.regularizationPenalty();
    if (options.accumulate) this.stashGradients();
    this.requireHeap();
    this.plan!.backward(this.outputBuffers.map((b) => b.grad), pending.count, this.kernels);
    this.addRegularizationGradients();
    if (options.accumulate) this.addStashedGradients();
    return value;
  }

  /** The compiled loss of the last forwardBatch against `y`, without back-propagating. */
  batchLoss(y: ModelTargets): number {
    this.requireCompiled();
    const pending = this.pendingBackward;
    if (!pending) throw new InputError("a loss needs a forward pass first");
    this.loadTargets(y, pending.count);
    return this.computeLosses(pending.outputs, pending.count) + this.regularizationPenalty();
  }

  /** One optimizer update from the gradients in place (after backwardBatch). */
  applyGradients(): void {
    this.requireCompiled();
    this.checkGradients("optimizer.step()");
    this.optimizer!.step(this.kernels, (p) => this.isTrainable(p));
  }

  /** Sets every parameter gradient to zero. */
  zeroGradients(): void {
    const heap = this.requireHeap();
    for (const p of this.params) heap.f32(p.grad, p.size).fill(0);
  }

  /** Layer states (dropout RNGs, running statistics) by node name, for checkpoints. */
  layerStates(): Record<string, number[]> {
    const plan = this.executionPlan;
    return Object.fromEntries(plan.steps.map((s) => [s.nodeName, s.layer.getState()]).filter(([, st]) => (st as number[]).length > 0));
  }

  setLayerStates(states: Record<string, unknown>): void {
    for (const step of this.executionPlan.steps) {
      const state = Object.hasOwn(states, step.nodeName) ? states[step.nodeName] : undefined;
      if (Array.isArray(state)) step.layer.setState(state);
    }
  }

  // ---- the step ------------------------------------------------------------------------------------

  private trainStep(
    batch: Batch, order: Int32Array, start: number, size: number, metrics: MetricAccumulator[] | null, where: string,
    augment?: BatchTransform, lossSums?: Float64Array,
  ): number {
    const { outputs, loss, perOutput } = this.forwardBackward(batch, order, start, size, true, augment);
    if (!Number.isFinite(loss)) {
      throw new DivergenceError(`the loss became ${loss} at ${where}; try a lower learning rate (now ${this.optimizer!.learningRate})`);
    }
    if (lossSums) perOutput.forEach((l, i) => (lossSums[i + 1] += l * size));
    // Backward leaves the outputs and probabilities alone (it overwrites only gradient and im2col buffers).
    if (metrics) this.updateMetrics(metrics, outputs, size, batch.targets);
    this.checkGradients(where);
    this.optimizer!.step(this.kernels, (p) => this.isTrainable(p));
    return loss;
  }

  /** Forward, loss (with penalties) and backward for one batch; parameter gradients are left in place. */
  private forwardBackward(
    batch: Batch, order: Int32Array, start: number, size: number, training: boolean, augment?: BatchTransform,
  ): { outputs: Pointer[]; loss: number; perOutput: number[] } {
    this.requireCompiled();
    this.reserve(size);
    this.loadBatch(batch, order, start, size);
    const plan = this.plan!;
    augment?.(this.requireHeap().f32(plan.inputBuffer(0), size * batch.inputs[0].sampleSize), size);
    const outputs = plan.forward(size, { training, backwardFollows: true, logitsAt: plan.fusedHeads });
    const perOutput = this.lossesPerOutput(outputs, size);
    const loss = this.weightedTotal(perOutput) + this.regularizationPenalty();
    plan.backward(this.outputBuffers.map((b) => b.grad), size, this.kernels);
    this.addRegularizationGradients();
    return { outputs, loss, perOutput };
  }

  /** Each output's batch-mean loss; writes each output's d(weighted loss)/d(output). */
  private lossesPerOutput(outputs: Pointer[], count: number): number[] {
    return this.heads.map((head, i) => {
      const b = this.outputBuffers[i];
      const value = head.loss.compute(this.kernels, outputs[i], b.targets, count, b.probs, b.grad);
      // The loss kernels write the unweighted gradient; scale it where the weight is not 1.
      if (head.weight !== 1) this.kernels.axpy(count * head.loss.outputDim, head.weight - 1, b.grad, b.grad);
      return value;
    });
  }

  private computeLosses(outputs: Pointer[], count: number): number {
    return this.weightedTotal(this.lossesPerOutput(outputs, count));
  }

  /** Σ weight·loss over the outputs (Keras' loss_weights). */
  private weightedTotal(perOutput: number[]): number {
    return perOutput.reduce((s, l, i) => s + this.heads[i].weight * l, 0);
  }

  /** A pass a loss and backward follow: the compiled heads emit logits for the losses to apply. */
  private trainingMode(training: boolean): PlanForwardMode {
    return { training, backwardFollows: true, logitsAt: this.plan!.fusedHeads };
  }

  /** Copies `count` samples into the input buffers and runs the graph on them. */
  private runForward(inputs: Float32Array[], count: number, mode: PlanForwardMode): Pointer[] {
    this.reserve(count);
    const heap = this.requireHeap();
    const plan = this.plan!;
    inputs.forEach((x, i) => heap.f32(plan.inputBuffer(i), x.length).set(x));
    return plan.forward(count, mode);
  }

  private batchAugmenter(augmenter: ImageAugmenter, batchIndex: number): BatchTransform {
    const rng = new Rng((this.seed ^ Math.imul(this.epochsTrained + 1, 0x85ebca6b) ^ Math.imul(batchIndex + 1, 0xc2b2ae35)) >>> 0);
    return (batch, count) => augmenter.apply(batch.slice(), batch, count, this.inputShapes[0], rng);
  }

  private regularizationPenalty(): number {
    let penalty = 0;
    for (const p of this.params) {
      const r = p.regularizer;
      if (!r) continue;
      if (r.l2) penalty += r.l2 * this.kernels.sumOfSquares(p.value, p.size);
      if (r.l1) penalty += r.l1 * this.kernels.sumOfAbs(p.value, p.size);
    }
    return penalty;
  }

  private addRegularizationGradients(): void {
    for (const p of this.params) {
      const r = p.regularizer;
      if (!r) continue;
      if (r.l2) this.kernels.axpy(p.size, 2 * r.l2, p.value, p.grad);
      if (r.l1) this.kernels.addL1Gradient(p.value, p.grad, p.size, r.l1);
    }
  }

  private stashGradients(): void {
    if (!this.gradientStash) throw new InputError("accumulating gradients needs compile({ accumulateGradients: true })");
    const memory = new Float32Array(this.kernels.memory.buffer);
    let at = this.gradientStash >> 2;
    for (const p of this.params) {
      memory.copyWithin(at, p.grad >> 2, (p.grad >> 2) + p.size);
      at += p.size;
    }
  }

  private addStashedGradients(): void {
    let at = this.gradientStash;
    for (const p of this.params) {
      this.kernels.axpy(p.size, 1, at, p.grad);
      at += p.size * 4;
    }
  }

  /** A NaN or Inf gradient would silently poison every weight; stop at the first and name it. */
  private checkGradients(where: string): void {
    for (const p of this.params) {
      const s = this.kernels.sumOfSquares(p.grad, p.size);
      if (!Number.isFinite(s)) {
        throw new DivergenceError(`the gradient of ${p.name} became ${s} at ${where}; try a lower learning rate (now ${this.optimizer!.learningRate})`);
      }
    }
  }

  private isTrainable(p: Parameter): boolean {
    return this.layerOfParam.get(p)?.trainable ?? true;
  }

  private newMetrics(): MetricAccumulator[] {
    return this.heads.map((h) => new MetricAccumulator(h.metrics, h.loss.classes));
  }

  /** Keras' names: "loss" and the metrics for one output; "loss", "<out>_loss" and "<out>_<metric>" for several. */
  private logsFrom(lossSums: Float64Array, count: number, metrics: MetricAccumulator[]): EpochLogs {
    const logs: EpochLogs = { loss: lossSums[0] / count };
    const names = this.outputNames;
    const several = this.heads.length > 1;
    this.heads.forEach((_, i) => {
      if (several) logs[`${names[i]}_loss`] = lossSums[i + 1] / count;
      for (const [key, value] of Object.entries(metrics[i].results())) logs[several ? `${names[i]}_${key}` : key] = value;
    });
    return logs;
  }

  private evaluateBatch(batch: Batch, batchSize: number): Record<string, number> {
    this.requireCompiled();
    checkCount("batchSize", batchSize, 1, 1 << 20);
    const plan = this.plan!;
    const metrics = this.newMetrics();
    const count = batch.inputs[0].count;
    const order = identityOrder(count);
    const lossSums = new Float64Array(this.heads.length + 1);
    this.reserve(Math.min(batchSize, count));
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start);
      this.loadBatch(batch, order, start, size);
      const outputs = plan.forward(size, { training: false, backwardFollows: false, logitsAt: plan.fusedHeads });
      const perOutput = this.lossesPerOutput(outputs, size);
      perOutput.forEach((l, i) => {
        lossSums[i + 1] += l * size;
        lossSums[0] += this.heads[i].weight * l * size;
      });
      this.updateMetrics(metrics, outputs, size, batch.targets);
    }
    const logs = this.logsFrom(lossSums, count, metrics);
    logs.loss += this.regularizationPenalty();
    return logs;
  }

  private updateMetrics(metrics: MetricAccumulator[], outputs: Pointer[], size: number, targets: Targets[]): void {
    const heap = this.requireHeap();
    this.heads.forEach((head, i) => {
      if (head.metrics.length === 0) return;
      // Metrics count rows: one per sample, or one per position of a per-position output.
      const dim = head.loss.outputDim, rows = size * head.loss.positions;
      const b = this.outputBuffers[i];
      const shown = heap.f32(head.loss.predictionsAt(outputs[i], b.probs), size * dim);
      const labels = targets[i].labels ? heap.i32(b.targets, rows) : null;
      const values = targets[i].values ? heap.f32(b.targets, size * dim) : null;
      metrics[i].update(shown, rows, labels, values);
    });
  }

  /** Gathers samples order[start..start+size) into the input and target buffers. */
  private loadBatch(batch: Batch, order: Int32Array, start: number, size: number): void {
    const heap = this.requireHeap();
    const plan = this.plan!;
    batch.inputs.forEach((samples, i) => {
      const n = samples.sampleSize;
      const input = heap.f32(plan.inputBuffer(i), size * n);
      for (let r = 0; r < size; r++) {
        const s = order[start + r];
        input.set(samples.x.subarray(s * n, (s + 1) * n), r * n);
      }
    });
    batch.targets.forEach((targets, i) => {
      const at = this.outputBuffers[i].targets;
      if (targets.labels) {
        const t = targets.targetSize;
        const labels = heap.i32(at, size * t);
        for (let r = 0; r < size; r++) {
          const s = order[start + r];
          labels.set(targets.labels.subarray(s * t, (s + 1) * t), r * t);
        }
      } else {
        const t = targets.targetSize;
        const out = heap.f32(at, size * t);
        for (let r = 0; r < size; r++) {
          const s = order[start + r];
          out.set(targets.values!.subarray(s * t, (s + 1) * t), r * t);
        }
      }
    });
  }

  private loadTargets(y: ModelTargets, count: number): void {
    const heap = this.requireHeap();
    const targets = toModelTargets(y, this.outputNames, count, this.heads.map((h) => h.loss));
    targets.forEach((t, i) => {
      const at = this.outputBuffers[i].targets;
      if (t.labels) heap.i32(at, t.labels.length).set(t.labels);
      else heap.f32(at, t.values!.length).set(t.values!);
    });
  }

  private captureStates(): number[][] {
    return this.plan!.steps.map((s) => s.layer.getState());
  }

  private restoreStates(states: number[][]): void {
    this.plan!.steps.forEach((s, i) => s.layer.setState(states[i]));
  }

  // ---- memory layout -------------------------------------------------------------------------------

  /** Makes sure activation buffers exist for `batch` samples; re-lays them only for a larger batch. */
  private reserve(batch: number): void {
    if (batch <= this.capacity) return;
    const heap = this.requireHeap();
    const plan = this.plan!;
    this.releaseWorkspace();
    plan.allocate(heap, batch);
    this.outputBuffers = plan.outputs.map((t) => {
      const dim = size(plan.shapes[t]);
      return { targets: heap.allocFloats(batch * dim), probs: heap.allocFloats(batch * dim), grad: heap.allocFloats(batch * dim) };
    });
    this.capacity = batch;
  }

  private releaseWorkspace(): void {
    this.requireHeap().release(this.workspaceMark);
    this.capacity = 0;
  }

  private prepare(x: ModelInputs, y: ModelTargets): Batch {
    this.requireCompiled();
    const inputs = toModelSamples(x, this.inputNames, this.inputShapes);
    return { inputs, targets: toModelTargets(y, this.outputNames, inputs[0].count, this.heads.map((h) => h.loss)) };
  }

  private requireHeap(): Heap {
    this.build();
    return this.heap!;
  }

  private requireCompiled(): void {
    if (this.heads.length === 0 || !this.optimizer) throw new InputError("call compile({ optimizer, loss }) before training or evaluating");
  }
}

const NO_HEADS: ReadonlySet<number> = new Set();

/** Rewrites a loaded batch of inputs in place (augmentation). */
type BatchTransform = (inputs: Float32Array, count: number) => void;

/** 0, 1, …, count − 1: samples in their given order. */
function identityOrder(count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => i);
}

function checkCount(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new InputError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function sliceBatch(batch: Batch, from: number, to: number): Batch {
  return { inputs: batch.inputs.map((s) => sliceSamples(s, from, to)), targets: batch.targets.map((t) => sliceTargets(t, from, to)) };
}

/** A layer's config as checkpoints keep it: "trainable": false only when frozen. */
export function configOf(layer: Layer): LayerConfig {
  return layer.trainable ? layer.getConfig() : { ...layer.getConfig(), trainable: false };
}

/** Keras-style default names (dense_1, conv2d_2, …), skipping names already taken. */
function assignDefaultNames(layers: Layer[], inputNames: string[]): void {
  const counts = new Map<string, number>();
  const taken = new Set([...inputNames, ...layers.map((l) => l.name).filter(Boolean)]);
  const seen = new Set<string>(inputNames);
  for (const layer of layers) {
    if (!layer.name) {
      const base = layer.type.toLowerCase();
      do counts.set(base, (counts.get(base) ?? 0) + 1);
      while (taken.has(`${base}_${counts.get(base)}`));
      layer.name = `${base}_${counts.get(base)}`;
      taken.add(layer.name);
    }
    if (seen.has(layer.name)) throw new InputError(`two layers (or a layer and an input) are named '${layer.name}'`);
    seen.add(layer.name);
  }
}

/** A second application of a layer: the same config, its parameters' values shared (see Layer.addParameter). */
function twinOf(layer: Layer): Layer {
  const twin = layerFromConfig(layer.getConfig(), `${layer.name} (shared)`);
  twin.name = layer.name;
  twin.trainable = layer.trainable;
  twin.sharesWeightsOf = layer;
  return twin;
}
