// Finite-difference gradient checking for one layer at a time. A LayerProbe builds a layer on its own heap
// with a buffer per input and an output-gradient buffer, and defines the scalar L(x, θ) = Σ r ⊙ forward(x)
// for a fixed random r, so that backward(r) is exactly ∂L/∂x and ∂L/∂θ. The numeric side perturbs one
// element at a time and divides by the perturbation actually stored in f32 (fround(v + h) − fround(v − h)),
// not by 2h, so the rounding of the perturbed value itself adds no error.
//
// A layer with several outputs gets L = Σ_j r_j ⊙ y_j over all of them (each output its own r), so every
// output's gradient path is checked at once. Masks for the inputs, if set, are handed to the layer before
// every forward pass, as the plan does.

import type { Heap } from "../../src/engine/heap";
import type { Pointer } from "../../src/engine/kernels";
import { Rng } from "../../src/engine/rng";
import type { Layer, Parameter } from "../../src/layers/layer";
import { seededValues } from "./twin-heaps";

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Worst |analytic − numeric| / (atol + rtol·|numeric|) seen by compareGradients, for reporting. */
export const worstSeen = { ratio: 0, label: "" };

export class LayerProbe<L extends Layer = Layer> {
  /** One buffer per input; `input` is the first. */
  readonly inputs: Pointer[];
  readonly input: Pointer;
  readonly outputGrad: Pointer;
  /** One gradient buffer per output; outputGrad is the first. */
  readonly outputGrads: Pointer[];
  /** The fixed weights of L = Σ r ⊙ y (of the first output). */
  readonly r: Float32Array;
  /** One r per output. */
  readonly rs: Float32Array[];
  /** Each input's mask buffer (f32 [batch, time]), or 0: see setMask. */
  readonly masks: Pointer[];
  /** Runs before every forward pass (Dropout uses it to replay the same mask). */
  beforeForward: () => void = () => {};
  training = false;
  /** Ask the layer for the values before its activation (as when a loss fuses it). */
  logits = false;

  /** `inputShape` is one per-sample shape, or a list of them for a layer with several inputs. */
  constructor(readonly layer: L, readonly heap: Heap, inputShape: number[] | number[][], readonly batch: number, seed = 1) {
    layer.name ||= "probe";
    const shapes = typeof inputShape[0] === "number" ? [inputShape as number[]] : (inputShape as number[][]);
    layer.build(shapes, heap, new Rng(seed));
    layer.allocate(batch);
    this.inputs = shapes.map((s) => heap.allocFloats(batch * s.reduce((a, b) => a * b, 1)));
    this.input = this.inputs[0];
    this.outputGrads = layer.outputShapes.map((s) => heap.allocFloats(batch * s.reduce((a, b) => a * b, 1)));
    this.outputGrad = this.outputGrads[0];
    this.rs = layer.outputShapes.map((s, j) => seededValues(batch * s.reduce((a, b) => a * b, 1), seed + 1000 + 7 * j));
    this.r = this.rs[0];
    this.masks = shapes.map(() => 0);
  }

  /** Gives input i a mask (values 1 for real steps, 0 for padding: batch × time of them). */
  setMask(i: number, values: ArrayLike<number>): void {
    if (this.masks[i] === 0) this.masks[i] = this.heap.allocFloats(values.length);
    this.heap.f32(this.masks[i], values.length).set(values);
  }

  /** Values in output j's buffer. */
  outputCountOf(j: number): number {
    return this.batch * this.layer.outputShapes[j].reduce((a, b) => a * b, 1);
  }

  get inputCount(): number {
    return this.batch * this.layer.inputSize;
  }

  /** Values in input i's buffer. */
  inputCountOf(i: number): number {
    return this.batch * this.layer.inputShapes[i].reduce((a, b) => a * b, 1);
  }

  get outputCount(): number {
    return this.batch * this.layer.outputSize;
  }

  inputView(): Float32Array {
    return this.heap.f32(this.input, this.inputCount);
  }

