// Graph models against TensorFlow.js' own functional API (tfjs-layers tf.model on the cpu backend) given
// the very same weights and inputs: outputs, the loss and every parameter gradient. Three graphs cover
// what chains never had: a residual block (a tensor read by two layers, merged by Add, with batch
// statistics in training mode), a two-input two-output network (a Dense applied to both inputs, so its
// gradient is the sum of two applications, plus Concatenate, Multiply, Subtract, Maximum, Average and
// loss weights), and a matrix-factorisation recommender (Dot). Each runs on the SIMD kernels and on the
// plain reference.
//
// Tolerance: outputs |Δ| ≤ 1e-5; losses |Δ| ≤ 1e-5·(1 + |loss|); gradients |Δ| ≤ 1e-4 + 1e-3·|g| — f32 on
// both sides, summed over batch and positions in different orders, as in tfjs-equivalence.test.ts.

import { beforeAll, describe, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  Activation, Add, Average, BatchNormalization, Concatenate, Conv2D, Dense, Dot, GlobalAveragePool2D, Input, Maximum, Model, Multiply,
  Subtract, createReferenceKernels,
} from "../../src/index";
import type { Kernels } from "../../src/engine/kernels";
import { seededValues, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

interface Case {
  name: string;
  ours: (kernels?: Kernels) => Model;
  theirs: () => tfl.LayersModel;
  inputs: { shape: number[] }[];
  /** Per output: class labels (sparse cross-entropy on softmax) or regression targets (MSE). */
  targets: ({ labels: number } | { regression: number })[];
  lossWeights?: number[];
}

const BATCH = 5;

const residual: Case = {
  name: "residual block: Conv2D → Conv2D → BatchNormalization → Add(shortcut) → relu → GlobalAveragePool2D → Dense",
  ours: (kernels) => {
    const image = Input({ shape: [6, 5, 2], name: "image" });
    let x = new Conv2D({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }).apply(image);
    const shortcut = x;
    x = new Conv2D({ filters: 4, kernelSize: 3, padding: "same" }).apply(x);
    x = new BatchNormalization().apply(x);
    x = new Activation({ activation: "relu" }).apply(new Add().apply([x, shortcut]));
    const out = new Dense({ units: 3, activation: "softmax" }).apply(new GlobalAveragePool2D().apply(x));
    return new Model({ inputs: image, outputs: out, seed: 3, kernels });
  },
  theirs: () => {
    const image = tfl.input({ shape: [6, 5, 2] });
    let x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }).apply(image) as tfl.SymbolicTensor;
    const shortcut = x;
    x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.activation({ activation: "relu" }).apply(tfl.layers.add().apply([x, shortcut])) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, activation: "softmax" }).apply(tfl.layers.globalAveragePooling2d({}).apply(x)) as tfl.SymbolicTensor;
    return tfl.model({ inputs: image, outputs: out });
  },
  inputs: [{ shape: [6, 5, 2] }],
  targets: [{ labels: 3 }],
};

