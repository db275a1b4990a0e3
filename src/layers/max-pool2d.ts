// MaxPool2D over NHWC. The forward pass keeps each output's winning input index, so backward is a scatter.

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { Layer, type LayerConfig } from "./layer";
import { expectImage, slideWindow, type Padding, type Window } from "./spatial";

export interface MaxPool2DOptions {
  poolSize?: number | [number, number];
  strides?: number;
  padding?: Padding;
  name?: string;
}

export class MaxPool2D extends Layer {
  readonly type = "MaxPool2D";
  readonly poolSize: [number, number];
  readonly strides: number;
  readonly padding: Padding;
  private window!: Window;
  private output: Pointer = 0;
  private argmax: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: MaxPool2DOptions = {}) {
    super();
    const p = options.poolSize ?? 2;
    this.poolSize = typeof p === "number" ? [p, p] : p;
    this.strides = options.strides ?? this.poolSize[0];
    this.padding = options.padding ?? "valid";
    this.name = options.name ?? "";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): MaxPool2D {
    const c = new ConfigReader(raw, where, ["poolSize", "strides", "padding"]);
    const poolSize = c.intPair("poolSize", 2);
    const [sh, sw] = c.intPair("strides", poolSize[0]);
    if (sh !== sw) throw new InputError(`${where}: strides must be equal in both directions, got [${sh}, ${sw}]`);
    return new MaxPool2D({ poolSize, strides: sh, padding: c.oneOf("padding", ["valid", "same"] as const, "valid"), name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (MaxPool2D)`;
    const [h, w, c] = expectImage(inputShape, who);
    this.window = slideWindow(h, w, this.poolSize[0], this.poolSize[1], this.strides, this.padding, who);
    return [this.window.outH, this.window.outW, c];
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.argmax = this.heap.allocBytes(maxBatch * this.outputSize * 4);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number, _training: boolean): Pointer {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.window;
    this.kernels.maxPoolForward(input, batch, h, w, c, this.poolSize[0], this.poolSize[1], this.strides, padTop, padLeft, outH, outW, this.output, this.argmax);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    this.kernels.maxPoolBackward(outputGrad, this.argmax, batch * this.outputSize, this.inputGrad, batch * this.inputSize);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}