  paramView(p: Parameter): Float32Array {
    return this.heap.f32(p.value, p.size);
  }

  /** A copy of forward(x) (the first output). */
  forward(): Float32Array {
    return this.forwardOutputs()[0];
  }

  /** Copies of every output of forward(x). */
  forwardOutputs(): Float32Array[] {
    this.beforeForward();
    this.layer.inputMasks = [...this.masks];
    const ys = this.layer.forwardOutputs(this.inputs, this.batch, { training: this.training, backwardFollows: true, logits: this.logits });
    return ys.map((y, j) => this.heap.f32(y, this.outputCountOf(j)).slice());
  }

  /** L = Σ_j r_j ⊙ y_j, summed in f64. */
  loss(): number {
    let total = 0;
    this.forwardOutputs().forEach((y, j) => {
      const r = this.rs[j];
      for (let i = 0; i < y.length; i++) total += r[i] * y[i];
    });
    return total;
  }

  /**
   * ∂L/∂x and ∂L/∂θ from backward. A first forward/backward with a different r runs before the real one,
   * so a layer that accumulated into (rather than overwrote) a gradient buffer would be caught.
   */
  analytic(): { input: Float32Array; inputs: Float32Array[]; params: Float32Array[] } {
    const decoys = this.rs.map((r, j) => seededValues(r.length, 4242 + j, -3, 3));
    let dxs: Pointer[] = [];
    for (const dys of [decoys, this.rs]) {
      this.forwardOutputs();
      dys.forEach((dy, j) => this.heap.f32(this.outputGrads[j], dy.length).set(dy));
      dxs = this.layer.backwardOutputs(this.outputGrads, this.batch, this.inputs.map(() => true));
    }
    const inputs = dxs.map((dx, i) => this.heap.f32(dx, this.inputCountOf(i)).slice());
    return {
      input: inputs[0],
      inputs,
      params: this.layer.params.map((p) => this.heap.f32(p.grad, p.size).slice()),
    };
  }

  /** Central differences of L with respect to buffer[indices], restoring every value afterwards. */
  numeric(buffer: Pointer, count: number, indices: number[], h: number): number[] {
    return indices.map((i) => {
      const original = this.heap.f32(buffer, count)[i];
      const plus = Math.fround(original + h);
      const minus = Math.fround(original - h);
      this.heap.f32(buffer, count)[i] = plus;
      const lPlus = this.loss();
      this.heap.f32(buffer, count)[i] = minus;
      const lMinus = this.loss();
      this.heap.f32(buffer, count)[i] = original;
      return (lPlus - lMinus) / (plus - minus);
    });
  }
}

/** All indices when count ≤ max, else a seeded random subset of max of them (sorted). */
export function probeIndices(count: number, max: number, seed: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (count <= max) return all;
  new Rng(seed).shuffle(all);
  return all.slice(0, max).sort((a, b) => a - b);
}

/**
 * Compares analytic[indices[j]] with numeric[j]; returns one failure line per tensor (the count of
 * elements out of tolerance and the worst of them), or nothing.
 */
export function compareGradients(
  label: string, analytic: ArrayLike<number>, numeric: number[], indices: number[], tol: Tolerance,
): string[] {
  let bad = 0;
  let worst = 0;
  let at = -1;
  indices.forEach((index, j) => {
    const a = analytic[index];
    const n = numeric[j];
    const ratio = Math.abs(a - n) / (tol.atol + tol.rtol * Math.abs(n));
    if (!(ratio <= 1)) bad++;
    if (!(ratio <= worst)) {
      worst = ratio;
      at = j;
    }
  });
  if (worst > worstSeen.ratio && Number.isFinite(worst)) {
    worstSeen.ratio = worst;
    worstSeen.label = label;
  }
  if (bad === 0) return [];
  return [
    `${label}: ${bad}/${indices.length} elements off; worst [${indices[at]}] analytic ${analytic[indices[at]]} vs numeric ${numeric[at]}`,
  ];
}
