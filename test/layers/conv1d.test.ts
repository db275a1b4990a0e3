// Conv1D, MaxPool1D and AveragePool1D on their own (conv1d-tfjs.test.ts holds them against TensorFlow.js):
//  - Conv1D's forward pass against a naive loop written from Keras' definition (groups, 'causal', explicit
//    [left, right] padding, dilation together with strides — none of which tfjs-layers can check);
//  - backward passes against central finite differences of the forward pass (the probe of gradients.test.ts):
//    Conv1D with groups 2 and 3, 'causal' with dilation 2 at stride 2, explicit padding, the pointwise path
//    (k = 1), no bias, tanh and linear; MaxPool1D and AveragePool1D, 'valid' and 'same', strides 1, 2, 3;
//  - checks that fail on a wrong padding side, a backward off by one step, and swapped groups;
//  - config round trips through layerFromConfig (Keras' spellings and [n] tuples), the InputErrors a person
//    can cause, masks refused, nn.Conv1d / MaxPool1d / AvgPool1d following PyTorch's size formula;
//  - Embedding → Conv1D → GlobalMaxPool1D → Dense learning a toy task (does the bigram 3, 7 occur?).
// Each numeric check runs on both WebAssembly builds and on the reference kernels.
//
// Tolerance: forward vs the naive loop |Δ| ≤ 1e-5 + 1e-5·|y| (f32 sums of ≤ 25 products, in another order);
// gradients |analytic − numeric| ≤ 1e-3 + 1e-2·|numeric| with h = 1e-2 on wasm, 1e-3 on the reference, the
// budget of gradients.test.ts (the same sums of products in f32; tanh's curvature over ±h stays below it).
// Max pooling gets distinct inputs 0.05 apart, so no ±h probe changes a winner.

import { describe, expect, test } from "bun:test";
import { Adam, Embedding, GlobalMaxPool1D, InputError, Sequential, nn, tensor } from "../../src/index";
import { Dense } from "../../src/layers/dense";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Rng } from "../../src/engine/rng";
import type { ActivationName } from "../../src/layers/activation-function";
import { Conv1D, type Conv1DOptions } from "../../src/layers/conv1d";
import type { Layer, SingleInputLayer } from "../../src/layers/layer";
import { AveragePool1D, MaxPool1D } from "../../src/layers/pool1d";
import { layerFromConfig } from "../../src/layers/registry";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

interface Backend { name: string; make: () => Kernels; h: number }
const BACKENDS: Backend[] = [
  ...wasmVariants().map((v) => ({ name: v.name, make: v.make, h: 1e-2 })),
  { name: "reference", make: () => createReferenceKernels(), h: 1e-3 },
];
const GRAD_TOL = { atol: 1e-3, rtol: 1e-2 };
const BATCH = 2;

interface ConvCase extends Conv1DOptions { steps: number; channels: number }

const CONVS: ConvCase[] = [
  { kernelSize: 3, padding: "causal", steps: 7, channels: 3, filters: 2 },
  { kernelSize: 3, padding: "causal", dilationRate: 2, strides: 2, steps: 9, channels: 2, filters: 3 },
  { kernelSize: 2, padding: "same", groups: 2, steps: 7, channels: 4, filters: 6 },
  { kernelSize: 3, padding: "causal", groups: 3, strides: 2, steps: 8, channels: 3, filters: 6 },
  { kernelSize: 1, steps: 6, channels: 3, filters: 4 },
  { kernelSize: 1, groups: 2, steps: 6, channels: 4, filters: 2 },
  { kernelSize: 3, padding: 2, strides: 3, steps: 7, channels: 2, filters: 2 },
  { kernelSize: 4, padding: [0, 3], dilationRate: 2, steps: 7, channels: 2, filters: 3, useBias: false },
  { kernelSize: 5, strides: 2, steps: 9, channels: 3, filters: 2 },
  { kernelSize: 3, padding: "same", dilationRate: 2, strides: 2, steps: 10, channels: 1, filters: 2 },
];

const label = (o: ConvCase, activation: string) =>
  `Conv1D ${o.steps}×${o.channels}→${o.filters} k=${o.kernelSize} s=${o.strides ?? 1} d=${o.dilationRate ?? 1} pad=${JSON.stringify(o.padding ?? "valid")} groups=${o.groups ?? 1}${o.useBias === false ? " no-bias" : ""} ${activation}`;

