// PyTorch-style modules over wasmgrad's layers: nn.Module with forward() and parameters(), and the
// usual building blocks. A module is traced into a wasmgrad graph model on its first call (see
// trace.ts); after that, call() runs the model's kernels on real batches.
//
// Layout: wasmgrad images are channels-last, [batch, height, width, channels]; MNIST's single channel
// makes that the same bytes as PyTorch's [batch, 1, 28, 28].

import { InputError } from "../errors";
import { Activation } from "../layers/activation";
import type { ActivationName } from "../layers/activation-function";
import { AveragePool2D } from "../layers/average-pool2d";
import { BatchNormalization } from "../layers/batch-normalization";
import { Conv1D } from "../layers/conv1d";
import { Conv2D } from "../layers/conv2d";
import { Conv2DTranspose } from "../layers/conv2d-transpose";
import { Dense } from "../layers/dense";
import { Dropout as DropoutLayer } from "../layers/dropout";
import { ELU as ELULayer } from "../layers/elu";
import { LayerNormalization } from "../layers/layer-normalization";
import { LeakyReLU as LeakyReLULayer } from "../layers/leaky-relu";
import type { Layer } from "../layers/layer";
import { MaxPool2D as MaxPoolLayer } from "../layers/max-pool2d";
import { AveragePool1D, MaxPool1D } from "../layers/pool1d";
import type { InputData } from "../data/samples";
import { Model } from "../model/model";
import { fuseActivations } from "./fuse";
import { isTensor, type Tensor } from "../tensor";
import type { Padding } from "../layers/spatial";
import { Trace, Value, type OutputKind } from "./trace";
import { traceGraph } from "../model/graph";

export type { Value } from "./trace";

/** The model a root module runs on once traced, and what its optimizer and loss need to know. */
export interface Engine {
  model: Model;
  /** The root module that was traced into `model`. */
  owner: Module<unknown>;
  output: OutputKind;
  /** Set by optimizer.zeroGrad(); a backward pass without it adds to the gradients, as PyTorch does. */
  gradientsZeroed: boolean;
  /** The optimizer and loss the model was compiled with (compiled on the first loss). */
  compiledWith?: { optimizer: object | null; loss: string };
}

/** Which model produced an output tensor, so a loss on it can back-propagate through that model. */
export const OUTPUT_OWNER = new WeakMap<Tensor, Engine>();

/**
 * A module's forward() maps a value to a value (Output, by default); a few return several (nn.LSTM:
 * [output, [hN, cN]]). Only a module whose forward() returns one value can be called on data (the root).
 */
export abstract class Module<Output = Value> {
  /** Dropout and batch statistics are on in training mode (the default), off after eval(). */
  training = true;
  private engine?: Engine;
  /** Seeds the traced model's initial weights and dropout. */
  seed = 1;

  abstract forward(x: Value): Output;

  /** PyTorch's model(x): on a symbolic value, records this module; on data, runs the model. */
  call(x: Value): Output;
  call(x: Tensor | InputData): Tensor;
  call(x: Value | Tensor | InputData): Output | Tensor {
    if (x instanceof Value) return this.forward(x);
    const { data, shape } = asBatch(x);
    const engine = this.ensureEngine(shape.slice(1));
    const raw = engine.model.forwardBatch(data, this.training);
    const output = engine.output === "logSoftmax" ? logSoftmaxRows(raw) : raw;
    OUTPUT_OWNER.set(output, engine);
    return output;
  }

