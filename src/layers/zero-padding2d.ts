// ZeroPadding2D over NHWC, as Keras: zeros added above, below, left and right of every image. The
// backward pass crops the gradient back to the image (the adjoint of padding).

import type { Pointer } from "../engine/kernels";
import { ConfigReader } from "./config-reader";
import { isZero, parseEdges, type EdgeSpec, type Edges } from "./edges";
import { SingleInputLayer, type LayerConfig } from "./layer";
import { expectImage } from "./spatial";

export class ZeroPadding2D extends SingleInputLayer {
  readonly type = "ZeroPadding2D";
  /** [[top, bottom], [left, right]]. */
  readonly padding: Edges;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: { padding?: EdgeSpec; name?: string } = {}) {
    super();
    this.name = options.name ?? "";
    this.padding = parseEdges(options.padding ?? 1, "padding", `${this.name} (ZeroPadding2D)`);
  }

  static fromConfig(raw: Record<string, unknown>, where: string): ZeroPadding2D {
    new ConfigReader(raw, where, ["padding"]);
    return new ZeroPadding2D({ padding: parseEdges(raw.padding ?? 1, "padding", where), name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    const [h, w, c] = expectImage(inputShape, `${this.name} (ZeroPadding2D)`);
    const [[top, bottom], [left, right]] = this.padding;
    return [h + top + bottom, w + left + right, c];
  }

  allocate(maxBatch: number): void {
    if (isZero(this.padding)) return;
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number): Pointer {
    if (isZero(this.padding)) return input;
    const [h, w, c] = this.inputShape, [[top, bottom], [left, right]] = this.padding;
    this.kernels.zeroPad2d(input, batch, h, w, c, top, bottom, left, right, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    if (isZero(this.padding)) return outputGrad;
    const [oh, ow, c] = this.outputShape, [[top, bottom], [left, right]] = this.padding;
    this.kernels.crop2d(outputGrad, batch, oh, ow, c, top, bottom, left, right, this.inputGrad);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, padding: this.padding.map((p) => [...p]) };
  }
}
