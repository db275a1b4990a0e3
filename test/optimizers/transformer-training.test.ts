// What transformer training needs beyond the layers: a per-step warm-up + cosine schedule (Keras 3's
// CosineDecay with warmup_steps), AdamW that leaves chosen parameters undecayed, and label smoothing,
// the last against TensorFlow.js' softmaxCrossEntropy(labelSmoothing) on identical weights.
// Tolerance for the tfjs comparison: |Δ| ≤ 1e-6 + 1e-4·|theirs| (f32 on both sides, one Dense layer).

import { beforeAll, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { AdamW, Dense, Input, LayerNormalization, Model, WarmupCosineDecay } from "../../src/index";
import { parseLoss } from "../../src/model/losses";
import { seededValues, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

test("warm-up then cosine: linear to the peak over warmupSteps, half a cosine to alpha over decaySteps", () => {
  const s = new WarmupCosineDecay(4, 10, 0.1);
  expect([0, 1, 2, 3].map((step) => s.rateAt(step, 1))).toEqual([0.25, 0.5, 0.75, 1]);
  expect(s.rateAt(4, 1)).toBe(1);
  expect(Math.abs(s.rateAt(9, 1) - (0.1 + 0.9 * 0.5))).toBeLessThan(1e-12);
  expect(s.rateAt(14, 1)).toBeCloseTo(0.1, 12);
  expect(s.rateAt(100, 1)).toBeCloseTo(0.1, 12);
  expect(() => new WarmupCosineDecay(-1)).toThrow(/warmupSteps/);
});

test("in fit, the rate follows the optimizer's step count (so a resumed run continues the curve)", async () => {
  const x = Input({ shape: [3] });
  const model = new Model({ inputs: x, outputs: new Dense({ units: 2, activation: "softmax" }).apply(x), seed: 1 });
  const optimizer = new AdamW({ learningRate: 0.01 });
  model.compile({ optimizer, loss: "sparseCategoricalCrossentropy" });
  const schedule = new WarmupCosineDecay(5);
  const seen: number[] = [];
  await model.fit(seededValues(40 * 3, 2), Int32Array.from({ length: 40 }, (_, i) => i % 2), {
    epochs: 2, batchSize: 8, shuffle: false,
    callbacks: [schedule, { onBatchEnd: () => void seen.push(optimizer.learningRate) }],
  });
  // 10 steps: 5 of warm-up, then 5 of decay over the rest of the run (decaySteps = 10 − 5).
  expect(seen.slice(0, 5).map((r) => +r.toFixed(6))).toEqual([0.002, 0.004, 0.006, 0.008, 0.01]);
  expect(seen[9]).toBeCloseTo(0.01 * 0.5 * (1 + Math.cos((Math.PI * 4) / 5)), 9);
});

test("AdamW leaves the parameters named in excludeFromWeightDecay undecayed", () => {
  const x = Input({ shape: [4] });
  const model = new Model({ inputs: x, outputs: new Dense({ units: 2 }).apply(new LayerNormalization().apply(x)), seed: 1 });
  const optimizer = new AdamW({ learningRate: 0.1, weightDecay: 0.5, excludeFromWeightDecay: ["bias", "gamma", "beta"] });
  model.compile({ optimizer, loss: "meanSquaredError" });
  expect(model.params.map((p) => [p.name.split("/")[1], optimizer.decays(p)])).toEqual([["gamma", false], ["beta", false], ["kernel", true], ["bias", false]]);
  // With a zero gradient Adam moves nothing, so what changes is the decay alone.
  const before = model.getWeights().map((w) => w.data.slice());
  model.setWeights(before);
  const y = (model.predict(new Float32Array(4).fill(1)) as { data: Float32Array }).data;
  model.trainOnBatch(new Float32Array(4).fill(1), Float32Array.from(y));
  const after = model.getWeights().map((w) => w.data);
  expect(Array.from(after[0])).toEqual(Array.from(before[0]));
  expect(Array.from(after[3])).toEqual(Array.from(before[3]));
  expect(worstMismatch(after[2], before[2].map((v) => v * (1 - 0.1 * 0.5)), 1e-7, 1e-6).worst).toBeLessThanOrEqual(1);
  expect(optimizer.getConfig()).toMatchObject({ excludeFromWeightDecay: ["bias", "gamma", "beta"] });
});

test("label smoothing equals TensorFlow.js' softmaxCrossEntropy(labelSmoothing): loss and gradients", () => {
  const K = 5, N = 6, F = 4, EPS = 0.1;
  const x = Input({ shape: [F] });
  const model = new Model({ inputs: x, outputs: new Dense({ units: K, activation: "softmax" }).apply(x), seed: 2 });
  model.setWeights(model.params.map((p, i) => seededValues(p.size, 3 + i, -2, 2)));
  model.compile({ optimizer: "sgd", loss: { type: "sparseCategoricalCrossentropy", labelSmoothing: EPS } });
  const data = seededValues(N * F, 9, -2, 2), labels = Int32Array.from({ length: N }, (_, i) => (i * 3) % K);
  const mine = model.computeGradients(data, labels);
  const [k, b] = model.getWeights().map((w) => tf.variable(tf.tensor(w.data, [...w.shape])));
  const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), K);
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(onehot, tf.add(tf.matMul(tf.tensor(data, [N, F]), k), b), undefined, EPS) as tf.Scalar, [k, b]);
  expect(Math.abs(mine.loss - value.dataSync()[0])).toBeLessThan(1e-6 + 1e-4 * value.dataSync()[0]);
  expect(worstMismatch(mine.grads[0].data, grads[k.name].dataSync(), 1e-6, 1e-4).worst).toBeLessThanOrEqual(1);
  expect(worstMismatch(mine.grads[1].data, grads[b.name].dataSync(), 1e-6, 1e-4).worst).toBeLessThanOrEqual(1);
  // The check can fail: the same model without smoothing is further from tfjs' smoothed loss than the tolerance.
  model.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy" });
  expect(Math.abs(model.computeGradients(data, labels).loss - value.dataSync()[0])).toBeGreaterThan(1e-3);
  expect(() => parseLoss({ type: "meanSquaredError", labelSmoothing: 0.1 })).toThrow(/applies to the categorical/);
  expect(() => parseLoss({ type: "sparseCategoricalCrossentropy", labelSmoothing: 1 })).toThrow(/\[0, 1\)/);
  expect(parseLoss("sparseCategoricalCrossentropy")).toEqual({ type: "sparseCategoricalCrossentropy", fromLogits: false });
});
