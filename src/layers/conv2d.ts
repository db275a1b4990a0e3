// Conv2D over NHWC by im2col + GEMM; filters [kh, kw, cin / groups, filters] as in Keras/TF.js.
//   forward:  col = im2col(x) [batch·oh·ow × kh·kw·cin];  y = f(col·W + b)
//   backward: dW = colᵀ·dz;  db = Σ dz;  dcol = dz·Wᵀ (into the col buffer, no longer needed);  dx = col2im(dcol)
// A 1×1, stride-1 convolution without padding is already a GEMM on x, so it skips im2col/col2im.
//
// Padding is 'valid', 'same', or explicit (p on every side, or [[top, bottom], [left, right]]); strides and
// dilation may differ per axis. With `groups` (Keras 3, PyTorch), input channels and filters split into that
// many independent convolutions: im2colGeneral lays each patch row out group by group, and each group is one
// GEMM on strided views of col, W and y (affine.ts, groupedAffineForward). The plain case keeps the original
// im2col/col2im, which the threaded kernels split across threads.
//
// The im2col + GEMM machinery is PatchConvolution, which Conv1D (conv1d.ts) shares: a sequence
// [steps, channels] is the image [1, steps, channels], and the subclass says which image and window it sees.

import type { Pointer } from "../engine/kernels";
import { AFFINE_OPTION_KEYS, AffineLayer, type AffineOptions } from "./affine";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import type { ForwardMode, LayerConfig } from "./layer";
import { expectImage, explicitPads, isNoPadding, parsePadding, positivePair, slideWindow, type Padding, type Window } from "./spatial";

/** A convolution as it runs: over the NHWC image [h, w, c], every pair [vertical, horizontal]. */
export interface ConvolutionGeometry {
  h: number;
  w: number;
  c: number;
  kernel: [number, number];
  strides: [number, number];
  dilation: [number, number];
  padding: Padding;
}

/**
 * A convolution by im2col + GEMM over an NHWC image, with groups: what Conv2D and Conv1D share. The subclass
 * reads its options and, in computeOutputShape, hands its geometry to slide(); everything from there on
 * (buffers, forward, backward) is here.
 */
export abstract class PatchConvolution extends AffineLayer {
  readonly filters: number;
  readonly groups: number;
  /** Set by slide() when the layer is built. */
  protected geometry!: ConvolutionGeometry;
  protected window!: Window;
  private input: Pointer = 0;
  private col: Pointer = 0;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: AffineOptions & { filters: number; groups?: number }, who: string) {
    super(options);
    this.filters = options.filters;
    this.groups = options.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1) throw new InputError(`${who}: 'groups' must be a positive integer, got ${this.groups}`);
  }

  protected get width(): number {
    return this.filters;
  }

  /** Checks the groups against the channels, records the geometry and returns the window it slides. */
  protected slide(geometry: ConvolutionGeometry, who: string): Window {
    if (geometry.c % this.groups !== 0 || this.filters % this.groups !== 0) {
      throw new InputError(`${who}: ${this.groups} groups must divide both the ${geometry.c} input channels and the ${this.filters} filters`);
    }
    const { kernel: [kh, kw], dilation: [dh, dw] } = geometry;
    // The span of the kernel on the input: (k − 1)·d + 1 per axis.
    this.window = slideWindow(geometry.h, geometry.w, (kh - 1) * dh + 1, (kw - 1) * dw + 1, geometry.strides, geometry.padding, who);
    this.geometry = geometry;
    return this.window;
  }

  private get pointwise(): boolean {
    const { kernel, strides, padding } = this.geometry;
    return kernel[0] === 1 && kernel[1] === 1 && strides[0] === 1 && strides[1] === 1 && isNoPadding(padding);
  }

  /** Whether the original im2col/col2im (one stride, no dilation, one group) can lay out the patches. */
  private get plainPatches(): boolean {
    const { strides, dilation } = this.geometry;
    return this.groups === 1 && strides[0] === strides[1] && dilation[0] === 1 && dilation[1] === 1;
  }

  private get patchSize(): number {
    return this.geometry.kernel[0] * this.geometry.kernel[1] * this.geometry.c;
  }

  allocate(maxBatch: number): void {
    const positions = maxBatch * this.window.outH * this.window.outW;
    this.col = this.pointwise ? 0 : this.heap.allocFloats(positions * this.patchSize);
    this.output = this.heap.allocFloats(positions * this.filters);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
    this.allocatePreActivation(positions);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    const positions = batch * this.window.outH * this.window.outW;
    this.input = input;
    if (!this.pointwise) this.patches(input, batch);
    const x = this.pointwise ? input : this.col;
    if (this.groups === 1) this.affineForward(x, positions, this.patchSize, this.output, mode.logits);
    else this.groupedAffineForward(x, positions, this.patchSize, this.groups, this.output, mode.logits);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const positions = batch * this.window.outH * this.window.outW;
    // Without im2col the input is the patch matrix; otherwise dcol goes into the col buffer, which dW has
    // been computed from by the time dcol is written.
    const x = this.pointwise ? this.input : this.col;
    const dx = !needInputGrad ? 0 : this.pointwise ? this.inputGrad : this.col;
    if (this.groups === 1) this.affineBackward(x, this.output, outputGrad, positions, this.patchSize, dx);
    else this.groupedAffineBackward(x, this.output, outputGrad, positions, this.patchSize, this.groups, dx);
    if (!needInputGrad) return 0;
    if (!this.pointwise) this.patchesAdjoint(batch);
    return this.inputGrad;
  }

  private patches(input: Pointer, batch: number): void {
    const { h, w, c, kernel: [kh, kw], strides: [sh, sw], dilation: [dh, dw] } = this.geometry;
    const { outH, outW, padTop, padLeft } = this.window;
    if (this.plainPatches) this.kernels.im2col(input, batch, h, w, c, kh, kw, sh, padTop, padLeft, outH, outW, this.col);
    else this.kernels.im2colGeneral(input, batch, h, w, c, this.groups, kh, kw, sh, sw, dh, dw, padTop, padLeft, outH, outW, this.col);
  }

  private patchesAdjoint(batch: number): void {
    const { h, w, c, kernel: [kh, kw], strides: [sh, sw], dilation: [dh, dw] } = this.geometry;
    const { outH, outW, padTop, padLeft } = this.window;
    if (this.plainPatches) this.kernels.col2im(this.col, batch, h, w, c, kh, kw, sh, padTop, padLeft, outH, outW, this.inputGrad);
    else this.kernels.col2imGeneral(this.col, batch, h, w, c, this.groups, kh, kw, sh, sw, dh, dw, padTop, padLeft, outH, outW, this.inputGrad);
  }
}

