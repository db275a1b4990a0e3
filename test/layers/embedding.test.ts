// Embedding: the table gradient against central finite differences (indices with repeats, so several
// output rows add into one table row), a check that a gradient which overwrites instead of adding is
// caught, config round trips, maskZero's mask, zero input gradients, and bad indices as InputErrors.
// paddingIndex (PyTorch's padding_idx): that row starts at zero and its gradient is zero while every other
// row's still matches finite differences (the padding row's numeric gradient is not zero: the index occurs).
//
// Tolerance |Δ| ≤ 1e-3 + 1e-2·|numeric| with h = 1e-2 (1e-3 on the reference): the output is linear in
// the table, so the truncation error is 0 and what remains is f32 rounding of L.

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { InputError } from "../../src/errors";
import { Embedding } from "../../src/layers/embedding";
import { layerFromConfig } from "../../src/layers/registry";
import { Input, Model, type Tensor } from "../../src/index";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { wasmVariants } from "../support/twin-heaps";

const backends: { name: string; make: () => Kernels; h: number }[] = [
  ...wasmVariants().map((v) => ({ name: v.name, make: v.make, h: 1e-2 })),
  { name: "reference", make: createReferenceKernels, h: 1e-3 },
];

/** Indices for batch × T with repeats within and across samples, and some rows never used. */
const INDICES = [3, 1, 3, 0, 5, 1, 1, 3, 0, 0, 2, 3];

function tableCheck(backend: (typeof backends)[number], dim: number, tamper?: (layer: Embedding) => void): string[] {
  const heap = new Heap(backend.make());
  const layer = new Embedding({ inputDim: 7, outputDim: dim, name: "embedding" });
  const probe = new LayerProbe(layer, heap, [4], 3, 2);
  heap.f32(probe.input, INDICES.length).set(INDICES);
  tamper?.(layer);
  const analytic = probe.analytic();
  const p = layer.embeddings;
  const indices = probeIndices(p.size, 200, 1);
  const numeric = probe.numeric(p.value, p.size, indices, backend.h);
  return compareGradients(`Embedding dim ${dim} ∂/∂embeddings`, analytic.params[0], numeric, indices, { atol: 1e-3, rtol: 1e-2 });
}

for (const backend of backends) {
  describe(`Embedding gradients vs finite differences (${backend.name})`, () => {
    for (const dim of [1, 3, 4, 9]) test(`outputDim ${dim}, repeated indices`, () => expect(tableCheck(backend, dim)).toEqual([]));
  });
}

describe("paddingIndex (PyTorch's padding_idx)", () => {
  for (const pad of [3, 0, 6])
    test(`row ${pad}: zero at the start, zero gradient, every other row's gradient unchanged`, () => {
      const heap = new Heap(backends[0].make());
      const layer = new Embedding({ inputDim: 7, outputDim: 3, paddingIndex: pad, name: "embedding" });
      const probe = new LayerProbe(layer, heap, [4], 3, 2);
      const table = probe.paramView(layer.embeddings);
      expect(Array.from(table.subarray(3 * pad, 3 * pad + 3))).toEqual([0, 0, 0]);
      expect(table.filter((v) => v !== 0).length).toBe(18);
      heap.f32(probe.input, INDICES.length).set(INDICES);
      const analytic = probe.analytic().params[0];
      const all = Array.from({ length: 21 }, (_, i) => i);
      const numeric = probe.numeric(layer.embeddings.value, 21, all, backends[0].h);
      if (INDICES.includes(pad)) expect(Math.max(...numeric.slice(3 * pad, 3 * pad + 3).map(Math.abs))).toBeGreaterThan(0.01);
      const want = numeric.map((g, i) => (Math.floor(i / 3) === pad ? 0 : g));
      expect(Array.from(analytic.subarray(3 * pad, 3 * pad + 3))).toEqual([0, 0, 0]);
      expect(compareGradients(`Embedding paddingIndex ${pad}`, analytic, want, all, { atol: 1e-3, rtol: 1e-2 })).toEqual([]);
    });

  test("config round trip; an index outside the table is refused", () => {
    const layer = new Embedding({ inputDim: 5, outputDim: 2, paddingIndex: 4, name: "e" });
    expect(layer.getConfig()).toMatchObject({ paddingIndex: 4 });
    expect(layerFromConfig(layer.getConfig(), "layer 1").getConfig()).toEqual(layer.getConfig());
    expect(new Embedding({ inputDim: 5, outputDim: 2 }).getConfig()).not.toHaveProperty("paddingIndex");
    for (const bad of [5, -1, 1.5]) expect(() => new Embedding({ inputDim: 5, outputDim: 2, paddingIndex: bad })).toThrow("'paddingIndex' must be an integer from 0 to inputDim − 1 = 4");
  });
});

