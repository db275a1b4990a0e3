// GlobalAveragePool1D and GlobalMaxPool1D: gradients against central finite differences, with and without
// a mask; padded steps change nothing (their values may be anything); a check that a mask ignored by the
// mean is caught; config round trips and Keras' spellings.
//
// Tolerance |Δ| ≤ 1e-3 + 1e-2·|numeric|, h = 1e-2 (1e-3 on the reference): the mean is linear; the max is
// piecewise linear and the inputs are distinct multiples of 0.05, so no ±h probe changes a winner.

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Rng } from "../../src/engine/rng";
import { InputError } from "../../src/errors";
import { GlobalAveragePool1D, GlobalMaxPool1D } from "../../src/layers/global-pool1d";
import type { Layer } from "../../src/layers/layer";
import { layerFromConfig } from "../../src/layers/registry";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { wasmVariants } from "../support/twin-heaps";

const backends: { name: string; make: () => Kernels; h: number }[] = [
  ...wasmVariants().map((v) => ({ name: v.name, make: v.make, h: 1e-2 })),
  { name: "reference", make: createReferenceKernels, h: 1e-3 },
];
const BATCH = 3, T = 5, C = 6;
// Sample 0 fully real, sample 1 with padding at the end, sample 2 with padding inside.
const MASK = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1];

function distinctInputs(heap: Heap, probe: LayerProbe) {
  const order = Array.from({ length: probe.inputCount }, (_, i) => i);
  new Rng(9).shuffle(order);
  heap.f32(probe.input, probe.inputCount).set(order.map((k) => (k - probe.inputCount / 2) * 0.05));
}

function check(make: () => Layer, backend: (typeof backends)[number], masked: boolean, tamper?: (p: LayerProbe) => void): string[] {
  const heap = new Heap(backend.make());
  const probe = new LayerProbe(make(), heap, [T, C], BATCH, 4);
  distinctInputs(heap, probe);
  if (masked) probe.setMask(0, MASK);
  tamper?.(probe);
  const analytic = probe.analytic();
  const indices = probeIndices(probe.inputCount, 256, 1);
  const numeric = probe.numeric(probe.input, probe.inputCount, indices, backend.h);
  return compareGradients(`${probe.layer.type}${masked ? " masked" : ""} ∂/∂input`, analytic.input, numeric, indices, { atol: 1e-3, rtol: 1e-2 });
}

const layers = [() => new GlobalAveragePool1D(), () => new GlobalMaxPool1D()];

for (const backend of backends) {
  describe(`global 1-D pools vs finite differences (${backend.name})`, () => {
    for (const make of layers)
      for (const masked of [false, true]) test(`${make().type}${masked ? " with a mask" : ""}`, () => expect(check(make, backend, masked)).toEqual([]));
  });
}

test("padded steps change nothing: any values there give the same output, and no gradient", () => {
  for (const make of layers) {
    const heap = new Heap(backends[0].make());
    const probe = new LayerProbe(make(), heap, [T, C], BATCH, 4);
    distinctInputs(heap, probe);
    probe.setMask(0, MASK);
    expect(probe.layer.acceptMasks([true])).toBe(false);
    const before = probe.forward();
    const x = heap.f32(probe.input, probe.inputCount);
    MASK.forEach((m, step) => {
      if (m === 0) for (let c = 0; c < C; c++) x[step * C + c] = 1000 + c;
    });
    expect(Array.from(probe.forward())).toEqual(Array.from(before));
    const { input } = probe.analytic();
    MASK.forEach((m, step) => {
      if (m === 0) for (let c = 0; c < C; c++) expect(input[step * C + c]).toBe(0);
    });
  }
});

// (A mean that ignored the mask in both passes would be self-consistent; the test above catches that one.)
test("the check can fail: a mean whose backward ignores the mask is caught", () => {
  const failures = check(layers[0], backends[0], true, (probe) => {
    const layer = probe.layer as unknown as { mask: number; backwardAll: Layer["backwardAll"] };
    const backward = layer.backwardAll.bind(layer);
    layer.backwardAll = (dy, batch, need) => {
      layer.mask = 0;
      return backward(dy, batch, need);
    };
  });
  expect(failures.length).toBe(1);
});

test("config round trips, Keras' spellings, shapes", () => {
  for (const [type, alias] of [["GlobalAveragePool1D", "GlobalAveragePooling1D"], ["GlobalMaxPool1D", "GlobalMaxPooling1D"]]) {
    const layer = layerFromConfig({ type: alias, name: "pool" }, "layer 1");
    expect(layer.getConfig()).toEqual({ type, name: "pool" });
    expect(layerFromConfig(layer.getConfig(), "layer 1").getConfig()).toEqual(layer.getConfig());
  }
  expect(() => new GlobalAveragePool1D().computeOutputShape([4, 2, 2])).toThrow(InputError);
  expect(new GlobalMaxPool1D().computeOutputShape([4, 3])).toEqual([3]);
});
