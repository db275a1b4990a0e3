// LayerNormalization: every gradient (input, γ, β) against central finite differences of L = Σ r ⊙ y, on
// samples of rank 1 ([7]), 2 ([4, 6]) and 3 ([3, 2, 5]), over the last axis, the last two and (rank 3) all
// three, with γ and β, γ only, β only and neither; then shapes, masks, the config round trip, and refusals.
// γ and β are set to random values (not their ones/zeros start) so each term of the backward pass matters.
//
// Tolerance |Δ| ≤ 2e-4 + 2e-3·|numeric| with h = 1e-2 on f32 values: the loss is summed in f64 over ≤ 90 f32
// outputs (each rounded by ~1e-7, so ~1e-6 in L and ~5e-5 once divided by 2h), and the curvature of x̂ adds
// O(h²) more. Measured, the worst element sits at about 0.13 of the tolerance (a test below holds it under
// half). A backward without one of its terms is off by O(0.1–1): the last test drops mean(g·x̂) and is caught.

import { beforeAll, describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import type { Kernels, Pointer } from "../../src/engine/kernels";
import {
  Dense, Embedding, GlobalAveragePool1D, Input, InputError, LSTM, LayerNormalization, Masking, Model, layerFromConfig, modelFromConfig,
  type Tensor,
} from "../../src/index";
import { LayerProbe, compareGradients, probeIndices, worstSeen } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const TOL = { atol: 2e-4, rtol: 2e-3 };
const BATCH = 3;
const AFFINE = [
  { center: true, scale: true },
  { center: false, scale: true },
  { center: true, scale: false },
  { center: false, scale: false },
];
const SHAPES: { shape: number[]; axes: (number | number[])[] }[] = [
  { shape: [7], axes: [-1, [1]] },
  { shape: [4, 6], axes: [-1, [-2, -1], [1, 2]] },
  { shape: [3, 2, 5], axes: [-1, [-2, -1], [-3, -2, -1]] },
];

function gradientFailures(layer: LayerNormalization, shape: number[], label: string, kernels?: Kernels): string[] {
  const heap = new Heap(kernels ?? wasmVariants()[0].make());
  const probe = new LayerProbe(layer, heap, shape, BATCH, 3);
  heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, shape.length * 10 + 1, -1.5, 1.5));
  layer.params.forEach((p, i) => heap.f32(p.value, p.size).set(seededValues(p.size, 50 + i, -1.2, 1.2)));
  const analytic = probe.analytic();
  const failures: string[] = [];
  const indices = probeIndices(probe.inputCount, 60, 1);
  failures.push(...compareGradients(`${label} ∂/∂input`, analytic.input, probe.numeric(probe.input, probe.inputCount, indices, 1e-2), indices, TOL));
  layer.params.forEach((p, j) => {
    const idx = probeIndices(p.size, 40, j + 7);
    failures.push(...compareGradients(`${label} ∂/∂${p.name}`, analytic.params[j], probe.numeric(p.value, p.size, idx, 1e-2), idx, TOL));
  });
  return failures;
}

describe("LayerNormalization vs finite differences", () => {
  // worstSeen is shared by every file in the process, and other files fail on purpose (their checks that
  // can fail): this file measures its own sweeps from zero.
  beforeAll(() => Object.assign(worstSeen, { ratio: 0, label: "" }));

  for (const { shape, axes } of SHAPES)
    test(`samples [${shape}]: axes ${axes.map((a) => JSON.stringify(a)).join(", ")}, each with and without γ and β`, () => {
      const failures: string[] = [];
      for (const axis of axes)
        for (const affine of AFFINE) {
          const layer = new LayerNormalization({ axis, ...affine });
          const label = `[${shape}] axis ${JSON.stringify(axis)}${affine.scale ? " γ" : ""}${affine.center ? " β" : ""}`;
          failures.push(...gradientFailures(layer, shape, label));
          expect(layer.params.map((p) => p.name.split("/")[1])).toEqual([...(affine.scale ? ["gamma"] : []), ...(affine.center ? ["beta"] : [])]);
        }
      expect(failures).toEqual([]);
    });

  test("worst gradient error seen is well inside the tolerance", () => {
    // Runs after the sweeps above (bun runs a file's tests in order).
    expect(worstSeen.ratio).toBeLessThan(0.5);
  });
});

