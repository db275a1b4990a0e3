// Conv2DTranspose (Keras; "deconvolution"): the adjoint of a Conv2D, upsampling by the stride. Kernel
// [kh, kw, filters, cin] as Keras stores it, i.e. the kernel of the Conv2D that maps this layer's output
// (filters channels) back to its input (cin channels). Both passes reuse the convolution kernels:
//   forward:  col = x·Kᵀ [batch·h·w × kh·kw·filters] (one GEMM);  y = col2im(col) over the output image;
//             then + b and f
//   backward: dz = dy ⊙ f′;  db = Σ dz;  dcol = im2col(dz);  dK = dcolᵀ·x;  dx = dcol·K
//
// Output size per axis, with the kernel's span k' = (k − 1)·d + 1 (Keras' deconv_output_length):
//   'valid'  in·s + max(k' − s, 0), or with outputPadding p: (in − 1)·s + k' + p
//   'same'   in·s,                  or with outputPadding p: (in − 1)·s + k' − 2⌊k'/2⌋ + p
//   explicit [top, bottom] (PyTorch's ConvTranspose2d padding): (in − 1)·s + k' − top − bottom + p
// The corresponding Conv2D's top/left padding: 0 for 'valid', TF's 'same' rule computed from the output
// size for 'same', as given for explicit padding; anything past the output's edges is cropped.

