// Embedding and the global 1-D pools against TensorFlow.js on identical weights (tfjs-backend-cpu: the
// wasm backend cannot train an Embedding, having no UnsortedSegmentSum). Model: token ids [T] →
// Embedding → GlobalAveragePooling1D or GlobalMaxPooling1D → Dense(3, softmax), sparse categorical
// cross-entropy. Compared: outputs, loss and the gradient of every weight.
//
// Without a mask the tfjs side is tfjs-layers itself. With maskZero it cannot be: tfjs-layers'
// GlobalAveragePooling1D ignores masks (its call is mean(x, 1)), so the tfjs side is Keras' masked mean
// (Σ x·m / Σ m, keras.layers.GlobalAveragePooling1D) written in tfjs ops and differentiated by tfjs.
//
// Tolerance |Δ| ≤ 1e-5 + 1e-4·|theirs|: both sides compute in f32 but sum in different orders.

import { beforeAll, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import * as tfl from "@tensorflow/tfjs-layers";
import { Dense, Embedding, GlobalAveragePool1D, GlobalMaxPool1D, Input, Model, type Tensor } from "../../src/index";
import { seededValues, worstMismatch } from "../support/twin-heaps";

// The whole suite runs in one process, and test/peers switches tfjs to its wasm backend, which has no
// UnsortedSegmentSum (Embedding's gradient): pin the cpu backend here.
beforeAll(async () => {
  await tf.setBackend("cpu");
});

const BATCH = 4, T = 6, VOCAB = 9, DIM = 5, CLASSES = 3;
// Padding (0) at the ends and in the middle, repeats within and across samples; sample 3 has one real token.
const IDS_WITH_REPEATS = [3, 1, 3, 0, 0, 0, 5, 8, 1, 1, 2, 7, 4, 0, 2, 0, 6, 6, 0, 0, 0, 0, 0, 7];
const LABELS = [0, 2, 1, 2];
// For the max: no token twice in a sample. A repeated token is a tie, and there tf.max's gradient gives dy
// to every tied step (2·dy to that table row) while ours gives it once, which is the derivative of
// max(e, e) = e that finite differences see (test/layers/global-pool1d.test.ts).
const DISTINCT_IDS = [3, 1, 4, 0, 2, 5, 6, 8, 1, 3, 2, 7, 4, 0, 2, 5, 6, 1, 8, 7, 0, 2, 3, 5];

function ours(pool: "average" | "max", maskZero: boolean) {
  const ids = Input({ shape: [T], name: "ids" });
  const embedded = new Embedding({ inputDim: VOCAB, outputDim: DIM, maskZero }).apply(ids);
  const pooled = (pool === "average" ? new GlobalAveragePool1D() : new GlobalMaxPool1D()).apply(embedded);
  const model = new Model({ inputs: ids, outputs: new Dense({ units: CLASSES, activation: "softmax" }).apply(pooled), seed: 3 });
  model.setWeights(model.params.map((p, i) => seededValues(p.size, 10 + i, -1, 1)));
  model.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy" });
  return model;
}

function compare(pool: "average" | "max", maskZero: boolean): string[] {
  const IDS = pool === "max" ? DISTINCT_IDS : IDS_WITH_REPEATS;
  const model = ours(pool, maskZero);
  const [e, k, b] = model.getWeights();
  // The unmasked path runs tfjs-layers' own Embedding and pool, their table variable holding our values.
  const theirs = tfl.sequential({
    layers: [
      tfl.layers.embedding({ inputDim: VOCAB, outputDim: DIM, inputLength: T }),
      pool === "average" ? tfl.layers.globalAveragePooling1d() : tfl.layers.globalMaxPooling1d(),
    ],
  });
  theirs.setWeights([tf.tensor(e.data, [...e.shape])]);
  const table = (theirs.trainableWeights[0] as unknown as { val: tf.Variable }).val;
  const kernel = tf.variable(tf.tensor(k.data, [...k.shape])), bias = tf.variable(tf.tensor(b.data, [...b.shape]));
  const weights = [table, kernel, bias];
  const ids = tf.tensor(IDS, [BATCH, T], "int32");
  const labels = tf.oneHot(tf.tensor(LABELS, [BATCH], "int32"), CLASSES);
  const probabilities = () => {
    let pooled: tf.Tensor;
    if (maskZero) {
      const m = tf.expandDims(tf.cast(tf.notEqual(ids, 0), "float32"), 2);
      pooled = tf.div(tf.sum(tf.mul(tf.gather(table, ids), m), 1), tf.sum(m, 1));
    } else {
      pooled = theirs.apply(tf.cast(ids, "float32")) as tf.Tensor;
    }
    return tf.softmax(tf.add(tf.matMul(pooled, kernel), bias));
  };
  const forward = () => tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.log(probabilities())), 1))) as tf.Scalar;
  const { value, grads } = tf.variableGrads(forward, weights);
  const probs = probabilities();
  const x = new Float32Array(IDS);
  const mine = model.computeGradients(x, Int32Array.from(LABELS));
  const failures: string[] = [];
  const label = `${pool}${maskZero ? " maskZero" : ""}`;
  const out = (model.predict(x) as Tensor).data;
  const o = worstMismatch(out, probs.dataSync(), 1e-5, 1e-4);
  if (o.worst > 1) failures.push(`${label} outputs: [${o.at}] ${o.got} vs ${o.want}`);
  if (Math.abs(mine.loss - value.dataSync()[0]) > 1e-5 + 1e-4 * Math.abs(value.dataSync()[0])) failures.push(`${label} loss ${mine.loss} vs ${value.dataSync()[0]}`);
  weights.forEach((w, i) => {
    const g = worstMismatch(mine.grads[i].data, grads[w.name].dataSync(), 1e-5, 1e-4);
    if (g.worst > 1) failures.push(`${label} gradient ${model.params[i].name}: [${g.at}] ${g.got} vs ${g.want}`);
  });
  return failures;
}

for (const pool of ["average", "max"] as const)
  for (const maskZero of pool === "average" ? [false, true] : [false])
    test(`Embedding${maskZero ? "(maskZero)" : ""} → Global${pool === "average" ? "Average" : "Max"}Pooling1D → Dense matches TensorFlow.js`, () => {
      expect(compare(pool, maskZero)).toEqual([]);
    });

test("the check can fail: the masked model against tfjs' unmasked mean differs", () => {
  // Our maskZero model against the tfjs-layers path, which averages over padding too.
  const masked = ours("average", true), plain = ours("average", false);
  const x = new Float32Array(IDS_WITH_REPEATS);
  const a = (masked.predict(x) as Tensor).data, b = (plain.predict(x) as Tensor).data;
  expect(worstMismatch(a, b, 1e-5, 1e-4).worst).toBeGreaterThan(1);
});