describe("LayerNormalization: shapes, masks, configs, refusals", () => {
  test("the output is each position normalised: mean β, standard deviation |γ|·√(var/(var + ε)) per row", () => {
    const x = Input({ shape: [3, 8] });
    const model = new Model({ inputs: x, outputs: new LayerNormalization({ epsilon: 1e-5 }).apply(x) });
    const [gamma, beta] = model.getWeights();
    expect(gamma.shape).toEqual([8]);
    expect(Array.from(gamma.data)).toEqual(new Array(8).fill(1));
    expect(Array.from(beta.data)).toEqual(new Array(8).fill(0));
    const data = seededValues(2 * 3 * 8, 4, -3, 3).map((v, i) => v * (1 + (i % 5)) + 1000);
    const y = (model.predict(data) as Tensor).data;
    for (let row = 0; row < 6; row++) {
      const values = Array.from(y.subarray(row * 8, row * 8 + 8));
      const mu = values.reduce((a, b) => a + b, 0) / 8;
      const variance = values.reduce((a, b) => a + (b - mu) ** 2, 0) / 8;
      expect(Math.abs(mu)).toBeLessThan(1e-5);
      expect(Math.abs(variance - 1)).toBeLessThan(1e-3);
    }
  });

  test("γ and β are shaped like the normalised axes", () => {
    for (const [shape, axis, want] of [
      [[5], -1, [5]], [[4, 6], -1, [6]], [[4, 6], [-2, -1], [4, 6]], [[4, 6], 2, [6]], [[3, 2, 5], [2, 3], [2, 5]], [[3, 2, 5], [-3, -2, -1], [3, 2, 5]],
    ] as [number[], number | number[], number[]][]) {
      const x = Input({ shape });
      const y = new LayerNormalization({ axis }).apply(x);
      expect(y.shape).toEqual(shape);
      const model = new Model({ inputs: x, outputs: y });
      expect(model.params.map((p) => p.shape)).toEqual([want, want]);
    }
  });

  test("masks pass through over the features; normalising over the time axis refuses them", () => {
    // Masking → LayerNormalization → LSTM on a sample whose last step is padding equals the same layers on
    // its 4 real steps alone: the mask reached the LSTM (unmasked, the zero step would move its state).
    const x = Input({ shape: [5, 3] });
    const masked = new Model({ inputs: x, outputs: new LSTM({ units: 2 }).apply(new LayerNormalization().apply(new Masking().apply(x))) });
    const x4 = Input({ shape: [4, 3] });
    const cut = new Model({ inputs: x4, outputs: new LSTM({ units: 2 }).apply(new LayerNormalization().apply(x4)) });
    const weights = masked.getWeights().map((w, i) => seededValues(w.data.length, 60 + i, -0.8, 0.8));
    masked.setWeights(weights);
    cut.setWeights(weights);
    const data = seededValues(5 * 3, 8, -2, 2);
    data.fill(0, 12, 15);
    const got = (masked.predict(data) as Tensor).data, want = (cut.predict(data.subarray(0, 12)) as Tensor).data;
    for (let i = 0; i < 2; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-6);
    const unmasked = new Model({ inputs: x, outputs: new LSTM({ units: 2 }).apply(new LayerNormalization().apply(x)) });
    unmasked.setWeights(weights);
    const moved = (unmasked.predict(data) as Tensor).data;
    expect(Math.abs(moved[0] - want[0]) + Math.abs(moved[1] - want[1])).toBeGreaterThan(1e-3);

    // Embedding(maskZero) → LayerNormalization → GlobalAveragePool1D: the pooling sees the mask.
    const ids = Input({ shape: [4] });
    const text = new Model({ inputs: ids, outputs: new GlobalAveragePool1D().apply(new LayerNormalization().apply(new Embedding({ inputDim: 6, outputDim: 3, maskZero: true }).apply(ids))) });
    const ids2 = Input({ shape: [2] });
    const short = new Model({ inputs: ids2, outputs: new GlobalAveragePool1D().apply(new LayerNormalization().apply(new Embedding({ inputDim: 6, outputDim: 3 }).apply(ids2))) });
    short.setWeights(text.getWeights());
    const pooled = (text.predict(new Float32Array([1, 2, 0, 0])) as Tensor).data, real = (short.predict(new Float32Array([1, 2])) as Tensor).data;
    for (let i = 0; i < 3; i++) expect(Math.abs(pooled[i] - real[i])).toBeLessThan(1e-6);

    const layer = new LayerNormalization({ axis: [-2, -1], name: "ln" });
    const bad = new Model({ inputs: x, outputs: new LSTM({ units: 2 }).apply(layer.apply(new Masking().apply(x))) });
    expect(() => bad.executionPlan).toThrow(/ln \(LayerNormalization\): axis \[-2,-1\] normalises over the time axis .* carry a mask/);
  });

  test("config round trip, the LayerNorm alias, initializers and regularizers", () => {
    const config = {
      type: "LayerNormalization", name: "ln", axis: [-2, -1], epsilon: 1e-5, center: false, scale: true,
      gammaInitializer: "glorotUniform", betaInitializer: "ones", gammaRegularizer: { l1: 0, l2: 0.01 },
    };
    const layer = layerFromConfig(config, "layers[0]");
    expect(layer).toBeInstanceOf(LayerNormalization);
    expect(layer.getConfig()).toMatchObject(config);
    expect(layerFromConfig(layer.getConfig(), "again").getConfig()).toEqual(layer.getConfig());
    expect(layerFromConfig({ type: "LayerNorm" }, "layers[1]").getConfig()).toEqual({
      type: "LayerNormalization", name: "", axis: -1, epsilon: 1e-3, center: true, scale: true, gammaInitializer: "ones", betaInitializer: "zeros",
    });
    expect(layerFromConfig({ type: "LayerNorm", gammaInitializer: "glorot_uniform", axis: 2 }, "l").getConfig()).toMatchObject({ gammaInitializer: "glorotUniform", axis: 2 });
    // A model's JSON form (as model files hold it) brings the layer back: same parameters, same outputs.
    const input = Input({ shape: [4, 6] });
    const saved = new Model({ inputs: input, outputs: new LayerNormalization({ axis: [-2, -1], epsilon: 1e-5, center: false, name: "ln" }).apply(input) });
    saved.setWeights([seededValues(24, 2, 0.5, 1.5)]);
    const loaded = modelFromConfig(JSON.parse(JSON.stringify(saved.toConfig())));
    expect(loaded.params.map((p) => [p.name, p.shape])).toEqual([["ln/gamma", [4, 6]]]);
    loaded.setWeights(saved.getWeights());
    const sample = seededValues(2 * 24, 9, -3, 3);
    expect(Array.from((loaded.predict(sample) as Tensor).data)).toEqual(Array.from((saved.predict(sample) as Tensor).data));
    // The regularizers reach the parameters and the loss: γ = 1 (3 values) under L2 0.5 adds 1.5, β = 0 under L1 adds 0;
    // γ's gradient gains 2·0.5·γ = 1, β's the L1 subgradient sign(0) = 0.
    const make = (regularized: boolean) => {
      const x = Input({ shape: [2, 3] });
      const ln = new LayerNormalization(regularized ? { gammaRegularizer: { l2: 0.5 }, betaRegularizer: { l1: 0.25 } } : {});
      const model = new Model({ inputs: x, outputs: new Dense({ units: 1 }).apply(ln.apply(x)) });
      model.compile({ optimizer: "sgd", loss: "meanSquaredError" });
      return { model, ln };
    };
    const [on, off] = [make(true), make(false)];
    expect(on.ln.gamma!.regularizer).toEqual({ l2: 0.5 });
    expect(on.ln.beta!.regularizer).toEqual({ l1: 0.25 });
    off.model.setWeights(on.model.getWeights());
    const data = seededValues(2 * 6, 3), targets = new Float32Array(4);
    const [a, b] = [on.model.computeGradients(data, targets), off.model.computeGradients(data, targets)];
    expect(a.loss - b.loss).toBeCloseTo(1.5, 5);
    a.grads[0].data.forEach((g, i) => expect(g - b.grads[0].data[i]).toBeCloseTo(1, 5));
    a.grads[1].data.forEach((g, i) => expect(g).toBeCloseTo(b.grads[1].data[i], 6));
  });

  test("refusals name the layer and the problem", () => {
    const on = (shape: number[], options: ConstructorParameters<typeof LayerNormalization>[0]) => () =>
      new LayerNormalization({ name: "ln", ...options }).apply(Input({ shape }));
    expect(on([4, 6], { axis: 0 })).toThrow(/ln \(LayerNormalization\): axis 0 includes the batch axis/);
    expect(on([4, 6], { axis: -3 })).toThrow(/includes the batch axis/);
    expect(on([4, 6], { axis: [-1, -2] })).toThrow(/axis \[-1,-2\] on inputs shaped \[4,6\] is not supported: give the last axis/);
    expect(on([3, 2, 5], { axis: [-3, -1] })).toThrow(/not supported/);
    expect(on([4, 6], { axis: 1 })).toThrow(/not supported/);
    expect(on([4, 6], { axis: 3 })).toThrow(/axis 3 is not an axis of inputs shaped \[4,6\]/);
    expect(on([4, 6], { axis: -4 })).toThrow(/axis -4 is not an axis/);
    expect(on([4, 6], { axis: [-1, -1] })).toThrow(/names an axis twice/);
    expect(() => new LayerNormalization({ axis: 1.5 })).toThrow(/'axis' must be an integer or a non-empty list/);
    expect(() => new LayerNormalization({ axis: [] })).toThrow(InputError);
    expect(() => new LayerNormalization({ epsilon: 0 })).toThrow(/'epsilon' must be a positive number/);
    expect(() => layerFromConfig({ type: "LayerNormalization", axis: "last" }, "layers[2]")).toThrow(/layers\[2\] \(LayerNormalization\): 'axis' must be an integer or a non-empty list/);
    expect(() => layerFromConfig({ type: "LayerNormalization", epsilon: 0 }, "l")).toThrow(/'epsilon' must be in/);
    expect(() => layerFromConfig({ type: "LayerNormalization", momentum: 0.9 }, "l")).toThrow(/'momentum' is not a LayerNormalization option/);
    expect(() => layerFromConfig({ type: "LayerNormalization", gammaInitializer: "twos" }, "l")).toThrow(/unknown initializer 'twos'/);
  });
});

