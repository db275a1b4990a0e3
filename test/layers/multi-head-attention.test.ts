// MultiHeadAttention: every gradient (each input, the four projections' kernels and biases) against central
// finite differences of L = Σ r ⊙ outputs, for self-attention (one input), [query, value] and [query, value,
// key] with other lengths and widths, a key mask with a fully padded sample, the causal mask, the attention
// weights as a second output, and dropout replayed with a fixed mask. Sizes are ragged: 3 heads of keyDim 5,
// valueDim 4, tq 4, tk 6.
//
// Tolerance |Δ| ≤ 2e-3 + 2e-2·|numeric| with h = 1e-2 (f32 forward passes, the loss summed in f64), as for
// the recurrent layers; a wrong head offset, a missing scale or a transposed operand is off by O(0.1).

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import { Input, MultiHeadAttention } from "../../src/index";
import type { MultiHeadAttentionOptions } from "../../src/layers/multi-head-attention";
import { layerFromConfig } from "../../src/layers/registry";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const BATCH = 2;
const TOL = { atol: 2e-3, rtol: 2e-2 };

function check(label: string, options: Partial<MultiHeadAttentionOptions>, shapes: number[][], setup?: (probe: LayerProbe) => void): string[] {
  const heap = new Heap(wasmVariants()[0].make());
  const layer = new MultiHeadAttention({ numHeads: 3, keyDim: 5, valueDim: 4, ...options });
  const probe = new LayerProbe(layer, heap, shapes, BATCH, 3);
  probe.inputs.forEach((ptr, i) => heap.f32(ptr, probe.inputCountOf(i)).set(seededValues(probe.inputCountOf(i), 60 + i, -1, 1)));
  for (const p of layer.params) heap.f32(p.value, p.size).set(seededValues(p.size, p.size + 17, -0.6, 0.6));
  setup?.(probe);
  const analytic = probe.analytic();
  const failures: string[] = [];
  probe.inputs.forEach((ptr, i) => {
    const count = probe.inputCountOf(i);
    const indices = probeIndices(count, 30, i + 3);
    failures.push(...compareGradients(`${label} ∂/∂input${i}`, analytic.inputs[i], probe.numeric(ptr, count, indices, 1e-2), indices, TOL));
  });
  layer.params.forEach((p, j) => {
    const indices = probeIndices(p.size, 20, j + 7);
    failures.push(...compareGradients(`${label} ∂/∂${p.name}`, analytic.params[j], probe.numeric(p.value, p.size, indices, 1e-2), indices, TOL));
  });
  return failures;
}

describe("MultiHeadAttention vs finite differences", () => {
  test("self-attention, [query, value], [query, value, key]; causal; attention weights as an output", () => {
    const failures = [
      ...check("self", {}, [[4, 6]]),
      ...check("self causal", { useCausalMask: true }, [[4, 6]]),
      ...check("query+value", {}, [[4, 6], [6, 3]]),
      ...check("query+value+key, outputShape 2", { outputShape: 2 }, [[4, 6], [6, 3], [6, 5]]),
      ...check("scores out", { returnAttentionScores: true }, [[4, 6], [6, 3]]),
      ...check("no bias", { useBias: false }, [[4, 6]]),
    ];
    expect(failures).toEqual([]);
  });

  test("a key mask, with one sample's keys all padding", () => {
    // Masked keys are left out of every softmax; moving a padded key's values must change nothing.
    const failures = check("key mask", {}, [[4, 6], [6, 3]], (probe) => probe.setMask(1, [1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(failures).toEqual([]);
  });

  test("dropout on the attention weights, replayed with one mask", () => {
    const failures = check("dropout", { dropout: 0.3 }, [[4, 6]], (probe) => {
      probe.training = true;
      const state = probe.layer.getState();
      probe.beforeForward = () => probe.layer.setState(state);
    });
    expect(failures).toEqual([]);
  });

  test("the check can fail: a backward without the softmax scale is caught", () => {
    const heap = new Heap(wasmVariants()[0].make());
    const layer = new MultiHeadAttention({ numHeads: 2, keyDim: 4 });
    const probe = new LayerProbe(layer, heap, [[3, 4]], BATCH, 3);
    heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, 5, -1, 1));
    for (const p of layer.params) heap.f32(p.value, p.size).set(seededValues(p.size, p.size + 17, -0.9, 0.9));
    const kernels = (layer as unknown as { kernels: { scale: (...a: number[]) => void } }).kernels;
    kernels.scale = () => {}; // drops 1/√keyDim from the backward pass only (forward uses the fused kernel)
    const analytic = probe.analytic();
    const p = layer.params[0];
    const indices = probeIndices(p.size, 20, 1);
    expect(compareGradients("broken", analytic.params[0], probe.numeric(p.value, p.size, indices, 1e-2), indices, TOL).length).toBe(1);
  });
});

test("shapes, Keras' weight shapes, config round trip and refusals", () => {
  const q = Input({ shape: [5, 8] }), v = Input({ shape: [7, 3] });
  const mha = new MultiHeadAttention({ numHeads: 2, keyDim: 4, returnAttentionScores: true, name: "mha" });
  const [out, scores] = mha.applyAll([q, v]);
  expect([out.shape, scores.shape]).toEqual([[5, 8], [2, 5, 7]]);
  const config = { type: "MultiHeadAttention", name: "a", numHeads: 4, keyDim: 8, valueDim: 6, dropout: 0.1, useCausalMask: true };
  const layer = layerFromConfig(config, "layers[0]");
  expect(layerFromConfig(layer.getConfig(), "again").getConfig()).toEqual(layer.getConfig());
  expect(layer.getConfig()).toMatchObject(config);
  expect(() => new MultiHeadAttention({ numHeads: 0, keyDim: 4 })).toThrow(/'numHeads' must be a positive integer/);
  expect(() => new MultiHeadAttention({ numHeads: 2, keyDim: 4 }).apply([q, v, Input({ shape: [6, 3] })])).toThrow(/same number of steps/);
  expect(() => new MultiHeadAttention({ numHeads: 2, keyDim: 4 }).apply(Input({ shape: [8] }))).toThrow(/sequences shaped \[steps, features\]/);
});