function convOf(o: ConvCase, activation: ActivationName): Conv1D {
  const { steps: _s, channels: _c, ...options } = o;
  return new Conv1D({ ...options, activation });
}

function fill(probe: LayerProbe, seed: number): void {
  probe.inputView().set(seededValues(probe.inputCount, seed));
  probe.layer.params.forEach((p, k) => probe.paramView(p).set(seededValues(p.size, seed + 10 + k, p.name.endsWith("/bias") ? -0.5 : -1, p.name.endsWith("/bias") ? 0.5 : 1)));
}

function distinct(probe: LayerProbe): void {
  const order = Array.from({ length: probe.inputCount }, (_, i) => i);
  new Rng(probe.inputCount * 31 + 5).shuffle(order);
  probe.inputView().set(order.map((k) => (k - probe.inputCount / 2) * 0.05));
}

/**
 * Keras' Conv1D written out: padding [left, right] of zeros, then
 * y[b, t, f] = act(bias[f] + Σ_j Σ_i x[b, t·s − left + j·d, g·cin/groups + i] · W[j, i, f]), g = f's group.
 */
function naiveConv1D(x: Float32Array, batch: number, steps: number, cin: number, w: Float32Array, bias: Float32Array | undefined, o: Conv1DOptions, act: (z: number) => number): Float32Array {
  const k = o.kernelSize, s = o.strides ?? 1, d = o.dilationRate ?? 1, groups = o.groups ?? 1, f = o.filters;
  const span = (k - 1) * d + 1, p = o.padding ?? "valid";
  let left: number, right: number;
  if (p === "same") {
    const out = Math.ceil(steps / s), total = Math.max((out - 1) * s + span - steps, 0);
    [left, right] = [Math.floor(total / 2), total - Math.floor(total / 2)];
  } else [left, right] = p === "valid" ? [0, 0] : p === "causal" ? [span - 1, 0] : typeof p === "number" ? [p, p] : p;
  const out = Math.floor((steps + left + right - span) / s) + 1, cg = cin / groups, fg = f / groups;
  const y = new Float32Array(batch * out * f);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < out; t++)
      for (let o2 = 0; o2 < f; o2++) {
        let z = bias ? bias[o2] : 0;
        const g = Math.floor(o2 / fg);
        for (let j = 0; j < k; j++) {
          const at = t * s - left + j * d;
          if (at < 0 || at >= steps) continue;
          for (let i = 0; i < cg; i++) z += x[(b * steps + at) * cin + g * cg + i] * w[(j * cg + i) * f + o2];
        }
        y[(b * out + t) * f + o2] = act(z);
      }
  return y;
}

function naiveOf(probe: LayerProbe<Conv1D>, o: ConvCase, activation: "linear" | "tanh", kernel = probe.paramView(probe.layer.kernel)): Float32Array {
  const bias = probe.layer.bias ? probe.paramView(probe.layer.bias) : undefined;
  return naiveConv1D(probe.inputView(), BATCH, o.steps, o.channels, kernel, bias, o, activation === "tanh" ? Math.tanh : (z) => z);
}

function gradientFailures(probe: LayerProbe, backend: Backend, name: string): string[] {
  const analytic = probe.analytic();
  const xi = probeIndices(probe.inputCount, 512, 11);
  const failures = compareGradients(`${name} [${backend.name}] ∂/∂input`, analytic.input, probe.numeric(probe.input, probe.inputCount, xi, backend.h), xi, GRAD_TOL);
  probe.layer.params.forEach((p, k) => {
    const pi = probeIndices(p.size, 512, 13 + k);
    failures.push(...compareGradients(`${name} [${backend.name}] ∂/∂${p.name.split("/")[1]}`, analytic.params[k], probe.numeric(p.value, p.size, pi, backend.h), pi, GRAD_TOL));
  });
  return failures;
}

const POOLS: { type: "MaxPool1D" | "AveragePool1D"; poolSize: number; strides?: number; padding: "valid" | "same" }[] = [];
for (const type of ["MaxPool1D", "AveragePool1D"] as const)
  for (const [poolSize, strides] of [[2, undefined], [3, 1], [3, 2], [2, 3]] as [number, number | undefined][])
    for (const padding of ["valid", "same"] as const) POOLS.push({ type, poolSize, strides, padding });

const poolOf = (o: (typeof POOLS)[number]) => (o.type === "MaxPool1D" ? new MaxPool1D(o) : new AveragePool1D(o));

