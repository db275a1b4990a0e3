// Dense: y = f(x·W + b), x [batch, in], W [in, units] — one GEMM with the bias and activation fused
// (affine.ts holds what it shares with Conv2D). On input of higher rank it works on the last axis, as
// Keras' Dense does: [..., in] → [..., units], every leading position a row of the same GEMM (a softmax
// output is then a softmax per position). Masks pass through: each position is computed on its own.

import type { Pointer } from "../engine/kernels";
import { AFFINE_OPTION_KEYS, AffineLayer, type AffineOptions } from "./affine";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import type { ForwardMode, LayerConfig } from "./layer";

export interface DenseOptions extends AffineOptions {
  units: number;
}

export class Dense extends AffineLayer {
  readonly type = "Dense";
  readonly units: number;
  private input: Pointer = 0;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: DenseOptions) {
    super(options);
    this.units = options.units;
  }

  protected get width(): number {
    return this.units;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Dense {
    const c = new ConfigReader(raw, where, ["units", ...AFFINE_OPTION_KEYS]);
    return new Dense({ units: c.int("units", { min: 1, max: 1 << 20 }), ...AffineLayer.readAffineOptions(c, raw, where) });
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length === 0) throw new InputError(`${this.name} (Dense) needs an input with at least one axis`);
    return [...inputShape.slice(0, -1), this.units];
  }

  override acceptMasks(masked: boolean[]): boolean {
    return masked[0];
  }

  /** Input features per GEMM row: the input's last axis. */
  private get features(): number {
    return this.inputShape[this.inputShape.length - 1];
  }

  /** GEMM rows per sample: 1 for flat input, the product of the leading axes otherwise. */
  private get rowsPerSample(): number {
    return this.inputSize / this.features;
  }

  protected override createParameters(rng: Rng): void {
    this.createWeights([this.features, this.units], rng);
  }

  allocate(maxBatch: number): void {
    const rows = maxBatch * this.rowsPerSample;
    this.output = this.heap.allocFloats(rows * this.units);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
    this.allocatePreActivation(rows);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    this.input = input;
    this.affineForward(input, batch * this.rowsPerSample, this.features, this.output, mode.logits);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const dx = needInputGrad ? this.inputGrad : 0;
    this.affineBackward(this.input, this.output, outputGrad, batch * this.rowsPerSample, this.features, dx);
    return dx;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, units: this.units, ...this.affineConfig() };
  }
}