  train(mode = true): this {
    this.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The trainable parameters, for an optimizer; they exist once the module has seen its first batch. */
  parameters(): ParameterGroup {
    return new ParameterGroup(this);
  }

  /** The wasmgrad model behind this module (after the first call): save it, export it, summary() it. */
  get model(): Model {
    if (!this.engine) throw new InputError("the module has no model yet: call it on a batch first");
    return this.engine.model;
  }

  /** @internal */
  engineFor(purpose: string): Engine {
    if (!this.engine) throw new InputError(`${purpose} needs the module to have run a batch first (call model.call(x))`);
    return this.engine;
  }

  private ensureEngine(sampleShape: number[]): Engine {
    if (this.engine) return this.engine;
    const trace = new Trace(sampleShape);
    const out: unknown = this.forward(new Value(trace, trace.input));
    if (Array.isArray(out)) {
      throw new InputError(`${this.constructor.name}'s forward() returns ${out.length} values; a module called on data must return one (call modules such as nn.LSTM inside the forward() of a module that picks what it returns)`);
    }
    if (!(out instanceof Value) || out.trace !== trace) throw new InputError("forward() must return the value computed from its input");
    if (out.symbolic === trace.input) throw new InputError("forward() returns its input unchanged: there is no model to train");
    const graph = fuseActivations(traceGraph([trace.input], [out.symbolic]));
    const model = Model.fromGraph(graph, { seed: this.seed, name: this.constructor.name });
    model.build();
    this.engine = { model, owner: this, output: out.kind, gradientsZeroed: true };
    return this.engine;
  }
}

/** A handle on a module's parameters (PyTorch's model.parameters()), resolved when the model exists. */
export class ParameterGroup {
  constructor(readonly module: Module<unknown>) {}
}

/** A module that is one wasmgrad layer. Called twice, it is one layer applied twice: shared weights. */
export abstract class LayerModule extends Module {
  private made?: Layer;

  protected abstract makeLayer(input: number[]): Layer;

  /** The wasmgrad layer behind this module (its params are PyTorch's weight and bias); made on the first call. */
  get layer(): Layer | undefined {
    return this.made;
  }

  forward(x: Value): Value {
    this.made ??= this.makeLayer(x.shape);
    return x.trace.apply(x, this.made, this.constructor.name);
  }
}

/**
 * nn.Linear(in, out) on features [in], or on sequences [steps, in] step by step (PyTorch's Linear on
 * [N, T, in]). Not on images: PyTorch's would act on the width of NCHW, ours would see channels last.
 */
export class Linear extends LayerModule {
  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly options: { bias?: boolean } = {}) {
    super();
  }
  protected makeLayer(input: number[]): Layer {
    if (input.length > 2 || input[input.length - 1] !== this.inFeatures) {
      const size = input.reduce((a, b) => a * b, 1);
      const hint = input.length > 2 || size === this.inFeatures ? "; flatten first (x.view(-1, n))" : input.length === 2 ? `; on sequences [steps, features] it applies to every step, whose features must be ${this.inFeatures}` : "";
      throw new InputError(`Linear(${this.inFeatures}, ${this.outFeatures}) gets inputs shaped [${input}]${hint}`);
    }
    // PyTorch's default weight initialisation, U(±1/√fan_in); biases start at zero.
    return new Dense({ units: this.outFeatures, useBias: this.options.bias ?? true, kernelInitializer: "torchUniform" });
  }
}

/** A PyTorch size or padding: one number for both axes, or [height, width]. */
type PairOption = number | [number, number];

/** PyTorch's per-axis (symmetric) padding as a wasmgrad padding. */
function torchPadding(p: PairOption): number | [[number, number], [number, number]] {
  return typeof p === "number" ? p : [[p[0], p[0]], [p[1], p[1]]];
}

export interface Conv2dOptions {
  stride?: PairOption;
  /** Pixels on every side (any stride), [padH, padW], 'valid', or 'same' (stride 1 only, as in PyTorch). */
  padding?: PairOption | "same" | "valid";
  dilation?: PairOption;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends LayerModule {
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: PairOption, readonly options: Conv2dOptions = {}) {
    super();
  }
  private get padding(): Padding {
    const p = this.options.padding ?? 0;
    if (p === "same" && [this.options.stride ?? 1].flat().some((s) => s !== 1)) {
      throw new InputError(`Conv2d(${this.inChannels}, ${this.outChannels}): padding 'same' needs stride 1 (as in PyTorch); give the padding in pixels instead`);
    }
    return p === "same" || p === "valid" ? p : torchPadding(p);
  }
  private convolution(): Conv2D {
    return new Conv2D({
      filters: this.outChannels, kernelSize: this.kernelSize, strides: this.options.stride ?? 1, padding: this.padding,
      dilationRate: this.options.dilation ?? 1, groups: this.options.groups ?? 1,
      useBias: this.options.bias ?? true, kernelInitializer: "torchUniform",
    });
  }
  protected makeLayer(input: number[]): Layer {
    if (input.length !== 3 || input[2] !== this.inChannels) {
      throw new InputError(`Conv2d(${this.inChannels}, ${this.outChannels}) gets inputs shaped [${input}]; it needs images [height, width, ${this.inChannels}] (channels last)`);
    }
    return this.convolution();
  }
}

