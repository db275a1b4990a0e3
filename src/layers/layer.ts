// The layer contract. A layer is built once for the per-sample shapes of its inputs (creating its
// parameters in the model's heap), then allocates per-batch buffers for the largest batch the model will
// run, then maps pointers to pointers: forward(inputs) → output, backward(outputGrad) → one gradient per
// input, writing its parameter gradients as a side effect. Buffers are reused every step; nothing is
// allocated in forward or backward.
//
// Where layers sit in a model is not theirs to know: src/model/plan.ts orders them, hands each its inputs'
// values and sums the gradients of a tensor that feeds several layers. Two rules make that summing safe
// without copies:
//  - a gradient a layer returns belongs to whoever receives it until the backward pass ends (the plan may
//    add other gradients into it, the producer of that input may overwrite it in place), so a layer never
//    returns one buffer for two inputs, nor a buffer it reads again later in the same pass;
//  - backward never writes into its inputs' value buffers: another consumer of the same tensor may still
//    need them.
//
// Two things most layers leave to the defaults here:
//  - masks: a tensor whose first per-sample axis is time may carry a mask, f32 [batch, time] with 1 for a
//    real step and 0 for padding (made by Embedding with maskZero, or Masking). The plan asks each layer
//    once whether it takes the masks its inputs carry (acceptMasks) and hands them over before every
//    forward (inputMasks). A layer that would let padded steps change its answer must refuse them.
//  - several outputs (a recurrent layer returning its states): outputShapes, forwardOutputs and
//    backwardOutputs. Everything else has one output and implements forwardAll/backwardAll.

