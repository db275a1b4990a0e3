// SimpleRNN, LSTM, GRU (resetAfter false) and Bidirectional around them against TensorFlow.js' own layers (tfjs-layers on tfjs-backend-cpu) given the same
// weights and inputs: outputs, the loss and every parameter gradient, on the SIMD kernels and the plain
// reference. Models: sequence → recurrent layer → Dense(3, softmax), sparse cross-entropy, for the last
// output, goBackwards, returnSequences into GlobalAveragePooling1D, two stacked layers, and Embedding with
// maskZero into the recurrent layer (masks flowing from the embedding; padding at the start, the middle
// and the end), and Bidirectional with the concat, mul and ave merges, masked too. tfjs' recurrent activation is set to sigmoid (its default is Keras 1's hard sigmoid).
//
// tfjs-layers' GRU is Keras 1's form only (the reset gate applied to h before U_h, one bias [3u]): ours with
// resetAfter false. Our default reset-after GRU is compared with PyTorch's nn.GRU in
// test/layers/recurrent-pytorch.test.ts; here it is shown to differ from tfjs' on the same weights.
//
// Tolerance: outputs |Δ| ≤ 1e-5; loss |Δ| ≤ 1e-5·(1 + |loss|); gradients |Δ| ≤ 1e-4 + 1e-3·|g| — f32 on
// both sides, with exp/tanh and the sums over steps and batch in different orders.

import { beforeAll, describe, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import * as tfl from "@tensorflow/tfjs-layers";
import { Bidirectional, Dense, Embedding, GRU, GlobalAveragePool1D, Input, LSTM, Model, SimpleRNN, createReferenceKernels } from "../../src/index";
import type { Kernels } from "../../src/engine/kernels";
import type { SymbolicTensor } from "../../src/layers/symbolic";
import { seededValues, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const BATCH = 4, T = 6, F = 3, U = 5, CLASSES = 3, VOCAB = 7;
// Token ids for the embedding case; 0 is padding (maskZero): at the end, at the start, in the middle.
const IDS = [3, 1, 4, 2, 0, 0, 0, 0, 5, 6, 1, 2, 2, 6, 0, 3, 1, 4, 1, 2, 3, 4, 5, 6];
const LABELS = [0, 2, 1, 2];

type Kind = "lstm" | "gru" | "rnn";
interface Case {
  name: string;
  embedded?: boolean;
  ours: (kind: Kind, x: SymbolicTensor) => SymbolicTensor;
  theirs: (kind: Kind, x: tfl.SymbolicTensor) => tfl.SymbolicTensor;
}

const ourLayer = (kind: Kind, o: { returnSequences?: boolean; goBackwards?: boolean }) =>
  kind === "lstm" ? new LSTM({ units: U, ...o }) : kind === "gru" ? new GRU({ units: U, resetAfter: false, ...o }) : new SimpleRNN({ units: U, ...o });
// Weights are copied in, so the initializer does not matter; tfjs' orthogonal one fails here (its QR calls
// a Tensor.flatten this tfjs-core lacks), so glorotUniform is named.
const theirLayer = (kind: Kind, o: { returnSequences?: boolean; goBackwards?: boolean }) => {
  const common = { units: U, recurrentInitializer: "glorotUniform" as const, ...o };
  if (kind === "lstm") return tfl.layers.lstm({ ...common, recurrentActivation: "sigmoid" });
  return kind === "gru" ? tfl.layers.gru({ ...common, recurrentActivation: "sigmoid" }) : tfl.layers.simpleRNN(common);
};
const sym = (t: unknown) => t as tfl.SymbolicTensor;

const CASES: Case[] = [
  { name: "last output", ours: (k, x) => ourLayer(k, {}).apply(x), theirs: (k, x) => sym(theirLayer(k, {}).apply(x)) },
  { name: "goBackwards", ours: (k, x) => ourLayer(k, { goBackwards: true }).apply(x), theirs: (k, x) => sym(theirLayer(k, { goBackwards: true }).apply(x)) },
  {
    name: "returnSequences → GlobalAveragePooling1D",
    ours: (k, x) => new GlobalAveragePool1D().apply(ourLayer(k, { returnSequences: true }).apply(x)),
    theirs: (k, x) => sym(tfl.layers.globalAveragePooling1d().apply(theirLayer(k, { returnSequences: true }).apply(x))),
  },
  {
    name: "two stacked layers (sequences into the second)",
    ours: (k, x) => ourLayer(k, {}).apply(ourLayer(k, { returnSequences: true }).apply(x)),
    theirs: (k, x) => sym(theirLayer(k, {}).apply(theirLayer(k, { returnSequences: true }).apply(x))),
  },
  {
    name: "Embedding(maskZero) → masked recurrent layer",
    embedded: true,
    ours: (k, x) => ourLayer(k, {}).apply(new Embedding({ inputDim: VOCAB, outputDim: F, maskZero: true }).apply(x)),
    theirs: (k, x) => sym(theirLayer(k, {}).apply(tfl.layers.embedding({ inputDim: VOCAB, outputDim: F, maskZero: true }).apply(x))),
  },
  {
    name: "Bidirectional (concat) sequences → GlobalAveragePooling1D",
    ours: (k, x) => new GlobalAveragePool1D().apply(new Bidirectional({ layer: ourLayer(k, { returnSequences: true }) }).apply(x)),
    theirs: (k, x) => sym(tfl.layers.globalAveragePooling1d().apply(tfl.layers.bidirectional({ layer: theirLayer(k, { returnSequences: true }) as tfl.RNN }).apply(x))),
  },
  {
    name: "Bidirectional (mul), last output",
    ours: (k, x) => new Bidirectional({ layer: ourLayer(k, {}), mergeMode: "mul" }).apply(x),
    theirs: (k, x) => sym(tfl.layers.bidirectional({ layer: theirLayer(k, {}) as tfl.RNN, mergeMode: "mul" }).apply(x)),
  },
  {
    name: "Embedding(maskZero) → Bidirectional (ave), last output",
    embedded: true,
    ours: (k, x) => new Bidirectional({ layer: ourLayer(k, {}), mergeMode: "ave" }).apply(new Embedding({ inputDim: VOCAB, outputDim: F, maskZero: true }).apply(x)),
    theirs: (k, x) => sym(tfl.layers.bidirectional({ layer: theirLayer(k, {}) as tfl.RNN, mergeMode: "ave" }).apply(tfl.layers.embedding({ inputDim: VOCAB, outputDim: F, maskZero: true }).apply(x))),
  },
];

function build(c: Case, kind: Kind, kernels?: Kernels) {
  const shape = c.embedded ? [T] : [T, F];
  const x = Input({ shape });
  const ours = new Model({ inputs: x, outputs: new Dense({ units: CLASSES, activation: "softmax" }).apply(c.ours(kind, x)), seed: 4, kernels });
  ours.setWeights(ours.params.map((p, i) => seededValues(p.size, 30 + i, -0.7, 0.7)));
  ours.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy" });
  const tx = tfl.input({ shape });
  const theirs = tfl.model({ inputs: tx, outputs: sym(tfl.layers.dense({ units: CLASSES, activation: "softmax" }).apply(c.theirs(kind, tx))) });
  const vars = theirs.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const weights = ours.getWeights();
  if (vars.length !== weights.length) throw new Error(`${vars.length} tfjs weights vs ${weights.length} ours`);
  vars.forEach((v, i) => {
    if (v.shape.join() !== weights[i].shape.join()) throw new Error(`weight ${i}: tfjs [${v.shape}] vs ours [${weights[i].shape}]`);
    v.assign(tf.tensor(weights[i].data, v.shape));
  });
  const data = c.embedded ? new Float32Array(IDS) : seededValues(BATCH * T * F, 9, -1.5, 1.5);
  return { ours, theirs, vars, data, input: tf.tensor(data, [BATCH, ...shape]) };
}

function compare(c: Case, kind: Kind, kernels?: Kernels): string[] {
  const { ours, theirs, vars, data, input } = build(c, kind, kernels);
  const failures: string[] = [];
  const out = worstMismatch(ours.predictAll(data)[0].data, (theirs.predict(input) as tf.Tensor).dataSync(), 1e-5, 0);
  if (out.worst > 1) failures.push(`outputs [${out.at}] ${out.got} vs ${out.want}`);
  const labels = tf.oneHot(tf.tensor1d(LABELS, "int32"), CLASSES);
  const { value, grads } = tf.variableGrads(
    () => tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.log(theirs.apply(input, { training: true }) as tf.Tensor)), 1))) as tf.Scalar,
    vars,
  );
  const mine = ours.computeGradients(data, Int32Array.from(LABELS), { training: true });
  const theirLoss = value.dataSync()[0];
  if (Math.abs(mine.loss - theirLoss) > 1e-5 * (1 + Math.abs(theirLoss))) failures.push(`loss ${mine.loss} vs ${theirLoss}`);
  ours.params.forEach((p, i) => {
    const r = worstMismatch(mine.grads[i].data, grads[vars[i].name].dataSync(), 1e-4, 1e-3);
    if (r.worst > 1) failures.push(`${p.name}[${r.at}]: ours ${r.got}, tfjs ${r.want}`);
  });
  return failures;
}