export interface Conv1dOptions {
  stride?: number;
  /** Steps on both sides (any stride), 'valid', or 'same' (stride 1 only, as in PyTorch). */
  padding?: number | "same" | "valid";
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

/** PyTorch's nn.Conv1d(in, out, kernel_size, …) on sequences [length, channels]: channels last, as Conv2d. */
export class Conv1d extends LayerModule {
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly options: Conv1dOptions = {}) {
    super();
  }
  protected makeLayer(input: number[]): Layer {
    if (input.length !== 2 || input[1] !== this.inChannels) {
      throw new InputError(`Conv1d(${this.inChannels}, ${this.outChannels}) gets inputs shaped [${input}]; it needs sequences [length, ${this.inChannels}] (channels last)`);
    }
    const padding = this.options.padding ?? 0;
    if (padding === "same" && (this.options.stride ?? 1) !== 1) {
      throw new InputError(`Conv1d(${this.inChannels}, ${this.outChannels}): padding 'same' needs stride 1 (as in PyTorch); give the padding in steps instead`);
    }
    return new Conv1D({
      filters: this.outChannels, kernelSize: this.kernelSize, strides: this.options.stride ?? 1, padding,
      dilationRate: this.options.dilation ?? 1, groups: this.options.groups ?? 1,
      // PyTorch's U(±1/√fan_in), fan_in = in/groups · kernel_size, which is what [k, in/groups, out] gives.
      useBias: this.options.bias ?? true, kernelInitializer: "torchUniform",
    });
  }
}

export interface ConvTranspose2dOptions {
  stride?: PairOption;
  /** Pixels cropped from every side of the full output, or [padH, padW]. */
  padding?: PairOption;
  /** Extra rows/columns at the bottom/right (less than the stride or the dilation). */
  outputPadding?: PairOption;
  dilation?: PairOption;
  bias?: boolean;
}

/** PyTorch's nn.ConvTranspose2d(in, out, kernel_size, …), channels last; groups are not supported. */
export class ConvTranspose2d extends LayerModule {
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: PairOption, readonly options: ConvTranspose2dOptions = {}) {
    super();
  }
  private transposed(): Conv2DTranspose {
    return new Conv2DTranspose({
      filters: this.outChannels, kernelSize: this.kernelSize, strides: this.options.stride ?? 1, padding: torchPadding(this.options.padding ?? 0),
      outputPadding: this.options.outputPadding ?? 0, dilationRate: this.options.dilation ?? 1,
      // PyTorch's U(±1/√fan_in) with fan_in = out_channels·kh·kw, which is what [kh, kw, out, in] gives.
      useBias: this.options.bias ?? true, kernelInitializer: "torchUniform",
    });
  }
  protected makeLayer(input: number[]): Layer {
    if (input.length !== 3 || input[2] !== this.inChannels) {
      throw new InputError(`ConvTranspose2d(${this.inChannels}, ${this.outChannels}) gets inputs shaped [${input}]; it needs images [height, width, ${this.inChannels}] (channels last)`);
    }
    return this.transposed();
  }
}

abstract class Pool extends LayerModule {
  constructor(readonly kernelSize: number, readonly stride = kernelSize) {
    super();
  }
}

export class MaxPool2d extends Pool {
  protected makeLayer(): Layer {
    return new MaxPoolLayer({ poolSize: this.kernelSize, strides: this.stride });
  }
}

export class AvgPool2d extends Pool {
  protected makeLayer(): Layer {
    return new AveragePool2D({ poolSize: this.kernelSize, strides: this.stride });
  }
}

