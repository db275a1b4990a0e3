// Masking: gradient against central finite differences; masked steps come out zeroed and carry mask 0;
// Masking → GlobalAveragePool1D in a model equals the mean over the real steps only; config round trip.
// Tolerance as in global-pool1d.test.ts (the layer is linear away from the mask's decision).

import { expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import { InputError } from "../../src/errors";
import { GlobalAveragePool1D, Input, Masking, Model, type Tensor } from "../../src/index";
import { layerFromConfig } from "../../src/layers/registry";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const T = 4, F = 3, BATCH = 2;
function inputs(): Float32Array {
  const x = seededValues(BATCH * T * F, 5, -1, 1);
  x.fill(-1, 1 * F, 2 * F); // sample 0, step 1: padding
  x.fill(-1, 7 * F, 8 * F); // sample 1, step 3: padding
  return x;
}

test("Masking: gradients vs finite differences, padded steps zeroed with mask 0", () => {
  const heap = new Heap(wasmVariants()[0].make());
  const probe = new LayerProbe(new Masking({ maskValue: -1 }), heap, [T, F], BATCH, 2);
  heap.f32(probe.input, probe.inputCount).set(inputs());
  expect(probe.layer.acceptMasks([false])).toBe(true);
  const y = probe.forward();
  expect(Array.from(heap.f32(probe.layer.outputMask(), BATCH * T))).toEqual([1, 0, 1, 1, 1, 1, 1, 0]);
  for (const step of [1, 7]) for (let f = 0; f < F; f++) expect(y[step * F + f] === 0).toBe(true); // −0 where x < 0, as Keras' inputs * mask
  const analytic = probe.analytic();
  // Only the real steps are probed: moving one padded feature by ±h would unmask its step.
  const indices = probeIndices(probe.inputCount, 100, 1).filter((i) => ![1, 7].includes(Math.floor(i / F)));
  const numeric = probe.numeric(probe.input, probe.inputCount, indices, 1e-2);
  expect(compareGradients("Masking ∂/∂input", analytic.input, numeric, indices, { atol: 1e-3, rtol: 1e-2 })).toEqual([]);
  for (const step of [1, 7]) for (let f = 0; f < F; f++) expect(analytic.input[step * F + f] === 0).toBe(true);
});

test("Masking → GlobalAveragePool1D averages only the real steps", () => {
  const x = Input({ shape: [T, F] });
  const model = new Model({ inputs: x, outputs: new GlobalAveragePool1D().apply(new Masking({ maskValue: -1 }).apply(x)) });
  const data = inputs();
  const got = (model.predict(data) as Tensor).data;
  for (let b = 0; b < BATCH; b++)
    for (let f = 0; f < F; f++) {
      const real = [0, 1, 2, 3].filter((s) => data[(b * T + s) * F] !== -1 || data[(b * T + s) * F + 1] !== -1);
      const mean = real.reduce((a, s) => a + data[(b * T + s) * F + f], 0) / real.length;
      expect(Math.abs(got[b * F + f] - mean)).toBeLessThan(1e-6);
    }
});

test("Masking config round trip; a mask reaching a layer that cannot take one is an InputError", () => {
  const layer = layerFromConfig({ type: "Masking", maskValue: -1, name: "m" }, "layer 1");
  expect(layer.getConfig()).toEqual({ type: "Masking", name: "m", maskValue: -1 });
  expect(layerFromConfig({ type: "Masking" }, "layer 1").getConfig()).toMatchObject({ maskValue: 0 });
  const x = Input({ shape: [T, F] });
  const flat = layerFromConfig({ type: "Flatten", name: "flat" }, "layer 2");
  const model = new Model({ inputs: x, outputs: flat.apply(new Masking().apply(x)) });
  expect(() => model.predict(new Float32Array(T * F))).toThrow(/flat \(Flatten\) does not support masking/);
  expect(() => new Masking().computeOutputShape([3])).toThrow(InputError);
});
