// LayerNormalization against TensorFlow.js' own layerNormalization (tfjs-layers on tfjs-backend-cpu), given
// the same weights and inputs, on the SIMD kernels and on the plain reference:
//   layer — the layer alone, L = Σ r ⊙ y for a fixed r: the output, and the gradients of L with respect to
//           the input, γ and β, for samples of rank 1–3, axis −1 and [-2, -1] (positive [1, 2] too), with
//           center and scale off, ε 1e-3 (Keras' default) and rows offset by 1000;
//   model — Dense(6) → LayerNormalization → Dense(3, softmax) on [T, F] = [5, 4] per sample (the Denses work
//           per step), sparse cross-entropy per step: outputs, the loss and every parameter's gradient, for
//           axis −1 and for [-2, -1] without β.
// tfjs' layer is built by autodiff through tf.moments (mean, then the mean of squared deviations) and
// tf.batchNormalization, so its gradients are independent of our hand-written backward pass. tfjs 4.22's
// gradient fails with center or scale false (its batchNormalization gradient trips on the missing offset or
// scale), so there its layer keeps β = 0 or γ = 1, which computes the same function, and that parameter is
// not compared.
//
// Tolerance: outputs |Δ| ≤ 1e-5 + 1e-5·|want|; loss |Δ| ≤ 1e-5·(1 + loss); gradients |Δ| ≤ 1e-5 + 1e-4·|g| —
// f32 on both sides, sums over rows and the batch in different orders. Measured, the worst element sits at
// about a quarter of its tolerance; an error in any term of the backward pass is off by O(0.1), and the last
// test shows that tfjs' numbers differ from a layer with another ε. Rows at 1000 ± 1 are the exception: tfjs
// sums the raw values for its mean in f32 and keeps ~1e-4 of error in x − mean, so there both sides are held
// to 5e-4 + 1e-3·|want| and, against f64 arithmetic on the same inputs, ours must be the nearer
// (test/kernels/layer-normalization.test.ts holds ours to 1e-5 of it).

import { beforeAll, describe, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import * as tfl from "@tensorflow/tfjs-layers";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Dense, Input, LayerNormalization, Model, type LayerNormalizationOptions } from "../../src/index";
import { LayerProbe } from "../support/gradient-check";
import { seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const BATCH = 3;
const sym = (t: unknown) => t as tfl.SymbolicTensor;
const variable = (w: tfl.LayerVariable) => (w as unknown as { val: tf.Variable }).val;

interface LayerCase {
  shape: number[];
  options: LayerNormalizationOptions;
  offset?: boolean;
}

const LAYER_CASES: LayerCase[] = [
  { shape: [9], options: {} },
  { shape: [9], options: { center: false, scale: false } },
  { shape: [5, 6], options: {} },
  { shape: [5, 6], options: { axis: [-2, -1] } },
  { shape: [5, 6], options: { axis: [1, 2], center: false } },
  { shape: [5, 6], options: { axis: -1, scale: false, epsilon: 1e-5 } },
  { shape: [2, 3, 7], options: { axis: [-2, -1] } },
  { shape: [2, 3, 7], options: { axis: -1, epsilon: 1e-5 }, offset: true },
];

const backends: { name: string; make: () => Kernels }[] = [
  { name: "wasm", make: () => wasmVariants()[0].make() },
  { name: "reference", make: createReferenceKernels },
];

/** tfjs' options for ours: center and scale always on (see the header), ε replaced where asked. */
function tfjsTwin(options: LayerNormalizationOptions, epsilon?: number): Parameters<typeof tfl.layers.layerNormalization>[0] {
  return { axis: options.axis, epsilon: epsilon ?? options.epsilon, center: true, scale: true };
}

/**
 * Assigns our values to tfjs' variables in order, with γ = 1 and β = 0 where ours has none. Returns, for each
 * tfjs variable, the index of our parameter it stands for, or −1 for such a held γ or β.
 */
function assignWeights(vars: tf.Variable[], ours: { name: string; values: Float32Array }[], options: LayerNormalizationOptions): number[] {
  const pairing: number[] = [];
  let next = 0;
  for (const v of vars) {
    const missing = (v.name.includes("layer_normalization") || v.name.includes("LayerNormalization")) &&
      ((/gamma/.test(v.name) && options.scale === false) || (/beta/.test(v.name) && options.center === false));
    if (missing) {
      v.assign(/gamma/.test(v.name) ? tf.onesLike(v) : tf.zerosLike(v));
      pairing.push(-1);
      continue;
    }
    const mine = ours[next];
    if (!mine || mine.values.length !== v.size) throw new Error(`tfjs weight ${v.name} [${v.shape}] has no counterpart ${mine ? `(ours ${mine.name} has ${mine.values.length})` : ""}`);
    v.assign(tf.tensor(mine.values, v.shape));
    pairing.push(next++);
  }
  if (next !== ours.length) throw new Error(`${ours.length - next} of our weights have no tfjs counterpart`);
  return pairing;
}

/** y of the layer in f64 on the same f32 inputs, for the rows at 1000. */
function layerNormF64(x: Float32Array, cols: number, gamma: Float32Array | undefined, beta: Float32Array | undefined, epsilon: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
    const mu = row.reduce((a, b) => a + b, 0) / cols;
    const inv = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / cols + Math.fround(epsilon));
    row.forEach((v, c) => (y[r * cols + c] = (v - mu) * inv * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0)));
  }
  return y;
}

