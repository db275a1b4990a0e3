// The optimizer contract: per-parameter state ("slots": momentum, Adam moments, …) lives in the model's
// heap next to the parameters, and one fused kernel call updates a parameter and its slots in a pass.

import type { Heap } from "../engine/heap";
import type { Kernels, Pointer } from "../engine/kernels";
import type { Parameter } from "../layers/layer";

export interface OptimizerConfig {
  type: string;
  learningRate: number;
  [option: string]: number | string | boolean | string[];
}

export abstract class Optimizer {
  /** Steps taken so far (Adam's bias correction needs it; checkpoints carry it). */
  iterations = 0;
  /** When set, gradients are scaled so their global L2 norm is at most this (Keras' global_clipnorm). */
  globalClipNorm?: number;
  private slots: Pointer[][] = [];
  private attached: Parameter[] = [];

  /** The configured rate; schedules scale it, and configs (so checkpoints) record it. */
  readonly initialLearningRate: number;

  constructor(public learningRate: number) {
    this.initialLearningRate = learningRate;
  }

  /** Number of state buffers per parameter. */
  protected abstract readonly slotCount: number;

  protected abstract update(kernels: Kernels, param: Parameter, slots: Pointer[]): void;

  abstract getConfig(): OptimizerConfig;

  /** Allocates zeroed slots for the parameters it will update. */
  attach(params: Parameter[], heap: Heap): void {
    this.attached = params;
    this.slots = params.map((p) =>
      Array.from({ length: this.slotCount }, () => {
        const ptr = heap.allocFloats(p.size);
        heap.f32(ptr, p.size).fill(0);
        return ptr;
      }),
    );
  }

  /** One update of every trainable parameter from its gradient. */
  step(kernels: Kernels, trainable: (p: Parameter) => boolean): void {
    this.iterations++;
    if (this.globalClipNorm !== undefined) this.clipGradients(kernels, trainable);
    this.attached.forEach((param, i) => {
      if (trainable(param)) this.update(kernels, param, this.slots[i]);
    });
  }

  protected clipConfig(): { globalClipNorm?: number } {
    return this.globalClipNorm === undefined ? {} : { globalClipNorm: this.globalClipNorm };
  }

  private clipGradients(kernels: Kernels, trainable: (p: Parameter) => boolean): void {
    const params = this.attached.filter(trainable);
    const norm = Math.sqrt(params.reduce((sum, p) => sum + kernels.sumOfSquares(p.grad, p.size), 0));
    if (!(norm > this.globalClipNorm!)) return;
    const shrink = this.globalClipNorm! / norm;
    // g += (shrink − 1)·g  is  g ·= shrink, with the one kernel that already exists for it.
    for (const p of params) kernels.axpy(p.size, shrink - 1, p.grad, p.grad);
  }

  /** Slot buffers in parameter order, for checkpoints. */
  slotBuffers(): { param: Parameter; slots: Pointer[] }[] {
    return this.attached.map((param, i) => ({ param, slots: this.slots[i] }));
  }
}