for (const backend of BACKENDS) {
  describe(`Conv1D and the 1-D pools (${backend.name})`, () => {
    test(`Conv1D's forward pass matches the naive loop over ${CONVS.length * 2} configurations`, () => {
      const failures: string[] = [];
      for (const o of CONVS)
        for (const activation of ["linear", "tanh"] as const) {
          const probe = new LayerProbe(convOf(o, activation), new Heap(backend.make()), [o.steps, o.channels], BATCH, 3);
          fill(probe, 7);
          const m = worstMismatch(probe.forward(), naiveOf(probe, o, activation), 1e-5, 1e-5);
          if (!(m.worst <= 1)) failures.push(`${label(o, activation)}: y[${m.at}] ${m.got} vs naive ${m.want}`);
        }
      expect(failures).toEqual([]);
    });

    test(`Conv1D's gradients vs finite differences over ${CONVS.length * 2} configurations`, () => {
      const failures: string[] = [];
      for (const o of CONVS)
        for (const activation of ["linear", "tanh"] as const) {
          const probe = new LayerProbe(convOf(o, activation), new Heap(backend.make()), [o.steps, o.channels], BATCH, 3);
          fill(probe, 7);
          failures.push(...gradientFailures(probe, backend, label(o, activation)));
        }
      expect(failures).toEqual([]);
    });

    test(`MaxPool1D and AveragePool1D gradients vs finite differences over ${POOLS.length} configurations`, () => {
      const failures: string[] = [];
      for (const o of POOLS) {
        const probe = new LayerProbe(poolOf(o), new Heap(backend.make()), [7, 3], BATCH, 3);
        distinct(probe);
        failures.push(...gradientFailures(probe, backend, `${o.type} pool=${o.poolSize} s=${o.strides ?? "default"} ${o.padding}`));
      }
      expect(failures).toEqual([]);
    });
  });
}

describe("the checks can fail", () => {
  const backend = BACKENDS[0];

  test("'causal' padding put on the right instead of the left is caught by the naive loop", () => {
    const o = CONVS[0];
    const probe = new LayerProbe(convOf({ ...o, padding: [0, 2] }, "linear"), new Heap(backend.make()), [o.steps, o.channels], BATCH, 3);
    fill(probe, 7);
    expect(worstMismatch(probe.forward(), naiveOf(probe, o, "linear"), 1e-5, 1e-5).worst).toBeGreaterThan(1);
  });

  test("a grouped kernel whose two groups are swapped is caught by the naive loop", () => {
    const o = CONVS[2]; // 4 channels → 6 filters in 2 groups: kernel [2, 2, 6]
    const probe = new LayerProbe(convOf(o, "linear"), new Heap(backend.make()), [o.steps, o.channels], BATCH, 3);
    fill(probe, 7);
    const w = probe.paramView(probe.layer.kernel), swapped = new Float32Array(w.length);
    for (let r = 0; r < w.length / 6; r++) for (let f = 0; f < 6; f++) swapped[r * 6 + f] = w[r * 6 + ((f + 3) % 6)];
    expect(worstMismatch(probe.forward(), naiveOf(probe, o, "linear"), 1e-5, 1e-5).worst).toBeLessThanOrEqual(1);
    expect(worstMismatch(probe.forward(), naiveOf(probe, o, "linear", swapped), 1e-5, 1e-5).worst).toBeGreaterThan(1);
  });

  test("a causal Conv1D whose col2im pads one step more on the left than its im2col is caught (in ∂/∂input)", () => {
    const o = CONVS[1];
    const probe = new LayerProbe(convOf(o, "tanh"), new Heap(backend.make()), [o.steps, o.channels], BATCH, 3);
    fill(probe, 7);
    const layer = probe.layer as unknown as { window: { padLeft: number }; backward: SingleInputLayer["backward"] };
    const backward = layer.backward.bind(layer);
    layer.backward = (dy, batch, need) => {
      layer.window.padLeft += 1;
      try {
        return backward(dy, batch, need);
      } finally {
        layer.window.padLeft -= 1;
      }
    };
    // dW comes from the forward pass's patches; only the scatter back to the input reads the padding.
    expect(gradientFailures(probe, backend, "tampered").join("\n")).toContain("tampered [simd] ∂/∂input");
  });
});