function layerFailures(c: LayerCase, kernels: Kernels, epsilonForTfjs?: number): string[] {
  const layer = new LayerNormalization(c.options);
  const probe = new LayerProbe(layer, new Heap(kernels), c.shape, BATCH, 5);
  const heap = probe.heap;
  const x = c.offset ? seededValues(probe.inputCount, 11, 999, 1001) : seededValues(probe.inputCount, 11, -2, 2);
  heap.f32(probe.input, probe.inputCount).set(x);
  const params = layer.params.map((p, i) => seededValues(p.size, 20 + i, -1.5, 1.5));
  layer.params.forEach((p, i) => heap.f32(p.value, p.size).set(params[i]));
  const y = probe.forward();
  const analytic = probe.analytic();

  const theirs = tfl.layers.layerNormalization(tfjsTwin(c.options, epsilonForTfjs));
  const xt = tf.variable(tf.tensor(x, [BATCH, ...c.shape]));
  theirs.apply(xt);
  const vars = theirs.trainableWeights.map(variable);
  const pairing = assignWeights(vars, layer.params.map((p, i) => ({ name: p.name, values: params[i] })), c.options);
  const r = tf.tensor(probe.r, [BATCH, ...c.shape]);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(r, theirs.apply(xt) as tf.Tensor)) as tf.Scalar, [xt, ...vars]);
  const theirY = (theirs.apply(xt) as tf.Tensor).dataSync() as Float32Array;

  const failures: string[] = [];
  const label = `[${c.shape}] ${JSON.stringify(c.options)}${c.offset ? " offset" : ""}`;
  const [atol, rtol] = c.offset ? [5e-4, 1e-3] : [1e-5, 1e-4];
  const out = worstMismatch(y, theirY, c.offset ? atol : 1e-5, c.offset ? rtol : 1e-5);
  if (out.worst > 1) failures.push(`${label} y[${out.at}] ${out.got} vs ${out.want}`);
  const dx = worstMismatch(analytic.input, grads[xt.name].dataSync(), atol, rtol);
  if (dx.worst > 1) failures.push(`${label} dx[${dx.at}] ${dx.got} vs ${dx.want}`);
  pairing.forEach((mine, j) => {
    if (mine < 0) return;
    const p = layer.params[mine];
    if (p.shape.join() !== vars[j].shape.join()) failures.push(`${label} ${p.name} shaped [${p.shape}], tfjs [${vars[j].shape}]`);
    const g = worstMismatch(analytic.params[mine], grads[vars[j].name].dataSync(), atol, rtol);
    if (g.worst > 1) failures.push(`${label} ${p.name}[${g.at}] ${g.got} vs ${g.want}`);
  });
  if (c.offset) {
    const cols = c.shape[c.shape.length - 1];
    const gamma = layer.gamma ? params[0] : undefined, beta = layer.beta ? params[layer.gamma ? 1 : 0] : undefined;
    const exact = layerNormF64(x, cols, gamma, beta, c.options.epsilon ?? 1e-3);
    const [mine, tfjs] = [worstMismatch(y, exact, 1e-7, 0).worst, worstMismatch(theirY, exact, 1e-7, 0).worst];
    if (!(mine < tfjs)) failures.push(`${label}: ours is ${mine}·1e-7 from f64, tfjs ${tfjs}·1e-7`);
  }
  return failures;
}