test("the check can fail: a backward without the mean(g·x̂) term is caught", () => {
  // The SIMD kernels with layerNormBackward replaced by one that leaves out −x̂·mean(g·x̂) from dx.
  const fast = wasmVariants()[0].make();
  const broken: Kernels = {
    ...fast,
    layerNormBackward(x: Pointer, dy: Pointer, rows: number, cols: number, gamma: Pointer, mean: Pointer, invStd: Pointer, dx: Pointer, dgamma: Pointer, dbeta: Pointer) {
      const mem = new Float32Array(fast.memory.buffer);
      const at = (p: Pointer) => p >> 2;
      const out = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        let sumG = 0;
        for (let c = 0; c < cols; c++) sumG += mem[at(dy) + r * cols + c] * (gamma ? mem[at(gamma) + c] : 1);
        for (let c = 0; c < cols; c++) out[r * cols + c] = mem[at(invStd) + r] * (mem[at(dy) + r * cols + c] * (gamma ? mem[at(gamma) + c] : 1) - sumG / cols);
      }
      // The parameter gradients stay right: only dx is broken.
      fast.layerNormBackward(x, dy, rows, cols, gamma, mean, invStd, 0, dgamma, dbeta);
      if (dx) mem.set(out, at(dx));
    },
  };
  const failures = gradientFailures(new LayerNormalization(), [4, 6], "broken", broken);
  expect(failures.length).toBe(1);
  expect(failures[0]).toMatch(/^broken ∂\/∂input: \d+\/60 elements off/);
});
