// SimpleRNN, LSTM and GRU (both forms: resetAfter true and false): every gradient (input, kernel, recurrent kernel, bias, initial states) against
// central finite differences of L = Σ r ⊙ outputs, through backprop over all steps, for each combination
// of returnSequences, returnState, goBackwards, a mask with padding at the start, the middle and the end
// of sequences, initial states as inputs, and recurrent dropout replayed with a fixed mask. Ragged sizes:
// T 1 and 5, features 3, units 5 (one full SIMD group and a tail).
//
// Tolerance |Δ| ≤ 2e-3 + 2e-2·|numeric| with h = 1e-2 on f32: the loss is summed in f64 but each forward
// is f32, so differences carry ~1e-7·|L|/h ≈ 1e-4 of noise, and curvature adds O(h²) ≈ 1e-4. A gate in the
// wrong place, a missed step or a state gradient not carried is off by O(0.1–1).

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import { InputError } from "../../src/errors";
import { Bidirectional, GRU, Input, LSTM, Model, SimpleRNN, decodeCheckpoint, encodeCheckpoint, type Tensor } from "../../src/index";
import type { RecurrentLayer } from "../../src/layers/recurrent";
import { layerFromConfig } from "../../src/layers/registry";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const F = 3, U = 5, BATCH = 3;
const TOL = { atol: 2e-3, rtol: 2e-2 };

type Make = (options: { units: number; returnSequences: boolean; returnState: boolean; goBackwards: boolean; recurrentDropout?: number }) => RecurrentLayer;
const CELLS: [string, Make, number][] = [
  ["SimpleRNN", (o) => new SimpleRNN(o), 1],
  ["LSTM", (o) => new LSTM(o), 2],
  ["GRU", (o) => new GRU({ ...o, biasInitializer: "glorotUniform" }), 1],
  ["GRU (resetAfter false)", (o) => new GRU({ ...o, resetAfter: false, biasInitializer: "glorotUniform" }), 1],
];

/** Mask [BATCH, T]: sample 0 real throughout, sample 1 padded at the start and end, sample 2 in the middle. */
function maskFor(T: number): number[] {
  const m = new Array(BATCH * T).fill(1);
  if (T > 1) {
    m[T] = 0;
    m[2 * T - 1] = 0;
    m[2 * T + Math.floor(T / 2)] = 0;
  }
  return m;
}

function check(name: string, make: Make, stateCount: number, T: number, flags: { returnSequences: boolean; returnState: boolean; goBackwards: boolean; masked: boolean; initial: boolean }): string[] {
  const heap = new Heap(wasmVariants()[0].make());
  const layer = make({ units: U, ...flags });
  const shapes = [[T, F], ...(flags.initial ? Array.from({ length: stateCount }, () => [U]) : [])];
  const probe = new LayerProbe(layer, heap, shapes, BATCH, 7);
  probe.inputs.forEach((ptr, i) => heap.f32(ptr, probe.inputCountOf(i)).set(seededValues(probe.inputCountOf(i), 20 + i, -1.5, 1.5)));
  // Bigger weights than the initializers give, so the gates leave their linear range.
  for (const p of layer.params) heap.f32(p.value, p.size).set(seededValues(p.size, p.size + 3, -0.8, 0.8));
  if (flags.masked) probe.setMask(0, maskFor(T));
  const label = `${name} T=${T} ${Object.entries(flags).filter(([, v]) => v).map(([k]) => k).join(" ") || "plain"}`;
  const analytic = probe.analytic();
  const failures: string[] = [];
  probe.inputs.forEach((ptr, i) => {
    const count = probe.inputCountOf(i);
    const indices = probeIndices(count, 40, i + 1);
    failures.push(...compareGradients(`${label} ∂/∂input${i}`, analytic.inputs[i], probe.numeric(ptr, count, indices, 1e-2), indices, TOL));
  });
  layer.params.forEach((p, j) => {
    const indices = probeIndices(p.size, 40, j + 11);
    failures.push(...compareGradients(`${label} ∂/∂${p.name}`, analytic.params[j], probe.numeric(p.value, p.size, indices, 1e-2), indices, TOL));
  });
  if (flags.masked && flags.returnSequences && T > 1) {
    // Padded steps output zeros (Keras' zero_output_for_mask) and pass their mask on.
    const y = probe.forward();
    const outMask = heap.f32(layer.outputMask(), BATCH * T);
    const mask = maskFor(T);
    for (let b = 0; b < BATCH; b++)
      for (let s = 0; s < T; s++) {
        const t = flags.goBackwards ? T - 1 - s : s;
        if (outMask[b * T + s] !== mask[b * T + t]) failures.push(`${label}: output mask at [${b}, ${s}]`);
        if (mask[b * T + t] === 0 && y.subarray((b * T + s) * U, (b * T + s + 1) * U).some((v) => v !== 0)) failures.push(`${label}: padded step [${b}, ${s}] not zero`);
      }
  }
  return failures;
}

