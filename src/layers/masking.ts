// Masking (Keras): a time step whose features all equal maskValue is padding. The output is the input with
// those steps zeroed, and it carries the mask [batch, T] for the layers after it. Backward: dx = dy on real
// steps, 0 on padded ones. A mask arriving on the input is replaced, as Keras computes its own.

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type ForwardMode, type LayerConfig } from "./layer";

export class Masking extends SingleInputLayer {
  readonly type = "Masking";
  readonly maskValue: number;
  private mask: Pointer = 0;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: { maskValue?: number; name?: string } = {}) {
    super();
    this.maskValue = options.maskValue ?? 0;
    if (!Number.isFinite(this.maskValue)) throw new InputError(`${options.name ?? ""} (Masking): 'maskValue' must be a finite number, got ${this.maskValue}`.trim());
    this.name = options.name ?? "";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Masking {
    const c = new ConfigReader(raw, where, ["maskValue"]);
    return new Masking({ maskValue: c.number("maskValue", { default: 0 }), name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length < 2) throw new InputError(`${this.name} (Masking) needs sequences shaped [steps, features…] but gets [${inputShape}]`);
    return inputShape;
  }

  override acceptMasks(_masked: boolean[]): boolean {
    return true;
  }

  override outputMask(): Pointer {
    return this.mask;
  }

  private get steps(): number {
    return this.inputShape[0];
  }

  allocate(maxBatch: number): void {
    this.mask = this.heap.allocFloats(maxBatch * this.steps);
    this.output = this.heap.allocFloats(maxBatch * this.inputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number, _mode: ForwardMode): Pointer {
    const rows = batch * this.steps, features = this.inputSize / this.steps;
    this.kernels.maskWhereNotValue(input, rows, features, this.maskValue, this.mask);
    this.kernels.scaleRows(input, this.mask, rows, features, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    const rows = batch * this.steps;
    this.kernels.scaleRows(outputGrad, this.mask, rows, this.inputSize / this.steps, this.inputGrad);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, maskValue: this.maskValue };
  }
}
