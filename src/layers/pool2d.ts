// What MaxPool2D and AveragePool2D share: the window options, their parsing, the output-size arithmetic
// and the config they write back. Subclasses supply the kernels.

import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";
import { expectImage, explicitPads, slideWindow, type Padding, type Window } from "./spatial";

export interface Pool2DOptions {
  poolSize?: number | [number, number];
  strides?: number;
  padding?: Padding;
  name?: string;
}

export abstract class Pool2D extends SingleInputLayer {
  readonly poolSize: [number, number];
  readonly strides: number;
  readonly padding: Padding;
  protected window!: Window;

  constructor(options: Pool2DOptions = {}) {
    super();
    const p = options.poolSize ?? 2;
    this.poolSize = typeof p === "number" ? [p, p] : p;
    this.strides = options.strides ?? this.poolSize[0];
    this.padding = options.padding ?? "valid";
    this.name = options.name ?? "";
  }

  protected static readOptions(raw: Record<string, unknown>, where: string): Pool2DOptions {
    const c = new ConfigReader(raw, where, ["poolSize", "strides", "padding"]);
    const poolSize = c.intPair("poolSize", 2);
    const [sh, sw] = c.intPair("strides", poolSize[0]);
    if (sh !== sw) throw new InputError(`${where}: strides must be equal in both directions, got [${sh}, ${sw}]`);
    return { poolSize, strides: sh, padding: c.oneOf("padding", ["valid", "same"] as const, "valid"), name: raw.name as string | undefined };
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (${this.type})`;
    const [h, w, c] = expectImage(inputShape, who);
    this.window = slideWindow(h, w, this.poolSize[0], this.poolSize[1], this.strides, this.padding, who);
    return [this.window.outH, this.window.outW, c];
  }

  /** The window geometry as kernel arguments, after the input pointer and batch. */
  protected geometry(): [number, number, number, number, number, number, number, number, number, number] {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.window;
    return [h, w, c, this.poolSize[0], this.poolSize[1], this.strides, padTop, padLeft, outH, outW];
  }

  /** Pixels of padding on each side, [top, left, bottom, right], for exporters. */
  get pads(): [number, number, number, number] {
    return explicitPads(this.inputShape[0], this.inputShape[1], this.poolSize[0], this.poolSize[1], this.strides, this.window);
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}
