// TimeDistributed: the wrapped layer on every step with one set of weights. Against tfjs-layers'
// timeDistributed on identical weights (cpu backend): Dense with softmax on [T, F] into a per-step loss,
// and Conv2D + Flatten on a sequence of images [T, H, W, C] — outputs, loss and every gradient; plus
// finite differences through the wrapper, masks passed on, config round trip and refusals.
// Tolerance as the other tfjs comparisons: outputs 1e-5; gradients |Δ| ≤ 1e-4 + 1e-3·|g|.

import { beforeAll, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import * as tfl from "@tensorflow/tfjs-layers";
import { Heap } from "../../src/engine/heap";
import { Conv2D, Dense, Flatten, Input, Model, TimeDistributed, type Tensor } from "../../src/index";
import { layerFromConfig } from "../../src/layers/registry";
import { LayerProbe, compareGradients, probeIndices } from "../support/gradient-check";
import { seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const T = 4, BATCH = 3;

test("TimeDistributed(Dense(softmax)) with a per-step loss equals tfjs' timeDistributed", () => {
  const x = Input({ shape: [T, 5] });
  const ours = new Model({ inputs: x, outputs: new TimeDistributed(new Dense({ units: 3, activation: "softmax" })).apply(x), seed: 2 });
  ours.setWeights(ours.params.map((p, i) => seededValues(p.size, 9 + i, -1, 1)));
  ours.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy" });
  const theirs = tfl.sequential({ layers: [tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: 3, activation: "softmax" }), inputShape: [T, 5] })] });
  const vars = theirs.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  ours.getWeights().forEach((w, i) => vars[i].assign(tf.tensor(w.data, [...w.shape])));
  const data = seededValues(BATCH * T * 5, 3, -2, 2), labels = Int32Array.from({ length: BATCH * T }, (_, i) => i % 3);
  const input = tf.tensor(data, [BATCH, T, 5]);
  expect(worstMismatch((ours.predict(data) as Tensor).data, (theirs.predict(input) as tf.Tensor).dataSync(), 1e-5, 0).worst).toBeLessThanOrEqual(1);
  const onehot = tf.reshape(tf.oneHot(tf.tensor1d(labels, "int32"), 3), [BATCH, T, 3]);
  const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.log(theirs.apply(input) as tf.Tensor)), 2))) as tf.Scalar, vars);
  const mine = ours.computeGradients(data, labels);
  expect(Math.abs(mine.loss - value.dataSync()[0])).toBeLessThan(1e-5 * (1 + value.dataSync()[0]));
  ours.params.forEach((_, i) => expect(worstMismatch(mine.grads[i].data, grads[vars[i].name].dataSync(), 1e-4, 1e-3).worst).toBeLessThanOrEqual(1));
});

test("TimeDistributed(Conv2D) over a sequence of images equals tfjs, and the check can fail", () => {
  const x = Input({ shape: [T, 5, 4, 2] });
  const conv = new TimeDistributed(new Conv2D({ filters: 3, kernelSize: 3, activation: "relu" }));
  const ours = new Model({ inputs: x, outputs: new Dense({ units: 1 }).apply(new Flatten().apply(conv.apply(x))), seed: 2 });
  ours.setWeights(ours.params.map((p, i) => seededValues(p.size, 19 + i, -1, 1)));
  ours.compile({ optimizer: "sgd", loss: "meanSquaredError" });
  const theirs = tfl.sequential({ layers: [
    tfl.layers.timeDistributed({ layer: tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: "relu" }), inputShape: [T, 5, 4, 2] }),
    tfl.layers.flatten(), tfl.layers.dense({ units: 1 }),
  ] });
  const vars = theirs.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  ours.getWeights().forEach((w, i) => vars[i].assign(tf.tensor(w.data, [...w.shape])));
  const data = seededValues(BATCH * T * 40, 4, -1, 1), y = seededValues(BATCH, 5);
  const input = tf.tensor(data, [BATCH, T, 5, 4, 2]);
  const theirOut = (theirs.predict(input) as tf.Tensor).dataSync();
  expect(worstMismatch((ours.predict(data) as Tensor).data, theirOut, 1e-5, 0).worst).toBeLessThanOrEqual(1);
  const { grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(theirs.apply(input) as tf.Tensor, tf.tensor(y, [BATCH, 1])))) as tf.Scalar, vars);
  const mine = ours.computeGradients(data, y);
  ours.params.forEach((_, i) => expect(worstMismatch(mine.grads[i].data, grads[vars[i].name].dataSync(), 1e-4, 1e-3).worst).toBeLessThanOrEqual(1));
  // The check can fail: the same images with their steps in reverse order give other outputs.
  const reversed = new Float32Array(data.length);
  for (let b = 0; b < BATCH; b++) for (let t = 0; t < T; t++) reversed.set(data.subarray((b * T + t) * 40, (b * T + t + 1) * 40), (b * T + T - 1 - t) * 40);
  expect(worstMismatch((ours.predict(reversed) as Tensor).data, theirOut, 1e-5, 0).worst).toBeGreaterThan(1);
});

test("finite differences through the wrapper; masks pass; config round trip; refusals", () => {
  const heap = new Heap(wasmVariants()[0].make());
  const layer = new TimeDistributed(new Dense({ units: 2, activation: "tanh" }), { name: "td" });
  const probe = new LayerProbe(layer, heap, [T, 3], BATCH, 2);
  heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, 6, -1, 1));
  const analytic = probe.analytic();
  const tol = { atol: 1e-3, rtol: 1e-2 };
  const indices = probeIndices(probe.inputCount, 36, 1);
  expect(compareGradients("td input", analytic.input, probe.numeric(probe.input, probe.inputCount, indices, 1e-2), indices, tol)).toEqual([]);
  layer.params.forEach((p, j) => {
    const idx = probeIndices(p.size, p.size, j);
    expect(compareGradients(p.name, analytic.params[j], probe.numeric(p.value, p.size, idx, 1e-2), idx, tol)).toEqual([]);
  });
  expect(layer.params.map((p) => p.name)).toEqual(["td/dense/kernel", "td/dense/bias"]);
  expect(layer.acceptMasks([true])).toBe(true);
  const config = { type: "TimeDistributed", name: "t", layer: { type: "Dense", units: 4, activation: "relu" } };
  expect(layerFromConfig(config, "l").getConfig()).toMatchObject(config);
  expect(() => layerFromConfig({ type: "TimeDistributed", layer: { type: "Add" } }, "l")).toThrow(/a layer with one input/);
  expect(() => new TimeDistributed(new Dense({ units: 2 })).apply(Input({ shape: [4] }))).toThrow(/time axis/);
});