const twoTowers: Case = {
  name: "two inputs, two outputs: a shared Dense on both inputs, Concatenate, Multiply, Subtract, Maximum, Average, loss weights",
  ours: (kernels) => {
    const a = Input({ shape: [6], name: "a" }), b = Input({ shape: [6], name: "b" });
    const encoder = new Dense({ units: 4, activation: "tanh", name: "encoder" });
    const ea = encoder.apply(a), eb = encoder.apply(b);
    const joined = new Concatenate().apply([ea, eb, new Multiply().apply([ea, eb])]);
    const hidden = new Dense({ units: 5, activation: "sigmoid" }).apply(joined);
    const classes = new Dense({ units: 3, activation: "softmax", name: "classes" }).apply(hidden);
    const mixed = new Average().apply([new Subtract().apply([ea, eb]), new Maximum().apply([ea, eb])]);
    const score = new Dense({ units: 2, name: "score" }).apply(mixed);
    return new Model({ inputs: [a, b], outputs: [classes, score], seed: 4, kernels });
  },
  theirs: () => {
    const a = tfl.input({ shape: [6] }), b = tfl.input({ shape: [6] });
    const encoder = tfl.layers.dense({ units: 4, activation: "tanh" });
    const ea = encoder.apply(a) as tfl.SymbolicTensor, eb = encoder.apply(b) as tfl.SymbolicTensor;
    const joined = tfl.layers.concatenate().apply([ea, eb, tfl.layers.multiply().apply([ea, eb]) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
    const hidden = tfl.layers.dense({ units: 5, activation: "sigmoid" }).apply(joined) as tfl.SymbolicTensor;
    const classes = tfl.layers.dense({ units: 3, activation: "softmax" }).apply(hidden) as tfl.SymbolicTensor;
    // tfjs-layers has no Subtract layer: a − b is add(a, −b), with −b from a frozen Dense whose kernel is −I.
    const negated = tfl.layers.dense({ units: 4, useBias: false, trainable: false, kernelInitializer: tfl.initializers.constant({ value: 0 }) });
    const minusEb = negated.apply(eb) as tfl.SymbolicTensor;
    const subtract = tfl.layers.add().apply([ea, minusEb]) as tfl.SymbolicTensor;
    const mixed = tfl.layers.average().apply([subtract, tfl.layers.maximum().apply([ea, eb]) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
    const score = tfl.layers.dense({ units: 2 }).apply(mixed) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: [a, b], outputs: [classes, score] });
    negated.setWeights([tf.mul(tf.eye(4), -1)]);
    return model;
  },
  inputs: [{ shape: [6] }, { shape: [6] }],
  targets: [{ labels: 3 }, { regression: 2 }],
  lossWeights: [1, 0.5],
};

const recommender: Case = {
  name: "matrix factorisation: user and item towers scored by Dot",
  ours: (kernels) => {
    const user = Input({ shape: [7], name: "user" }), item = Input({ shape: [5], name: "item" });
    const u = new Dense({ units: 3, useBias: false }).apply(user), v = new Dense({ units: 3, useBias: false }).apply(item);
    return new Model({ inputs: [user, item], outputs: new Dot({ axes: 1 }).apply([u, v]), seed: 5, kernels });
  },
  theirs: () => {
    const user = tfl.input({ shape: [7] }), item = tfl.input({ shape: [5] });
    const u = tfl.layers.dense({ units: 3, useBias: false }).apply(user) as tfl.SymbolicTensor;
    const v = tfl.layers.dense({ units: 3, useBias: false }).apply(item) as tfl.SymbolicTensor;
    return tfl.model({ inputs: [user, item], outputs: tfl.layers.dot({ axes: 1 }).apply([u, v]) as tfl.SymbolicTensor });
  },
  inputs: [{ shape: [7] }, { shape: [5] }],
  targets: [{ regression: 1 }],
};

function data(c: Case, seed: number) {
  const xs = c.inputs.map((input, i) => seededValues(BATCH * input.shape.reduce((p, d) => p * d, 1), seed + i, -1, 1));
  const ys = c.targets.map((t, i) =>
    "labels" in t ? Float32Array.from({ length: BATCH }, (_, r) => (r * 7 + i) % t.labels) : seededValues(BATCH * t.regression, seed + 50 + i, -1, 1),
  );
  return { xs, ys };
}

/** Our weights, with every parameter redrawn in [−1, 1] (BatchNormalization's gamma in [0.5, 1.5]). */
function randomize(model: Model, seed: number): void {
  model.setWeights(model.params.map((p, i) => seededValues(p.size, seed + i, p.name.endsWith("/gamma") ? 0.5 : -1, p.name.endsWith("/gamma") ? 1.5 : 1)));
}

/** tfjs' trainable weights in our parameter order: layers in the same creation order, each kernel then bias. */
function copyWeights(ours: Model, theirs: tfl.LayersModel): tf.Variable[] {
  const trainable = theirs.trainableWeights;
  if (trainable.length !== ours.params.length) throw new Error(`${trainable.length} tfjs weights vs ${ours.params.length} ours`);
  const vars = trainable.map((w) => (w as unknown as { val: tf.Variable }).val);
  const weights = ours.getWeights();
  vars.forEach((v, i) => {
    if (v.shape.join() !== weights[i].shape.join()) throw new Error(`weight ${i}: tfjs [${v.shape}] vs ours [${weights[i].shape}]`);
    v.assign(tf.tensor(weights[i].data, v.shape));
  });
  return vars;
}

function theirLoss(c: Case, outputs: tf.Tensor[], ys: Float32Array[]): tf.Scalar {
  const weights = c.lossWeights ?? c.targets.map(() => 1);
  return tf.addN(
    c.targets.map((t, i) => {
      const out = outputs[i];
      const term = "labels" in t
        ? tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(Array.from(ys[i]), "int32"), t.labels), tf.log(out)), 1)))
        : tf.mean(tf.square(tf.sub(out, tf.tensor(ys[i], out.shape))));
      return tf.mul(term, weights[i]);
    }),
  ) as tf.Scalar;
}