for (const [name, make, stateCount] of CELLS) {
  describe(`${name} backprop through time vs finite differences`, () => {
    for (const T of [1, 5])
      test(`T=${T}: every flag combination, masks, initial states`, () => {
        const failures: string[] = [];
        for (const returnSequences of [false, true])
          for (const returnState of [false, true])
            for (const goBackwards of [false, true])
              for (const masked of [false, true])
                for (const initial of [false, true]) {
                  if (returnState && initial && goBackwards) continue; // covered by the others; keeps the file fast
                  failures.push(...check(name, make, stateCount, T, { returnSequences, returnState, goBackwards, masked, initial }));
                }
        expect(failures).toEqual([]);
      });

    test("recurrent dropout: gradients through a fixed mask", () => {
      const heap = new Heap(wasmVariants()[0].make());
      const layer = make({ units: U, returnSequences: true, returnState: false, goBackwards: false, recurrentDropout: 0.4 });
      const probe = new LayerProbe(layer, heap, [4, F], BATCH, 9);
      heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, 3, -1.5, 1.5));
      probe.training = true;
      // Replay one mask: the layer's dropout stream is reset before every forward pass.
      const state = layer.getState();
      probe.beforeForward = () => layer.setState(state);
      const analytic = probe.analytic();
      const failures: string[] = [];
      const indices = probeIndices(probe.inputCount, 40, 2);
      failures.push(...compareGradients(`${name} dropout ∂/∂input`, analytic.input, probe.numeric(probe.input, probe.inputCount, indices, 1e-2), indices, TOL));
      layer.params.forEach((p, j) => {
        const idx = probeIndices(p.size, 40, j + 5);
        failures.push(...compareGradients(`${name} dropout ∂/∂${p.name}`, analytic.params[j], probe.numeric(p.value, p.size, idx, 1e-2), idx, TOL));
      });
      expect(failures).toEqual([]);
      // And the dropout did something: inference differs from the training pass.
      const trained = probe.forward();
      probe.training = false;
      expect(probe.forward().some((v, i) => Math.abs(v - trained[i]) > 1e-4)).toBe(true);
    });
  });
}

test("the check can fail: a backward that drops the carried state gradient is caught", () => {
  // Break BPTT on purpose: zero the running state gradient after every step, so only the last step's
  // gradient reaches the weights. The same probe must then report failures.
  const heap = new Heap(wasmVariants()[0].make());
  const layer = new LSTM({ units: U, returnSequences: true });
  const probe = new LayerProbe(layer, heap, [4, F], BATCH, 7);
  heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, 20, -1.5, 1.5));
  const original = (layer as unknown as { stepBackward(s: number, n: number, d: number): void }).stepBackward.bind(layer);
  (layer as unknown as { stepBackward(s: number, n: number, d: number): void }).stepBackward = (s, n, d) => {
    original(s, n, d);
    for (const g of (layer as unknown as { stateGrads: number[] }).stateGrads) heap.f32(g, n * U).fill(0);
  };
  const analytic = probe.analytic();
  const p = layer.recurrentKernel;
  const indices = probeIndices(p.size, 40, 1);
  expect(compareGradients("broken", analytic.params[1], probe.numeric(p.value, p.size, indices, 1e-2), indices, TOL).length).toBe(1);
});

