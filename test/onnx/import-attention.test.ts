// Import of the attention family:
//   round trip — wasmgrad's own exports of LayerNormalization (the opset-17 operator, and its decomposition at
//            opset 13), Dense on sequences with gelu (MatMul on the last axis, GELU's Erf form), PositionEmbedding,
//            SinePositionEncoding, Cropping1D, MultiHeadAttention and whole transformers import back to the same
//            layers computing the same function (predictAll within 1e-5·(1 + |want|));
//   refusals — what is not imported is one InputError naming the node and why.
// (PyTorch's own exports of nn.LayerNorm, nn.MultiheadAttention and nn.TransformerEncoderLayer are in
// pytorch-attention.test.ts.)

import { describe, expect, test } from "bun:test";
import { roundTrip } from "./export-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  Add, Cropping1D, Dense, Embedding, Input, LayerNormalization, Model, MultiHeadAttention, PositionEmbedding, SinePositionEncoding,
} from "../../src/index";
import { transformerDecoderBlock, transformerEncoderBlock } from "../../src/layers/transformer-blocks";
import { buildModel, parseModelJson } from "../../src/model/model-file";
import { exportOnnx } from "../../src/onnx/export";
import { readOnnx } from "../../src/onnx/import";
import { decodeModel, encodeModel, type ModelProto } from "../../src/onnx/onnx-proto";
import { seededValues } from "../support/twin-heaps";

const BATCH = 3, STEPS = 6, WIDTH = 8;
const features = (seed: number, steps = STEPS, width = WIDTH) => seededValues(BATCH * steps * width, seed, -1.5, 1.5);
const ids = (seed: number, vocabulary: number, steps = STEPS) => Float32Array.from(seededValues(BATCH * steps, seed, 0, vocabulary), Math.floor);


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

describe("wasmgrad's exports of MultiHeadAttention import back to one MultiHeadAttention", () => {
  const attention = (m: Model) => m.layers.filter((l): l is MultiHeadAttention => l instanceof MultiHeadAttention).map((l) => l.getConfig());

  test("self-attention, causal, with its weights as an output; one head without bias", () => {
    const x = Input({ shape: [STEPS, WIDTH], name: "x" });
    const [y, weights] = new MultiHeadAttention({ numHeads: 2, keyDim: 3, useCausalMask: true, returnAttentionScores: true, name: "causal" }).applyAll(x);
    const single = new MultiHeadAttention({ numHeads: 1, keyDim: 5, useBias: false, name: "single" }).apply(y);
    const back = roundTrip(new Model({ inputs: x, outputs: [y, weights, single] }), [features(3)]);
    expect(types(back.model)).toEqual(["MultiHeadAttention", "MultiHeadAttention"]);
    expect(attention(back.model).map((c) => [c.numHeads, c.keyDim, c.valueDim, c.useCausalMask, c.returnAttentionScores, c.useBias])).toEqual([
      [2, 3, 3, true, true, true], [1, 5, 5, false, false, false],
    ]);
  });

  test("cross-attention [query, value, key] with other widths, valueDim ≠ keyDim and an outputShape; [query, value]", () => {
    const q = Input({ shape: [STEPS, WIDTH], name: "query" }), v = Input({ shape: [4, 5], name: "value" }), k = Input({ shape: [4, 3], name: "key" });
    const a = new MultiHeadAttention({ numHeads: 3, keyDim: 2, valueDim: 4, outputShape: 7 }).apply([q, v, k]);
    const b = new MultiHeadAttention({ numHeads: 2, keyDim: 4 }).apply([q, v]);
    const back = roundTrip(new Model({ inputs: [q, v, k], outputs: [a, b] }), [features(4), features(5, 4, 5), features(6, 4, 3)]);
    expect(attention(back.model).map((c) => [c.numHeads, c.keyDim, c.valueDim, c.outputShape])).toEqual([[3, 2, 4, 7], [2, 4, 4, undefined]]);
    expect(back.model.layers.filter((l) => l instanceof MultiHeadAttention).map((l) => l.inputShapes)).toEqual([[[STEPS, WIDTH], [4, 5], [4, 3]], [[STEPS, WIDTH], [4, 5]]]);
  });

  test("pre-norm encoder and decoder blocks", () => {
    const x = Input({ shape: [STEPS, WIDTH], name: "x" }), memory = Input({ shape: [4, WIDTH], name: "memory" });
    const encoded = transformerEncoderBlock(memory, { numHeads: 2 });
    const y = transformerDecoderBlock(x, encoded, { numHeads: 4, keyDim: 3, activation: "relu" });
    const back = roundTrip(new Model({ inputs: [x, memory], outputs: y }), [features(7), features(8, 4, WIDTH)]);
    expect(types(back.model).filter((t) => t === "MultiHeadAttention").length).toBe(3);
  });

  for (const opset of [17, 13]) {
    test(`models/char_transformer.json at context 16 and 30 characters (opset ${opset}): the same layers, the same predictions`, () => {
      const file = parseModelJson(readFileSync(join(import.meta.dir, "../../models/char_transformer.json"), "utf8"), "char_transformer.json");
      const model = buildModel(file, "char_transformer.json", { context: 16, classes: 30, vocabularySize: 30, seed: 3 });
      const back = roundTrip(model, [ids(9, 30, 16)], { opset });
      expect(types(back.model)).toEqual(types(model));
    });
  }
});

describe("import of attention: what cannot be imported is one InputError naming the Softmax", () => {
  const causal = () => {
    const x = Input({ shape: [STEPS, WIDTH], name: "x" });
    const m = new Model({ inputs: x, outputs: new MultiHeadAttention({ numHeads: 2, keyDim: 4, useCausalMask: true }).apply(x) });
    m.build();
    return decodeModel(exportOnnx(m), "attention");
  };
  const read = (proto: ModelProto) => () => readOnnx(encodeModel(proto), { source: "a.onnx" });
  const constant = (proto: ModelProto, node: string, input: number) => proto.graph.initializers.find((t) => t.name === proto.graph.nodes.find((n) => n.name.startsWith(node))!.inputs[input])!;

  test("a scale other than 1/√keyDim", () => {
    const proto = causal();
    (constant(proto, "scaled_scores", 1).data as Float32Array)[0] = 1;
    expect(read(proto)).toThrow(/a\.onnx: node attention_weights_\d+ \(Softmax\): attention that wasmgrad cannot import as a MultiHeadAttention layer: the scores are scaled by 1, not 1\/√4/);
  });

  test("a mask that is not causal (the transpose of one)", () => {
    const proto = causal();
    const mask = constant(proto, "causal_scores", 1).data as Float32Array;
    const t = Float32Array.from({ length: STEPS * STEPS }, (_, k) => mask[(k % STEPS) * STEPS + Math.floor(k / STEPS)]);
    mask.set(t);
    expect(read(proto)).toThrow(/the mask added to the scores is neither causal .* nor zeros/);
  });

  test("the scores read outside the attention (other than as an output laid out as ours)", () => {
    const proto = causal();
    const softmax = proto.graph.nodes.find((n) => n.opType === "Softmax")!;
    proto.graph.nodes.push({ name: "peek", opType: "Relu", domain: "", inputs: [softmax.outputs[0]], outputs: ["peek"], attributes: [] });
    proto.graph.outputs.push({ name: "peek", elemType: 1, shape: ["batch", 2, STEPS, STEPS] });
    expect(read(proto)).toThrow(/the attention weights are read by peek \(Relu\) besides the product with the values/);
  });
});
