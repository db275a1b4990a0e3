// Dense: y = f(x·W + b), x [batch, in], W [in, units] — one GEMM with the bias and activation fused
// (affine.ts holds what it shares with Conv2D).

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
    if (inputShape.length !== 1) {
      throw new InputError(
        `${this.name} (Dense) needs a flat input but gets shape [${inputShape}]: put a Flatten layer before it`,
      );
    }
    return [this.units];
  }

  protected override createParameters(rng: Rng): void {
    this.createWeights([this.inputShape[0], this.units], rng);
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.units);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
    this.allocatePreActivation(maxBatch);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    this.input = input;
    this.affineForward(input, batch, this.inputSize, this.output, mode.logits);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const dx = needInputGrad ? this.inputGrad : 0;
    this.affineBackward(this.input, this.output, outputGrad, batch, this.inputSize, dx);
    return dx;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, units: this.units, ...this.affineConfig() };
  }
}