const backends: { name: string; make?: () => Kernels }[] = [{ name: "wasm" }, { name: "reference", make: createReferenceKernels }];

for (const backend of backends) {
  describe(`graph models equal tfjs-layers tf.model on the same weights (${backend.name})`, () => {
    for (const c of [residual, twoTowers, recommender]) {
      test(c.name, () => {
        const ours = c.ours(backend.make?.());
        randomize(ours, 100);
        ours.compile({
          optimizer: "sgd",
          loss: c.targets.map((t) => ("labels" in t ? "sparseCategoricalCrossentropy" : "meanSquaredError")),
          lossWeights: c.lossWeights,
        });
        const theirs = c.theirs();
        const vars = copyWeights(ours, theirs);
        const { xs, ys } = data(c, 7);
        const inputs = xs.map((x, i) => tf.tensor(x, [BATCH, ...c.inputs[i].shape]));

        // Inference: outputs.
        const theirOutputs = [theirs.predict(inputs.length === 1 ? inputs[0] : inputs)].flat() as tf.Tensor[];
        const ourOutputs = ours.predictAll(xs);
        ourOutputs.forEach((o, i) => {
          expect(o.shape).toEqual(theirOutputs[i].shape);
          expect(worstMismatch(o.data, theirOutputs[i].dataSync(), 1e-5, 0).worst).toBeLessThanOrEqual(1);
        });

        // Training mode: loss and every gradient.
        const { value, grads } = tf.variableGrads(() => theirLoss(c, [theirs.apply(inputs, { training: true })].flat() as tf.Tensor[], ys), vars);
        const targets = c.targets.map((t, i) => ("labels" in t ? Int32Array.from(ys[i]) : ys[i]));
        const ourGrads = ours.computeGradients(xs, targets, { training: true });
        const theirValue = value.dataSync()[0];
        expect(Math.abs(ourGrads.loss - theirValue)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(theirValue)));
        const failures: string[] = [];
        ours.params.forEach((p, i) => {
          const g = grads[vars[i].name].dataSync();
          const r = worstMismatch(ourGrads.grads[i].data, g, 1e-4, 1e-3);
          if (r.worst > 1) failures.push(`${p.name}[${r.at}]: ours ${r.got}, tfjs ${r.want}`);
        });
        expect(failures).toEqual([]);
      });
    }
  });
}

test("the check can fail: an encoder whose two applications' gradients were not summed is caught", () => {
  // The same network with two separate encoders given the same weights: the first one's gradient is then
  // only input a's share of what tfjs computes for the shared one.
  const a = Input({ shape: [6], name: "a" }), b = Input({ shape: [6], name: "b" });
  const encoderA = new Dense({ units: 4, activation: "tanh" }), encoderB = new Dense({ units: 4, activation: "tanh" });
  const ea = encoderA.apply(a), eb = encoderB.apply(b);
  const hidden = new Dense({ units: 5, activation: "sigmoid" }).apply(new Concatenate().apply([ea, eb, new Multiply().apply([ea, eb])]));
  const classes = new Dense({ units: 3, activation: "softmax" }).apply(hidden);
  const score = new Dense({ units: 2 }).apply(new Average().apply([new Subtract().apply([ea, eb]), new Maximum().apply([ea, eb])]));
  const split = new Model({ inputs: [a, b], outputs: [classes, score] });
  const shared = twoTowers.ours();
  randomize(shared, 100);
  const w = shared.getWeights();
  split.setWeights([w[0], w[1], w[0], w[1], ...w.slice(2)]);
  split.compile({ optimizer: "sgd", loss: ["sparseCategoricalCrossentropy", "meanSquaredError"], lossWeights: [1, 0.5] });
  const theirs = twoTowers.theirs();
  const vars = copyWeights(shared, theirs);
  const { xs, ys } = data(twoTowers, 7);
  const inputs = xs.map((x) => tf.tensor(x, [BATCH, 6]));
  const { grads } = tf.variableGrads(() => theirLoss(twoTowers, theirs.apply(inputs, { training: true }) as tf.Tensor[], ys), vars);
  const onlyA = split.computeGradients(xs, [Int32Array.from(ys[0]), ys[1]]).grads[0].data;
  expect(worstMismatch(onlyA, grads[vars[0].name].dataSync(), 1e-4, 1e-3).worst).toBeGreaterThan(1);
});