test("shapes, configs and refusals", () => {
  const x = Input({ shape: [6, 4] });
  const [seq, h, c] = new LSTM({ units: 3, returnSequences: true, returnState: true }).applyAll(x);
  expect([seq.shape, h.shape, c.shape]).toEqual([[6, 3], [3], [3]]);
  expect(new GRU({ units: 2 }).apply(x).shape).toEqual([2]);
  for (const [type, extra] of [["LSTM", { unitForgetBias: false }], ["GRU", { resetAfter: true }], ["SimpleRNN", { activation: "relu" }]] as const) {
    const config = { type, name: "r", units: 4, returnSequences: true, goBackwards: true, dropout: 0.1, recurrentDropout: 0.2, ...extra };
    const layer = layerFromConfig(config, "layers[0]");
    expect(layerFromConfig(layer.getConfig(), "again").getConfig()).toEqual(layer.getConfig());
    expect(layer.getConfig()).toMatchObject(config);
  }
  // resetAfter false (Keras 1, tfjs) is built: one bias [3u], the flag in its config; the default has two rows.
  const before = new GRU({ units: 2, resetAfter: false, name: "g" });
  const after = new GRU({ units: 2, name: "h" });
  new Model({ inputs: x, outputs: [before.apply(x), after.apply(x)] }).build();
  expect([before.bias!.shape, after.bias!.shape]).toEqual([[6], [2, 6]]);
  expect([before.getConfig().resetAfter, after.getConfig().resetAfter]).toEqual([false, true]);
  expect((layerFromConfig(before.getConfig(), "again") as GRU).resetAfter).toBe(false);
  expect((layerFromConfig({ type: "GRU", units: 2 }, "default") as GRU).resetAfter).toBe(true);
  expect(() => new SimpleRNN({ units: 2, activation: "gelu" as "tanh" })).toThrow(InputError);
  expect(() => new LSTM({ units: 2 }).apply(Input({ shape: [5] }))).toThrow(/sequences shaped \[steps, features\]/);
  expect(() => new LSTM({ units: 2 }).apply([x, Input({ shape: [2] })])).toThrow(/2 initial states/);
  expect(() => new LSTM({ units: 2 }).apply([x, Input({ shape: [3] }), Input({ shape: [2] })])).toThrow(/initial state 1 must be shaped \[2\]/);
  expect(() => layerFromConfig({ type: "LSTM", units: 2, dropout: 1 }, "l")).toThrow(/'dropout' must be in \[0, 0.99\]/);
});

test("checkpoints keep the GRU's form: resetAfter false with its [3u] bias and the reset-after one with [2, 3u] read back to the same outputs; the two forms differ on the same weights", () => {
  const x = Input({ shape: [4, 3] });
  const make = (resetAfter: boolean) => {
    const model = new Model({ inputs: x, outputs: new GRU({ units: 5, resetAfter, name: "gru" }).apply(x), seed: 3 });
    model.setWeights(model.params.map((p, i) => seededValues(p.size, 50 + i, -0.7, 0.7)));
    return model;
  };
  const data = seededValues(2 * 4 * 3, 8, -1.5, 1.5);
  for (const resetAfter of [false, true]) {
    const model = make(resetAfter);
    const { model: back, header } = decodeCheckpoint(encodeCheckpoint(model), "gru.ckpt");
    expect(header.tensors.find((t) => t.name === "gru/bias")!.shape).toEqual(resetAfter ? [2, 15] : [15]);
    expect((back.layers.find((l) => l instanceof GRU) as GRU).resetAfter).toBe(resetAfter);
    expect(Array.from((back.predict(data) as Tensor).data)).toEqual(Array.from((model.predict(data) as Tensor).data));
  }
  // The two forms differ on the same kernels (the reset-after one given the same input bias and a zero recurrent row).
  const before = make(false), after = make(true);
  const [w, r, b] = before.getWeights();
  after.setWeights([w.data, r.data, Float32Array.from([...b.data, ...new Array(15).fill(0)])]);
  const [yb, ya] = [before, after].map((m) => (m.predict(data) as Tensor).data);
  expect(yb.some((v, i) => Math.abs(v - ya[i]) > 1e-3)).toBe(true);
});

