// The plan's two newer duties: layers with several outputs (a recurrent layer returning its states), whose
// output gradients arrive together and may be missing (0) where nobody read an output; and masks, settled
// once when the plan is built (who makes one, who passes it on, who uses it up, who refuses it) and handed
// from step to step in forward. Tested with small layers defined here, so the plan is what is under test.

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import type { Pointer } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Rng } from "../../src/engine/rng";
import { InputError } from "../../src/errors";
import { Dense, Flatten, Input, Model } from "../../src/index";
import { Layer, SingleInputLayer, type ForwardMode, type LayerConfig } from "../../src/layers/layer";
import { ExecutionPlan, type PlanStep } from "../../src/model/plan";
import { seededValues } from "../support/twin-heaps";

/** [T, 2F] → [T, F] (the first half of each step's features) and [F] (the second half of the last step, doubled). */
class SplitLast extends Layer {
  readonly type = "SplitLast";
  readonly arity = 1;
  private first: Pointer = 0;
  private last: Pointer = 0;
  private dx: Pointer = 0;
  private get t(): number { return this.inputShape[0]; }
  private get f(): number { return this.inputShape[1] / 2; }
  outputShapeFor(shapes: number[][]): number[] { return this.outputShapesFor(shapes)[0]; }
  override outputShapesFor([shape]: number[][]): number[][] { return [[shape[0], shape[1] / 2], [shape[1] / 2]]; }
  allocate(maxBatch: number): void {
    this.first = this.heap.allocFloats(maxBatch * this.t * this.f);
    this.last = this.heap.allocFloats(maxBatch * this.f);
    this.dx = this.heap.allocFloats(maxBatch * this.inputSize);
  }
  forwardAll(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer { return this.forwardOutputs(inputs, batch, mode)[0]; }
  override forwardOutputs([x]: Pointer[], batch: number, _mode?: ForwardMode): Pointer[] {
    const { t, f } = this;
    const xs = this.heap.f32(x, batch * t * 2 * f), a = this.heap.f32(this.first, batch * t * f), b = this.heap.f32(this.last, batch * f);
    for (let n = 0; n < batch; n++) {
      for (let s = 0; s < t; s++) for (let j = 0; j < f; j++) a[(n * t + s) * f + j] = xs[(n * t + s) * 2 * f + j];
      for (let j = 0; j < f; j++) b[n * f + j] = 2 * xs[(n * t + t - 1) * 2 * f + f + j];
    }
    return [this.first, this.last];
  }
  backwardAll(dy: Pointer, batch: number, need: boolean[]): Pointer[] { return this.backwardOutputs([dy, 0], batch, need); }
  override backwardOutputs([da, db]: Pointer[], batch: number, _need?: boolean[]): Pointer[] {
    const { t, f } = this;
    const dx = this.heap.f32(this.dx, batch * t * 2 * f).fill(0);
    const ga = da ? this.heap.f32(da, batch * t * f) : null, gb = db ? this.heap.f32(db, batch * f) : null;
    for (let n = 0; n < batch; n++) {
      if (ga) for (let s = 0; s < t; s++) for (let j = 0; j < f; j++) dx[(n * t + s) * 2 * f + j] = ga[(n * t + s) * f + j];
      if (gb) for (let j = 0; j < f; j++) dx[(n * t + t - 1) * 2 * f + f + j] = 2 * gb[n * f + j];
    }
    return [this.dx];
  }
  getConfig(): LayerConfig { return { type: this.type, name: this.name }; }
}

/** Passes [T, F] through and masks the steps whose first feature is ≤ 0. */
class MaskBySign extends SingleInputLayer {
  readonly type = "MaskBySign";
  private mask: Pointer = 0;
  computeOutputShape(shape: number[]): number[] { return shape; }
  override acceptMasks(): boolean { return true; }
  override outputMask(): Pointer { return this.mask; }
  allocate(maxBatch: number): void { this.mask = this.heap.allocFloats(maxBatch * this.inputShape[0]); }
  forward(x: Pointer, batch: number): Pointer {
    const [t, f] = this.inputShape;
    const xs = this.heap.f32(x, batch * t * f), m = this.heap.f32(this.mask, batch * t);
    for (let r = 0; r < batch * t; r++) m[r] = xs[r * f] > 0 ? 1 : 0;
    return x;
  }
  backward(dy: Pointer): Pointer { return dy; }
  getConfig(): LayerConfig { return { type: this.type, name: this.name }; }
}

/** [T, F] → [F]: Σ_t mask_t · x_t (uses the mask up). */
class MaskedSum extends SingleInputLayer {
  readonly type = "MaskedSum";
  seenMask: Pointer = -1;
  private y: Pointer = 0;
  computeOutputShape(shape: number[]): number[] { return [shape[1]]; }
  override acceptMasks(masked: boolean[]): boolean {
    if (!masked[0]) throw new InputError("MaskedSum needs a mask");
    return false;
  }
  allocate(maxBatch: number): void { this.y = this.heap.allocFloats(maxBatch * this.inputShape[1]); }
  forward(x: Pointer, batch: number): Pointer {
    const [t, f] = this.inputShape;
    this.seenMask = this.inputMasks[0];
    const xs = this.heap.f32(x, batch * t * f), m = this.heap.f32(this.inputMasks[0], batch * t), y = this.heap.f32(this.y, batch * f).fill(0);
    for (let n = 0; n < batch; n++) for (let s = 0; s < t; s++) for (let j = 0; j < f; j++) y[n * f + j] += m[n * t + s] * xs[(n * t + s) * f + j];
    return this.y;
  }
  backward(): Pointer { throw new Error("not needed here"); }
  getConfig(): LayerConfig { return { type: this.type, name: this.name }; }
}

/** Builds layers as steps of a plan on one reference heap: [layer, input tensor ids] in order. */
function planOf(inputShape: number[], entries: [Layer, number[]][], outputs: number[]) {
  const heap = new Heap(createReferenceKernels());
  const shapes: number[][] = [inputShape];
  let next = 1;
  const steps: PlanStep[] = entries.map(([layer, inputs], k) => {
    layer.name ||= `${layer.type.toLowerCase()}_${k}`;
    layer.build(inputs.map((t) => shapes[t]), heap, new Rng(k + 1));
    const ids = layer.outputShapes.map((shape) => {
      shapes[next] = shape;
      return next++;
    });
    return { layer, nodeName: layer.name, inputs, outputs: ids, output: ids[0] };
  });
  const plan = new ExecutionPlan([inputShape], steps, outputs);
  return { plan, heap };
}

const B = 3, T = 4, F = 2;

describe("steps with several outputs", () => {
  /** L = Σ r_o ⊙ output_o over the plan's outputs; returns L and ∂L/∂x from one backward. */
  function lossAndInputGrad(make: () => { plan: ExecutionPlan; heap: Heap }, x: Float32Array) {
    const { plan, heap } = make();
    plan.allocate(heap, B);
    const sizes = plan.outputs.map((t) => B * plan.shapes[t].reduce((a, b) => a * b, 1));
    const rs = sizes.map((n, i) => seededValues(n, 70 + i));
    const loss = (input: Float32Array) => {
      heap.f32(plan.inputBuffer(0), input.length).set(input);
      const ys = plan.forward(B, { training: false, backwardFollows: true, logitsAt: new Set() });
      return ys.reduce((sum, y, i) => sum + heap.f32(y, sizes[i]).reduce((s, v, k) => s + v * rs[i][k], 0), 0);
    };
    loss(x);
    const grads = rs.map((r) => {
      const g = heap.allocFloats(r.length);
      heap.f32(g, r.length).set(r);
      return g;
    });
    const [dx] = plan.backward(grads, B, heap.kernels, true);
    const analytic = heap.f32(dx, x.length).slice();
    const numeric = Array.from(x, (_, i) => {
      const h = 1e-2, plus = x.slice(), minus = x.slice();
      plus[i] += h;
      minus[i] -= h;
      return (loss(plus) - loss(minus)) / (2 * h);
    });
    return { analytic, numeric };
  }

  const x = seededValues(B * T * 2 * F, 5);

  test("both outputs read downstream: the input gradient sums both paths (finite differences)", () => {
    const { analytic, numeric } = lossAndInputGrad(() => planOf([T, 2 * F], [
      [new SplitLast(), [0]],
      [new Flatten(), [1]],
      [new Dense({ units: 3 }), [3]],
      [new Dense({ units: 2 }), [2]],
    ], [4, 5]), x);
    numeric.forEach((n, i) => expect(Math.abs(analytic[i] - n)).toBeLessThan(2e-3));
    // Both paths reach the input: the first-half features and the last step's second half.
    expect(analytic.some((v, i) => v !== 0 && i % (2 * F) < F)).toBe(true);
    expect(analytic.some((v, i) => v !== 0 && i % (2 * F) >= F)).toBe(true);
  });

  test("an output nobody reads gets gradient 0, which the layer reads as zeros", () => {
    // The Dense reads output 1 (tensor 2); output 0 (tensor 1) has no reader.
    const { analytic, numeric } = lossAndInputGrad(() => planOf([T, 2 * F], [
      [new SplitLast(), [0]],
      [new Dense({ units: 2 }), [2]],
    ], [3]), x);
    numeric.forEach((n, i) => expect(Math.abs(analytic[i] - n)).toBeLessThan(2e-3));
    analytic.forEach((v, i) => { if (i % (2 * F) < F) expect(v).toBe(0); });
  });

  test("the functional API: applyAll returns every output, named node[k] in the config and summary", () => {
    const input = Input({ shape: [T, 2 * F], name: "seq" });
    const [steps, last] = new SplitLast().applyAll(input);
    expect(steps.shape).toEqual([T, F]);
    expect(last.shape).toEqual([F]);
    const split = (steps.node!.layer as Layer);
    split.name = "split";
    const model = new Model({ inputs: input, outputs: [new Dense({ units: 2, name: "head" }).apply(last), new Flatten({ name: "flat" }).apply(steps)] });
    expect(model.outputNames).toEqual(["head", "flat"]);
    const config = model.toConfig() as unknown as { layers: { name: string; inputs: string[] }[] };
    expect(config.layers.find((l) => l.name === "head")!.inputs).toEqual(["split[1]"]);
    expect(model.summary()).toContain(`[${T},${F}], [${F}]`);
    expect(model.summary()).toContain("split[1]");
    // Output 1 of split feeds the head: predict computes both from the first half and the last step.
    const [head, flat] = model.predictAll(seededValues(2 * T * 2 * F, 9)).map((t) => t.shape);
    expect(head).toEqual([2, 2]);
    expect(flat).toEqual([2, T * F]);
  });
});

describe("masks", () => {
  const x = seededValues(B * T * F, 11, -1, 1);

  test("made by one layer, passed on by Dense, used up by the next: padded steps change nothing", () => {
    const sum = new MaskedSum();
    const { plan, heap } = planOf([T, F], [[new MaskBySign(), [0]], [new Dense({ units: 3, activation: "tanh" }), [1]], [sum, [2]]], [3]);
    expect(plan.masked).toEqual([false, true, true, false]);
    plan.allocate(heap, B);
    const run = (input: Float32Array) => {
      heap.f32(plan.inputBuffer(0), input.length).set(input);
      const [y] = plan.forward(B, { training: false, backwardFollows: false, logitsAt: new Set() });
      return heap.f32(y, B * 3).slice();
    };
    const before = run(x);
    expect(sum.seenMask).toBeGreaterThan(0);
    // Change every feature of the masked steps except the sign that masks them: the output stays.
    const changed = x.slice();
    for (let r = 0; r < B * T; r++) if (x[r * F] <= 0) for (let j = 1; j < F; j++) changed[r * F + j] += 5;
    expect(run(changed)).toEqual(before);
    // …and changing a real step does change it (the test can fail).
    const real = x.findIndex((v, i) => i % F === 0 && v > 0);
    const moved = x.slice();
    moved[real + 1] += 1;
    expect(run(moved)).not.toEqual(before);
  });

  test("a layer that would mix padded steps refuses the mask when the model is built", () => {
    const input = Input({ shape: [T, F] });
    const masked = new MaskBySign().apply(input);
    const model = new Model({ inputs: input, outputs: new Dense({ units: 1 }).apply(new Flatten({ name: "flatten" }).apply(masked)) });
    expect(() => model.build()).toThrow(/flatten \(Flatten\) does not support masking/);
  });

  test("a masked output cannot take a loss (it would fit the padded steps)", () => {
    const input = Input({ shape: [T, F] });
    const model = new Model({ inputs: input, outputs: new Dense({ units: 2, name: "tags" }).apply(new MaskBySign().apply(input)) });
    expect(() => model.compile({ optimizer: "sgd", loss: "meanSquaredError" })).toThrow(/'tags' carries a mask/);
  });
});

describe("Dense on the last axis", () => {
  test("[T, F] → [T, units], each step the same affine map as a flat Dense on that step", () => {
    const input = Input({ shape: [T, F] });
    const dense = new Dense({ units: 3, activation: "relu" });
    const model = new Model({ inputs: input, outputs: dense.apply(input), kernels: createReferenceKernels() });
    const flatInput = Input({ shape: [F] });
    const flat = new Model({ inputs: flatInput, outputs: new Dense({ units: 3, activation: "relu" }).apply(flatInput), kernels: createReferenceKernels() });
    flat.setWeights(model.getWeights().map((w) => w.data));
    const xs = seededValues(B * T * F, 21);
    const y = model.predict(xs) as { data: Float32Array; shape: number[] };
    expect(y.shape).toEqual([B, T, 3]);
    const perStep = flat.predict(xs) as { data: Float32Array };
    expect(Array.from(y.data)).toEqual(Array.from(perStep.data));
  });

  test("a sparse categorical loss on a [T, classes] output: one softmax and one label per position", () => {
    const input = Input({ shape: [T, F] });
    const model = new Model({ inputs: input, outputs: new Dense({ units: 3, activation: "softmax", name: "tags" }).apply(input), kernels: createReferenceKernels() });
    model.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    const xs = seededValues(B * T * F, 31);
    const labels = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 3);
    const probs = (model.predict(xs) as { data: Float32Array }).data;
    // Each position's three scores sum to 1 (a softmax over 12 values would not).
    for (let r = 0; r < B * T; r++) expect(probs[3 * r] + probs[3 * r + 1] + probs[3 * r + 2]).toBeCloseTo(1, 5);
    let nats = 0, correct = 0;
    for (let r = 0; r < B * T; r++) {
      const row = probs.subarray(3 * r, 3 * r + 3);
      nats -= Math.log(row[labels[r]]);
      if (row.indexOf(Math.max(...row)) === labels[r]) correct++;
    }
    const logs = model.evaluate(xs, labels);
    expect(logs.loss).toBeCloseTo(nats / (B * T), 5);
    expect(logs.accuracy).toBeCloseTo(correct / (B * T), 6);
    expect(() => model.evaluate(xs, labels.subarray(0, B))).toThrow(/each sample needs 4 class indices/);
    const bad = labels.slice();
    bad[5] = 3;
    expect(() => model.evaluate(xs, bad)).toThrow(/label 3 of sample 1 at position 1 is not a class index in 0..2/);
  });

  test("training on per-position labels learns them", async () => {
    const input = Input({ shape: [T, F] });
    const model = new Model({ inputs: input, outputs: new Dense({ units: 2, activation: "softmax" }).apply(new Dense({ units: 8, activation: "tanh" }).apply(input)), seed: 3 });
    model.compile({ optimizer: { type: "adam", learningRate: 0.05 }, loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    const n = 64, xs = seededValues(n * T * F, 41, -1, 1);
    // Each position's label: whether its first feature exceeds its second.
    const labels = Int32Array.from({ length: n * T }, (_, r) => (xs[r * F] > xs[r * F + 1] ? 1 : 0));
    await model.fit(xs, labels, { epochs: 40, batchSize: 16 });
    expect(model.evaluate(xs, labels).accuracy).toBeGreaterThan(0.95);
  });
});
