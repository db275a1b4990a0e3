// BatchNormalization over the last axis (channels of NHWC images, or features), as in Keras:
// training normalises by the batch's statistics and moves the running ones with `momentum`; inference
// (and a frozen layer, as Keras does for fine-tuning) uses the running statistics. Either way the
// normalisation folds into one per-channel scale and shift, y = x·scale + shift.
//
// The running mean and variance are not parameters (no gradients, not optimised); they travel as layer
// state in checkpoints and as initializers in ONNX.

import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type ForwardMode, type LayerConfig, type Parameter } from "./layer";

export interface BatchNormalizationOptions {
  momentum?: number;
  epsilon?: number;
  name?: string;
}

export class BatchNormalization extends SingleInputLayer {
  readonly type = "BatchNormalization";
  readonly momentum: number;
  readonly epsilon: number;
  gamma!: Parameter;
  beta!: Parameter;
  movingMean = new Float32Array(0);
  movingVariance = new Float32Array(0);

  private mean: Pointer = 0;
  private variance: Pointer = 0;
  private invStd: Pointer = 0;
  private scale: Pointer = 0;
  private shift: Pointer = 0;
  private zeros: Pointer = 0;
  private input: Pointer = 0;
  private output: Pointer = 0;
  private scratch: Pointer = 0;
  /** Whether the last forward used batch statistics; backward must differentiate the same function. */
  private batchStatistics = false;

  constructor(options: BatchNormalizationOptions = {}) {
    super();
    this.momentum = options.momentum ?? 0.99;
    this.epsilon = options.epsilon ?? 1e-3;
    this.name = options.name ?? "";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): BatchNormalization {
    const c = new ConfigReader(raw, where, ["momentum", "epsilon"]);
    return new BatchNormalization({
      momentum: c.number("momentum", { min: 0, max: 1, default: 0.99 }),
      epsilon: c.number("epsilon", { min: 1e-12, max: 1, default: 1e-3 }),
      name: raw.name as string | undefined,
    });
  }

  get channels(): number {
    return this.inputShape[this.inputShape.length - 1];
  }

  computeOutputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  protected override createParameters(rng: Rng): void {
    const c = this.channels;
    this.gamma = this.addParameter("gamma", [c], "ones", rng);
    this.beta = this.addParameter("beta", [c], "zeros", rng);
    this.movingMean = new Float32Array(c);
    this.movingVariance = new Float32Array(c).fill(1);
    for (const name of ["mean", "variance", "invStd", "scale", "shift", "zeros"] as const) {
      this[name] = this.heap.allocFloats(c);
      this.heap.f32(this[name], c).fill(0);
    }
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.inputSize);
    // Room for x̂ plus the per-channel shift that builds it (inference-mode backward).
    this.scratch = this.heap.allocFloats(maxBatch * this.inputSize + this.channels);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    const c = this.channels, rows = (batch * this.inputSize) / c;
    this.input = input;
    this.batchStatistics = mode.training && this.trainable;
    const mean = this.heap.f32(this.mean, c), variance = this.heap.f32(this.variance, c);
    if (this.batchStatistics) {
      this.kernels.batchNormStatistics(input, rows, c, this.mean, this.variance);
      for (let i = 0; i < c; i++) {
        this.movingMean[i] = this.movingMean[i] * this.momentum + mean[i] * (1 - this.momentum);
        this.movingVariance[i] = this.movingVariance[i] * this.momentum + variance[i] * (1 - this.momentum);
      }
    } else {
      mean.set(this.movingMean);
      variance.set(this.movingVariance);
    }
    const gamma = this.heap.f32(this.gamma.value, c), beta = this.heap.f32(this.beta.value, c);
    const invStd = this.heap.f32(this.invStd, c), scale = this.heap.f32(this.scale, c), shift = this.heap.f32(this.shift, c);
    for (let i = 0; i < c; i++) {
      invStd[i] = 1 / Math.sqrt(variance[i] + this.epsilon);
      scale[i] = gamma[i] * invStd[i];
      shift[i] = beta[i] - mean[i] * scale[i];
    }
    this.kernels.channelScaleShift(input, rows, c, this.scale, this.shift, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const c = this.channels, rows = (batch * this.inputSize) / c;
    if (this.batchStatistics) {
      const dx = needInputGrad ? outputGrad : this.scratch;
      this.kernels.batchNormBackward(this.input, outputGrad, rows, c, this.mean, this.invStd, this.gamma.value, this.gamma.grad, this.beta.grad, dx);
      return needInputGrad ? dx : 0;
    }
    // Fixed statistics make the layer affine: dβ = Σ dy, dγ = Σ dy·x̂, dx = dy·scale.
    this.kernels.columnSums(outputGrad, rows, c, this.beta.grad);
    const xhatShift = this.heap.f32(this.scratch, c);
    const mean = this.heap.f32(this.mean, c), invStd = this.heap.f32(this.invStd, c);
    // x̂ = x·invStd − mean·invStd, built in the scratch buffer after a per-channel shift vector.
    const shiftAt = this.scratch, xhat = this.scratch + c * 4;
    for (let i = 0; i < c; i++) xhatShift[i] = -mean[i] * invStd[i];
    this.kernels.channelScaleShift(this.input, rows, c, this.invStd, shiftAt, xhat);
    this.kernels.multiply(xhat, outputGrad, xhat, rows * c);
    this.kernels.columnSums(xhat, rows, c, this.gamma.grad);
    if (!needInputGrad) return 0;
    this.kernels.channelScaleShift(outputGrad, rows, c, this.scale, this.zeros, outputGrad);
    return outputGrad;
  }

  override getState(): number[] {
    return [...this.movingMean, ...this.movingVariance];
  }

  override setState(state: number[]): void {
    const c = this.channels;
    if (state.length !== 2 * c) return;
    this.movingMean.set(state.slice(0, c));
    this.movingVariance.set(state.slice(c));
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, momentum: this.momentum, epsilon: this.epsilon };
  }
}