describe("configs, errors and masks", () => {
  test("config round trips through layerFromConfig, with Keras' spellings and [n] tuples", () => {
    const conv = new Conv1D({ filters: 4, kernelSize: 3, strides: 2, padding: "causal", dilationRate: 2, groups: 2, activation: "relu", useBias: false, kernelRegularizer: { l1: 0, l2: 0.01 }, name: "c" });
    const config = conv.getConfig();
    expect(config).toMatchObject({ type: "Conv1D", name: "c", filters: 4, kernelSize: 3, strides: 2, padding: "causal", dilationRate: 2, groups: 2, activation: "relu", useBias: false });
    expect(layerFromConfig(config, "layer 1").getConfig()).toEqual(config);
    for (const padding of ["valid", "same", 3, [1, 2]]) {
      const c = layerFromConfig({ type: "Convolution1D", filters: 2, kernelSize: [3], strides: [1], padding }, "layer 1");
      expect(c).toBeInstanceOf(Conv1D);
      expect(layerFromConfig(c.getConfig(), "layer 1").getConfig()).toEqual(c.getConfig());
      expect(c.getConfig()).toMatchObject({ kernelSize: 3, strides: 1, padding });
    }
    // Defaults are not written back: a plain Conv1D's config stays small.
    expect(Object.keys(new Conv1D({ filters: 2, kernelSize: 3 }).getConfig())).not.toContain("dilationRate");
    for (const [alias, type] of [["MaxPooling1D", "MaxPool1D"], ["AveragePooling1D", "AveragePool1D"], ["AvgPool1D", "AveragePool1D"]]) {
      const pool = layerFromConfig({ type: alias, poolSize: [3], padding: "same", name: "p" }, "layer 2");
      expect(pool.getConfig()).toEqual({ type, name: "p", poolSize: 3, strides: 3, padding: "same" });
      expect(layerFromConfig(pool.getConfig(), "layer 2").getConfig()).toEqual(pool.getConfig());
    }
  });

  test("mistakes are InputErrors that say what is wrong", () => {
    const error = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(error(() => new Conv1D({ filters: 2, kernelSize: 5, name: "c" }).computeOutputShape([3, 2]))).toContain("c (Conv1D): a kernel of 5 does not fit 3 steps");
    expect(error(() => new Conv1D({ filters: 2, kernelSize: 3, dilationRate: 3, padding: 1 }).computeOutputShape([4, 2]))).toContain("dilated by 3 (7 steps) does not fit 4 steps");
    expect(error(() => new Conv1D({ filters: 4, kernelSize: 3, groups: 2 }).computeOutputShape([8, 3]))).toContain("2 groups must divide both the 3 input channels and the 4 filters");
    expect(error(() => new Conv1D({ filters: 3, kernelSize: 3, groups: 2 }).computeOutputShape([8, 4]))).toContain("2 groups must divide");
    expect(error(() => new Conv1D({ filters: 2, kernelSize: 3 }).computeOutputShape([8, 8, 3]))).toContain("needs sequences shaped [steps, channels] but gets [8,8,3]");
    expect(error(() => new MaxPool1D().computeOutputShape([8, 8, 3]))).toContain("needs sequences shaped [steps, channels]");
    expect(error(() => new AveragePool1D({ poolSize: 5 }).computeOutputShape([3, 2]))).toContain("a pool of 5 steps does not fit 3 steps");
    expect(error(() => new Conv1D({ filters: 2, kernelSize: 0 }))).toContain("'kernelSize' must be a positive integer");
    expect(error(() => layerFromConfig({ type: "Conv1D", filters: 2, kernelSize: 3, padding: "full" }, "layer 1"))).toContain("'padding' must be 'valid', 'same', 'causal'");
    expect(error(() => layerFromConfig({ type: "MaxPooling1D", padding: "causal" }, "layer 1"))).toContain("'padding' cannot be 'causal'");
    expect(error(() => layerFromConfig({ type: "Conv1D", filters: 2, kernelSize: 3, dilation: 2 }, "layer 1"))).toContain("'dilation' is not a Conv1D option");
    // 'same' and 'causal' fit any length.
    expect(new Conv1D({ filters: 2, kernelSize: 5, padding: "causal" }).computeOutputShape([2, 3])).toEqual([2, 2]);
    expect(new Conv1D({ filters: 2, kernelSize: 5, padding: "same", strides: 2 }).computeOutputShape([3, 3])).toEqual([2, 2]);
  });

  test("masks are refused: a convolution or pool over padded steps would count the padding", () => {
    for (const layer of [new Conv1D({ filters: 2, kernelSize: 3 }), new MaxPool1D(), new AveragePool1D()] as Layer[]) {
      expect(() => layer.acceptMasks([true])).toThrow(InputError);
      expect(layer.acceptMasks([false])).toBe(false);
    }
    const model = new Sequential({ inputShape: [6], layers: [new Embedding({ inputDim: 5, outputDim: 3, maskZero: true }), new Conv1D({ filters: 2, kernelSize: 3, name: "conv" })] });
    expect(() => model.build()).toThrow(/conv \(Conv1D\) does not support masking/);
  });
});

