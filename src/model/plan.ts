// The execution plan: a model's layers in topological order, the tensors between them, and the two passes.
//
// Tensors are numbered: the model's inputs first, then one per step (that step's output). Values live in
// the buffers layers allocate (a layer returns the pointer of its output); the plan only owns the input
// buffers. Gradients flow back the same way: a tensor read by one layer takes the gradient that layer
// returns; a tensor read by several (a skip connection, a shared encoder) adopts the first gradient that
// arrives and adds the others into it, in reverse step order, so every run sums in the same order and
// threads stay bit-identical. Layer contract rules (src/layers/layer.ts) make adopting without a copy safe.
//
// A step may have several outputs (a recurrent layer returning its states), each a tensor of its own. A
// tensor may carry a mask (padded time steps); which ones do is settled once here, by asking each layer
// whether it takes its inputs' masks, and the masks' buffers are handed from step to step in forward.

import type { Heap } from "../engine/heap";
import type { Kernels, Pointer } from "../engine/kernels";
import type { ForwardMode, Layer } from "../layers/layer";

/** A tensor is a model input (0…inputCount−1) or an output of a step. */
export type TensorId = number;

export interface PlanStep {
  /** The layer object this step runs (for a shared layer's later applications, its twin). */
  readonly layer: Layer;
  /** Unique per step: the layer's name, or "name:2" for its second application. */
  readonly nodeName: string;
  readonly inputs: readonly TensorId[];
  /** One tensor per layer output. */
  readonly outputs: readonly TensorId[];
  /** The first output (the only one, for most layers). */
  readonly output: TensorId;
}

export interface PlanForwardMode {
  training: boolean;
  backwardFollows: boolean;
  /** Steps that emit logits: those whose activation the losses fuse (or saliency's last step). */
  logitsAt: ReadonlySet<number>;
}

export class ExecutionPlan {
  readonly steps: readonly PlanStep[];
  /** Per-sample shape of every tensor. */
  readonly shapes: readonly number[][];
  /** Steps (by index) whose output activation the loss computes itself, set when the model is compiled. */
  readonly fusedHeads = new Set<number>();
  /** Whether each tensor carries a mask. */
  readonly masked: readonly boolean[];
  private readonly values: Pointer[];
  private readonly grads: Pointer[];
  private readonly masks: Pointer[];
  /** Which step produces each tensor (−1 for model inputs). */
  private readonly producers: number[];
  private readonly inputBuffers: Pointer[] = [];
  /** needInputGrad per step, without and with gradients for the model inputs themselves. */
  private readonly needs: { params: boolean[][]; inputs: boolean[][] };
  /** Which later applications' gradients add into which original's, after backward. */
  private readonly sharedGradients: { from: Pointer; to: Pointer; size: number }[] = [];

  constructor(readonly inputShapes: readonly number[][], steps: PlanStep[], readonly outputs: readonly TensorId[]) {
    this.steps = steps;
    const shapes: number[][] = inputShapes.map((s) => [...s]);
    const masked: boolean[] = inputShapes.map(() => false);
    this.producers = inputShapes.map(() => -1);
    steps.forEach((step, s) => {
      step.outputs.forEach((t, j) => {
        shapes[t] = step.layer.outputShapes[j];
        masked[t] = false;
        this.producers[t] = s;
      });
      // Masks go with a layer's first output (a recurrent layer's sequence, not its states).
      masked[step.output] = step.layer.acceptMasks(step.inputs.map((t) => masked[t]));
    });
    this.shapes = shapes;
    this.masked = masked;
    this.values = new Array(shapes.length).fill(0);
    this.grads = new Array(shapes.length).fill(0);
    this.masks = new Array(shapes.length).fill(0);
    this.needs = { params: this.gradientNeeds(false), inputs: this.gradientNeeds(true) };
    for (const step of steps) {
      const original = step.layer.sharesWeightsOf;
      if (!original) continue;
      step.layer.params.forEach((p, i) => this.sharedGradients.push({ from: p.grad, to: original.params[i].grad, size: p.size }));
    }
  }

  get inputCount(): number {
    return this.inputShapes.length;
  }

