// Cropping2D over NHWC, as Keras: rows removed from the top and bottom and columns from the left and right
// of every image. The backward pass zero-pads the gradient back to the image (the adjoint of cropping).

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { isZero, parseEdges, type EdgeSpec, type Edges } from "./edges";
import { SingleInputLayer, type LayerConfig } from "./layer";
import { expectImage } from "./spatial";

export class Cropping2D extends SingleInputLayer {
  readonly type = "Cropping2D";
  /** [[top, bottom], [left, right]]. */
  readonly cropping: Edges;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: { cropping?: EdgeSpec; name?: string } = {}) {
    super();
    this.name = options.name ?? "";
    this.cropping = parseEdges(options.cropping ?? 0, "cropping", `${this.name} (Cropping2D)`);
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Cropping2D {
    new ConfigReader(raw, where, ["cropping"]);
    return new Cropping2D({ cropping: parseEdges(raw.cropping ?? 0, "cropping", where), name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (Cropping2D)`;
    const [h, w, c] = expectImage(inputShape, who);
    const [[top, bottom], [left, right]] = this.cropping;
    if (top + bottom >= h || left + right >= w) {
      throw new InputError(
        `${who}: cropping [[${top}, ${bottom}], [${left}, ${right}]] leaves nothing of its ${h}×${w} input [${inputShape}] ` +
          `(it removes ${top + bottom} of ${h} rows and ${left + right} of ${w} columns; at least one of each must remain)`,
      );
    }
    return [h - top - bottom, w - left - right, c];
  }

  allocate(maxBatch: number): void {
    if (isZero(this.cropping)) return;
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number): Pointer {
    if (isZero(this.cropping)) return input;
    const [h, w, c] = this.inputShape, [[top, bottom], [left, right]] = this.cropping;
    this.kernels.crop2d(input, batch, h, w, c, top, bottom, left, right, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    if (isZero(this.cropping)) return outputGrad;
    const [oh, ow, c] = this.outputShape, [[top, bottom], [left, right]] = this.cropping;
    this.kernels.zeroPad2d(outputGrad, batch, oh, ow, c, top, bottom, left, right, this.inputGrad);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, cropping: this.cropping.map((p) => [...p]) };
  }
}
