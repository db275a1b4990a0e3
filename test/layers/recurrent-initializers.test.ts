// The initializers behind PyTorch-style modules: torchRecurrent (PyTorch's RNN/LSTM/GRU default, every
// weight and bias U(±1/√hidden), whatever its shape), torchRecurrentBiasSum (PyTorch's b_ih + b_hh held as
// one bias: the sum of two such draws, triangular on ±2/√hidden) and standardNormal (nn.Embedding's N(0, 1)).
// Checked on the bounds and the first two moments of many draws, and wired through the recurrent layers
// (the input kernel's limit comes from the units, not from its fan-in).
//
// Tolerance: moments of n = 40,000 draws within 4% (variance) and 0.02·σ (mean); their standard errors
// are under 1% and 0.005·σ.

import { expect, test } from "bun:test";
import { moments } from "../support/moments";
import { Heap } from "../../src/engine/heap";
import { Rng } from "../../src/engine/rng";
import { InputError } from "../../src/errors";
import { Dense } from "../../src/layers/dense";
import { GRU } from "../../src/layers/gru";
import { initialize, parseInitializer } from "../../src/layers/initializers";
import { LSTM } from "../../src/layers/lstm";
import { LayerProbe } from "../support/gradient-check";
import { wasmVariants } from "../support/twin-heaps";

function draw(name: Parameters<typeof initialize>[2], shape: number[], units?: number): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  initialize(out, shape, name, new Rng(7), { units });
  return out;
}

test("torchRecurrent: U(±1/√units) for any shape, its limit independent of the fans", () => {
  const k = 1 / Math.sqrt(25);
  for (const shape of [[400, 100], [25, 1600], [40000], [2, 20000]]) {
    const m = moments(draw("torchRecurrent", shape, 25));
    expect(m.min).toBeGreaterThanOrEqual(-k);
    expect(m.max).toBeLessThanOrEqual(k);
    expect(m.max).toBeGreaterThan(0.99 * k);
    expect(Math.abs(m.variance / (k * k / 3) - 1)).toBeLessThan(0.04);
    expect(Math.abs(m.mean)).toBeLessThan(0.02 * k);
  }
});

test("torchRecurrentBiasSum: the sum of two U(±1/√units), triangular on ±2/√units with variance 2k²/3", () => {
  const k = 1 / Math.sqrt(16);
  const values = draw("torchRecurrentBiasSum", [40000], 16);
  const m = moments(values);
  expect(m.min).toBeGreaterThanOrEqual(-2 * k);
  expect(m.max).toBeLessThanOrEqual(2 * k);
  expect(m.max).toBeGreaterThan(1.8 * k);
  expect(Math.abs(m.variance / ((2 * k * k) / 3) - 1)).toBeLessThan(0.04);
  // Triangular, not uniform: P(|b| > k) = 1/4.
  const outside = values.filter((v) => Math.abs(v) > k).length / values.length;
  expect(Math.abs(outside - 0.25)).toBeLessThan(0.02);
});

test("standardNormal: N(0, 1)", () => {
  const m = moments(draw("standardNormal", [200, 200]));
  expect(Math.abs(m.variance - 1)).toBeLessThan(0.04);
  expect(Math.abs(m.mean)).toBeLessThan(0.02);
});

test("the recurrent layers hand their units to the initializer; other layers are refused it", () => {
  const heap = new Heap(wasmVariants()[0].make());
  const lstm = new LSTM({
    units: 4, unitForgetBias: false,
    kernelInitializer: "torchRecurrent", recurrentInitializer: "torchRecurrent", biasInitializer: "torchRecurrentBiasSum",
  });
  new LayerProbe(lstm, heap, [3, 100], 1);
  const view = (p: { value: number; size: number }) => moments(heap.f32(p.value, p.size));
  // The input kernel [100, 16] has fan-in 100, but its limit is 1/√4, as PyTorch's weight_ih_l0.
  expect(view(lstm.kernel).max).toBeGreaterThan(0.4);
  expect(view(lstm.kernel).max).toBeLessThanOrEqual(0.5);
  expect(view(lstm.recurrentKernel).max).toBeLessThanOrEqual(0.5);
  expect(view(lstm.bias!).max).toBeLessThanOrEqual(1);
  const gru = new GRU({ units: 9, kernelInitializer: "torchRecurrent", recurrentInitializer: "torchRecurrent", biasInitializer: "torchRecurrent" });
  new LayerProbe(gru, heap, [2, 5], 1);
  expect(gru.bias!.shape).toEqual([2, 27]);
  const b = view(gru.bias!);
  expect(Math.max(b.max, -b.min)).toBeLessThanOrEqual(1 / 3);
  expect(() => new LayerProbe(new Dense({ units: 3, kernelInitializer: "torchRecurrent" }), heap, [4], 1)).toThrow(InputError);
  expect(() => new LayerProbe(new Dense({ units: 3, kernelInitializer: "torchRecurrent" }), heap, [4], 1)).toThrow("is for recurrent layers");
  expect(parseInitializer("torch_recurrent_bias_sum", "here")).toBe("torchRecurrentBiasSum");
  expect(parseInitializer("standard_normal", "here")).toBe("standardNormal");
});
