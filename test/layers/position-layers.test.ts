// PositionEmbedding, SinePositionEncoding and Cropping1D: gradients against central finite differences
// (the table; the kept steps), the sine encoding against its formula, the output independent of the input's
// values, masks carried, configs round-tripped. Tolerance as the other layer probes: |Δ| ≤ 1e-3 + 1e-2·|n|
// (these layers are linear, so differences are exact up to f32 rounding).

import { expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import { Cropping1D, Input, PositionEmbedding, SinePositionEncoding } from "../../src/index";
import { layerFromConfig } from "../../src/layers/registry";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const TOL = { atol: 1e-3, rtol: 1e-2 };

test("PositionEmbedding: each sample gets the table's first T rows; the table's gradient sums the batch", () => {
  const heap = new Heap(wasmVariants()[0].make());
  const layer = new PositionEmbedding({ sequenceLength: 7 });
  const probe = new LayerProbe(layer, heap, [5, 3], 4, 2);
  heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, 1));
  const y = probe.forward();
  const table = heap.f32(layer.table.value, 21);
  for (let b = 0; b < 4; b++) expect(Array.from(y.subarray(b * 15, (b + 1) * 15))).toEqual(Array.from(table.subarray(0, 15)));
  heap.f32(probe.input, probe.inputCount).fill(9);
  expect(Array.from(probe.forward())).toEqual(Array.from(y));
  const analytic = probe.analytic();
  const indices = probeIndices(21, 21, 1);
  expect(compareGradients("table", analytic.params[0], probe.numeric(layer.table.value, 21, indices, 1e-2), indices, TOL)).toEqual([]);
  expect(Array.from(analytic.params[0].subarray(15))).toEqual([0, 0, 0, 0, 0, 0]);
  expect(() => new PositionEmbedding({ sequenceLength: 4 }).apply(Input({ shape: [5, 3] }))).toThrow(/positions for 4 steps, but its input has 5/);
});

test("SinePositionEncoding: sin on even features, cos on odd, wavelengths up to maxWavelength", () => {
  const heap = new Heap(wasmVariants()[0].make());
  const layer = new SinePositionEncoding();
  const probe = new LayerProbe(layer, heap, [6, 4], 2, 2);
  const y = probe.forward();
  for (let p = 0; p < 6; p++)
    for (let i = 0; i < 4; i++) {
      const angle = p / 10000 ** ((2 * Math.floor(i / 2)) / 4);
      expect(Math.abs(y[24 + p * 4 + i] - (i % 2 === 0 ? Math.sin(angle) : Math.cos(angle)))).toBeLessThan(1e-6);
    }
  expect(layer.params.length).toBe(0);
});

test("Cropping1D: keeps the middle steps, gradient back into them, mask cropped too", () => {
  const heap = new Heap(wasmVariants()[0].make());
  const layer = new Cropping1D({ cropping: [2, 1] });
  const probe = new LayerProbe(layer, heap, [6, 3], 2, 2);
  heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, 3));
  probe.setMask(0, [1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0]);
  expect(layer.acceptMasks([true])).toBe(true);
  const y = probe.forward();
  const x = heap.f32(probe.input, probe.inputCount);
  expect(Array.from(y.subarray(0, 9))).toEqual(Array.from(x.subarray(6, 15)));
  expect(Array.from(heap.f32(layer.outputMask(), 6))).toEqual([1, 0, 1, 0, 1, 1]);
  const analytic = probe.analytic();
  const indices = probeIndices(probe.inputCount, 36, 1);
  expect(compareGradients("crop", analytic.input, probe.numeric(probe.input, probe.inputCount, indices, 1e-2), indices, TOL)).toEqual([]);
  expect(() => new Cropping1D({ cropping: [3, 3] }).apply(Input({ shape: [6, 2] }))).toThrow(/leaves nothing of 6 steps/);
});

test("configs round trip", () => {
  for (const config of [
    { type: "PositionEmbedding", name: "p", sequenceLength: 16, initializer: "glorotUniform" },
    { type: "SinePositionEncoding", name: "s", maxWavelength: 500 },
    { type: "Cropping1D", name: "c", cropping: [15, 0] },
  ]) expect(layerFromConfig(config, "layers[0]").getConfig()).toEqual(config);
});
