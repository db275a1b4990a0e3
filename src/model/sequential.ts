// Sequential: a stack of layers trained with compile / fit / evaluate / predict, as in Keras and TF.js.
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
import type { ActivationFunction } from "../layers/activation-function";
import { Optimizer, type OptimizerConfig } from "../optimizers/optimizer";
import { optimizerFromConfig } from "../optimizers/registry";
import { toSamples, toTargets, type InputData, type Samples, type TargetData, type Targets } from "../data/samples";
import { tensor, type Tensor } from "../tensor";
import { CompiledLoss, parseLoss, type LossSpec } from "./losses";
import { MetricAccumulator, argmax, parseMetrics, type MetricName } from "./metrics";
import type { Callback, EpochLogs, History } from "./callbacks";
import type { ImageAugmenter } from "../data/augmentation";

export interface SequentialOptions {
  layers?: Layer[];
  /** Per-sample input shape, e.g. [28, 28, 1]. */
  inputShape?: number[];
  /** Seeds initial weights, shuffling and dropout: the same seed gives the same run. */
  seed?: number;
  name?: string;
  /** Kernel instance to run on (default: a fresh WebAssembly SIMD instance; tests pass the reference). */
  kernels?: Kernels;
}

export interface CompileOptions {
  optimizer: Optimizer | OptimizerConfig | string;
  loss: LossSpec | string;
  metrics?: string[];
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Fraction of the samples, taken from the end before shuffling (as Keras does), held out for validation. */
  validationSplit?: number;
  validationData?: [InputData, TargetData];
  shuffle?: boolean;
  initialEpoch?: number;
  callbacks?: Callback[];
  /** Random image transformations applied to every training batch (never to validation data). */
  augment?: ImageAugmenter;
}

export interface ModelConfig {
  name: string;
  inputShape: number[];
  seed: number;
  layers: LayerConfig[];
}

export class Sequential {
  readonly layers: Layer[] = [];
  readonly name: string;
  readonly seed: number;
  inputShape?: number[];
  optimizer?: Optimizer;
  loss?: CompiledLoss;
  metricNames: MetricName[] = [];
  /** A callback may set this to end fit() after the current epoch (Keras' model.stop_training). */
  stopTraining = false;
  /** Set (from a signal handler, say) to end fit() after the current batch; the epoch is left unfinished. */
  interruptRequested = false;
  /** Epochs completed over the model's life (checkpoints carry it); seeds each epoch's shuffle. */
  epochsTrained = 0;

  private heap?: Heap;
  private rng: Rng;
  private workspaceMark = 0;
  private capacity = 0;
  private inputBuffer: Pointer = 0;
  private targetBuffer: Pointer = 0;
  private probsBuffer: Pointer = 0;
  private gradBuffer: Pointer = 0;
  private readonly requestedKernels?: Kernels;

  constructor(options: SequentialOptions = {}) {
    this.name = options.name ?? "sequential";
    this.seed = options.seed ?? 1;
    this.inputShape = options.inputShape;
    this.requestedKernels = options.kernels;
    this.rng = new Rng(this.seed);
    for (const layer of options.layers ?? []) this.add(layer);
  }

  static fromConfig(config: unknown, options: { kernels?: Kernels; where?: string; seed?: number } = {}): Sequential {
    const where = options.where ?? "model";
    if (typeof config !== "object" || config === null) throw new InputError(`${where}: expected a JSON object with "inputShape" and "layers"`);
    const c = config as Partial<ModelConfig> & Record<string, unknown>;
    if (!Array.isArray(c.inputShape) || c.inputShape.length === 0 || !c.inputShape.every((d) => Number.isInteger(d) && d >= 1 && d <= 1 << 20)) {
      throw new InputError(`${where}: "inputShape" must be a list of positive integers such as [28, 28, 1]`);
    }
    if (!Array.isArray(c.layers) || c.layers.length === 0) throw new InputError(`${where}: "layers" must be a non-empty list`);
    const seed = options.seed ?? (typeof c.seed === "number" ? c.seed : undefined);
    const model = new Sequential({ name: typeof c.name === "string" ? c.name : undefined, inputShape: c.inputShape, seed, kernels: options.kernels });
    c.layers.forEach((raw, i) => model.add(layerFromConfig(raw, `${where} layers[${i}]`)));
    model.build();
    return model;
  }

