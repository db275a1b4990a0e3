// Conv1D over sequences [steps, channels] (Keras' Conv1D): the Conv2D machinery (PatchConvolution, im2col +
// GEMM, groups) on the image [1, steps, channels], with a 1 × kernelSize kernel. The kernel parameter is
// [kernelSize, cin / groups, filters] as Keras stores it (the same floats as Conv2D's [1, k, cin/g, filters]),
// so weights copy across.
//
// Padding: 'valid'; 'same' (TF's rule, the odd step on the right); 'causal' (Keras: dilation·(k − 1) steps on
// the left only, so output t sees inputs ≤ t); p steps on both sides; or [left, right].
// Masks are refused (the default): a convolution over padded steps would mix the padding into real steps.

import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { describeValue } from "../io/display";
import { AFFINE_OPTION_KEYS, AffineLayer, type AffineOptions } from "./affine";
import { ConfigReader } from "./config-reader";
import { PatchConvolution } from "./conv2d";
import type { LayerConfig } from "./layer";
import { positiveInt, type ExplicitPadding } from "./spatial";

export type Conv1DPadding = "valid" | "same" | "causal" | number | [number, number];

export interface Conv1DOptions extends AffineOptions {
  filters: number;
  kernelSize: number;
  strides?: number;
  padding?: Conv1DPadding;
  dilationRate?: number;
  /** Input channels and filters split into this many groups, each convolved on its own (both divisible). */
  groups?: number;
}

/** 'valid', 'same', 'causal', p ≥ 0 steps on both sides, or [left, right]. */
export function parseConv1DPadding(value: unknown, where: string): Conv1DPadding {
  if (value === "valid" || value === "same" || value === "causal") return value;
  const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
  if (isCount(value)) return value;
  if (Array.isArray(value) && value.length === 2 && value.every(isCount)) return [value[0], value[1]];
  throw new InputError(`${where}: 'padding' must be 'valid', 'same', 'causal', a number of steps p ≥ 0 or [left, right], got ${describeValue(value)}`);
}

export class Conv1D extends PatchConvolution {
  readonly type = "Conv1D";
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: Conv1DPadding;
  readonly dilationRate: number;

  constructor(options: Conv1DOptions) {
    const who = `${options.name ?? ""} (Conv1D)`.trim();
    super(options, who);
    if (!Number.isInteger(options.filters) || options.filters < 1) throw new InputError(`${who}: 'filters' must be a positive integer, got ${options.filters}`);
    this.kernelSize = positiveInt(options.kernelSize, "kernelSize", who);
    this.strides = positiveInt(options.strides ?? 1, "strides", who);
    this.padding = parseConv1DPadding(options.padding ?? "valid", who);
    this.dilationRate = positiveInt(options.dilationRate ?? 1, "dilationRate", who);
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Conv1D {
    const c = new ConfigReader(raw, where, ["filters", "kernelSize", "strides", "padding", "dilationRate", "groups", ...AFFINE_OPTION_KEYS]);
    return new Conv1D({
      filters: c.int("filters", { min: 1, max: 1 << 16 }),
      kernelSize: positiveInt(c.value("kernelSize"), "kernelSize", where),
      strides: positiveInt(c.value("strides") ?? 1, "strides", where),
      padding: parseConv1DPadding(c.value("padding") ?? "valid", where),
      dilationRate: positiveInt(c.value("dilationRate") ?? 1, "dilationRate", where),
      groups: c.int("groups", { min: 1, max: 1 << 16, default: 1 }),
      ...AffineLayer.readAffineOptions(c, raw, where),
    });
  }

  /** The steps the kernel spans: (k − 1)·d + 1. */
  get span(): number {
    return (this.kernelSize - 1) * this.dilationRate + 1;
  }

  /** The padding as the 2-D image's: nothing above or below, the steps' padding left and right. */
  private get imagePadding(): "valid" | "same" | ExplicitPadding {
    const p = this.padding;
    if (p === "valid" || p === "same") return p;
    const [left, right] = p === "causal" ? [this.span - 1, 0] : typeof p === "number" ? [p, p] : p;
    return [[0, 0], [left, right]];
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (Conv1D)`;
    if (inputShape.length !== 2) throw new InputError(`${who} needs sequences shaped [steps, channels] but gets [${inputShape}]`);
    const [steps, c] = inputShape;
    const padding = this.imagePadding;
    if (padding !== "same") {
      const [left, right] = padding === "valid" ? [0, 0] : padding[1];
      if (steps + left + right < this.span) {
        const kernel = this.dilationRate === 1 ? `a kernel of ${this.kernelSize}` : `a kernel of ${this.kernelSize} dilated by ${this.dilationRate} (${this.span} steps)`;
        throw new InputError(`${who}: ${kernel} does not fit ${steps} steps with padding ${JSON.stringify(this.padding)}; use padding 'same' or 'causal', a smaller kernel, or longer sequences`);
      }
    }
    const { outW } = this.slide({ h: 1, w: steps, c, kernel: [1, this.kernelSize], strides: [1, this.strides], dilation: [1, this.dilationRate], padding }, who);
    return [outW, this.filters];
  }

  /** Steps of padding [left, right] (for exporters): 'same' and 'causal' resolved, explicit padding as given. */
  get pads(): [number, number] {
    return [this.window.padLeft, this.window.padRight];
  }

  protected override createParameters(rng: Rng): void {
    this.createWeights([this.kernelSize, this.inputShape[1] / this.groups, this.filters], rng);
  }

  getConfig(): LayerConfig {
    return {
      type: this.type, name: this.name, filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding,
      // Written only when they differ from the defaults.
      ...(this.dilationRate !== 1 ? { dilationRate: this.dilationRate } : {}),
      ...(this.groups !== 1 ? { groups: this.groups } : {}),
      ...this.affineConfig(),
    };
  }
}
