// AveragePool2D over NHWC (padded positions are not counted, as in Keras and ONNX), and
// GlobalAveragePool2D, which averages each channel over the whole image: [h, w, c] → [c].

import type { Pointer } from "../engine/kernels";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";
import { Pool2D } from "./pool2d";
import { expectImage } from "./spatial";

export class AveragePool2D extends Pool2D {
  readonly type = "AveragePool2D";
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  static fromConfig(raw: Record<string, unknown>, where: string): AveragePool2D {
    return new AveragePool2D(Pool2D.readOptions(raw, where));
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number): Pointer {
    this.kernels.avgPoolForward(input, batch, ...this.geometry(), this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    this.kernels.avgPoolBackward(outputGrad, batch, ...this.geometry(), this.inputGrad);
    return this.inputGrad;
  }
}

export class GlobalAveragePool2D extends SingleInputLayer {
  readonly type = "GlobalAveragePool2D";
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: { name?: string } = {}) {
    super();
    this.name = options.name ?? "";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): GlobalAveragePool2D {
    new ConfigReader(raw, where, []);
    return new GlobalAveragePool2D({ name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    return [expectImage(inputShape, `${this.name} (GlobalAveragePool2D)`)[2]];
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  /** One window covering the image: the pooling kernels with pool size = image size. */
  private geometry(): [number, number, number, number, number, number, number, number, number, number] {
    const [h, w, c] = this.inputShape;
    return [h, w, c, h, w, 1, 0, 0, 1, 1];
  }

  forward(input: Pointer, batch: number): Pointer {
    this.kernels.avgPoolForward(input, batch, ...this.geometry(), this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    this.kernels.avgPoolBackward(outputGrad, batch, ...this.geometry(), this.inputGrad);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name };
  }
}