/** MaxPool1d and AvgPool1d on sequences [length, channels], without padding (PyTorch's default). */
export class MaxPool1d extends Pool {
  protected makeLayer(): Layer {
    return new MaxPool1D({ poolSize: this.kernelSize, strides: this.stride });
  }
}

export class AvgPool1d extends Pool {
  protected makeLayer(): Layer {
    return new AveragePool1D({ poolSize: this.kernelSize, strides: this.stride });
  }
}

/** BatchNorm1d (features) and BatchNorm2d (channels) share one layer; PyTorch's momentum 0.1 is Keras' 0.9. */
export class BatchNorm extends LayerModule {
  constructor(readonly numFeatures: number, readonly options: { eps?: number; momentum?: number } = {}) {
    super();
  }
  protected makeLayer(input: number[]): Layer {
    if (input[input.length - 1] !== this.numFeatures) throw new InputError(`BatchNorm(${this.numFeatures}) gets inputs shaped [${input}]`);
    return new BatchNormalization({ epsilon: this.options.eps ?? 1e-5, momentum: 1 - (this.options.momentum ?? 0.1) });
  }
}
export const BatchNorm1d = BatchNorm;
export const BatchNorm2d = BatchNorm;

export interface LayerNormOptions {
  /** Added to the variance (PyTorch's default 1e-5; Keras' LayerNormalization defaults to 1e-3). */
  eps?: number;
  /** A learnable weight (γ, starting at ones) and bias (β, starting at zeros) shaped normalizedShape. */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, false keeps the weight only (PyTorch ≥ 2.1's bias option). */
  bias?: boolean;
}

/**
 * PyTorch's nn.LayerNorm(normalizedShape, { eps, elementwiseAffine, bias }): each sample is normalised over
 * its last normalizedShape.length axes, which must be normalizedShape, by their mean and biased variance.
 * The axes are wasmgrad's: channels last, so LayerNorm over PyTorch's [C, H, W] is LayerNorm([H, W, C]) here
 * (the same values normalised together, the weight laid out channels-last). The wasmgrad layer is
 * LayerNormalization over those trailing axes.
 */
export class LayerNorm extends LayerModule {
  readonly normalizedShape: number[];

  constructor(normalizedShape: number | number[], readonly options: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape;
    const who = `LayerNorm(${JSON.stringify(normalizedShape)})`;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new InputError(`${who}: normalizedShape must be a positive integer or a non-empty list of them`);
    }
    if (options === null || typeof options !== "object") throw new InputError(`${who}: options must be an object such as { eps: 1e-5 }`);
    for (const key of Object.keys(options)) {
      if (!["eps", "elementwiseAffine", "bias"].includes(key)) throw new InputError(`${who}: option '${key}' is not supported (the options are eps, elementwiseAffine, bias)`);
    }
    const eps = options.eps ?? 1e-5;
    if (!(typeof eps === "number" && Number.isFinite(eps) && eps > 0)) throw new InputError(`${who}: eps must be a positive number, got ${String(options.eps)}`);
    for (const key of ["elementwiseAffine", "bias"] as const) {
      if (options[key] !== undefined && typeof options[key] !== "boolean") throw new InputError(`${who}: ${key} must be true or false, got ${String(options[key])}`);
    }
    this.normalizedShape = [...shape];
  }

  protected makeLayer(input: number[]): Layer {
    const k = this.normalizedShape.length;
    if (input.length < k || input.slice(input.length - k).join() !== this.normalizedShape.join()) {
      throw new InputError(
        `LayerNorm([${this.normalizedShape}]) gets inputs shaped [${input}]; normalizedShape must be the inputs' last ${k === 1 ? "axis" : `${k} axes`} (wasmgrad is channels last: PyTorch's [C, H, W] is [H, W, C] here)`,
      );
    }
    const affine = this.options.elementwiseAffine ?? true;
    return new LayerNormalization({
      axis: k === 1 ? -1 : Array.from({ length: k }, (_, i) => i - k),
      epsilon: this.options.eps ?? 1e-5,
      scale: affine,
      center: affine && (this.options.bias ?? true),
    });
  }
}

