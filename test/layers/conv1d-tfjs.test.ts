// Conv1D, MaxPool1D and AveragePool1D against TensorFlow.js (tfjs-layers 4 on tfjs-backend-cpu) on identical
// weights and inputs: the output, the loss L = Σ r ⊙ y (a fixed random r), ∂L/∂x and every parameter gradient.
//   Conv1D        vs tf.layers.conv1d: kernel sizes 1, 2, 3, 5 × strides 1, 2, 3 at dilation 1, and dilation 2
//                 at stride 1 (TF forbids both above 1) × 'valid', 'same', 'causal'; 7, 10 and 13 steps; 1, 3
//                 and 5 channels; 2 to 4 filters; batch 2 and 3; linear, tanh, relu, sigmoid; some without bias.
//                 tfjs-layers has no 'causal' (NotImplementedError): there it is Keras' own definition,
//                 tf.pad by dilation·(k − 1) steps on the left, then the layer with 'valid'.
//                 tfjs has no gradient for dilated convolutions: with dilation 2 the output is compared with
//                 tf.layers.conv1d and the gradients with tf.conv1d on the undilated kernel of (k − 1)·2 + 1
//                 taps that holds ours at every second tap and zeros between (the same function of x, W, b;
//                 W's gradient read back at its taps).
//   MaxPool1D     vs tf.layers.maxPooling1d, AveragePool1D vs tf.layers.averagePooling1d: pools 1, 2, 3, 5 ×
//                 strides 1, 2, 3 and the default (= pool) × 'valid' and 'same'. tfjs-backend-cpu's AvgPoolGrad
//                 divides every window by the full pool size, also where 'same' padding left fewer real steps
//                 in it, so its gradient there is not the derivative of its own forward (nor Keras'); the
//                 'same' average's gradients are compared with the same mean written in differentiable tfjs
//                 ops (zero padding, 'valid' average, × pool / real steps per window) and its output with the
//                 layer's.
// Our side runs on both WebAssembly builds and on the reference kernels; tfjs runs once per configuration.
//
// Tolerance: outputs |Δ| ≤ 1e-5 + 1e-5·|y|, gradients |Δ| ≤ 1e-4 + 1e-4·|g|, loss |Δ| ≤ 1e-4 + 1e-5·Σ|r ⊙ y|
// (as convolution-variants-tfjs: f32 on both sides, summed in different orders; an output sums ≤ 25 products
// of values ≤ 1 and a gradient ≤ batch·steps = 39, so honest differences stay near 1e-6 relative, while a tap
// on the wrong step, a padding off by one or a transposed kernel moves results by whole terms, ≥ 1e-2).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import * as tfl from "@tensorflow/tfjs-layers";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Conv1D, type Conv1DPadding } from "../../src/layers/conv1d";
import type { Layer } from "../../src/layers/layer";
import { AveragePool1D, MaxPool1D } from "../../src/layers/pool1d";
import { LayerProbe } from "../support/gradient-check";
import { seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const OUTPUT_TOL = { atol: 1e-5, rtol: 1e-5 };
const GRAD_TOL = { atol: 1e-4, rtol: 1e-4 };
/** Worst |ours − tfjs| / tolerance seen, for the report (WASMGRAD_REPORT=1). */
const worst = { outputs: 0, gradients: 0, loss: 0 };

type Activation = "linear" | "tanh" | "relu" | "sigmoid";

interface Case {
  label: string;
  ours: () => Layer;
  steps: number;
  channels: number;
  batch: number;
  /** tfjs's output for x with our weights (kernel, then bias), and a function of x whose gradients we compare. */
  theirs: (weights: Float32Array[]) => { forward: (x: tf.Tensor) => tf.Tensor; differentiable: (x: tf.Tensor) => tf.Tensor; variables: tf.Variable[]; readGrad?: (k: number, g: tf.Tensor) => Float32Array };
}

/** A tfjs layer built for [batch, steps, channels], holding our weights. */
function built<T extends tfl.layers.Layer>(layer: T, steps: number, channels: number, weights: Float32Array[]): T {
  layer.apply(tf.zeros([1, steps, channels]));
  if (weights.length) layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
  return layer;
}

function convCase(o: { k: number; s: number; d: number; padding: "valid" | "same" | "causal"; steps: number; channels: number; filters: number; batch: number; activation: Activation; useBias: boolean }): Case {
  const span = (o.k - 1) * o.d + 1;
  return {
    label: `Conv1D ${o.steps}×${o.channels}→${o.filters} k=${o.k} s=${o.s} d=${o.d} ${o.padding} ${o.activation}${o.useBias ? "" : " no-bias"} batch ${o.batch}`,
    ours: () => new Conv1D({ filters: o.filters, kernelSize: o.k, strides: o.s, dilationRate: o.d, padding: o.padding, activation: o.activation, useBias: o.useBias }),
    steps: o.steps, channels: o.channels, batch: o.batch,
    theirs: (weights) => {
      // Keras' causal padding: dilation·(k − 1) zeros before the first step, then 'valid'.
      const pad = (x: tf.Tensor) => (o.padding === "causal" ? tf.pad(x, [[0, 0], [span - 1, 0], [0, 0]]) : x);
      const tfPadding = o.padding === "same" ? "same" : "valid";
      const layer = built(tfl.layers.conv1d({ filters: o.filters, kernelSize: o.k, strides: o.s, dilationRate: o.d, padding: tfPadding, activation: o.activation, useBias: o.useBias }), o.steps + (o.padding === "causal" ? span - 1 : 0), o.channels, weights);
      const forward = (x: tf.Tensor) => layer.apply(pad(x)) as tf.Tensor;
      if (o.d === 1) return { forward, differentiable: forward, variables: layer.trainableWeights.map((w) => w.read() as tf.Variable) };
      // Dilation: the undilated kernel of `span` taps with ours at every d-th, zeros between.
      const kernel = tf.variable(tf.tensor(weights[0], [o.k, o.channels, o.filters]));
      const bias = o.useBias ? tf.variable(tf.tensor(weights[1], [o.filters])) : undefined;
      const spread = tf.tensor2d(Array.from({ length: span * o.k }, (_, i) => (Math.floor(i / o.k) === (i % o.k) * o.d ? 1 : 0)), [span, o.k]);
      const differentiable = (x: tf.Tensor) => {
        const wide = tf.reshape(tf.matMul(spread, tf.reshape(kernel, [o.k, o.channels * o.filters])), [span, o.channels, o.filters]) as tf.Tensor3D;
        let z: tf.Tensor = tf.conv1d(pad(x) as tf.Tensor3D, wide, o.s, tfPadding);
        if (bias) z = tf.add(z, bias);
        return o.activation === "linear" ? z : o.activation === "tanh" ? tf.tanh(z) : o.activation === "relu" ? tf.relu(z) : tf.sigmoid(z);
      };
      return { forward, differentiable, variables: bias ? [kernel, bias] : [kernel] };
    },
  };
}

function poolCase(type: "MaxPool1D" | "AveragePool1D", o: { pool: number; s?: number; padding: "valid" | "same"; steps: number; channels: number; batch: number }): Case {
  const options = { poolSize: o.pool, strides: o.s, padding: o.padding };
  return {
    label: `${type} ${o.steps}×${o.channels} pool=${o.pool} s=${o.s ?? "default"} ${o.padding} batch ${o.batch}`,
    ours: () => (type === "MaxPool1D" ? new MaxPool1D(options) : new AveragePool1D(options)),
    steps: o.steps, channels: o.channels, batch: o.batch,
    theirs: () => {
      const layer = built(type === "MaxPool1D" ? tfl.layers.maxPooling1d(options) : tfl.layers.averagePooling1d(options), o.steps, o.channels, []);
      const forward = (x: tf.Tensor) => layer.apply(x) as tf.Tensor;
      if (type === "MaxPool1D" || o.padding === "valid") return { forward, differentiable: forward, variables: [] };
      // 'same' average as differentiable ops: TF's padding (the odd step on the right), a 'valid' mean over
      // full windows, rescaled by pool / real steps in each window.
      const s = o.s ?? o.pool, out = Math.ceil(o.steps / s);
      const total = Math.max((out - 1) * s + o.pool - o.steps, 0), left = Math.floor(total / 2);
      const real = Array.from({ length: out }, (_, j) => Math.min(j * s - left + o.pool, o.steps) - Math.max(j * s - left, 0));
      const scale = tf.tensor(real.map((n) => o.pool / n), [1, out, 1]);
      const differentiable = (x: tf.Tensor) => {
        const padded = tf.pad(x, [[0, 0], [left, total - left], [0, 0]]);
        return tf.mul(tf.squeeze(tf.avgPool(tf.expandDims(padded, 1) as tf.Tensor4D, [1, o.pool], [1, s], "valid"), [1]), scale);
      };
      return { forward, differentiable, variables: [] };
    },
  };
}

function cases(): Case[] {
  const out: Case[] = [];
  const steps = [7, 10, 13], channels = [1, 3, 5], activations: Activation[] = ["linear", "tanh", "relu", "sigmoid"];
  let i = 0;
  for (const k of [1, 2, 3, 5])
    for (const [s, d] of [[1, 1], [2, 1], [3, 1], [1, 2]])
      for (const padding of ["valid", "same", "causal"] as const) {
        const span = (k - 1) * d + 1;
        const n = steps[i % 3] >= span ? steps[i % 3] : 13;
        out.push(convCase({ k, s, d, padding, steps: n, channels: channels[Math.floor(i / 3) % 3], filters: 2 + (i % 3), batch: 2 + (i % 2), activation: activations[i % 4], useBias: i % 5 !== 4 }));
        i++;
      }
  for (const type of ["MaxPool1D", "AveragePool1D"] as const)
    for (const pool of [1, 2, 3, 5])
      for (const s of [undefined, 1, 2, 3])
        for (const padding of ["valid", "same"] as const) {
          out.push(poolCase(type, { pool, s, padding, steps: steps[i % 3], channels: channels[Math.floor(i / 3) % 3], batch: 2 + (i % 2) }));
          i++;
        }
  return out;
}

interface Results {
  y: Float32Array;
  loss: number;
  /** Σ |r ⊙ y|, the loss's scale. */
  scale: number;
  dx: Float32Array;
  params: Float32Array[];
  shape: number[];
}

const inputOf = (c: Case) => seededValues(c.batch * c.steps * c.channels, 21 + c.steps + c.channels);
const rOf = (c: Case, count: number) => seededValues(count, 77 + count);

/** Our results on one backend; `weights` overrides the parameters (default: seeded values). */
function ours(c: Case, kernels: Kernels, weights?: Float32Array[]): Results {
  const probe = new LayerProbe(c.ours(), new Heap(kernels), [c.steps, c.channels], c.batch, 5);
  probe.inputView().set(inputOf(c));
  probe.r.set(rOf(c, probe.outputCount));
  (weights ?? weightsOf(probe.layer)).forEach((w, k) => probe.paramView(probe.layer.params[k]).set(w));
  const y = probe.forward();
  let loss = 0, scale = 0;
  y.forEach((v, j) => ((loss += probe.r[j] * v), (scale += Math.abs(probe.r[j] * v))));
  const analytic = probe.analytic();
  return { y, loss, scale, dx: analytic.input, params: analytic.params, shape: probe.layer.outputShape };
}

function weightsOf(layer: Layer): Float32Array[] {
  return layer.params.map((p, k) => seededValues(p.size, 31 + k, p.name.endsWith("/bias") ? -0.5 : -1, p.name.endsWith("/bias") ? 0.5 : 1));
}

/** tfjs's results for the same input, weights and r. */
function theirs(c: Case, weights: Float32Array[]): Results {
  return tf.tidy(() => {
    const side = c.theirs(weights);
    const x = tf.tensor(inputOf(c), [c.batch, c.steps, c.channels]);
    const y = side.forward(x);
    const r = tf.tensor(rOf(c, y.size), y.shape);
    const loss = (input: tf.Tensor) => tf.sum(tf.mul(side.differentiable(input), r)) as tf.Scalar;
    const dx = tf.grad(loss)(x).dataSync() as Float32Array;
    const grads = side.variables.length ? tf.variableGrads(() => loss(x), side.variables).grads : {};
    const params = side.variables.map((v) => grads[v.name]);
    const yv = y.dataSync() as Float32Array, rv = r.dataSync();
    const result = {
      y: yv.slice(), loss: loss(x).dataSync()[0], scale: yv.reduce((a, v, j) => a + Math.abs(v * rv[j]), 0), dx: dx.slice(),
      params: params.map((g) => (g.dataSync() as Float32Array).slice()), shape: y.shape.slice(1),
    };
    side.variables.forEach((v) => v.dispose());
    return result;
  });
}

function compare(label: string, a: Results, b: Results, record = true): string[] {
  const failures: string[] = [];
  if (a.shape.join() !== b.shape.join()) return [`${label}: output shape [${a.shape}], tfjs [${b.shape}]`];
  const one = (what: string, x: Float32Array, want: Float32Array, tol: { atol: number; rtol: number }, kind: "outputs" | "gradients") => {
    if (x.length !== want.length) return failures.push(`${label} ${what}: ${x.length} values, tfjs has ${want.length}`);
    const m = worstMismatch(x, want, tol.atol, tol.rtol);
    if (record) worst[kind] = Math.max(worst[kind], m.worst);
    if (!(m.worst <= 1)) failures.push(`${label} ${what}[${m.at}]: ours ${m.got}, tfjs ${m.want}`);
  };
  one("y", a.y, b.y, OUTPUT_TOL, "outputs");
  const lossRatio = Math.abs(a.loss - b.loss) / (1e-4 + 1e-5 * b.scale);
  if (record) worst.loss = Math.max(worst.loss, lossRatio);
  if (!(lossRatio <= 1)) failures.push(`${label} loss: ours ${a.loss}, tfjs ${b.loss}`);
  one("∂/∂x", a.dx, b.dx, GRAD_TOL, "gradients");
  if (a.params.length !== b.params.length) failures.push(`${label}: ${a.params.length} parameters, tfjs ${b.params.length}`);
  else a.params.forEach((g, k) => one(`∂/∂${k === 0 ? "kernel" : "bias"}`, g, b.params[k], GRAD_TOL, "gradients"));
  return failures;
}

const BACKENDS = [...wasmVariants(), { name: "reference", make: () => createReferenceKernels() }];
const ALL = cases();
/** tfjs's side of each case, computed once (on first use, after the cpu backend is set). */
const expected = new Map<Case, Results>();
const theirsOf = (c: Case) => {
  if (!expected.has(c)) {
    const probe = new LayerProbe(c.ours(), new Heap(createReferenceKernels()), [c.steps, c.channels], 1, 5);
    expected.set(c, theirs(c, weightsOf(probe.layer)));
  }
  return expected.get(c)!;
};

for (const type of ["Conv1D", "MaxPool1D", "AveragePool1D"]) {
  const some = ALL.filter((c) => c.label.startsWith(type + " "));
  describe(`${type} vs TensorFlow.js (cpu): outputs, loss and gradients over ${some.length} configurations`, () => {
    for (const backend of BACKENDS) {
      test(backend.name, () => {
        expect(some.flatMap((c) => compare(`${c.label} [${backend.name}]`, ours(c, backend.make()), theirsOf(c)))).toEqual([]);
      });
    }
  });
}

describe("the comparison can fail", () => {
  const kernels = () => BACKENDS[0].make();

  test("a kernel read in PyTorch's [filters, channels, k] order instead of Keras' [k, channels, filters] is caught", () => {
    const c = convCase({ k: 3, s: 1, d: 1, padding: "same", steps: 10, channels: 3, filters: 4, batch: 2, activation: "linear", useBias: true });
    const probe = new LayerProbe(c.ours(), new Heap(createReferenceKernels()), [c.steps, c.channels], 1, 5);
    const [kernel, bias] = weightsOf(probe.layer);
    const [k, cin, f] = probe.layer.params[0].shape;
    const torch = new Float32Array(kernel.length);
    for (let t = 0; t < k; t++) for (let i = 0; i < cin; i++) for (let o = 0; o < f; o++) torch[(o * cin + i) * k + t] = kernel[(t * cin + i) * f + o];
    expect(compare(c.label, ours(c, kernels(), [kernel, bias]), theirsOf(c), false)).toEqual([]);
    expect(compare(c.label, ours(c, kernels(), [torch, bias]), theirsOf(c), false).join("\n")).toContain(" y[");
  });

  test("'same' is TF's split (the odd step on the right): explicit [1, 2] matches it for k = 4, [2, 1] is caught", () => {
    const same = convCase({ k: 4, s: 1, d: 1, padding: "same", steps: 10, channels: 3, filters: 2, batch: 2, activation: "tanh", useBias: true });
    const want = theirsOf(same);
    const explicit = (padding: Conv1DPadding): Case => ({ ...same, ours: () => new Conv1D({ filters: 2, kernelSize: 4, padding, activation: "tanh" }) });
    expect(compare("[1, 2]", ours(explicit([1, 2]), kernels()), want, false)).toEqual([]);
    expect(compare("[2, 1]", ours(explicit([2, 1]), kernels()), want, false).length).toBeGreaterThan(0);
  });

  test("causal is not 'same': a causal Conv1D compared with tfjs's 'same' layer is caught", () => {
    const o = { k: 3, s: 1, d: 1, steps: 10, channels: 3, filters: 2, batch: 2, activation: "linear" as const, useBias: true };
    const causal = convCase({ ...o, padding: "causal" }), same = convCase({ ...o, padding: "same" });
    expect(compare(causal.label, ours(causal, kernels()), theirsOf(causal), false)).toEqual([]);
    expect(compare(causal.label, ours(causal, kernels()), theirsOf(same), false).join("\n")).toContain(" y[");
  });
});

afterAll(() => {
  if (process.env.WASMGRAD_REPORT) console.log(`worst |ours − tfjs| / tolerance: outputs ${worst.outputs.toFixed(3)}, loss ${worst.loss.toFixed(3)}, gradients ${worst.gradients.toFixed(3)}`);
});
