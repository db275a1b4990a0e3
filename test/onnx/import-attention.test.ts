// Import of the attention family:
//   round trip — wasmgrad's own exports of LayerNormalization (the opset-17 operator, and its decomposition at
//            opset 13), Dense on sequences with gelu (MatMul on the last axis, GELU's Erf form), PositionEmbedding,
//            SinePositionEncoding, Cropping1D, MultiHeadAttention and whole transformers import back to the same
//            layers computing the same function (predictAll within 1e-5·(1 + |want|));
//   refusals — what is not imported is one InputError naming the node and why.
// (PyTorch's own exports of nn.LayerNorm, nn.MultiheadAttention and nn.TransformerEncoderLayer are in
// pytorch-attention.test.ts.)

import { describe, expect, test } from "bun:test";
import {
  Add, Cropping1D, Dense, Embedding, Input, LayerNormalization, Model, PositionEmbedding, SinePositionEncoding,
} from "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { readOnnx } from "../../src/onnx/import";
import { seededValues, worstMismatch } from "../support/twin-heaps";

const BATCH = 3, STEPS = 6, WIDTH = 8;
const features = (seed: number, steps = STEPS, width = WIDTH) => seededValues(BATCH * steps * width, seed, -1.5, 1.5);
const ids = (seed: number, vocabulary: number, steps = STEPS) => Float32Array.from(seededValues(BATCH * steps, seed, 0, vocabulary), Math.floor);

function roundTrip(model: Model, xs: Float32Array[], options: { opset?: number; sameParams?: boolean } = {}): ReturnType<typeof readOnnx> {
  model.build();
  model.setWeights(model.params.map((p, i) => seededValues(p.size, 20 + i, -0.6, 0.6)));
  const back = readOnnx(exportOnnx(model, { opset: options.opset }), { source: "roundtrip.onnx" });
  expect(back.model.inputShapes).toEqual(model.inputShapes);
  if (options.sameParams !== false) expect(back.model.countParams()).toBe(model.countParams());
  const want = model.predictAll(xs), got = back.model.predictAll(xs);
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const m = worstMismatch(got[i].data, w.data, 1e-5, 1e-5);
    expect({ output: i, shape: got[i].shape, worst: m.worst <= 1 ? "ok" : m }).toEqual({ output: i, shape: w.shape, worst: "ok" });
  });
  return back;
}

const types = (m: Model) => m.layers.map((l) => l.type);

describe("wasmgrad's exports of the attention family import back to the same function", () => {
  for (const opset of [17, 13]) {
    test(`LayerNormalization over the last axis, over [-2, -1] without β, without γ; Dense(gelu) on a sequence (opset ${opset}: ${opset === 17 ? "the operator" : "decomposed"})`, () => {
      const x = Input({ shape: [STEPS, WIDTH], name: "x" });
      const a = new LayerNormalization({ epsilon: 1e-5 }).apply(x);
      const b = new LayerNormalization({ axis: [-2, -1], center: false }).apply(new Dense({ units: 5, activation: "gelu" }).apply(x));
      const c = new LayerNormalization({ axis: [-2, -1], scale: false }).apply(x);
      const back = roundTrip(new Model({ inputs: x, outputs: [a, b, c] }), [features(1)], { opset });
      expect(types(back.model)).toEqual(["LayerNormalization", "Dense", "LayerNormalization", "LayerNormalization"]);
      const norms = back.model.layers.filter((l): l is LayerNormalization => l instanceof LayerNormalization);
      expect(norms.map((l) => [l.axis, l.center, l.scale, Math.fround(l.epsilon)])).toEqual([
        [-1, true, true, Math.fround(1e-5)], [[-2, -1], false, true, Math.fround(1e-3)], [[-2, -1], true, false, Math.fround(1e-3)],
      ]);
      expect((back.model.layers[1] as Dense).activation.name).toBe("gelu");
    });
  }

  test("PositionEmbedding (a table of T rows: trainable; a longer one, sliced: frozen), SinePositionEncoding, Cropping1D", () => {
    const x = Input({ shape: [STEPS], name: "ids" });
    const tokens = new Embedding({ inputDim: 11, outputDim: WIDTH }).apply(x);
    const summed = new Add().apply([tokens, new PositionEmbedding({ sequenceLength: STEPS }).apply(tokens), new SinePositionEncoding().apply(tokens)]);
    const longer = new PositionEmbedding({ sequenceLength: STEPS + 3 }).apply(tokens);
    const model = new Model({ inputs: x, outputs: [new Cropping1D({ cropping: [2, 1] }).apply(summed), longer] });
    const back = roundTrip(model, [ids(2, 11)], { sameParams: false });
    expect(types(back.model)).toEqual(["Embedding", "PositionEmbedding", "SinePositionEncoding", "Add", "Cropping1D", "PositionEmbedding"]);
    expect(back.model.layers.filter((l) => l instanceof PositionEmbedding).map((l) => [(l as PositionEmbedding).sequenceLength, l.trainable])).toEqual([[STEPS, true], [STEPS, false]]);
  });
});
