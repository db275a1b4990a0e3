// Inverted dropout: during training each unit is kept with probability 1 − rate and scaled by 1/(1 − rate),
// so inference is the identity. The mask comes from a per-layer xorshift32 stream seeded from the model
// seed; its state is part of a checkpoint so a resumed run draws the same masks.

import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type ForwardMode, type LayerConfig } from "./layer";

export class Dropout extends SingleInputLayer {
  readonly type = "Dropout";
  readonly rate: number;
  private rngState = 1;
  private mask: Pointer = 0;
  private output: Pointer = 0;
  /** Whether the last forward pass dropped anything; backward must mirror it. */
  private masked = false;

  constructor(options: { rate: number; name?: string }) {
    super();
    this.rate = options.rate;
    this.name = options.name ?? "";
  }

  /** Works step by step (or element by element), so padded steps stay apart: the mask passes through. */
  override acceptMasks(masked: boolean[]): boolean {
    return masked[0];
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Dropout {
    const c = new ConfigReader(raw, where, ["rate"]);
    return new Dropout({ rate: c.number("rate", { min: 0, max: 0.99 }), name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  protected override createParameters(rng: Rng): void {
    this.rngState = rng.nextUint32() || 1;
  }

  allocate(maxBatch: number): void {
    this.mask = this.heap.allocFloats(maxBatch * this.inputSize);
    this.output = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    this.masked = mode.training && this.rate > 0;
    if (!this.masked) return input;
    const count = batch * this.inputSize;
    this.rngState = this.kernels.dropoutMask(this.mask, count, this.rate, this.rngState);
    this.kernels.multiply(input, this.mask, this.output, count);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    if (this.masked) this.kernels.multiply(outputGrad, this.mask, outputGrad, batch * this.inputSize);
    return outputGrad;
  }

  override getState(): number[] {
    return [this.rngState];
  }

  override setState(state: number[]): void {
    if (state.length === 1) this.rngState = state[0] >>> 0;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, rate: this.rate };
  }
}
