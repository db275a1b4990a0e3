// GlobalAveragePool1D and GlobalMaxPool1D: [T, C] → [C], pooling over the time axis. Both consume a mask
// (from Embedding with maskZero, or Masking): padded steps are left out of the mean's sum and count and
// cannot win the max, so padding a sequence changes nothing. A sample whose steps are all padding pools
// to zeros. The output carries no mask (time is gone).

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type ForwardMode, type LayerConfig } from "./layer";

abstract class GlobalPool1D extends SingleInputLayer {
  protected output: Pointer = 0;
  protected inputGrad: Pointer = 0;
  protected mask: Pointer = 0;

  constructor(options: { name?: string } = {}) {
    super();
    this.name = options.name ?? "";
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 2) throw new InputError(`${this.name} (${this.type}) needs sequences shaped [steps, features] but gets [${inputShape}]`);
    return [inputShape[1]];
  }

  /** Takes the input's mask and uses it up. */
  override acceptMasks(_masked: boolean[]): boolean {
    return false;
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  protected get steps(): number {
    return this.inputShape[0];
  }

  protected get features(): number {
    return this.inputShape[1];
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name };
  }
}

export class GlobalAveragePool1D extends GlobalPool1D {
  readonly type = "GlobalAveragePool1D";

  static fromConfig(raw: Record<string, unknown>, where: string): GlobalAveragePool1D {
    new ConfigReader(raw, where, []);
    return new GlobalAveragePool1D({ name: raw.name as string | undefined });
  }

  forward(input: Pointer, batch: number, _mode: ForwardMode): Pointer {
    this.mask = this.inputMasks[0] ?? 0;
    this.kernels.sequenceMeanForward(input, batch, this.steps, this.features, this.mask, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    this.kernels.sequenceMeanBackward(outputGrad, batch, this.steps, this.features, this.mask, this.inputGrad);
    return this.inputGrad;
  }
}

export class GlobalMaxPool1D extends GlobalPool1D {
  readonly type = "GlobalMaxPool1D";
  private argmax: Pointer = 0;

  static fromConfig(raw: Record<string, unknown>, where: string): GlobalMaxPool1D {
    new ConfigReader(raw, where, []);
    return new GlobalMaxPool1D({ name: raw.name as string | undefined });
  }

  override allocate(maxBatch: number): void {
    super.allocate(maxBatch);
    this.argmax = this.heap.allocBytes(maxBatch * this.outputSize * 4);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    this.kernels.sequenceMaxForward(input, batch, this.steps, this.features, this.inputMasks[0] ?? 0, this.output, mode.backwardFollows ? this.argmax : 0);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    this.kernels.sequenceMaxBackward(outputGrad, this.argmax, batch, this.steps, this.features, this.inputGrad);
    return this.inputGrad;
  }
}
