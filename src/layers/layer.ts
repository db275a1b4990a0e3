// The layer contract. A layer is built once for a per-sample input shape (creating its parameters in the
// model's heap), then allocates per-batch buffers for the largest batch the model will run, then maps
// pointers to pointers: forward(input) → output, backward(outputGrad) → inputGrad, writing its parameter
// gradients as a side effect. Buffers are reused every step; nothing is allocated in forward or backward.

import type { Heap } from "../engine/heap";
import type { Kernels, Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { initialize, type InitializerName } from "./initializers";

export interface Regularizer {
  l1?: number;
  l2?: number;
}

export interface Parameter {
  /** "<layer name>/<kernel|bias>". */
  name: string;
  shape: number[];
  size: number;
  value: Pointer;
  grad: Pointer;
  regularizer?: Regularizer;
}

/** A layer's description as it appears in model JSON files and checkpoints. */
export type LayerConfig = { type: string; name?: string } & Record<string, unknown>;

export abstract class Layer {
  abstract readonly type: string;
  name = "";
  inputShape: number[] = [];
  outputShape: number[] = [];
  readonly params: Parameter[] = [];
  /** Set on a frozen layer: its parameters get gradients but the optimizer leaves them alone. */
  trainable = true;
  protected kernels!: Kernels;
  protected heap!: Heap;

  build(inputShape: number[], heap: Heap, rng: Rng): void {
    this.heap = heap;
    this.kernels = heap.kernels;
    this.inputShape = inputShape;
    this.outputShape = this.computeOutputShape(inputShape);
    this.createParameters(rng);
  }

  /** Per-sample output shape for a per-sample input shape; throws InputError on a mismatch. */
  abstract computeOutputShape(inputShape: number[]): number[];

  protected createParameters(_rng: Rng): void {}

  /** Lays out this layer's activation buffers for up to maxBatch samples. */
  abstract allocate(maxBatch: number): void;

  /**
   * `training` switches dropout and batch statistics on. `backwardFollows` is false for pure inference
   * (predict, evaluate), so a layer may skip what only its backward pass needs (max-pool indices).
   */
  abstract forward(input: Pointer, batch: number, training: boolean, backwardFollows?: boolean): Pointer;

  /**
   * Given d(loss)/d(output) — which the layer may overwrite — writes parameter gradients and returns
   * d(loss)/d(input), or 0 when needInputGrad is false (the first layer: nobody consumes it).
   */
  abstract backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer;

  abstract getConfig(): LayerConfig;

  /** Bytes of state beyond parameters that a checkpoint must carry for an exact resume (dropout RNG). */
  getState(): number[] {
    return [];
  }

  setState(_state: number[]): void {}

  get inputSize(): number {
    return this.inputShape.reduce((a, b) => a * b, 1);
  }

  get outputSize(): number {
    return this.outputShape.reduce((a, b) => a * b, 1);
  }

  protected addParameter(
    suffix: string, shape: number[], init: InitializerName, rng: Rng, regularizer?: Regularizer,
  ): Parameter {
    const size = shape.reduce((a, b) => a * b, 1);
    const value = this.heap.allocFloats(size);
    const grad = this.heap.allocFloats(size);
    const values = new Float32Array(size);
    initialize(values, shape, init, rng);
    this.heap.f32(value, size).set(values);
    this.heap.f32(grad, size).fill(0);
    const param: Parameter = { name: `${this.name}/${suffix}`, shape, size, value, grad, regularizer };
    this.params.push(param);
    return param;
  }
}
