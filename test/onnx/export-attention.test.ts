// ONNX export of the attention layers, held against onnxruntime-web (WASM provider) as export-sequences.test.ts
// holds the recurrent ones: LayerNormalization (the opset-17 operator, and the decomposition at opset 13),
// MultiHeadAttention (self-attention, causal, cross-attention [query, value, key] with other widths and
// valueDim, returnAttentionScores, key padding masks — a sample all padding, causal rows whose keys are all
// padding), PositionEmbedding (its table sliced to T), SinePositionEncoding, Cropping1D with a mask, pre-norm
// transformer blocks and the built-in models/char_transformer.json at real sizes. On seeded weights and inputs
// ORT's outputs must equal predictAll()'s within 1e-5 (absolute: the same f32 arithmetic summed in another
// order). A missing 1/√keyDim, heads split the wrong way and the −∞ of the causal mask left out are each
// shown to fail the same comparison.

import { describe, expect, test } from "bun:test";
import { worstAgainstOrt } from "./export-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  Cropping1D, Dense, Embedding, Input, LayerNormalization, Masking, Model, MultiHeadAttention, PositionEmbedding, SinePositionEncoding,
} from "../../src/index";
import { transformerDecoderBlock, transformerEncoderBlock } from "../../src/layers/transformer-blocks";
import { buildModel, parseModelJson } from "../../src/model/model-file";
import { exportOnnx } from "../../src/onnx/export";
import { decodeModel, type ModelProto } from "../../src/onnx/onnx-proto";
import { seededValues } from "../support/twin-heaps";

const BATCH = 3, STEPS = 6, WIDTH = 8;

/** Seeded weights, predictAll() and ORT's outputs for the same inputs: the worst ratio to 1e-5 (abs). */
async function check(model: Model, xs: Float32Array[], options: { mutate?: (proto: ModelProto) => void; opset?: number; weights?: boolean } = {}): Promise<number> {
  model.build();
  if (options.weights !== false) model.setWeights(model.params.map((p, i) => seededValues(p.size, 30 + i, -0.6, 0.6)));
  return worstAgainstOrt(model, xs, BATCH, { mutate: options.mutate, opset: options.opset });
}

const expectSame = async (model: Model, xs: Float32Array[], opset?: number) => expect(await check(model, xs, { opset })).toBeLessThanOrEqual(1);
const features = (seed: number, steps = STEPS, width = WIDTH) => seededValues(BATCH * steps * width, seed, -1.5, 1.5);