test("LSTM's forget-gate bias starts at 1 (unitForgetBias), the rest at 0; recurrent kernels start orthogonal", () => {
  const x = Input({ shape: [3, 2] });
  const lstm = new LSTM({ units: 4 });
  const m = new Model({ inputs: x, outputs: lstm.apply(x), seed: 1 });
  const [, recurrent, bias] = m.getWeights();
  expect(Array.from(bias.data)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  // U [4, 16]: its rows are orthonormal.
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      let dot = 0;
      for (let k = 0; k < 16; k++) dot += recurrent.data[i * 16 + k] * recurrent.data[j * 16 + k];
      expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-5);
    }
  const out = (m.predict(new Float32Array(2 * 3 * 2).fill(0.5)) as Tensor);
  expect(out.shape).toEqual([2, 4]);
});

describe("Bidirectional vs finite differences", () => {
  test("each merge mode, with sequences or the last step, masks, states and initial states", () => {
    const failures: string[] = [];
    const T = 4;
    for (const mergeMode of ["concat", "sum", "ave", "mul"] as const)
      for (const [name, make, stateCount] of CELLS)
        for (const returnSequences of [false, true])
          for (const masked of [false, true])
            for (const stateful of [false, true]) {
              const heap = new Heap(wasmVariants()[0].make());
              const inner = make({ units: U, returnSequences, returnState: stateful, goBackwards: false });
              const layer = new Bidirectional({ layer: inner, mergeMode });
              const shapes = [[T, F], ...(stateful ? Array.from({ length: 2 * stateCount }, () => [U]) : [])];
              const probe = new LayerProbe(layer, heap, shapes, BATCH, 5);
              probe.inputs.forEach((ptr, i) => heap.f32(ptr, probe.inputCountOf(i)).set(seededValues(probe.inputCountOf(i), 40 + i, -1.5, 1.5)));
              for (const p of layer.params) heap.f32(p.value, p.size).set(seededValues(p.size, p.size + 9, -0.8, 0.8));
              if (masked) probe.setMask(0, maskFor(T));
              const label = `Bidirectional(${name}) ${mergeMode}${returnSequences ? " sequences" : ""}${masked ? " masked" : ""}${stateful ? " states" : ""}`;
              const analytic = probe.analytic();
              probe.inputs.forEach((ptr, i) => {
                const count = probe.inputCountOf(i);
                const indices = probeIndices(count, 24, i + 1);
                failures.push(...compareGradients(`${label} ∂/∂input${i}`, analytic.inputs[i], probe.numeric(ptr, count, indices, 1e-2), indices, TOL));
              });
              layer.params.forEach((p, j) => {
                const indices = probeIndices(p.size, 16, j + 11);
                failures.push(...compareGradients(`${label} ∂/∂${p.name}`, analytic.params[j], probe.numeric(p.value, p.size, indices, 1e-2), indices, TOL));
              });
            }
    expect(failures).toEqual([]);
  });

  test("shapes, names and config round trip", () => {
    const x = Input({ shape: [6, 4] });
    const bi = new Bidirectional({ layer: new LSTM({ units: 3, returnSequences: true, returnState: true }), name: "bi" });
    const outs = bi.applyAll(x);
    expect(outs.map((o) => o.shape)).toEqual([[6, 6], [3], [3], [3], [3]]);
    const model = new Model({ inputs: x, outputs: outs[0] });
    expect(model.params.map((p) => p.name)).toEqual(["bi/forward/kernel", "bi/forward/recurrent_kernel", "bi/forward/bias", "bi/backward/kernel", "bi/backward/recurrent_kernel", "bi/backward/bias"]);
    expect(new Bidirectional({ layer: new GRU({ units: 2 }), mergeMode: "sum" }).apply(x).shape).toEqual([2]);
    const config = { type: "Bidirectional", name: "b", layer: { type: "GRU", units: 5, returnSequences: true }, mergeMode: "ave" };
    const layer = layerFromConfig(config, "layers[0]");
    expect(layerFromConfig(layer.getConfig(), "again").getConfig()).toEqual(layer.getConfig());
    expect(layer.getConfig()).toMatchObject({ ...config, layer: { type: "GRU", units: 5, returnSequences: true } });
    expect(() => layerFromConfig({ type: "Bidirectional", layer: { type: "Dense", units: 2 } }, "l")).toThrow(/must be a recurrent layer/);
    expect(() => layerFromConfig({ type: "Bidirectional", layer: { type: "LSTM", units: 2 }, mergeMode: "max" }, "l")).toThrow(/mergeMode/);
  });
});
