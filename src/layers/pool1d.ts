// MaxPool1D and AveragePool1D (Keras' MaxPooling1D / AveragePooling1D): [steps, channels] → [outSteps,
// channels], a window of poolSize steps moved by `strides` (poolSize by default). They are the 2-D pooling
// kernels on the image [1, steps, channels] with a 1 × poolSize window. Padding 'valid' or 'same' (TF's rule,
// the odd step on the right); the average leaves padded steps out of each window's mean, as Keras (TF's
// avg_pool) does, and so does avgPoolForward. Masks are refused (the default): a window would pool padding.

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type ForwardMode, type LayerConfig } from "./layer";
import { positiveInt, slideWindow, type Window } from "./spatial";

export interface Pool1DOptions {
  poolSize?: number;
  /** Steps between windows; poolSize by default. */
  strides?: number;
  padding?: "valid" | "same";
  name?: string;
}

abstract class Pool1D extends SingleInputLayer {
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: "valid" | "same";
  protected window!: Window;
  protected output: Pointer = 0;
  protected inputGrad: Pointer = 0;

  constructor(options: Pool1DOptions = {}) {
    super();
    this.name = options.name ?? "";
    const who = `${this.name} (pooling)`.trim();
    this.poolSize = positiveInt(options.poolSize ?? 2, "poolSize", who);
    this.strides = positiveInt(options.strides ?? this.poolSize, "strides", who);
    const padding = options.padding ?? "valid";
    if (padding !== "valid" && padding !== "same") throw new InputError(`${who}: 'padding' must be 'valid' or 'same', got ${JSON.stringify(padding)}`);
    this.padding = padding;
  }

  protected static readOptions(raw: Record<string, unknown>, where: string): Pool1DOptions {
    const c = new ConfigReader(raw, where, ["poolSize", "strides", "padding"]);
    const poolSize = positiveInt(c.value("poolSize") ?? 2, "poolSize", where);
    return {
      poolSize, strides: positiveInt(c.value("strides") ?? poolSize, "strides", where),
      padding: c.oneOf<"valid" | "same">("padding", ["valid", "same"], "valid"), name: raw.name as string | undefined,
    };
  }

  computeOutputShape(inputShape: number[]): number[] {
    const who = `${this.name} (${this.type})`;
    if (inputShape.length !== 2) throw new InputError(`${who} needs sequences shaped [steps, channels] but gets [${inputShape}]`);
    const [steps, c] = inputShape;
    if (this.padding === "valid" && steps < this.poolSize) {
      throw new InputError(`${who}: a pool of ${this.poolSize} steps does not fit ${steps} steps with padding 'valid'; use padding 'same' or a smaller pool`);
    }
    // 'same' pads fewer than poolSize steps on either side, so no window lies wholly in the padding.
    this.window = slideWindow(1, steps, 1, this.poolSize, [1, this.strides], this.padding, who);
    return [this.window.outW, c];
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  /** The 2-D kernels' geometry after the input pointer and batch: one row, a 1 × poolSize window. */
  protected geometry(): [number, number, number, number, number, number, number, number, number, number] {
    const [steps, c] = this.inputShape;
    return [1, steps, c, 1, this.poolSize, this.strides, 0, this.window.padLeft, 1, this.window.outW];
  }

  /** Steps of padding [left, right], for exporters. */
  get pads(): [number, number] {
    return [this.window.padLeft, this.window.padRight];
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

export class MaxPool1D extends Pool1D {
  readonly type = "MaxPool1D";
  private argmax: Pointer = 0;

  static fromConfig(raw: Record<string, unknown>, where: string): MaxPool1D {
    return new MaxPool1D(Pool1D.readOptions(raw, where));
  }

  override allocate(maxBatch: number): void {
    super.allocate(maxBatch);
    this.argmax = this.heap.allocBytes(maxBatch * this.outputSize * 4);
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    this.kernels.maxPoolForward(input, batch, ...this.geometry(), this.output, mode.backwardFollows ? this.argmax : 0);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    this.kernels.maxPoolBackward(outputGrad, this.argmax, batch * this.outputSize, this.inputGrad, batch * this.inputSize);
    return this.inputGrad;
  }
}

export class AveragePool1D extends Pool1D {
  readonly type = "AveragePool1D";

  static fromConfig(raw: Record<string, unknown>, where: string): AveragePool1D {
    return new AveragePool1D(Pool1D.readOptions(raw, where));
  }

  forward(input: Pointer, batch: number): Pointer {
    this.kernels.avgPoolForward(input, batch, ...this.geometry(), this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    this.kernels.avgPoolBackward(outputGrad, batch, ...this.geometry(), this.inputGrad);
    return this.inputGrad;
  }
}