test("the check can fail: a table gradient that keeps only the last row per index is caught", () => {
  const failures = tableCheck(backends[0], 3, (layer) => {
    const kernels = (layer as unknown as { kernels: Kernels }).kernels;
    const scatter = kernels.embeddingScatterAdd.bind(kernels);
    // Overwrite instead of add: clear each target row before adding, so repeats lose all but the last.
    kernels.embeddingScatterAdd = (idx, count, dy, rows, dim, dtable) => {
      for (let i = 0; i < count; i++) {
        const heapF = new Float32Array(kernels.memory.buffer);
        const v = heapF[(idx >> 2) + i];
        heapF.fill(0, (dtable >> 2) + v * dim, (dtable >> 2) + (v + 1) * dim);
        scatter(idx + 4 * i, 1, dy + 4 * i * dim, rows, dim, dtable);
      }
    };
  });
  expect(failures.length).toBe(1);
});

test("config round trip, Keras' spellings and defaults", () => {
  const layer = new Embedding({ inputDim: 50, outputDim: 8, maskZero: true, embeddingsRegularizer: { l1: 0, l2: 1e-4 }, name: "tokens" });
  const config = layer.getConfig();
  expect(config).toEqual({
    type: "Embedding", name: "tokens", inputDim: 50, outputDim: 8, embeddingsInitializer: "randomUniform",
    embeddingsRegularizer: { l1: 0, l2: 1e-4 }, maskZero: true,
  });
  expect(layerFromConfig(config, "layer 1").getConfig()).toEqual(config);
  const plain = layerFromConfig({ type: "Embedding", inputDim: 4, outputDim: 2 }, "layer 1") as Embedding;
  expect(plain.getConfig()).toMatchObject({ embeddingsInitializer: "randomUniform", maskZero: false });
  expect(() => layerFromConfig({ type: "Embedding", inputDim: 0, outputDim: 2 }, "layer 1")).toThrow(InputError);
  expect(() => layerFromConfig({ type: "Embedding", inputDim: 4, outputDim: 2, maskzero: true }, "layer 1")).toThrow(InputError);
});

test("initial table: Keras' uniform ±0.05", () => {
  const heap = new Heap(backends[0].make());
  const layer = new Embedding({ inputDim: 100, outputDim: 16 });
  const probe = new LayerProbe(layer, heap, [3], 1);
  const table = probe.paramView(layer.embeddings);
  expect(Math.max(...table)).toBeLessThanOrEqual(0.05);
  expect(Math.min(...table)).toBeGreaterThanOrEqual(-0.05);
  expect(Math.max(...table)).toBeGreaterThan(0.04);
});

test("maskZero: the output mask is 1 where the index is not 0; the indices' gradient is zeros", () => {
  const heap = new Heap(backends[0].make());
  const layer = new Embedding({ inputDim: 7, outputDim: 2, maskZero: true, name: "e" });
  const probe = new LayerProbe(layer, heap, [4], 3);
  heap.f32(probe.input, INDICES.length).set(INDICES);
  expect(layer.acceptMasks([false])).toBe(true);
  probe.forward();
  expect(Array.from(heap.f32(layer.outputMask(), INDICES.length))).toEqual(INDICES.map((i) => (i !== 0 ? 1 : 0)));
  const { input } = probe.analytic();
  expect(Array.from(input)).toEqual(new Array(INDICES.length).fill(0));
  expect(() => new Embedding({ inputDim: 3, outputDim: 2, maskZero: true }).computeOutputShape([2, 2])).toThrow(InputError);
  expect(new Embedding({ inputDim: 3, outputDim: 2 }).computeOutputShape([2, 5])).toEqual([2, 5, 2]);
});

test("a bad index is an InputError naming the layer, the value, where it is and inputDim", () => {
  const ids = Input({ shape: [3], name: "ids" });
  const model = new Model({ inputs: ids, outputs: new Embedding({ inputDim: 5, outputDim: 2, name: "words" }).apply(ids), seed: 1 });
  expect((model.predict(new Float32Array([0, 4, 2, 1, 1, 1])) as Tensor).data.length).toBe(12);
  for (const [value, text] of [[5, "5"], [-1, "-1"], [2.5, "2.5"], [Number.NaN, "NaN"]] as const) {
    const data = new Float32Array([0, 4, 2, 1, value, 1]);
    let error: unknown;
    try {
      model.predict(data);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(`words (Embedding): input value ${text} (sample 1, position 1)`);
    expect((error as Error).message).toContain("inputDim − 1 = 4");
  }
});