  add(layer: Layer): this {
    if (this.heap) throw new Error("cannot add layers to a model that is already built");
    this.layers.push(layer);
    return this;
  }

  get built(): boolean {
    return this.heap !== undefined;
  }

  get kernels(): Kernels {
    return this.requireHeap().kernels;
  }

  get outputShape(): number[] {
    return this.layers[this.layers.length - 1].outputShape;
  }

  get params(): Parameter[] {
    return this.layers.flatMap((l) => l.params);
  }

  /** Bytes of WebAssembly memory this model holds (parameters, optimizer state, activations). */
  get memoryBytes(): number {
    return this.heap?.memory.buffer.byteLength ?? 0;
  }

  build(inputShape = this.inputShape): void {
    if (this.heap) return;
    if (!inputShape) throw new InputError("the model needs an inputShape (per sample, e.g. [28, 28, 1]) before it can be built");
    if (this.layers.length === 0) throw new InputError("the model has no layers");
    this.inputShape = inputShape;
    const heap = new Heap(this.requestedKernels ?? newKernels());
    const counts = new Map<string, number>();
    const taken = new Set(this.layers.map((l) => l.name).filter(Boolean));
    let shape = inputShape;
    for (const layer of this.layers) {
      if (!layer.name) {
        // Keras-style default names: dense_1, conv2d_2, …
        const base = layer.type.toLowerCase();
        do counts.set(base, (counts.get(base) ?? 0) + 1);
        while (taken.has(`${base}_${counts.get(base)}`));
        layer.name = `${base}_${counts.get(base)}`;
      }
      layer.build(shape, heap, this.rng.fork());
      shape = layer.outputShape;
    }
    this.heap = heap;
    this.workspaceMark = heap.mark();
  }

  compile(options: CompileOptions): void {
    this.build();
    const last = this.layers[this.layers.length - 1] as Layer & { activation?: ActivationFunction };
    if (last.activation) last.activation.emitLogits = false;
    const outputDim = this.outputShape.reduce((a, b) => a * b, 1);
    this.loss = new CompiledLoss(parseLoss(options.loss), last.activation, outputDim);
    this.metricNames = parseMetrics(options.metrics);
    const optimizer = options.optimizer instanceof Optimizer ? options.optimizer : optimizerFromConfig(options.optimizer);
    // Optimizer slots are persistent: lay them out below the activation workspace.
    const heap = this.requireHeap();
    this.releaseWorkspace();
    optimizer.attach(this.params, heap);
    this.optimizer = optimizer;
    this.workspaceMark = heap.mark();
    // Activations moved: replay a pending forward pass (same layer states, so the same dropout masks).
    const pending = this.pendingBackward;
    if (pending) {
      this.layers.forEach((l, i) => l.setState(pending.states[i]));
      pending.output = this.runForward(pending.input, pending.count, pending.training);
    }
  }

  /** One optimizer step on one batch; returns the batch loss. */
  trainOnBatch(x: InputData, y: TargetData): number {
    const { samples, targets } = this.prepare(x, y);
    return this.trainStep(samples, targets, identityOrder(samples.count), 0, samples.count, null, "trainOnBatch");
  }

  /** Loss and parameter gradients for one batch, without updating anything (for custom training loops). */
  computeGradients(x: InputData, y: TargetData, options: { training?: boolean } = {}): { loss: number; grads: Tensor[] } {
    const { samples, targets } = this.prepare(x, y);
    const { loss } = this.forwardBackward(samples, targets, identityOrder(samples.count), 0, samples.count, options.training ?? true);
    const heap = this.requireHeap();
    return { loss, grads: this.params.map((p) => tensor(heap.f32(p.grad, p.size).slice(), p.shape)) };
  }