export interface Conv2DOptions extends AffineOptions {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
  dilationRate?: number | [number, number];
  /** Input channels and filters split into this many groups, each convolved on its own (both divisible). */
  groups?: number;
}

export class Conv2D extends PatchConvolution {
  readonly type = "Conv2D";
  readonly kernelSize: [number, number];
  /** [vertical, horizontal]. */
  readonly stridePair: [number, number];
  readonly padding: Padding;
  readonly dilationRate: [number, number];

  constructor(options: Conv2DOptions) {
    const who = `${options.name ?? ""} (Conv2D)`.trim();
    super(options, who);
    this.kernelSize = positivePair(options.kernelSize, "kernelSize", who);
    this.stridePair = positivePair(options.strides ?? 1, "strides", who);
    this.padding = parsePadding(options.padding ?? "valid", who);
    this.dilationRate = positivePair(options.dilationRate ?? 1, "dilationRate", who);
  }

  /** The stride when it is the same both ways (what exporters read); use stridePair when they may differ. */
  get strides(): number {
    const [sh, sw] = this.stridePair;
    if (sh !== sw) throw new InputError(`${this.name} (Conv2D) has strides [${sh}, ${sw}], which this use of the layer cannot represent`);
    return sh;
  }

  /** Pixels of padding on each side, [top, left, bottom, right], for exporters (explicit padding as given). */
  get pads(): [number, number, number, number] {
    return explicitPads(this.inputShape[0], this.inputShape[1], this.kernelSize[0], this.kernelSize[1], this.stridePair, this.window);
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Conv2D {
    const c = new ConfigReader(raw, where, ["filters", "kernelSize", "strides", "padding", "dilationRate", "groups", ...AFFINE_OPTION_KEYS]);
    return new Conv2D({
      filters: c.int("filters", { min: 1, max: 1 << 16 }),
      kernelSize: c.intPair("kernelSize"),
      strides: c.intPair("strides", 1),
      padding: parsePadding(c.value("padding") ?? "valid", where),
      dilationRate: c.intPair("dilationRate", 1),
      groups: c.int("groups", { min: 1, max: 1 << 16, default: 1 }),
      ...AffineLayer.readAffineOptions(c, raw, where),
    });
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (Conv2D)`;
    const [h, w, c] = expectImage(inputShape, who);
    const { outH, outW } = this.slide({ h, w, c, kernel: this.kernelSize, strides: this.stridePair, dilation: this.dilationRate, padding: this.padding }, who);
    return [outH, outW, this.filters];
  }

  protected override createParameters(rng: Rng): void {
    const [kh, kw] = this.kernelSize;
    this.createWeights([kh, kw, this.inputShape[2] / this.groups, this.filters], rng);
  }

  getConfig(): LayerConfig {
    const [sh, sw] = this.stridePair, [dh, dw] = this.dilationRate;
    return {
      type: this.type, name: this.name, filters: this.filters, kernelSize: this.kernelSize, strides: sh === sw ? sh : [sh, sw],
      padding: this.padding,
      // Written only when they differ from the defaults, so earlier models' configs stay as they were.
      ...(dh !== 1 || dw !== 1 ? { dilationRate: dh === dw ? dh : [dh, dw] } : {}),
      ...(this.groups !== 1 ? { groups: this.groups } : {}),
      ...this.affineConfig(),
    };
  }
}