const T = 5, F = 4, H = 6, C = 3;
const LABELS = Array.from({ length: BATCH * T }, (_, i) => (i * 7 + 1) % C);

function modelFailures(options: LayerNormalizationOptions, kernels: Kernels): string[] {
  const x = Input({ shape: [T, F] });
  const ours = new Model({
    inputs: x,
    outputs: new Dense({ units: C, activation: "softmax" }).apply(new LayerNormalization(options).apply(new Dense({ units: H }).apply(x))),
    kernels,
  });
  ours.setWeights(ours.params.map((p, i) => seededValues(p.size, 40 + i, -0.9, 0.9)));
  ours.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy" });
  const tx = tfl.input({ shape: [T, F] });
  const theirs = tfl.model({
    inputs: tx,
    outputs: sym(tfl.layers.dense({ units: C, activation: "softmax" }).apply(tfl.layers.layerNormalization(tfjsTwin(options)).apply(tfl.layers.dense({ units: H }).apply(tx)))),
  });
  const vars = theirs.trainableWeights.map(variable);
  const pairing = assignWeights(vars, ours.params.map((p, i) => ({ name: p.name, values: ours.getWeights()[i].data })), options);
  const data = seededValues(BATCH * T * F, 9, -1.5, 1.5);
  const input = tf.tensor(data, [BATCH, T, F]);

  const failures: string[] = [];
  const out = worstMismatch(ours.predictAll(data)[0].data, (theirs.predict(input) as tf.Tensor).dataSync(), 1e-5, 1e-5);
  if (out.worst > 1) failures.push(`outputs [${out.at}] ${out.got} vs ${out.want}`);
  const labels = tf.oneHot(tf.tensor2d(LABELS, [BATCH, T], "int32"), C);
  const { value, grads } = tf.variableGrads(
    () => tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.log(theirs.apply(input, { training: true }) as tf.Tensor)), -1))) as tf.Scalar,
    vars,
  );
  const mine = ours.computeGradients(data, Int32Array.from(LABELS), { training: true });
  const theirLoss = value.dataSync()[0];
  if (Math.abs(mine.loss - theirLoss) > 1e-5 * (1 + Math.abs(theirLoss))) failures.push(`loss ${mine.loss} vs ${theirLoss}`);
  pairing.forEach((i, j) => {
    if (i < 0) return;
    const r = worstMismatch(mine.grads[i].data, grads[vars[j].name].dataSync(), 1e-5, 1e-4);
    if (r.worst > 1) failures.push(`${ours.params[i].name}[${r.at}]: ours ${r.got}, tfjs ${r.want}`);
  });
  if (pairing.filter((i) => i >= 0).length !== ours.params.length) failures.push("not every parameter was compared");
  return failures;
}

for (const backend of backends) {
  describe(`LayerNormalization equals tfjs-layers' layerNormalization on the same weights (${backend.name})`, () => {
    for (const c of LAYER_CASES)
      test(`layer alone: [${c.shape}] ${JSON.stringify(c.options)}${c.offset ? ", rows at 1000" : ""}: output, dx, dγ, dβ`, () => {
        expect(layerFailures(c, backend.make())).toEqual([]);
      });
    for (const options of [{}, { axis: [-2, -1], center: false }] as LayerNormalizationOptions[])
      test(`Dense → LayerNormalization ${JSON.stringify(options)} → Dense(softmax) on [T, F]: outputs, loss, every gradient`, () => {
        expect(modelFailures(options, backend.make())).toEqual([]);
      });
  });
}

test("the check can fail: tfjs with ε 1e-2 against ours with 1e-3 differs", () => {
  const failures = layerFailures({ shape: [5, 6], options: {} }, wasmVariants()[0].make(), 1e-2);
  expect(failures.length).toBeGreaterThan(0);
  expect(failures[0]).toMatch(/y\[/);
});