import { Act, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { AFFINE_OPTION_KEYS, AffineLayer, type AffineOptions } from "./affine";
import { ConfigReader } from "./config-reader";
import type { ForwardMode, LayerConfig } from "./layer";
import { expectImage, parsePadding, positivePair, type Padding } from "./spatial";

export interface Conv2DTransposeOptions extends AffineOptions {
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
  /** Extra rows/columns at the bottom/right of the output (each less than the stride or the dilation). */
  outputPadding?: number | [number, number];
  dilationRate?: number | [number, number];
}

/** Output size and the corresponding Conv2D's leading padding along one axis. */
interface Axis {
  out: number;
  padBefore: number;
  padAfter: number;
}

export class Conv2DTranspose extends AffineLayer {
  readonly type = "Conv2DTranspose";
  readonly filters: number;
  readonly kernelSize: [number, number];
  /** [vertical, horizontal]. */
  readonly stridePair: [number, number];
  readonly padding: Padding;
  readonly outputPadding?: [number, number];
  readonly dilationRate: [number, number];
  private rows!: Axis;
  private cols!: Axis;
  private input: Pointer = 0;
  private col: Pointer = 0;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;
  /** filters ones, the scale that adds the bias through channelScaleShift. */
  private ones: Pointer = 0;

  constructor(options: Conv2DTransposeOptions) {
    super(options);
    const who = `${options.name ?? ""} (Conv2DTranspose)`.trim();
    this.filters = options.filters;
    this.kernelSize = positivePair(options.kernelSize, "kernelSize", who);
    this.stridePair = positivePair(options.strides ?? 1, "strides", who);
    this.padding = parsePadding(options.padding ?? "valid", who);
    this.dilationRate = positivePair(options.dilationRate ?? 1, "dilationRate", who);
    if (options.outputPadding !== undefined) {
      const p = options.outputPadding;
      const pair = typeof p === "number" ? [p, p] : p;
      if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v >= 0)) {
        throw new InputError(`${who}: 'outputPadding' must be an integer ≥ 0 or [rows, cols], got ${JSON.stringify(p)}`);
      }
      for (let axis = 0; axis < 2; axis++) {
        if (pair[axis] >= Math.max(this.stridePair[axis], this.dilationRate[axis])) {
          throw new InputError(`${who}: outputPadding ${pair[axis]} must be smaller than the stride ${this.stridePair[axis]} (or the dilation)`);
        }
      }
      this.outputPadding = [pair[0], pair[1]];
    }
  }

  protected get width(): number {
    return this.filters;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Conv2DTranspose {
    const c = new ConfigReader(raw, where, ["filters", "kernelSize", "strides", "padding", "outputPadding", "dilationRate", ...AFFINE_OPTION_KEYS]);
    const outputPadding = c.value("outputPadding");
    return new Conv2DTranspose({
      filters: c.int("filters", { min: 1, max: 1 << 16 }),
      kernelSize: c.intPair("kernelSize"),
      strides: c.intPair("strides", 1),
      padding: parsePadding(c.value("padding") ?? "valid", where),
      // Checked by the constructor; null is Keras' "none".
      outputPadding: outputPadding === null ? undefined : (outputPadding as number | [number, number] | undefined),
      dilationRate: c.intPair("dilationRate", 1),
      ...AffineLayer.readAffineOptions(c, raw, where),
    });
  }

  /** One axis of the output: its size and the corresponding Conv2D's padding. */
  private axis(input: number, axis: 0 | 1, who: string): Axis {
    const s = this.stridePair[axis], span = (this.kernelSize[axis] - 1) * this.dilationRate[axis] + 1;
    const extra = this.outputPadding?.[axis];
    let out: number, before: number;
    if (this.padding === "valid") {
      out = extra === undefined ? input * s + Math.max(span - s, 0) : (input - 1) * s + span + extra;
      before = 0;
    } else if (this.padding === "same") {
      out = extra === undefined ? input * s : (input - 1) * s + span - 2 * Math.floor(span / 2) + extra;
      before = Math.floor(Math.max((input - 1) * s + span - out, 0) / 2);
    } else {
      const p = typeof this.padding === "number" ? [this.padding, this.padding] : this.padding[axis];
      out = (input - 1) * s + span - p[0] - p[1] + (extra ?? 0);
      before = p[0];
    }
    if (out < 1) throw new InputError(`${who}: padding ${JSON.stringify(this.padding)} crops the whole ${input}-pixel ${axis === 0 ? "height" : "width"} away`);
    return { out, padBefore: before, padAfter: Math.max((input - 1) * s + span - out - before, 0) };
  }

  /** Pixels cropped from the full transposed output on each side, [top, left, bottom, right] (ONNX ConvTranspose's pads). */
  get pads(): [number, number, number, number] {
    return [this.rows.padBefore, this.cols.padBefore, this.rows.padAfter, this.cols.padAfter];
  }

  /** Rows and columns past the last tap's reach at the bottom/right (ONNX ConvTranspose's output_padding, with `pads`). */
  get trailingOutput(): [number, number] {
    const [h, w] = this.inputShape;
    const reach = (input: number, axis: 0 | 1, a: Axis) =>
      (input - 1) * this.stridePair[axis] + (this.kernelSize[axis] - 1) * this.dilationRate[axis] + 1 - a.padBefore - a.padAfter;
    return [this.rows.out - reach(h, 0, this.rows), this.cols.out - reach(w, 1, this.cols)];
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (Conv2DTranspose)`;
    const [h, w] = expectImage(inputShape, who);
    this.rows = this.axis(h, 0, who);
    this.cols = this.axis(w, 1, who);
    return [this.rows.out, this.cols.out, this.filters];
  }

  private get tapColumns(): number {
    return this.kernelSize[0] * this.kernelSize[1] * this.filters;
  }

  protected override createParameters(rng: Rng): void {
    const [kh, kw] = this.kernelSize;
    this.createWeights([kh, kw, this.filters, this.inputShape[2]], rng);
    if (this.bias) {
      this.ones = this.heap.allocFloats(this.filters);
      this.heap.f32(this.ones, this.filters).fill(1);
    }
  }

  allocate(maxBatch: number): void {
    const [h, w] = this.inputShape;
    this.col = this.heap.allocFloats(maxBatch * h * w * this.tapColumns);
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
    this.allocatePreActivation(maxBatch * this.rows.out * this.cols.out);
  }

  /** The geometry of the corresponding Conv2D from this layer's output to its input, for im2col/col2im. */
  private patchGeometry(batch: number): [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number] {
    const [h, w] = this.inputShape;
    const [kh, kw] = this.kernelSize, [sh, sw] = this.stridePair, [dh, dw] = this.dilationRate;
    return [batch, this.rows.out, this.cols.out, this.filters, 1, kh, kw, sh, sw, dh, dw, this.rows.padBefore, this.cols.padBefore, h, w];
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    const [h, w, cin] = this.inputShape;
    const pixels = batch * h * w, taps = this.tapColumns, outRows = batch * this.rows.out * this.cols.out;
    this.input = input;
    // col[pixel][tap·filters] = Σ_c x[pixel][c]·K[tap·filters][c]: K read transposed by stride.
    this.kernels.gemm(pixels, taps, cin, input, cin, 1, this.kernel.value, 1, cin, this.col, taps, false, 0, Act.linear);
    const z = this.preActivationTarget(this.output, mode.logits);
    this.kernels.col2imGeneral(this.col, ...this.patchGeometry(batch), z);
    if (this.bias) this.kernels.channelScaleShift(z, outRows, this.filters, this.ones, this.bias.value, z);
    this.applyActivation(z, this.output, outRows, mode.logits);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const [h, w, cin] = this.inputShape;
    const pixels = batch * h * w, taps = this.tapColumns, outRows = batch * this.rows.out * this.cols.out;
    this.activationBackward(this.output, outputGrad, outRows);
    if (this.bias) this.kernels.columnSums(outputGrad, outRows, this.filters, this.bias.grad);
    this.kernels.im2colGeneral(outputGrad, ...this.patchGeometry(batch), this.col);
    // dK[tap·filters][c] = Σ_pixels dcol[pixel][tap·filters]·x[pixel][c]
    this.kernels.gemm(taps, cin, pixels, this.col, 1, taps, this.input, cin, 1, this.kernel.grad, cin, false, 0, Act.linear);
    if (!needInputGrad) return 0;
    this.kernels.gemm(pixels, cin, taps, this.col, taps, 1, this.kernel.value, cin, 1, this.inputGrad, cin, false, 0, Act.linear);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    const [sh, sw] = this.stridePair, [dh, dw] = this.dilationRate;
    const op = this.outputPadding;
    return {
      type: this.type, name: this.name, filters: this.filters, kernelSize: this.kernelSize, strides: sh === sw ? sh : [sh, sw],
      padding: this.padding, ...(op ? { outputPadding: op[0] === op[1] ? op[0] : op } : {}),
      dilationRate: dh === dw ? dh : [dh, dw], ...this.affineConfig(),
    };
  }
}
