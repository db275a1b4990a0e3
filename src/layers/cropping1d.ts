// Cropping1D, as Keras: steps removed from the start and the end of every sequence [T, C] → [T − a − b, C].
// Cropping (T − 1, 0) keeps the last step, which a causal model predicts from. Backward writes the gradient
// into the kept steps and zeros into the cropped ones. A mask is cropped with the steps.

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { describeValue } from "../io/display";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";

export class Cropping1D extends SingleInputLayer {
  readonly type = "Cropping1D";
  /** [start, end]. */
  readonly cropping: [number, number];
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;
  private mask: Pointer = 0;

  constructor(options: { cropping?: number | [number, number]; name?: string } = {}) {
    super();
    this.name = options.name ?? "";
    const c = options.cropping ?? 1;
    const pair = typeof c === "number" ? [c, c] : c;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new InputError(`${this.name || "layer"} (Cropping1D): 'cropping' must be a non-negative integer or [start, end], got ${describeValue(c)}`);
    }
    this.cropping = [pair[0], pair[1]];
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Cropping1D {
    new ConfigReader(raw, where, ["cropping"]);
    return new Cropping1D({ cropping: raw.cropping as [number, number] | number | undefined, name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 2) throw new InputError(`${this.name} (Cropping1D) needs sequences shaped [steps, features] but gets [${inputShape}]`);
    const [start, end] = this.cropping;
    if (start + end >= inputShape[0]) throw new InputError(`${this.name} (Cropping1D): cropping [${start}, ${end}] leaves nothing of ${inputShape[0]} steps`);
    return [inputShape[0] - start - end, inputShape[1]];
  }

  override acceptMasks(masked: boolean[]): boolean {
    return masked[0];
  }

  override outputMask(): Pointer {
    return this.mask;
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
    this.mask = this.heap.allocFloats(maxBatch * this.outputShape[0]);
  }

  forward(input: Pointer, batch: number): Pointer {
    const [steps, width] = this.inputShape, kept = this.outputShape[0], start = this.cropping[0];
    this.kernels.copyRows(input + 4 * start * width, batch, kept * width, steps * width, this.output, kept * width);
    const inMask = this.inputMasks[0] ?? 0;
    if (inMask !== 0) this.kernels.copyRows(inMask + 4 * start, batch, kept, steps, this.mask, kept);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    const [steps, width] = this.inputShape, kept = this.outputShape[0], start = this.cropping[0];
    new Float32Array(this.kernels.memory.buffer, this.inputGrad, batch * steps * width).fill(0);
    this.kernels.copyRows(outputGrad, batch, kept * width, kept * width, this.inputGrad + 4 * start * width, steps * width);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, cropping: this.cropping };
  }
}