for (const backend of [{ name: "wasm" }, { name: "reference", make: createReferenceKernels }]) {
  for (const kind of ["lstm", "gru", "rnn"] as const)
    describe(`${{ lstm: "LSTM", gru: "GRU (resetAfter false)", rnn: "SimpleRNN" }[kind]} equals tfjs-layers on the same weights (${backend.name})`, () => {
      for (const c of CASES) test(c.name, () => expect(compare(c, kind, backend.make?.())).toEqual([]));
    });
}

test("the check can fail: our goBackwards model against tfjs' forward one differs", () => {
  const backwards = build(CASES[1], "lstm");
  const forwards = build(CASES[0], "lstm");
  const a = backwards.ours.predictAll(backwards.data)[0].data;
  const b = (forwards.theirs.predict(forwards.input) as tf.Tensor).dataSync();
  expect(worstMismatch(a, b, 1e-5, 0).worst).toBeGreaterThan(1);
});

test("the check can fail: our reset-after GRU on tfjs' GRU weights (recurrent bias row zero) differs from tfjs' GRU", () => {
  // Same kernel, recurrent kernel and input bias; only where r is applied differs (after U_h, not before).
  const { ours, theirs, data, input } = build(CASES[0], "gru");
  const weights = ours.getWeights();
  const x = Input({ shape: [T, F] });
  const after = new Model({ inputs: x, outputs: new Dense({ units: CLASSES, activation: "softmax" }).apply(new GRU({ units: U }).apply(x)), seed: 4 });
  const bias = new Float32Array(2 * 3 * U);
  bias.set(weights[2].data);
  after.setWeights([weights[0].data, weights[1].data, bias, weights[3].data, weights[4].data]);
  const want = (theirs.predict(input) as tf.Tensor).dataSync();
  expect(worstMismatch(ours.predictAll(data)[0].data, want, 1e-5, 0).worst).toBeLessThanOrEqual(1);
  expect(worstMismatch(after.predictAll(data)[0].data, want, 1e-5, 0).worst).toBeGreaterThan(1);
});