  async fit(x: InputData, y: TargetData, options: FitOptions = {}): Promise<History> {
    const loss = this.requireCompiled();
    const epochs = options.epochs ?? 1;
    const batchSize = options.batchSize ?? 32;
    checkCount("epochs", epochs, 1, 1e6);
    checkCount("batchSize", batchSize, 1, 1 << 20);
    let { samples, targets } = this.prepare(x, y);
    let validation: { samples: Samples; targets: Targets } | undefined;
    if (options.validationData) {
      validation = this.prepare(options.validationData[0], options.validationData[1]);
    } else if (options.validationSplit) {
      const split = options.validationSplit;
      if (!(split > 0 && split < 1)) throw new InputError(`validationSplit must be between 0 and 1, got ${split}`);
      const keep = Math.floor(samples.count * (1 - split));
      if (keep < 1 || keep >= samples.count) throw new InputError(`validationSplit ${split} leaves no samples on one side of ${samples.count}`);
      validation = { samples: sliceSamples(samples, keep, samples.count), targets: sliceTargets(targets, keep, samples.count) };
      samples = sliceSamples(samples, 0, keep);
      targets = sliceTargets(targets, 0, keep);
    }
    const callbacks = options.callbacks ?? [];
    const history: History = { epoch: [], history: {} };
    const batches = Math.ceil(samples.count / batchSize);
    this.stopTraining = false;
    this.interruptRequested = false;
    let lastYield = performance.now();
    for (const cb of callbacks) cb.setModel?.(this);
    for (const cb of callbacks) await cb.onTrainBegin?.({ epochs, batches, samples: samples.count });
    for (let epoch = options.initialEpoch ?? 0; epoch < epochs && !this.stopTraining; epoch++) {
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch);
      // Each epoch's order depends only on the seed and the epoch count, so a resumed run sees the same
      // batches as an uninterrupted one.
      const order = identityOrder(samples.count);
      if (options.shuffle ?? true) new Rng((this.seed ^ Math.imul(this.epochsTrained + 1, 0x9e3779b9)) >>> 0).shuffle(order);
      const metrics = new MetricAccumulator(this.metricNames, loss.outputDim);
      let lossSum = 0;
      for (let b = 0; b < batches; b++) {
        const start = b * batchSize;
        const size = Math.min(batchSize, samples.count - start);
        // Augmentation is seeded by the model seed, epoch and batch, like the shuffle, for exact resumes.
        const augment = options.augment && this.batchAugmenter(options.augment, b);
        const batchLoss = this.trainStep(samples, targets, order, start, size, metrics, `epoch ${epoch + 1}, batch ${b + 1}`, augment);
        lossSum += batchLoss * size;
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
      const logs: EpochLogs = { loss: lossSum / samples.count, ...metrics.results() };
      if (validation) {
        const v = this.evaluateSamples(validation.samples, validation.targets, batchSize);
        for (const [key, value] of Object.entries(v)) logs[`val_${key}`] = value;
      }
      history.epoch.push(epoch);
      for (const [key, value] of Object.entries(logs)) (history.history[key] ??= []).push(value);
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs);
    }
    for (const cb of callbacks) await cb.onTrainEnd?.(history);
    return history;
  }

  evaluate(x: InputData, y: TargetData, options: { batchSize?: number } = {}): Record<string, number> {
    const { samples, targets } = this.prepare(x, y);
    return this.evaluateSamples(samples, targets, options.batchSize ?? 32);
  }

  /** Outputs for every sample: class probabilities for classifiers (the head applied), raw values otherwise. */
  predict(x: InputData, options: { batchSize?: number } = {}): Tensor {
    this.build();
    const samples = toSamples(x, this.inputShape!);
    const batchSize = options.batchSize ?? 32;
    checkCount("batchSize", batchSize, 1, 1 << 20);
    const outputDim = this.outputShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(samples.count * outputDim);
    this.reserve(Math.min(batchSize, samples.count));
    const heap = this.requireHeap();
    for (let start = 0; start < samples.count; start += batchSize) {
      const size = Math.min(batchSize, samples.count - start);
      const raw = this.runForward(samples.x.subarray(start * samples.sampleSize, (start + size) * samples.sampleSize), size, false, false);
      const shown = this.loss ? this.loss.applyHead(this.kernels, raw, size, this.probsBuffer) : raw;
      out.set(heap.f32(shown, size * outputDim), start * outputDim);
    }
    return tensor(out, [samples.count, ...this.outputShape]);
  }

  /**
   * Gradient saliency (Simonyan et al., 2013): d(class score)/d(input) for one sample, where the score is
   * the class's logit (before softmax/sigmoid), in inference mode. Defaults to the predicted class.
   * Overwrites the parameter gradients as a side effect.
   */
  saliency(x: InputData, classIndex?: number): { gradient: Tensor; predicted: number; scores: Float32Array } {
    this.build();
    const samples = toSamples(x, this.inputShape!);
    if (samples.count !== 1) throw new InputError(`saliency explains one sample at a time; got ${samples.count}`);
    const last = this.layers[this.layers.length - 1] as Layer & { activation?: ActivationFunction };
    const wasEmittingLogits = last.activation?.emitLogits;
    if (last.activation) last.activation.emitLogits = true;
    try {
      const output = this.runForward(samples.x, 1, false);
      const heap = this.requireHeap();
      const outputDim = this.outputShape.reduce((a, b) => a * b, 1);
      const scores = heap.f32(output, outputDim).slice();
      // Scores are logits here, so one output's decision threshold is 0, not 0.5.
      const predicted = outputDim === 1 ? (scores[0] > 0 ? 1 : 0) : argmax(scores, 0, outputDim);
      const target = classIndex ?? predicted;
      if (!Number.isInteger(target) || target < 0 || target >= Math.max(outputDim, 2)) throw new InputError(`class ${target} is not one of the model's ${outputDim} outputs`);
      const seed = heap.f32(this.gradBuffer, outputDim);
      seed.fill(0);
      // One output: the score of class 1 is the logit, of class 0 its negative.
      if (outputDim === 1) seed[0] = target === 1 ? 1 : -1;
      else seed[target] = 1;
      const inputGrad = this.backward(this.gradBuffer, 1, true);
      return { gradient: tensor(heap.f32(inputGrad, samples.sampleSize).slice(), this.inputShape!), predicted, scores };
    } finally {
      if (last.activation) last.activation.emitLogits = wasEmittingLogits ?? false;
    }
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

  toConfig(): ModelConfig {
    this.build();
    return { name: this.name, inputShape: this.inputShape!, seed: this.seed, layers: this.layers.map((l) => (l.trainable ? l.getConfig() : { ...l.getConfig(), trainable: false })) };
  }

  countParams(): number {
    return this.params.reduce((sum, p) => sum + p.size, 0);
  }

  summary(): string {
    this.build();
    const rows = this.layers.map((l) => [`${l.name} (${l.type})`, `[${l.outputShape}]`, String(l.params.reduce((s, p) => s + p.size, 0))]);
    const header = ["Layer (type)", "Output shape", "Params"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
    return [line(header), ...rows.map(line), `Total params: ${this.countParams()}`].join("\n");
  }

  // ---- the step in three calls (the PyTorch-style API in src/nn drives these) ------------------------

  /** The last forwardBatch, kept so compile() (which re-lays memory) can replay it bit for bit. */
  private pendingBackward?: { output: Pointer; count: number; input: Float32Array; training: boolean; states: number[][] };

  /** Forward one batch (`training` turns dropout and batch statistics on); returns a copy of the raw outputs. */
  forwardBatch(x: InputData, training: boolean): Tensor {
    this.build();
    const samples = toSamples(x, this.inputShape!);
    const states = this.layers.map((l) => l.getState());
    const output = this.runForward(samples.x, samples.count, training);
    this.pendingBackward = { output, count: samples.count, input: samples.x.slice(), training, states };
    const heap = this.requireHeap();
    const outputDim = this.outputShape.reduce((a, b) => a * b, 1);
    return tensor(heap.f32(output, samples.count * outputDim).slice(), [samples.count, ...this.outputShape]);
  }

  /**
   * The compiled loss of the last forwardBatch against `y`, back-propagated: parameter gradients are
   * written (or, with accumulate, added to the ones already there). Returns the loss.
   */
  backwardBatch(y: TargetData, options: { accumulate?: boolean } = {}): number {
    const loss = this.requireCompiled();
    const pending = this.pendingBackward;
    if (!pending) throw new InputError("backward needs a forward pass first (and each forward pass can be back-propagated once)");
    this.pendingBackward = undefined;
    const heap = this.requireHeap();
    this.loadTargets(y, pending.count);
    const previous = options.accumulate ? this.params.map((p) => heap.f32(p.grad, p.size).slice()) : null;
    const value = loss.compute(this.kernels, pending.output, this.targetBuffer, pending.count, this.probsBuffer, this.gradBuffer) + this.regularizationPenalty();
    this.backward(this.gradBuffer, pending.count);
    this.addRegularizationGradients();
    previous?.forEach((g, i) => {
      const grad = heap.f32(this.params[i].grad, this.params[i].size);
      for (let j = 0; j < g.length; j++) grad[j] += g[j];
    });
    return value;
  }

  /** Copies `count` samples into the input buffer and runs the layers on them. */
  private runForward(x: Float32Array, count: number, training: boolean, backwardFollows = true): Pointer {
    this.reserve(count);
    this.requireHeap().f32(this.inputBuffer, x.length).set(x);
    return this.forward(this.inputBuffer, count, training, backwardFollows);
  }

  /** The compiled loss of the last forwardBatch against `y`, without back-propagating. */
  batchLoss(y: TargetData): number {
    const loss = this.requireCompiled();
    const pending = this.pendingBackward;
    if (!pending) throw new InputError("a loss needs a forward pass first");
    this.loadTargets(y, pending.count);
    return loss.compute(this.kernels, pending.output, this.targetBuffer, pending.count, this.probsBuffer, this.gradBuffer) + this.regularizationPenalty();
  }

  private loadTargets(y: TargetData, count: number): void {
    const loss = this.requireCompiled();
    const heap = this.requireHeap();
    const targets = toTargets(y, count, loss.outputDim, loss.sparse);
    if (targets.labels) heap.i32(this.targetBuffer, count).set(targets.labels);
    else heap.f32(this.targetBuffer, targets.values!.length).set(targets.values!);
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

  // ---- the step ------------------------------------------------------------------------------------

  private trainStep(
    samples: Samples, targets: Targets, order: Int32Array, start: number, size: number, metrics: MetricAccumulator | null, where: string,
    augment?: BatchTransform,
  ): number {
    const { output, loss } = this.forwardBackward(samples, targets, order, start, size, true, augment);
    if (!Number.isFinite(loss)) {
      throw new DivergenceError(`the loss became ${loss} at ${where}; try a lower learning rate (now ${this.optimizer!.learningRate})`);
    }
    // Backward leaves the outputs and probabilities alone (it overwrites only gradient and im2col buffers).
    if (metrics) this.updateMetrics(metrics, output, size, targets);
    this.checkGradients(where);
    this.optimizer!.step(this.kernels, (p) => this.isTrainable(p));
    return loss;
  }

  /** Forward, loss (with penalties) and backward for one batch; parameter gradients are left in place. */
  private forwardBackward(
    samples: Samples, targets: Targets, order: Int32Array, start: number, size: number, training: boolean, augment?: BatchTransform,
  ): { output: Pointer; loss: number } {
    const loss = this.requireCompiled();
    this.reserve(size);
    this.loadBatch(samples, targets, order, start, size);
    augment?.(this.requireHeap().f32(this.inputBuffer, size * samples.sampleSize), size);
    const output = this.forward(this.inputBuffer, size, training);
    const value = loss.compute(this.kernels, output, this.targetBuffer, size, this.probsBuffer, this.gradBuffer) + this.regularizationPenalty();
    this.backward(this.gradBuffer, size);
    this.addRegularizationGradients();
    return { output, loss: value };
  }

  private batchAugmenter(augmenter: ImageAugmenter, batchIndex: number): BatchTransform {
    const rng = new Rng((this.seed ^ Math.imul(this.epochsTrained + 1, 0x85ebca6b) ^ Math.imul(batchIndex + 1, 0xc2b2ae35)) >>> 0);
    return (batch, count) => augmenter.apply(batch.slice(), batch, count, this.inputShape!, rng);
  }

  private forward(input: Pointer, batch: number, training: boolean, backwardFollows = true): Pointer {
    let x = input;
    for (const layer of this.layers) x = layer.forward(x, batch, training, backwardFollows);
    return x;
  }

  /**
   * Back-propagates from d(loss)/d(output); returns d(loss)/d(input) when asked (saliency), else 0. A
   * layer computes its input gradient only when some layer before it has parameters: behind a leading
   * Flatten, the first Dense would otherwise spend a whole GEMM on a gradient nobody reads.
   */
  private backward(grad: Pointer, batch: number, needInputGrad = false): Pointer {
    const firstWithParams = this.layers.findIndex((l) => l.params.length > 0);
    let g = grad;
    for (let i = this.layers.length - 1; i >= 0; i--) g = this.layers[i].backward(g, batch, needInputGrad || (firstWithParams >= 0 && i > firstWithParams));
    return g;
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
    return this.layers.find((l) => l.params.includes(p))?.trainable ?? true;
  }

  private evaluateSamples(samples: Samples, targets: Targets, batchSize: number): Record<string, number> {
    const loss = this.requireCompiled();
    checkCount("batchSize", batchSize, 1, 1 << 20);
    const metrics = new MetricAccumulator(this.metricNames, loss.outputDim);
    const order = identityOrder(samples.count);
    let lossSum = 0;
    this.reserve(Math.min(batchSize, samples.count));
    for (let start = 0; start < samples.count; start += batchSize) {
      const size = Math.min(batchSize, samples.count - start);
      this.loadBatch(samples, targets, order, start, size);
      const output = this.forward(this.inputBuffer, size, false, false);
      lossSum += loss.compute(this.kernels, output, this.targetBuffer, size, this.probsBuffer, this.gradBuffer) * size;
      this.updateMetrics(metrics, output, size, targets);
    }
    return { loss: lossSum / samples.count + this.regularizationPenalty(), ...metrics.results() };
  }

  private updateMetrics(metrics: MetricAccumulator, output: Pointer, size: number, targets: Targets): void {
    if (metrics.names.length === 0) return;
    const heap = this.requireHeap();
    const dim = this.loss!.outputDim;
    const shown = heap.f32(this.loss!.predictionsAt(output, this.probsBuffer), size * dim);
    const labels = targets.labels ? heap.i32(this.targetBuffer, size) : null;
    const values = targets.values ? heap.f32(this.targetBuffer, size * dim) : null;
    metrics.update(shown, size, labels, values);
  }

  /** Gathers samples order[start..start+size) into the input and target buffers. */
  private loadBatch(samples: Samples, targets: Targets, order: Int32Array, start: number, size: number): void {
    const heap = this.requireHeap();
    const n = samples.sampleSize;
    const input = heap.f32(this.inputBuffer, size * n);
    for (let i = 0; i < size; i++) {
      const s = order[start + i];
      input.set(samples.x.subarray(s * n, (s + 1) * n), i * n);
    }
    if (targets.labels) {
      const labels = heap.i32(this.targetBuffer, size);
      for (let i = 0; i < size; i++) labels[i] = targets.labels[order[start + i]];
    } else {
      const t = targets.targetSize;
      const out = heap.f32(this.targetBuffer, size * t);
      for (let i = 0; i < size; i++) {
        const s = order[start + i];
        out.set(targets.values!.subarray(s * t, (s + 1) * t), i * t);
      }
    }
  }

  // ---- memory layout -------------------------------------------------------------------------------

  /** Makes sure activation buffers exist for `batch` samples; re-lays them only for a larger batch. */
  private reserve(batch: number): void {
    if (batch <= this.capacity) return;
    const heap = this.requireHeap();
    this.releaseWorkspace();
    const inputSize = this.inputShape!.reduce((a, b) => a * b, 1);
    const outputDim = this.outputShape.reduce((a, b) => a * b, 1);
    this.inputBuffer = heap.allocFloats(batch * inputSize);
    this.targetBuffer = heap.allocFloats(batch * outputDim);
    this.probsBuffer = heap.allocFloats(batch * outputDim);
    this.gradBuffer = heap.allocFloats(batch * outputDim);
    for (const layer of this.layers) layer.allocate(batch);
    this.capacity = batch;
  }

  private releaseWorkspace(): void {
    this.requireHeap().release(this.workspaceMark);
    this.capacity = 0;
  }

  private prepare(x: InputData, y: TargetData): { samples: Samples; targets: Targets } {
    const loss = this.requireCompiled();
    const samples = toSamples(x, this.inputShape!);
    return { samples, targets: toTargets(y, samples.count, loss.outputDim, loss.sparse) };
  }

  private requireHeap(): Heap {
    this.build();
    return this.heap!;
  }

  private requireCompiled(): CompiledLoss {
    if (!this.loss || !this.optimizer) throw new InputError("call compile({ optimizer, loss }) before training or evaluating");
    return this.loss;
  }
}

/** Rewrites a loaded batch of inputs in place (augmentation). */
type BatchTransform = (inputs: Float32Array, count: number) => void;

/** 0, 1, …, count − 1: samples in their given order. */
function identityOrder(count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => i);
}

function checkCount(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new InputError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
}

function sliceSamples(s: Samples, from: number, to: number): Samples {
  return { count: to - from, sampleSize: s.sampleSize, x: s.x.subarray(from * s.sampleSize, to * s.sampleSize) };
}

function sliceTargets(t: Targets, from: number, to: number): Targets {
  return {
    targetSize: t.targetSize,
    labels: t.labels ? t.labels.subarray(from, to) : null,
    values: t.values ? t.values.subarray(from * t.targetSize, to * t.targetSize) : null,
  };
}
