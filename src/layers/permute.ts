// Permute the axes of each sample, as Keras: dims is 1-based and leaves out the batch, so dims [2, 1]
// swaps the two axes of a [rows, cols] sample. Up to 4 axes per sample (the kernel's limit). The backward
// pass applies the inverse permutation to the gradient. A permutation that keeps every axis longer than 1
// in order (moving only 1s) leaves the data as it is, and then the layer is free.

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";

const MAX_AXES = 4;

export class Permute extends SingleInputLayer {
  readonly type = "Permute";
  readonly dims: number[];
  /** The permutation padded to 4 axes and 0-based, forward and inverse, and the shapes padded with 1s. */
  private forwardOrder: number[] = [];
  private inverseOrder: number[] = [];
  private paddedInput: number[] = [];
  private paddedOutput: number[] = [];
  private free = false;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: { dims: number[]; name?: string }) {
    super();
    this.name = options.name ?? "";
    Permute.checkDims(options.dims, `${this.name} (Permute)`);
    this.dims = [...options.dims];
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Permute {
    new ConfigReader(raw, where, ["dims"]);
    if (raw.dims === undefined) throw new InputError(`${where}: 'dims' is required`);
    Permute.checkDims(raw.dims, where);
    return new Permute({ dims: raw.dims as number[], name: raw.name as string | undefined });
  }

  private static checkDims(dims: unknown, who: string): void {
    const ok = Array.isArray(dims) && dims.length >= 1 && dims.length <= MAX_AXES &&
      [...dims].sort((a, b) => a - b).every((v, i) => v === i + 1);
    if (!ok) {
      const n = Array.isArray(dims) ? Math.min(Math.max(dims.length, 1), MAX_AXES) : 2;
      throw new InputError(
        `${who}: 'dims' must be a permutation of 1..${n} (axes numbered from 1, without the batch; at most ${MAX_AXES}), got ${JSON.stringify(dims)}`,
      );
    }
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== this.dims.length) {
      throw new InputError(
        `${this.name} (Permute) has dims [${this.dims}] for ${this.dims.length} axes but its input [${inputShape}] has ${inputShape.length}`,
      );
    }
    const lead = MAX_AXES - inputShape.length;
    const order = [...Array.from({ length: lead }, (_, i) => i), ...this.dims.map((d) => d - 1 + lead)];
    this.paddedInput = [...Array(lead).fill(1), ...inputShape];
    this.forwardOrder = order;
    this.inverseOrder = order.map((_, axis) => order.indexOf(axis));
    this.paddedOutput = order.map((axis) => this.paddedInput[axis]);
    const moved = order.filter((axis) => this.paddedInput[axis] > 1);
    this.free = moved.every((axis, i) => i === 0 || axis > moved[i - 1]);
    return this.dims.map((d) => inputShape[d - 1]);
  }

  allocate(maxBatch: number): void {
    if (this.free) return;
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number): Pointer {
    if (this.free) return input;
    const [d0, d1, d2, d3] = this.paddedInput, [p0, p1, p2, p3] = this.forwardOrder;
    this.kernels.permute(input, batch, d0, d1, d2, d3, p0, p1, p2, p3, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    if (this.free) return outputGrad;
    const [d0, d1, d2, d3] = this.paddedOutput, [p0, p1, p2, p3] = this.inverseOrder;
    this.kernels.permute(outputGrad, batch, d0, d1, d2, d3, p0, p1, p2, p3, this.inputGrad);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, dims: [...this.dims] };
  }
}
