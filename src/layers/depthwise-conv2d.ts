// DepthwiseConv2D over NHWC, as in Keras (the MobileNet building block): every input channel is convolved
// with depthMultiplier filters of its own, kernel [kh, kw, cin, depthMultiplier], giving cin·depthMultiplier
// output channels (channel c·M + m from input channel c). Direct SIMD kernels (assembly/depthwise.ts) do
// all three passes; the activation runs after the forward kernel, and its derivative before the backward ones.
//   forward:  y = f(depthwise(x, K) + b)
//   backward: dz = dy ⊙ f′;  dK = depthwiseFilterGrad(x, dz);  db = Σ dz;  dx = depthwiseInputGrad(dz, K)

import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { AFFINE_OPTION_KEYS, AffineLayer, type AffineOptions } from "./affine";
import { ConfigReader } from "./config-reader";
import { parseInitializer } from "./initializers";
import type { ForwardMode, LayerConfig } from "./layer";
import { expectImage, explicitPads, parsePadding, positivePair, slideWindow, type Padding, type Window } from "./spatial";

export interface DepthwiseConv2DOptions extends AffineOptions {
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
  /** Filters per input channel (Keras' depth_multiplier); 1 by default. */
  depthMultiplier?: number;
  dilationRate?: number | [number, number];
}

export class DepthwiseConv2D extends AffineLayer {
  readonly type = "DepthwiseConv2D";
  readonly kernelSize: [number, number];
  /** [vertical, horizontal]. */
  readonly stridePair: [number, number];
  readonly padding: Padding;
  readonly depthMultiplier: number;
  readonly dilationRate: [number, number];
  private window!: Window;
  private input: Pointer = 0;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: DepthwiseConv2DOptions) {
    super(options);
    const who = `${options.name ?? ""} (DepthwiseConv2D)`.trim();
    this.kernelSize = positivePair(options.kernelSize, "kernelSize", who);
    this.stridePair = positivePair(options.strides ?? 1, "strides", who);
    this.padding = parsePadding(options.padding ?? "valid", who);
    this.dilationRate = positivePair(options.dilationRate ?? 1, "dilationRate", who);
    this.depthMultiplier = options.depthMultiplier ?? 1;
    if (!Number.isInteger(this.depthMultiplier) || this.depthMultiplier < 1) {
      throw new InputError(`${who}: 'depthMultiplier' must be a positive integer, got ${this.depthMultiplier}`);
    }
  }

  /** Output channels: input channels × depthMultiplier. */
  protected get width(): number {
    return this.inputShape[2] * this.depthMultiplier;
  }

  /** Pixels of padding on each side, [top, left, bottom, right], for exporters. */
  get pads(): [number, number, number, number] {
    return explicitPads(this.inputShape[0], this.inputShape[1], this.kernelSize[0], this.kernelSize[1], this.stridePair, this.window);
  }

  /** Accepts Keras' names for the kernel's initializer and regularizer (depthwiseInitializer, depthwiseRegularizer) too. */
  static fromConfig(raw: Record<string, unknown>, where: string): DepthwiseConv2D {
    const keys = ["kernelSize", "strides", "padding", "depthMultiplier", "dilationRate", "depthwiseInitializer", "depthwiseRegularizer", ...AFFINE_OPTION_KEYS];
    const c = new ConfigReader(raw, where, keys);
    for (const [keras, ours] of [["depthwiseInitializer", "kernelInitializer"], ["depthwiseRegularizer", "kernelRegularizer"]]) {
      if (c.has(keras) && c.has(ours)) throw new InputError(`${where}: give '${keras}' or '${ours}', not both`);
    }
    const affine = AffineLayer.readAffineOptions(c, raw, where);
    if (c.has("depthwiseInitializer")) affine.kernelInitializer = parseInitializer(c.string("depthwiseInitializer", "glorotUniform"), where);
    if (c.has("depthwiseRegularizer")) affine.kernelRegularizer = c.regularizer("depthwiseRegularizer");
    return new DepthwiseConv2D({
      kernelSize: c.intPair("kernelSize"),
      strides: c.intPair("strides", 1),
      padding: parsePadding(c.value("padding") ?? "valid", where),
      depthMultiplier: c.int("depthMultiplier", { min: 1, max: 1 << 12, default: 1 }),
      dilationRate: c.intPair("dilationRate", 1),
      ...affine,
    });
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (DepthwiseConv2D)`;
    const [h, w, c] = expectImage(inputShape, who);
    const [kh, kw] = this.kernelSize, [dh, dw] = this.dilationRate;
    this.window = slideWindow(h, w, (kh - 1) * dh + 1, (kw - 1) * dw + 1, this.stridePair, this.padding, who);
    return [this.window.outH, this.window.outW, c * this.depthMultiplier];
  }

  protected override createParameters(rng: Rng): void {
    const [kh, kw] = this.kernelSize;
    this.createWeights([kh, kw, this.inputShape[2], this.depthMultiplier], rng);
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
    this.allocatePreActivation(maxBatch * this.window.outH * this.window.outW);
  }

  /** The kernels' geometry arguments from the batch size to the output size. */
  private geometry(batch: number): [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number] {
    const [h, w, c] = this.inputShape;
    const [kh, kw] = this.kernelSize, [sh, sw] = this.stridePair, [dh, dw] = this.dilationRate;
    const { outH, outW, padTop, padLeft } = this.window;
    return [batch, h, w, c, this.depthMultiplier, kh, kw, sh, sw, dh, dw, padTop, padLeft, outH, outW];
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    this.input = input;
    const z = this.preActivationTarget(this.output, mode.logits);
    this.kernels.depthwiseConv2dForward(input, ...this.geometry(batch), this.kernel.value, this.bias?.value ?? 0, z);
    this.applyActivation(z, this.output, batch * this.window.outH * this.window.outW, mode.logits);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const rows = batch * this.window.outH * this.window.outW;
    this.activationBackward(this.output, outputGrad, rows);
    this.kernels.depthwiseConv2dBackwardFilter(this.input, outputGrad, ...this.geometry(batch), this.kernel.grad);
    if (this.bias) this.kernels.columnSums(outputGrad, rows, this.width, this.bias.grad);
    if (!needInputGrad) return 0;
    this.kernels.depthwiseConv2dBackwardInput(outputGrad, ...this.geometry(batch), this.kernel.value, this.inputGrad);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    const [sh, sw] = this.stridePair, [dh, dw] = this.dilationRate;
    return {
      type: this.type, name: this.name, kernelSize: this.kernelSize, strides: sh === sw ? sh : [sh, sw], padding: this.padding,
      depthMultiplier: this.depthMultiplier, dilationRate: dh === dw ? dh : [dh, dw], ...this.affineConfig(),
    };
  }
}
