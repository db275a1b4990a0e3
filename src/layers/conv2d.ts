// Conv2D over NHWC by im2col + GEMM; filters [kh, kw, cin, filters] as in Keras/TF.js.
//   forward:  col = im2col(x) [batch·oh·ow × kh·kw·cin];  y = f(col·W + b)
//   backward: dW = colᵀ·dz;  db = Σ dz;  dcol = dz·Wᵀ (into the col buffer, no longer needed);  dx = col2im(dcol)
// A 1×1, stride-1 'valid' convolution is already a GEMM on x, so it skips im2col/col2im.

import type { Pointer } from "../engine/kernels";
import { AFFINE_OPTION_KEYS, AffineLayer, type AffineOptions } from "./affine";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import type { ForwardMode, LayerConfig } from "./layer";
import { expectImage, explicitPads, slideWindow, type Padding, type Window } from "./spatial";

export interface Conv2DOptions extends AffineOptions {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number;
  padding?: Padding;
}

export class Conv2D extends AffineLayer {
  readonly type = "Conv2D";
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: number;
  readonly padding: Padding;
  private window!: Window;
  private input: Pointer = 0;
  private col: Pointer = 0;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: Conv2DOptions) {
    super(options);
    this.filters = options.filters;
    const k = options.kernelSize;
    this.kernelSize = typeof k === "number" ? [k, k] : k;
    this.strides = options.strides ?? 1;
    this.padding = options.padding ?? "valid";
  }

  protected get width(): number {
    return this.filters;
  }

  /** Pixels of padding on each side, [top, left, bottom, right], for exporters. */
  get pads(): [number, number, number, number] {
    return explicitPads(this.inputShape[0], this.inputShape[1], this.kernelSize[0], this.kernelSize[1], this.strides, this.window);
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Conv2D {
    const c = new ConfigReader(raw, where, ["filters", "kernelSize", "strides", "padding", ...AFFINE_OPTION_KEYS]);
    const [sh, sw] = c.intPair("strides", 1);
    if (sh !== sw) throw new InputError(`${where}: strides must be equal in both directions, got [${sh}, ${sw}]`);
    return new Conv2D({
      filters: c.int("filters", { min: 1, max: 1 << 16 }),
      kernelSize: c.intPair("kernelSize"),
      strides: sh,
      padding: c.oneOf("padding", ["valid", "same"] as const, "valid"),
      ...AffineLayer.readAffineOptions(c, raw, where),
    });
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (Conv2D)`;
    const [h, w] = expectImage(inputShape, who);
    this.window = slideWindow(h, w, this.kernelSize[0], this.kernelSize[1], this.strides, this.padding, who);
    return [this.window.outH, this.window.outW, this.filters];
  }

  private get pointwise(): boolean {
    return this.kernelSize[0] === 1 && this.kernelSize[1] === 1 && this.strides === 1 && this.padding === "valid";
  }

  private get patchSize(): number {
    return this.kernelSize[0] * this.kernelSize[1] * this.inputShape[2];
  }

  protected override createParameters(rng: Rng): void {
    const [kh, kw] = this.kernelSize;
    this.createWeights([kh, kw, this.inputShape[2], this.filters], rng);
  }

  allocate(maxBatch: number): void {
    const positions = maxBatch * this.window.outH * this.window.outW;
    this.col = this.pointwise ? 0 : this.heap.allocFloats(positions * this.patchSize);
    this.output = this.heap.allocFloats(positions * this.filters);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
    this.allocatePreActivation(positions);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.window;
    const positions = batch * outH * outW;
    this.input = input;
    if (!this.pointwise) {
      this.kernels.im2col(input, batch, h, w, c, this.kernelSize[0], this.kernelSize[1], this.strides, padTop, padLeft, outH, outW, this.col);
    }
    this.affineForward(this.pointwise ? input : this.col, positions, this.patchSize, this.output, mode.logits);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.window;
    const positions = batch * outH * outW;
    if (this.pointwise) {
      const dx = needInputGrad ? this.inputGrad : 0;
      this.affineBackward(this.input, this.output, outputGrad, positions, this.patchSize, dx);
      return dx;
    }
    // dcol goes into the col buffer: dW has been computed from it by the time dcol is written.
    this.affineBackward(this.col, this.output, outputGrad, positions, this.patchSize, needInputGrad ? this.col : 0);
    if (!needInputGrad) return 0;
    this.kernels.col2im(this.col, batch, h, w, c, this.kernelSize[0], this.kernelSize[1], this.strides, padTop, padLeft, outH, outW, this.inputGrad);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return {
      type: this.type, name: this.name, filters: this.filters, kernelSize: this.kernelSize, strides: this.strides,
      padding: this.padding, ...this.affineConfig(),
    };
  }
}