describe("export of attention layers: ONNX Runtime reproduces predictAll()", () => {
  test("LayerNormalization over the last axis and over [-2, -1] (center off), as the opset-17 operator and decomposed at opset 13", async () => {
    const make = () => {
      const x = Input({ shape: [STEPS, WIDTH], name: "x" });
      const a = new LayerNormalization({ epsilon: 1e-5 }).apply(x);
      const b = new LayerNormalization({ axis: [-2, -1], center: false }).apply(new Dense({ units: 5 }).apply(x));
      const c = new LayerNormalization({ axis: [-2, -1], scale: false }).apply(x);
      return new Model({ inputs: x, outputs: [a, b, c] });
    };
    await expectSame(make(), [features(1)]);
    await expectSame(make(), [features(1)], 13);
  });

  test("a pre-norm self-attention block (not causal), and a causal one", async () => {
    for (const causal of [false, true]) {
      const x = Input({ shape: [STEPS, WIDTH], name: "x" });
      const y = transformerEncoderBlock(x, { numHeads: 2, causal, ffDim: 16 });
      await expectSame(new Model({ inputs: x, outputs: y }), [features(2)]);
    }
  });

  test("cross-attention [query, value, key] with other widths, valueDim ≠ keyDim and an outputShape", async () => {
    const q = Input({ shape: [STEPS, WIDTH], name: "query" }), v = Input({ shape: [4, 5], name: "value" }), k = Input({ shape: [4, 3], name: "key" });
    const y = new MultiHeadAttention({ numHeads: 3, keyDim: 2, valueDim: 4, outputShape: 7 }).apply([q, v, k]);
    await expectSame(new Model({ inputs: [q, v, k], outputs: y }), [features(3), features(4, 4, 5), features(5, 4, 3)]);
  });

  test("returnAttentionScores: the weights [batch, heads, Tq, Tk] are a second output (causal, and [query, value] without bias)", async () => {
    const q = Input({ shape: [STEPS, WIDTH], name: "query" }), v = Input({ shape: [4, 5], name: "value" });
    const [a, weights] = new MultiHeadAttention({ numHeads: 2, keyDim: 3, useCausalMask: true, returnAttentionScores: true }).applyAll(q);
    const [b, crossWeights] = new MultiHeadAttention({ numHeads: 4, keyDim: 2, useBias: false, returnAttentionScores: true }).applyAll([q, v]);
    await expectSame(new Model({ inputs: [q, v], outputs: [a, weights, b, crossWeights] }), [features(6), features(7, 4, 5)]);
  });

  test("key padding masks: padded values, a sample all padding (zeros, as ours), causal rows whose keys are all padding", async () => {
    const q = Input({ shape: [STEPS, WIDTH], name: "query" }), v = Input({ shape: [STEPS, 5], name: "value" });
    const values = features(8, STEPS, 5);
    // Sample 0: steps 4, 5 padded; sample 1: all; sample 2: steps 0, 1 (causal rows 0 and 1 see no key).
    for (const [b, t] of [[0, 4], [0, 5], ...Array.from({ length: STEPS }, (_, t) => [1, t]), [2, 0], [2, 1]]) values.fill(0, (b * STEPS + t) * 5, (b * STEPS + t + 1) * 5);
    const masked = new Masking({ maskValue: 0 }).apply(v);
    const [cross, crossWeights] = new MultiHeadAttention({ numHeads: 2, keyDim: 3, returnAttentionScores: true }).applyAll([q, masked]);
    const [self, selfWeights] = new MultiHeadAttention({ numHeads: 2, keyDim: 2, useCausalMask: true, returnAttentionScores: true }).applyAll(masked);
    const model = new Model({ inputs: [q, v], outputs: [cross, crossWeights, self, selfWeights] });
    await expectSame(model, [features(9), values]);
    // Rows with no visible key are zeros in both.
    const weights = model.predictAll([features(9), values])[3].data;
    expect(Array.from(weights.subarray(STEPS * STEPS * 2, STEPS * STEPS * 4)).every((w) => w === 0)).toBe(true);
  });

  test("PositionEmbedding (table longer than the input: sliced), SinePositionEncoding, Cropping1D of a masked sequence", async () => {
    const x = Input({ shape: [STEPS], name: "ids" });
    const tokens = new Embedding({ inputDim: 11, outputDim: WIDTH, maskZero: true }).apply(x);
    const learned = new PositionEmbedding({ sequenceLength: STEPS + 3 }).apply(tokens);
    const sine = new SinePositionEncoding({ maxWavelength: 500 }).apply(tokens);
    const last = new Cropping1D({ cropping: [2, 1] }).apply(new Dense({ units: 4 }).apply(tokens));
    const pooled = new MultiHeadAttention({ numHeads: 2, keyDim: 2 }).apply([last, new Cropping1D({ cropping: [1, 0] }).apply(tokens)]);
    const ids = Float32Array.from(seededValues(BATCH * STEPS, 10, 1, 11), Math.floor);
    ids.fill(0, 0, 2); // sample 0 starts with padding: the crop keeps part of the mask
    await expectSame(new Model({ inputs: x, outputs: [learned, sine, last, pooled] }), [ids]);
  });

  test("a decoder block (causal self-attention, then attention to an encoder's output)", async () => {
    const x = Input({ shape: [STEPS, WIDTH], name: "x" }), memory = Input({ shape: [4, WIDTH], name: "memory" });
    const y = transformerDecoderBlock(x, transformerEncoderBlock(memory, { numHeads: 2 }), { numHeads: 4, keyDim: 3, activation: "relu" });
    await expectSame(new Model({ inputs: [x, memory], outputs: y }), [features(11), features(12, 4, WIDTH)]);
  });

  test("models/char_transformer.json at real sizes (context 16, 30 characters), with its initial weights", async () => {
    const file = parseModelJson(readFileSync(join(import.meta.dir, "../../models/char_transformer.json"), "utf8"), "char_transformer.json");
    const model = buildModel(file, "char_transformer.json", { context: 16, classes: 30, vocabularySize: 30, seed: 3 });
    const ids = Float32Array.from(seededValues(BATCH * 16, 13, 0, 30), Math.floor);
    expect(await check(model, [ids], { weights: false })).toBeLessThanOrEqual(1);
    // And on wider weights, where the attention is far from uniform.
    expect(await check(model, [ids])).toBeLessThanOrEqual(1);
  });
});

