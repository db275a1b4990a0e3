// MaxPool2D over NHWC. The forward pass keeps each output's winning input index, so backward is a scatter.

import type { Pointer } from "../engine/kernels";
import type { ForwardMode } from "./layer";
import { ConfigReader } from "./config-reader";
import { POOL_OPTION_KEYS, Pool2D } from "./pool2d";

export class MaxPool2D extends Pool2D {
  readonly type = "MaxPool2D";
  private output: Pointer = 0;
  private argmax: Pointer = 0;
  private inputGrad: Pointer = 0;

  static fromConfig(raw: Record<string, unknown>, where: string): MaxPool2D {
    return new MaxPool2D(Pool2D.readOptions(new ConfigReader(raw, where, POOL_OPTION_KEYS), raw, where));
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.argmax = this.heap.allocBytes(maxBatch * this.outputSize * 4);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    this.kernels.maxPoolForward(input, batch, ...this.geometry(), this.output, mode.backwardFollows ? this.argmax : 0);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    this.kernels.maxPoolBackward(outputGrad, this.argmax, batch * this.outputSize, this.inputGrad, batch * this.inputSize);
    return this.inputGrad;
  }
}