export class Dropout extends LayerModule {
  constructor(readonly p = 0.5) {
    super();
  }
  protected makeLayer(): Layer {
    return new DropoutLayer({ rate: this.p });
  }
}

export class Flatten extends Module {
  forward(x: Value): Value {
    return x.flatten();
  }
}

abstract class ActivationModule extends Module {
  protected abstract readonly activation: ActivationName;
  forward(x: Value): Value {
    return x.trace.apply(x, new Activation({ activation: this.activation }), this.constructor.name);
  }
}
export class ReLU extends ActivationModule {
  protected readonly activation = "relu";
}
export class Sigmoid extends ActivationModule {
  protected readonly activation = "sigmoid";
}
export class Tanh extends ActivationModule {
  protected readonly activation = "tanh";
}
export class Softmax extends ActivationModule {
  protected readonly activation = "softmax";
}
export class ReLU6 extends ActivationModule {
  protected readonly activation = "relu6";
}
export class SiLU extends ActivationModule {
  protected readonly activation = "swish";
}
export class Hardsigmoid extends ActivationModule {
  protected readonly activation = "hardSigmoid";
}
export class Hardswish extends ActivationModule {
  protected readonly activation = "hardSwish";
}
/** GELU(): the exact erf form, PyTorch's default; GELU({ approximate: "tanh" }): the tanh approximation. */
export class GELU extends ActivationModule {
  protected readonly activation: ActivationName;
  constructor(readonly options: { approximate?: "none" | "tanh" } = {}) {
    super();
    const approximate = options.approximate ?? "none";
    if (approximate !== "none" && approximate !== "tanh") throw new InputError(`GELU: approximate must be 'none' or 'tanh', got '${approximate}'`);
    this.activation = approximate === "tanh" ? "geluTanh" : "gelu";
  }
}
// The two with a parameter trace to layers of their own rather than to an Activation, which would be
// fused into a preceding Linear by name alone and lose the parameter.
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Value): Value {
    return x.trace.apply(x, new LeakyReLULayer({ alpha: this.negativeSlope }, "LeakyReLU"), "LeakyReLU");
  }
}
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Value): Value {
    return x.trace.apply(x, new ELULayer({ alpha: this.alpha }, "ELU"), "ELU");
  }
}

/** nn.Sequential(a, b, c): applies its modules in order. */
export class SequentialModule extends Module {
  readonly modules: Module[];
  constructor(...modules: Module[]) {
    super();
    this.modules = modules;
  }
  forward(x: Value): Value {
    return this.modules.reduce((v, m) => m.call(v), x);
  }
}

/** nn.ModuleList: modules held in a list, applied however forward() says (m.at(i).call(x)). */
export class ModuleList extends Module {
  readonly modules: Module[];
  constructor(modules: Module[] = []) {
    super();
    this.modules = [...modules];
  }
  at(index: number): Module {
    const m = this.modules[index < 0 ? this.modules.length + index : index];
    if (!m) throw new InputError(`ModuleList index ${index} is out of range (it holds ${this.modules.length})`);
    return m;
  }
  append(module: Module): this {
    this.modules.push(module);
    return this;
  }
  get length(): number {
    return this.modules.length;
  }
  forward(): Value {
    throw new InputError("a ModuleList has no forward(): call its modules from the forward() of the module that holds it");
  }
}

function asBatch(x: Tensor | InputData): { data: Float32Array; shape: number[] } {
  if (isTensor(x)) return { data: x.data, shape: [...x.shape] };
  throw new InputError("call a module on a tensor with a batch dimension, e.g. tensor(data, [batch, 28, 28, 1])");
}

function logSoftmaxRows(t: Tensor): Tensor {
  const k = t.shape[t.shape.length - 1];
  const out = new Float32Array(t.data.length);
  for (let r = 0; r < t.data.length / k; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, t.data[r * k + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(t.data[r * k + j] - max);
    const log = max + Math.log(sum);
    for (let j = 0; j < k; j++) out[r * k + j] = t.data[r * k + j] - log;
  }
  return { data: out, shape: t.shape };
}
