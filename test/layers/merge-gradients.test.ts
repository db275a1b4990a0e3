// The merge layers' backward passes against central finite differences of their own forward passes, for
// every input: L = Σ r ⊙ forward(x₁, …, xₙ) with a fixed random r, so backward(r) must give ∂L/∂xᵢ for
// each i (LayerProbe, test/support/gradient-check.ts). Cases: Add, Average, Multiply and Maximum with two
// and three inputs, Subtract, Minimum, Concatenate on the last axis, on a middle axis of images and on
// axis 1 of images, Dot of vectors. Every element of every input is probed, on both wasm builds and the
// reference; each analytic pass follows one with a different r, so a layer that accumulated into a
// gradient buffer instead of overwriting it would fail.
//
// Kinks: Maximum/Minimum switch winners where inputs tie; inputs are distinct multiples of 0.05 spread
// over all inputs, so no probe ±h (h = 1e-2) can reorder two of them. Steps and tolerance as in
// gradients.test.ts (h = 1e-2 on wasm, 1e-3 on the reference; |Δ| ≤ 1e-3 + 1e-2·|numeric|): these layers
// are linear or bilinear in each input, so the truncation error is 0 and what remains is f32 rounding.
// Also checked: no two inputs' gradients share a buffer (the plan may overwrite each one in place).

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Rng } from "../../src/engine/rng";
import type { Layer } from "../../src/layers/layer";
import { Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract } from "../../src/layers/merge";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

interface MergeCase {
  label: string;
  make: () => Layer;
  shapes: number[][];
  distinct?: boolean;
}

const cases: MergeCase[] = [
  { label: "Add ×2 [3,4]", make: () => new Add(), shapes: [[3, 4], [3, 4]] },
  { label: "Add ×3 [5]", make: () => new Add(), shapes: [[5], [5], [5]] },
  { label: "Subtract [2,3,2]", make: () => new Subtract(), shapes: [[2, 3, 2], [2, 3, 2]] },
  { label: "Average ×3 [7]", make: () => new Average(), shapes: [[7], [7], [7]] },
  { label: "Multiply ×2 [9]", make: () => new Multiply(), shapes: [[9], [9]] },
  { label: "Multiply ×3 [2,3]", make: () => new Multiply(), shapes: [[2, 3], [2, 3], [2, 3]] },
  { label: "Maximum ×2 [6]", make: () => new Maximum(), shapes: [[6], [6]], distinct: true },
  { label: "Maximum ×3 [5]", make: () => new Maximum(), shapes: [[5], [5], [5]], distinct: true },
  { label: "Minimum ×2 [3,3]", make: () => new Minimum(), shapes: [[3, 3], [3, 3]], distinct: true },
  { label: "Concatenate axis -1 [3] [5] [1]", make: () => new Concatenate(), shapes: [[3], [5], [1]] },
  { label: "Concatenate axis -1 images [2,3,2] [2,3,3]", make: () => new Concatenate({ axis: -1 }), shapes: [[2, 3, 2], [2, 3, 3]] },
  { label: "Concatenate axis 2 (width) [2,1,3] [2,4,3]", make: () => new Concatenate({ axis: 2 }), shapes: [[2, 1, 3], [2, 4, 3]] },
  { label: "Concatenate axis 1 (height) [1,2,2] [3,2,2]", make: () => new Concatenate({ axis: 1 }), shapes: [[1, 2, 2], [3, 2, 2]] },
  { label: "Dot [5]·[5]", make: () => new Dot({ axes: 1 }), shapes: [[5], [5]] },
];

const backends: { name: string; make: () => Kernels; h: number }[] = [
  ...wasmVariants().map((v) => ({ name: v.name, make: v.make, h: 1e-2 })),
  { name: "reference", make: createReferenceKernels, h: 1e-3 },
];

function check(c: MergeCase, backend: (typeof backends)[number], tamper?: (layer: Layer) => void): string[] {
  const heap = new Heap(backend.make());
  const batch = 2;
  const probe = new LayerProbe(c.make(), heap, c.shapes, batch, 3);
  const counts = c.shapes.map((_, i) => probe.inputCountOf(i));
  if (c.distinct) {
    const total = counts.reduce((a, b) => a + b, 0);
    const order = Array.from({ length: total }, (_, i) => i);
    new Rng(total).shuffle(order);
    let at = 0;
    counts.forEach((n, i) => heap.f32(probe.inputs[i], n).set(order.slice(at, (at += n)).map((k) => (k - total / 2) * 0.05)));
  } else {
    counts.forEach((n, i) => heap.f32(probe.inputs[i], n).set(seededValues(n, 10 + i, -1, 1)));
  }
  tamper?.(probe.layer);
  const analytic = probe.analytic();
  const failures: string[] = [];
  const pointers = new Set(analytic.inputs.map((_, i) => probe.layer.backwardAll(probe.outputGrad, batch, c.shapes.map(() => true))[i]));
  if (pointers.size !== c.shapes.length) failures.push(`${c.label}: two inputs were given the same gradient buffer`);
  counts.forEach((n, i) => {
    const indices = probeIndices(n, 256, i);
    const numeric = probe.numeric(probe.inputs[i], n, indices, backend.h);
    failures.push(...compareGradients(`${c.label} ∂/∂input${i}`, analytic.inputs[i], numeric, indices, { atol: 1e-3, rtol: 1e-2 }));
  });
  return failures;
}

for (const backend of backends) {
  describe(`merge layer gradients vs finite differences (${backend.name})`, () => {
    for (const c of cases) test(c.label, () => expect(check(c, backend)).toEqual([]));
  });
}

describe("the checks can fail", () => {
  test("a Multiply whose second input gets the first input's gradient is caught", () => {
    const failures = check(cases[4], backends[0], (layer) => {
      const backward = layer.backwardAll.bind(layer);
      layer.backwardAll = (dy, batch, need) => {
        const grads = backward(dy, batch, need);
        return [grads[0], grads[0]];
      };
    });
    expect(failures.some((f) => f.includes("input1"))).toBe(true);
    expect(failures.some((f) => f.includes("same gradient buffer"))).toBe(true);
  });
});
