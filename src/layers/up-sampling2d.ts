// UpSampling2D over NHWC, as Keras: each image grows by whole factors [rows, cols].
//   'nearest'  — every pixel repeated over a size[0] × size[1] block; backward sums the gradient over
//                each block.
//   'bilinear' — tf.image.resize to [h·size[0], w·size[1]] with bilinear weights; backward is the exact
//                adjoint of that interpolation. Output pixel o samples input coordinate
//                (o + ½)/size − ½ (half-pixel centers), as tf.keras on TF 2 (through tf.image.resize) and
//                Keras 3 do. tfjs-layers' UpSampling2D instead calls tf.image.resizeBilinear with its
//                defaults, which sample o/size (TF 1's resize_bilinear, no half-pixel offset): set
//                halfPixelCenters: false to match a model trained there. The two differ at every pixel
//                that is not on the input grid, so the choice matters for imported weights.

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";
import { expectImage } from "./spatial";

export type Interpolation = "nearest" | "bilinear";

export interface UpSampling2DOptions {
  /** Factors for rows and columns; one number for both. Default 2. */
  size?: number | [number, number];
  interpolation?: Interpolation;
  /** Bilinear only: Keras 2.x/3's half-pixel sampling (default true) or tfjs-layers' corner-aligned grid (false). */
  halfPixelCenters?: boolean;
  name?: string;
}

export class UpSampling2D extends SingleInputLayer {
  readonly type = "UpSampling2D";
  readonly size: [number, number];
  readonly interpolation: Interpolation;
  readonly halfPixelCenters: boolean;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: UpSampling2DOptions = {}) {
    super();
    this.name = options.name ?? "";
    const who = `${this.name} (UpSampling2D)`;
    const s = options.size ?? 2;
    const size = typeof s === "number" ? [s, s] : s;
    if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new InputError(`${who}: 'size' must be a positive integer or [rows, cols], got ${JSON.stringify(s)}`);
    }
    this.size = [size[0], size[1]];
    this.interpolation = options.interpolation ?? "nearest";
    if (this.interpolation !== "nearest" && this.interpolation !== "bilinear") {
      throw new InputError(`${who}: 'interpolation' must be 'nearest' or 'bilinear', got ${JSON.stringify(this.interpolation)}`);
    }
    if (options.halfPixelCenters !== undefined && this.interpolation !== "bilinear") {
      throw new InputError(`${who}: 'halfPixelCenters' applies to 'bilinear' interpolation only`);
    }
    this.halfPixelCenters = options.halfPixelCenters ?? true;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): UpSampling2D {
    const c = new ConfigReader(raw, where, ["size", "interpolation", "halfPixelCenters"]);
    const interpolation = c.oneOf("interpolation", ["nearest", "bilinear"] as const, "nearest");
    if (c.has("halfPixelCenters") && interpolation !== "bilinear") {
      throw new InputError(`${where}: 'halfPixelCenters' applies to 'bilinear' interpolation only`);
    }
    return new UpSampling2D({
      size: c.intPair("size", 2),
      interpolation,
      halfPixelCenters: c.has("halfPixelCenters") ? c.bool("halfPixelCenters", true) : undefined,
      name: raw.name as string | undefined,
    });
  }

  computeOutputShape(inputShape: number[]): number[] {
    const [h, w, c] = expectImage(inputShape, `${this.name} (UpSampling2D)`);
    return [h * this.size[0], w * this.size[1], c];
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number): Pointer {
    const [h, w, c] = this.inputShape, [oh, ow] = this.outputShape, [sh, sw] = this.size;
    if (this.interpolation === "nearest") this.kernels.upsampleNearestForward(input, batch, h, w, c, sh, sw, this.output);
    else this.kernels.resizeBilinearForward(input, batch, h, w, c, oh, ow, this.halfPixelCenters, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    const [h, w, c] = this.inputShape, [oh, ow] = this.outputShape, [sh, sw] = this.size;
    if (this.interpolation === "nearest") this.kernels.upsampleNearestBackward(outputGrad, batch, h, w, c, sh, sw, this.inputGrad);
    else this.kernels.resizeBilinearBackward(outputGrad, batch, h, w, c, oh, ow, this.halfPixelCenters, this.inputGrad);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    const config: LayerConfig = { type: this.type, name: this.name, size: [...this.size], interpolation: this.interpolation };
    if (this.interpolation === "bilinear") config.halfPixelCenters = this.halfPixelCenters;
    return config;
  }
}
