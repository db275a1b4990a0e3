// Normalization, as Keras has it: every feature (the last axis) is standardised with a mean and a variance
// learned once from data by adapt(), y = (x − mean) / √variance. The statistics are not parameters: no
// gradient, no optimizer, nothing a fit changes. They travel as layer state in checkpoints (so save, load
// and --resume keep them) and as a Sub and a Div in ONNX.
//
// With invert (Keras' invert=True) it applies the inverse, y = x·√variance + mean: adapted to a regression's
// targets and put after the last layer, it lets a model predict standardised values while its outputs stay
// in the target's units.
//
// adapt() takes the population mean and variance (divided by n, as Keras and scikit-learn's StandardScaler
// do), in float64. A constant feature gets variance 1, as StandardScaler gives it scale 1: Keras would
// divide by ε = 1e-7 instead, and a test row that differs from the constant would then explode. Before
// adapt() (or a checkpoint's state) the layer is the identity: mean 0, variance 1.

import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { describeValue } from "../io/display";
import type { Tensor } from "../tensor";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type ForwardMode, type LayerConfig } from "./layer";

export interface NormalizationOptions {
  /** Apply the inverse transformation, x·√variance + mean (Keras' invert). */
  invert?: boolean;
  name?: string;
}

export class Normalization extends SingleInputLayer {
  readonly type = "Normalization";
  readonly invert: boolean;
  /** Per feature; identity until adapt() or setState(). */
  mean = new Float32Array(0);
  variance = new Float32Array(0);
  /** Statistics given before the layer was built (adapt() on a layer not yet in a model), applied by build. */
  private pending?: { mean: Float32Array; variance: Float32Array };

  private scale: Pointer = 0;
  private shift: Pointer = 0;
  private zeros: Pointer = 0;
  private output: Pointer = 0;

  constructor(options: NormalizationOptions = {}) {
    super();
    this.name = options.name ?? "";
    this.invert = options.invert ?? false;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Normalization {
    const c = new ConfigReader(raw, where, ["axis", "invert"]);
    // Keras' default axis (-1, the features) is the one supported; a config may say so.
    if (c.has("axis") && c.value("axis") !== -1) throw new InputError(`${where}: 'axis' must be -1 (each feature of the last axis), got ${describeValue(c.value("axis"))}`);
    return new Normalization({ name: raw.name as string | undefined, invert: c.bool("invert", false) });
  }

  /** Features normalised: the last axis. */
  get features(): number {
    return this.inputShape[this.inputShape.length - 1];
  }

  /** Each step or position is normalised on its own, so a mask passes through. */
  override acceptMasks(masked: boolean[]): boolean {
    return masked[0];
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length === 0) throw new InputError(`${this.name || this.type} (Normalization) needs inputs with a feature axis`);
    return inputShape;
  }

  protected override createParameters(_rng: Rng): void {
    const c = this.features;
    this.mean = new Float32Array(c);
    this.variance = new Float32Array(c).fill(1);
    for (const name of ["scale", "shift", "zeros"] as const) {
      this[name] = this.heap.allocFloats(c);
      this.heap.f32(this[name], c).fill(0);
    }
    if (this.pending) {
      const { mean, variance } = this.pending;
      this.pending = undefined;
      this.setStatistics(mean, variance);
    } else this.updateScale();
  }

  /**
   * Learns each feature's mean and variance from samples: a flat array of whole samples (features last),
   * or a tensor. Replaces what the layer held. On a layer not yet built, `features` says how many there are.
   */
  adapt(data: Float32Array | Tensor, features?: number): void {
    const values = data instanceof Float32Array ? data : data.data;
    const c = this.isBuilt ? this.features : (features ?? (data instanceof Float32Array ? undefined : data.shape[data.shape.length - 1]));
    if (c === undefined || !Number.isInteger(c) || c < 1) throw new InputError(`${this.who}: adapt() on a layer not yet built needs the number of features (adapt(data, features))`);
    if (values.length === 0 || values.length % c !== 0) throw new InputError(`${this.who}: adapt() got ${values.length} values, not whole rows of ${c} features`);
    const { mean, variance } = featureMoments(values, c);
    this.setStatistics(mean, variance);
  }

  /** Sets the statistics directly (each variance positive); what adapt() does after computing them. */
  setStatistics(mean: ArrayLike<number>, variance: ArrayLike<number>): void {
    if (mean.length !== variance.length) throw new InputError(`${this.who}: ${mean.length} means but ${variance.length} variances`);
    for (let i = 0; i < mean.length; i++) {
      if (!Number.isFinite(mean[i]) || !(variance[i] > 0 && Number.isFinite(variance[i]))) {
        throw new InputError(`${this.who}: feature ${i + 1} has mean ${mean[i]} and variance ${variance[i]}; the mean must be finite and the variance positive`);
      }
    }
    if (!this.isBuilt) {
      this.pending = { mean: Float32Array.from(mean), variance: Float32Array.from(variance) };
      return;
    }
    if (mean.length !== this.features) throw new InputError(`${this.who}: statistics for ${mean.length} features, but the layer's input has ${this.features}`);
    this.mean.set(Array.from(mean));
    this.variance.set(Array.from(variance));
    this.updateScale();
  }

  /** y = x·scale + shift with scale = 1/√variance, shift = −mean·scale (inverted: scale = √variance, shift = mean). */
  private updateScale(): void {
    const c = this.features;
    const scale = this.heap.f32(this.scale, c), shift = this.heap.f32(this.shift, c);
    for (let i = 0; i < c; i++) {
      const std = Math.sqrt(this.variance[i]);
      scale[i] = this.invert ? std : 1 / std;
      shift[i] = this.invert ? this.mean[i] : -this.mean[i] * scale[i];
    }
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number, _mode: ForwardMode): Pointer {
    const c = this.features;
    this.kernels.channelScaleShift(input, (batch * this.inputSize) / c, c, this.scale, this.shift, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    const c = this.features;
    this.kernels.channelScaleShift(outputGrad, (batch * this.inputSize) / c, c, this.scale, this.zeros, outputGrad);
    return outputGrad;
  }

  /** The mean, then the variance, of each feature. */
  override getState(): number[] {
    return [...this.mean, ...this.variance];
  }

  override setState(state: number[]): void {
    const c = this.features;
    if (state.length !== 2 * c) return;
    this.setStatistics(state.slice(0, c), state.slice(c));
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, ...(this.invert ? { invert: true } : {}) };
  }

  private get who(): string {
    return `${this.name || "a Normalization layer"} (Normalization)`;
  }
}

/**
 * Population mean and variance of each of `features` columns of row-major `values` (float64 sums, two
 * passes); a constant column gets variance 1 (scikit-learn's StandardScaler leaves it unscaled).
 */
export function featureMoments(values: ArrayLike<number>, features: number): { mean: Float64Array; variance: Float64Array } {
  const rows = values.length / features;
  const mean = new Float64Array(features), variance = new Float64Array(features);
  for (let r = 0; r < rows; r++) for (let c = 0; c < features; c++) mean[c] += values[r * features + c];
  for (let c = 0; c < features; c++) mean[c] /= rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < features; c++) {
      const d = values[r * features + c] - mean[c];
      variance[c] += d * d;
    }
  }
  for (let c = 0; c < features; c++) {
    variance[c] /= rows;
    // Round-off in the mean leaves a constant column a variance of about (1e-16·mean)², not 0.
    if (!(variance[c] > 1e-20 * mean[c] * mean[c])) variance[c] = 1;
  }
  return { mean, variance };
}