describe("nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d", () => {
  const out = (l: number, k: number, s: number, p: number, d: number) => Math.floor((l + 2 * p - d * (k - 1) - 1) / s) + 1;

  test("output lengths follow PyTorch's formula; the traced layer carries the options and a fused ReLU", () => {
    const failures: string[] = [];
    for (const l of [7, 10]) for (const k of [1, 3, 4]) for (const s of [1, 2]) for (const p of [0, 1, 2]) for (const d of [1, 2]) {
      const m = new nn.Conv1d(2, 3, k, { stride: s, padding: p, dilation: d });
      const shape = m.call(tensor(seededValues(l * 2, 1), [1, l, 2])).shape;
      if (shape[1] !== out(l, k, s, p, d) || shape[2] !== 3) failures.push(`Conv1d k=${k} s=${s} p=${p} d=${d} on ${l}: [${shape}]`);
    }
    expect(failures).toEqual([]);
    const m = new nn.Sequential(new nn.Conv1d(4, 6, 3, { padding: "same", groups: 2, dilation: 2 }), new nn.ReLU(), new nn.MaxPool1d(2), new nn.AvgPool1d(3, 1));
    expect(m.call(tensor(seededValues(9 * 4, 3), [1, 9, 4])).shape).toEqual([1, 2, 6]);
    const conv = m.model.layers[0] as Conv1D;
    expect(conv).toBeInstanceOf(Conv1D);
    expect(conv.getConfig()).toMatchObject({ padding: "same", groups: 2, dilationRate: 2, activation: "relu" });
    expect(conv.kernel.shape).toEqual([3, 2, 6]);
    expect(m.model.layers.map((l) => l.type)).toEqual(["Conv1D", "MaxPool1D", "AveragePool1D"]);
    expect(() => new nn.Conv1d(3, 2, 3).call(tensor(seededValues(12, 1), [1, 3, 4]))).toThrow(/needs sequences \[length, 3\] \(channels last\)/);
    expect(() => new nn.Conv1d(2, 2, 3, { stride: 2, padding: "same" }).call(tensor(seededValues(12, 1), [1, 6, 2]))).toThrow(/'same' needs stride 1/);
  });
});

test("Embedding → Conv1D → GlobalMaxPool1D → Dense learns whether the bigram (3, 7) occurs", async () => {
  const n = 400, steps = 12, rng = new Rng(17);
  const x = new Float32Array(n * steps), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: steps }, () => 1 + Math.floor(rng.uniform(0, 9)));
    // Take the bigram out wherever chance put it, then plant it in half of the rows.
    for (let t = 1; t < steps; t++) if (row[t - 1] === 3 && row[t] === 7) row[t] = 8;
    if (i % 2 === 0) {
      const at = Math.floor(rng.uniform(0, steps - 1));
      row[at] = 3;
      row[at + 1] = 7;
    }
    x.set(row, i * steps);
    y[i] = i % 2 === 0 ? 1 : 0;
  }
  const model = new Sequential({
    inputShape: [steps], seed: 3,
    layers: [
      new Embedding({ inputDim: 10, outputDim: 6 }), new Conv1D({ filters: 8, kernelSize: 2, activation: "relu" }),
      new GlobalMaxPool1D(), new Dense({ units: 1, activation: "sigmoid" }),
    ],
  });
  model.compile({ optimizer: new Adam({ learningRate: 0.02 }), loss: "binaryCrossentropy", metrics: ["accuracy"] });
  const history = await model.fit(x, y, { epochs: 15, batchSize: 32, shuffle: true });
  const loss = history.history.loss;
  if (process.env.WASMGRAD_REPORT) console.log(`toy bigram task: loss ${loss[0].toFixed(3)} → ${loss[loss.length - 1].toFixed(3)}, accuracy ${model.evaluate(x, y).accuracy}`);
  expect(loss[loss.length - 1]).toBeLessThan(0.3 * loss[0]);
  expect(model.evaluate(x, y).accuracy).toBeGreaterThan(0.95);
});
