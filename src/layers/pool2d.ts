// What MaxPool2D and AveragePool2D share: the window options, their parsing, the output-size arithmetic
// and the config they write back. Subclasses supply the kernels. Padding may be 'valid', 'same' or explicit
// (p on every side, or [[top, bottom], [left, right]], as PyTorch and ONNX pools take it); explicit padding
// must be smaller than the window on every side, so no window lies wholly in the padding.

import { InputError } from "../errors";
import type { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";
import { expectImage, explicitPads, parsePadding, slideWindow, type Padding, type Window } from "./spatial";

/** The JSON keys of Pool2DOptions, for the subclasses' config readers. */
export const POOL_OPTION_KEYS = ["poolSize", "strides", "padding"];

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
    this.padding = parsePadding(options.padding ?? "valid", `${options.name ?? ""} (pooling)`.trim());
    this.name = options.name ?? "";
  }

  protected static readOptions(c: ConfigReader, raw: Record<string, unknown>, where: string): Pool2DOptions {
    const poolSize = c.intPair("poolSize", 2);
    const [sh, sw] = c.intPair("strides", poolSize[0]);
    if (sh !== sw) throw new InputError(`${where}: strides must be equal in both directions, got [${sh}, ${sw}]`);
    return { poolSize, strides: sh, padding: parsePadding(c.value("padding") ?? "valid", where), name: raw.name as string | undefined };
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (${this.type})`;
    const [h, w, c] = expectImage(inputShape, who);
    const [ph, pw] = this.poolSize;
    this.window = slideWindow(h, w, ph, pw, this.strides, this.padding, who);
    const { padTop, padBottom, padLeft, padRight } = this.window;
    if (Math.max(padTop, padBottom) >= ph || Math.max(padLeft, padRight) >= pw) {
      throw new InputError(`${who}: padding ${JSON.stringify(this.padding)} must be smaller than the ${ph}×${pw} pool on every side`);
    }
    return [this.window.outH, this.window.outW, c];
  }

  /** The window geometry as kernel arguments, after the input pointer and batch. */
  protected geometry(): [number, number, number, number, number, number, number, number, number, number] {
    const [h, w, c] = this.inputShape;
    const { outH, outW, padTop, padLeft } = this.window;
    return [h, w, c, this.poolSize[0], this.poolSize[1], this.strides, padTop, padLeft, outH, outW];
  }

  /** Pixels of padding on each side, [top, left, bottom, right], for exporters (explicit padding as given). */
  get pads(): [number, number, number, number] {
    return explicitPads(this.inputShape[0], this.inputShape[1], this.poolSize[0], this.poolSize[1], this.strides, this.window);
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}