describe("the checks can fail", () => {
  const causalModel = () => {
    const x = Input({ shape: [STEPS, WIDTH], name: "x" });
    return new Model({ inputs: x, outputs: new MultiHeadAttention({ numHeads: 2, keyDim: 3, useCausalMask: true }).apply(x) });
  };
  const node = (proto: ModelProto, name: string) => proto.graph.nodes.find((n) => n.name.startsWith(name))!;

  test("scores not scaled by 1/√keyDim", async () => {
    expect(await check(causalModel(), [features(14)])).toBeLessThanOrEqual(1);
    const unscaled = (proto: ModelProto) => {
      const mul = node(proto, "scaled_scores");
      Object.assign(mul, { opType: "Identity", inputs: [mul.inputs[0]] });
    };
    expect(await check(causalModel(), [features(14)], { mutate: unscaled })).toBeGreaterThan(100);
  });

  test("heads split the other way ([dim, heads] instead of [heads, dim])", async () => {
    const swap = (proto: ModelProto) => {
      for (const role of ["query", "key", "value"]) {
        const target = proto.graph.initializers.find((t) => t.name === node(proto, `${role}_heads`).inputs[1])!;
        const data = target.data as BigInt64Array;
        [data[2], data[3]] = [data[3], data[2]];
      }
    };
    expect(await check(causalModel(), [features(14)], { mutate: swap })).toBeGreaterThan(100);
  });

  test("the causal mask left out", async () => {
    const open = (proto: ModelProto) => {
      const add = node(proto, "causal_scores");
      Object.assign(add, { opType: "Identity", inputs: [add.inputs[0]] });
    };
    expect(await check(causalModel(), [features(14)], { mutate: open })).toBeGreaterThan(100);
  });
});

describe("what the export writes", () => {
  const model = () => {
    const x = Input({ shape: [STEPS, WIDTH], name: "x" });
    const m = new Model({ inputs: x, outputs: new Dense({ units: 2 }).apply(new LayerNormalization({ name: "norm" }).apply(x)) });
    m.build();
    return m;
  };

  test("opset 17 and one LayerNormalization node where the model has one; at opset 13–16 no such node; a model without one stays at 13", () => {
    const proto = decodeModel(exportOnnx(model()), "ln");
    expect(proto.opsetImports).toEqual([{ domain: "", version: 17 }]);
    const ln = proto.graph.nodes.filter((n) => n.opType === "LayerNormalization");
    expect(ln.map((n) => n.inputs.slice(1))).toEqual([["norm/gamma", "norm/beta"]]);
    expect(ln[0].attributes).toEqual([{ name: "axis", type: "INT", i: 2 }, { name: "epsilon", type: "FLOAT", f: Math.fround(1e-3) }]);
    for (const opset of [13, 16]) {
      const old = decodeModel(exportOnnx(model(), { opset }), "ln");
      expect(old.opsetImports).toEqual([{ domain: "", version: opset }]);
      expect(old.graph.nodes.map((n) => n.opType)).toEqual(["ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Add", "MatMul", "Add"]);
    }
    const x = Input({ shape: [4], name: "x" });
    const plain = new Model({ inputs: x, outputs: new Dense({ units: 2 }).apply(x) });
    plain.build();
    expect(decodeModel(exportOnnx(plain), "plain").opsetImports).toEqual([{ domain: "", version: 13 }]);
  });

  test("opsets outside 13–17 are refused", () => {
    expect(() => exportOnnx(model(), { opset: 12 })).toThrow("ONNX export writes opsets 13 to 17, not 12");
    expect(() => exportOnnx(model(), { opset: 18 })).toThrow("ONNX export writes opsets 13 to 17, not 18");
  });
});
