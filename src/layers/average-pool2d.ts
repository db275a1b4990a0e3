// AveragePool2D over NHWC and GlobalAveragePool2D, which averages each channel over the whole image:
// [h, w, c] → [c].
//
// By default padded positions are not counted (Keras, and ONNX's count_include_pad = 0), so each output
// divides by the real inputs in its window. With countIncludePad (PyTorch's AvgPool2d default, ONNX
// count_include_pad = 1) padding counts as zeros and every window divides by ph·pw: that is a depthwise
// convolution whose every weight is 1/(ph·pw), so it runs on the depthwise kernels with such a constant
// filter. Without padding the two are the same and the pooling kernels run.

import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";
import { POOL_OPTION_KEYS, Pool2D, type Pool2DOptions } from "./pool2d";
import { expectImage, isNoPadding } from "./spatial";

export interface AveragePool2DOptions extends Pool2DOptions {
  /** Count padded positions (as zeros) in each window's mean; off by default. */
  countIncludePad?: boolean;
}

export class AveragePool2D extends Pool2D {
  readonly type = "AveragePool2D";
  readonly countIncludePad: boolean;
  /** The constant depthwise filter [ph, pw, c] of 1/(ph·pw), when padding is counted; else 0. */
  private meanFilter: Pointer = 0;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: AveragePool2DOptions = {}) {
    super(options);
    this.countIncludePad = options.countIncludePad ?? false;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): AveragePool2D {
    const c = new ConfigReader(raw, where, [...POOL_OPTION_KEYS, "countIncludePad"]);
    return new AveragePool2D({ ...Pool2D.readOptions(c, raw, where), countIncludePad: c.bool("countIncludePad", false) });
  }

  protected override createParameters(_rng: Rng): void {
    if (!this.countIncludePad || isNoPadding(this.padding)) return;
    const [ph, pw] = this.poolSize;
    const size = ph * pw * this.inputShape[2];
    this.meanFilter = this.heap.allocFloats(size);
    this.heap.f32(this.meanFilter, size).fill(1 / (ph * pw));
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  /** The depthwise kernels' geometry for the constant filter: multiplier 1, one stride, no dilation. */
  private depthwiseGeometry(batch: number): [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number] {
    const [h, w, c, ph, pw, stride, padTop, padLeft, oh, ow] = this.geometry();
    return [batch, h, w, c, 1, ph, pw, stride, stride, 1, 1, padTop, padLeft, oh, ow];
  }

  forward(input: Pointer, batch: number): Pointer {
    if (this.meanFilter !== 0) this.kernels.depthwiseConv2dForward(input, ...this.depthwiseGeometry(batch), this.meanFilter, 0, this.output);
    else this.kernels.avgPoolForward(input, batch, ...this.geometry(), this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    if (this.meanFilter !== 0) this.kernels.depthwiseConv2dBackwardInput(outputGrad, ...this.depthwiseGeometry(batch), this.meanFilter, this.inputGrad);
    else this.kernels.avgPoolBackward(outputGrad, batch, ...this.geometry(), this.inputGrad);
    return this.inputGrad;
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), ...(this.countIncludePad ? { countIncludePad: true } : {}) };
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