import type { Heap } from "../engine/heap";
import type { Kernels, Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import type { ActivationFunction } from "./activation-function";
import { initialize, type InitializerContext, type InitializerName } from "./initializers";
import { SymbolicTensor, applyLayer } from "./symbolic";

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

/** What one forward pass is for. */
export interface ForwardMode {
  /** Dropout and batch statistics on. */
  training: boolean;
  /** False for pure inference (predict, evaluate): a layer may skip what only backward needs (max-pool indices). */
  backwardFollows: boolean;
  /**
   * The model fused this layer's output activation into the loss (softmax + cross-entropy): emit the
   * values before the activation. The plan decides it per output; the layer only obeys.
   */
  logits: boolean;
}

export const INFERENCE: ForwardMode = { training: false, backwardFollows: false, logits: false };

export abstract class Layer {
  abstract readonly type: string;
  name = "";
  inputShapes: number[][] = [];
  /** The first output's per-sample shape (the only one, for all but multi-output layers). */
  outputShape: number[] = [];
  /** Every output's per-sample shape. */
  outputShapes: number[][] = [];
  /** Set by the plan before every forward: each input's mask (f32 [batch, time]), 0 where it has none. */
  inputMasks: Pointer[] = [];
  readonly params: Parameter[] = [];
  /** Set on a frozen layer: its parameters get gradients but the optimizer leaves them alone. */
  trainable = true;
  protected kernels!: Kernels;
  protected heap!: Heap;
  /**
   * When this layer object is a second application of another layer (shared weights), the original: its
   * parameters' values are used in place and this copy's gradients are added to its gradients.
   */
  sharesWeightsOf?: Layer;

  /**
   * Inputs the layer takes: a count, "many" for merge layers (two or more), or a range (a recurrent layer:
   * its sequence, then optionally its initial states).
   */
  abstract readonly arity: number | "many" | { min: number; max: number };

  build(inputShapes: number[][], heap: Heap, rng: Rng): void {
    this.heap = heap;
    this.kernels = heap.kernels;
    this.inputShapes = inputShapes;
    this.outputShapes = this.outputShapesFor(inputShapes);
    this.outputShape = this.outputShapes[0];
    this.createParameters(rng);
  }

  /** Per-sample output shape for per-sample input shapes; throws InputError on a mismatch. */
  abstract outputShapeFor(inputShapes: number[][]): number[];

  /** Per-sample shapes of every output; layers with several outputs override it. */
  outputShapesFor(inputShapes: number[][]): number[][] {
    return [this.outputShapeFor(inputShapes)];
  }

  protected createParameters(_rng: Rng): void {}

  /** Lays out this layer's activation buffers for up to maxBatch samples. */
  abstract allocate(maxBatch: number): void;

  abstract forwardAll(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer;

  /**
   * Given d(loss)/d(output) — which the layer may overwrite — writes parameter gradients and returns
   * d(loss)/d(input) for each input, or 0 where needInputGrad is false (nobody consumes it).
   */
  abstract backwardAll(outputGrad: Pointer, batch: number, needInputGrad: boolean[]): Pointer[];

  /** Forward for layers with several outputs; the first is what forwardAll returns. */
  forwardOutputs(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer[] {
    return [this.forwardAll(inputs, batch, mode)];
  }

  /**
   * Backward from one gradient per output, 0 where nothing consumed that output (read it as zeros); the
   * plan calls it only when at least one is non-zero.
   */
  backwardOutputs(outputGrads: Pointer[], batch: number, needInputGrad: boolean[]): Pointer[] {
    return this.backwardAll(outputGrads[0], batch, needInputGrad);
  }

  /**
   * Called once when the plan is built, with which inputs carry a mask; returns whether the output does.
   * By default a layer takes no mask: padded steps would silently count. Layers that pass a mask through
   * return masked[0]; those that use it up return false; those that make one return true.
   */
  acceptMasks(masked: boolean[]): boolean {
    const i = masked.indexOf(true);
    if (i >= 0) {
      const which = masked.length > 1 ? `its input ${i + 1}` : "its input";
      throw new InputError(
        `${this.name || this.type} (${this.type}) does not support masking, but ${which} carries a mask (from Embedding with maskZero, or Masking), so padded steps would change its output: pool or run a recurrent layer over the masked sequence first, or drop the mask`,
      );
    }
    return false;
  }

  /** The output's mask after forward, asked only when acceptMasks returned true; by default the first input's. */
  outputMask(): Pointer {
    return this.inputMasks[0] ?? 0;
  }

  abstract getConfig(): LayerConfig;

  /** The activation a loss may fuse into itself (softmax, sigmoid), for layers that end in one. */
  get outputActivation(): ActivationFunction | undefined {
    return undefined;
  }

  /** Numbers of state beyond parameters that a checkpoint must carry for an exact resume (dropout RNG). */
  getState(): number[] {
    return [];
  }

  setState(_state: number[]): void {}

  /**
   * The functional API (Keras' layer(x)): records this layer applied to symbolic inputs and returns its
   * symbolic output. Applying one layer object twice shares its weights.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    return applyLayer(this, Array.isArray(inputs) ? inputs : [inputs])[0];
  }

  /** apply() for layers with several outputs: all of them (Keras' `out, h, c = LSTM(..., return_state=True)(x)`). */
  applyAll(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor[] {
    return applyLayer(this, Array.isArray(inputs) ? inputs : [inputs]);
  }

  get isBuilt(): boolean {
    return this.heap !== undefined;
  }

  /** The shape of the first input (for one-input layers, the input). */
  get inputShape(): number[] {
    return this.inputShapes[0] ?? [];
  }

  get inputSize(): number {
    return this.inputShape.reduce((a, b) => a * b, 1);
  }

  get outputSize(): number {
    return this.outputShape.reduce((a, b) => a * b, 1);
  }

  protected addParameter(
    suffix: string, shape: number[], init: InitializerName, rng: Rng, regularizer?: Regularizer, context?: InitializerContext,
  ): Parameter {
    const size = shape.reduce((a, b) => a * b, 1);
    const grad = this.heap.allocFloats(size);
    this.heap.f32(grad, size).fill(0);
    const original = this.sharesWeightsOf;
    if (original) {
      // A second application: the original's values, a gradient of its own (summed by the plan).
      const source = original.params[this.params.length];
      if (!source || source.size !== size || source.shape.join() !== shape.join()) {
        throw new InputError(
          `${original.name} (${this.type}) is applied to inputs of another shape ([${this.inputShapes.join("], [")}]) than the first time; shared weights need the same shapes`,
        );
      }
      const param: Parameter = { name: source.name, shape, size, value: source.value, grad, regularizer };
      this.params.push(param);
      return param;
    }
    const value = this.heap.allocFloats(size);
    const values = new Float32Array(size);
    initialize(values, shape, init, rng, context);
    this.heap.f32(value, size).set(values);
    const param: Parameter = { name: `${this.name}/${suffix}`, shape, size, value, grad, regularizer };
    this.params.push(param);
    return param;
  }
}

/**
 * The base of layers with one input, which is most of them: forward(input) and backward(grad) → input
 * gradient, as before models became graphs.
 */
export abstract class SingleInputLayer extends Layer {
  readonly arity = 1;

  /** Per-sample output shape for a per-sample input shape; throws InputError on a mismatch. */
  abstract computeOutputShape(inputShape: number[]): number[];

  abstract forward(input: Pointer, batch: number, mode: ForwardMode): Pointer;

  /** d(loss)/d(input), or 0 when needInputGrad is false. */
  abstract backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer;

  outputShapeFor(inputShapes: number[][]): number[] {
    if (inputShapes.length !== 1) throw new InputError(`${this.name || this.type} (${this.type}) takes one input, got ${inputShapes.length}`);
    return this.computeOutputShape(inputShapes[0]);
  }

  forwardAll(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer {
    return this.forward(inputs[0], batch, mode);
  }

  backwardAll(outputGrad: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    return [this.backward(outputGrad, batch, needInputGrad[0])];
  }
}