  /** The step that produces a tensor, or −1 for a model input. */
  producerOf(tensor: TensorId): number {
    return this.producers[tensor];
  }

  /** Lays out the input buffers and every layer's activations for up to maxBatch samples. */
  allocate(heap: Heap, maxBatch: number): void {
    this.inputBuffers.length = 0;
    for (const shape of this.inputShapes) this.inputBuffers.push(heap.allocFloats(maxBatch * size(shape)));
    for (const step of this.steps) step.layer.allocate(maxBatch);
  }

  inputBuffer(index: number): Pointer {
    return this.inputBuffers[index];
  }

  /** Runs every step on the batch in the input buffers; returns the outputs' pointers. */
  forward(batch: number, mode: PlanForwardMode): Pointer[] {
    const { values, masks, masked } = this;
    for (let i = 0; i < this.inputCount; i++) values[i] = this.inputBuffers[i];
    const plain: ForwardMode = { training: mode.training, backwardFollows: mode.backwardFollows, logits: false };
    const fused: ForwardMode = { ...plain, logits: true };
    for (let s = 0; s < this.steps.length; s++) {
      const { layer, inputs, outputs, output } = this.steps[s];
      layer.inputMasks = inputs.map((t) => masks[t]);
      const results = layer.forwardOutputs(inputs.map((t) => values[t]), batch, mode.logitsAt.has(s) ? fused : plain);
      outputs.forEach((t, j) => (values[t] = results[j]));
      if (masked[output]) masks[output] = layer.outputMask();
    }
    return this.outputs.map((t) => values[t]);
  }

  /**
   * Back-propagates from d(loss)/d(output) for each output (0 for an output without a loss); leaves
   * parameter gradients in place. With wantInputGrads, returns the gradients of the model inputs.
   */
  backward(outputGrads: Pointer[], batch: number, kernels: Kernels, wantInputGrads = false): Pointer[] {
    const grads = this.grads;
    grads.fill(0);
    this.outputs.forEach((t, i) => {
      if (outputGrads[i]) this.addGradient(t, outputGrads[i], batch, kernels);
    });
    const needs = wantInputGrads ? this.needs.inputs : this.needs.params;
    for (let s = this.steps.length - 1; s >= 0; s--) {
      const step = this.steps[s];
      const outputGrads = step.outputs.map((t) => grads[t]);
      if (outputGrads.every((g) => g === 0)) {
        // Nothing downstream depends on this step: its parameters get no gradient this step.
        for (const p of step.layer.params) this.zero(kernels, p.grad, p.size);
        continue;
      }
      const inputGrads = step.layer.backwardOutputs(outputGrads, batch, needs[s]);
      step.inputs.forEach((t, j) => {
        if (needs[s][j] && inputGrads[j]) this.addGradient(t, inputGrads[j], batch, kernels);
      });
    }
    for (const { from, to, size } of this.sharedGradients) kernels.axpy(size, 1, from, to);
    return wantInputGrads ? Array.from({ length: this.inputCount }, (_, i) => grads[i]) : [];
  }

  private addGradient(tensor: TensorId, grad: Pointer, batch: number, kernels: Kernels): void {
    if (this.grads[tensor] === 0) this.grads[tensor] = grad;
    else kernels.axpy(batch * size(this.shapes[tensor]), 1, grad, this.grads[tensor]);
  }

  private zero(kernels: Kernels, ptr: Pointer, count: number): void {
    new Float32Array(kernels.memory.buffer, ptr, count).fill(0);
  }

  /**
   * needInputGrad for every step's inputs: a tensor needs a gradient when a parameter lies upstream of it
   * (or, with inputs, when it depends on a model input). Behind a leading Flatten the first Dense would
   * otherwise spend a whole GEMM on a gradient nobody reads.
   */
  private gradientNeeds(withInputs: boolean): boolean[][] {
    const requires: boolean[] = new Array(this.shapes.length).fill(false);
    for (let i = 0; i < this.inputCount; i++) requires[i] = withInputs;
    return this.steps.map((step) => {
      const need = step.inputs.map((t) => requires[t]);
      for (const t of step.outputs) requires[t] = step.layer.params.length > 0 || need.some(Boolean);
      return need;
    });
  }
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
