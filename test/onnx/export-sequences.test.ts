// ONNX export of the sequence layers, held against onnxruntime-web (WASM provider) as export-graphs.test.ts
// holds the image layers: Embedding (Gather on ids cast to int64), LSTM, GRU and SimpleRNN (ONNX's LSTM, GRU
// and RNN operators with re-laid weights and gate orders), goBackwards (direction "reverse"), Bidirectional
// with every merge, stacked layers, returnState outputs and initial states as inputs, the global 1-D pools,
// and masks (Embedding's maskZero, Masking) on ids padded at the end, in front, in the middle and entirely,
// which the exported graph turns into sequence_lens after moving the real steps to the front. On random
// weights and inputs ORT's outputs must equal predictAll()'s within 1e-5 (absolute: the same f32 arithmetic in
// another order). The GRU in both forms: reset after (linear_before_reset = 1) and, with resetAfter false,
// reset before (linear_before_reset = 0, its one bias in Wb). Our gate order written as is, real steps left in
// place (sequence_lens alone, for padding in the middle), and the reset-before GRU marked
// linear_before_reset = 1 are shown to fail the same comparison.

import { describe, expect, test } from "bun:test";
import { worstAgainstOrt } from "./export-check";
import {
  Bidirectional, Concatenate, Dense, Embedding, GRU, GlobalAveragePool1D, GlobalMaxPool1D, Input, LSTM, Masking, Model, SimpleRNN,
} from "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { decodeModel, type ModelProto } from "../../src/onnx/onnx-proto";
import { seededValues } from "../support/twin-heaps";

const BATCH = 4, STEPS = 6, VOCAB = 11;

/** Ids in [1, VOCAB) with zeros (padding) where `pad` says, per sample: "end", "front", "middle", "all" or "none". */
function ids(pads: ("end" | "front" | "middle" | "all" | "none")[], seed = 5): Float32Array {
  const raw = seededValues(pads.length * STEPS, seed, 1, VOCAB);
  const out = Float32Array.from(raw, Math.floor);
  pads.forEach((pad, b) => {
    const zero = (t: number) => (out[b * STEPS + t] = 0);
    if (pad === "end") [4, 5].forEach(zero);
    if (pad === "front") [0, 1, 2].forEach(zero);
    if (pad === "middle") [1, 3, 4].forEach(zero);
    if (pad === "all") for (let t = 0; t < STEPS; t++) zero(t);
  });
  return out;
}

/** Seeded weights (recurrent ones small enough that the states do not saturate) and the model's outputs in ORT vs predictAll. */
async function check(model: Model, xs: Float32Array[], options: { mutate?: (proto: ModelProto) => void } = {}): Promise<number> {
  model.build();
  model.setWeights(model.params.map((p, i) => seededValues(p.size, 10 + i, -0.6, 0.6)));
  return worstAgainstOrt(model, xs, BATCH, { mutate: options.mutate });
}

const expectSame = async (model: Model, xs: Float32Array[]) => expect(await check(model, xs)).toBeLessThanOrEqual(1);
const features = (seed: number, steps = STEPS, width = 3) => seededValues(BATCH * steps * width, seed, -1.5, 1.5);

describe("export of sequence layers: ONNX Runtime reproduces predictAll()", () => {
  test("Embedding → LSTM → Dense (softmax)", async () => {
    const x = Input({ shape: [STEPS], name: "ids" });
    const y = new Dense({ units: 3, activation: "softmax" }).apply(new LSTM({ units: 5 }).apply(new Embedding({ inputDim: VOCAB, outputDim: 4 }).apply(x)));
    await expectSame(new Model({ inputs: x, outputs: y }), [ids(["none", "none", "none", "none"])]);
  });

  test("GRU with returnSequences → GlobalAveragePool1D; the same GRU without a bias → GlobalMaxPool1D", async () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    const a = new GlobalAveragePool1D().apply(new GRU({ units: 4, returnSequences: true }).apply(x));
    const b = new GlobalMaxPool1D().apply(new GRU({ units: 3, returnSequences: true, useBias: false }).apply(x));
    await expectSame(new Model({ inputs: x, outputs: new Dense({ units: 2 }).apply(new Concatenate().apply([a, b])) }), [features(7)]);
  });

  for (const mergeMode of ["concat", "sum", "ave", "mul"] as const) {
    test(`Bidirectional(LSTM) ${mergeMode}, with sequences, then Bidirectional(GRU) ${mergeMode} on the last step`, async () => {
      const x = Input({ shape: [STEPS, 3], name: "x" });
      const seq = new Bidirectional({ layer: new LSTM({ units: 4, returnSequences: true }), mergeMode }).apply(x);
      const last = new Bidirectional({ layer: new GRU({ units: 3 }), mergeMode }).apply(seq);
      await expectSame(new Model({ inputs: x, outputs: [seq, last] }), [features(8)]);
    });
  }

  test("goBackwards SimpleRNN (relu, with sequences in processing order; linear, the last step)", async () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    const seq = new SimpleRNN({ units: 4, returnSequences: true, goBackwards: true, activation: "relu" }).apply(x);
    const last = new SimpleRNN({ units: 3, goBackwards: true, activation: "linear" }).apply(seq);
    const sigmoid = new SimpleRNN({ units: 2, activation: "sigmoid" }).apply(x);
    await expectSame(new Model({ inputs: x, outputs: [seq, last, sigmoid] }), [features(9)]);
  });

  test("stacked layers: LSTM → GRU (goBackwards) → SimpleRNN → Dense on every step", async () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    let y = new LSTM({ units: 5, returnSequences: true }).apply(x);
    y = new GRU({ units: 4, returnSequences: true, goBackwards: true }).apply(y);
    y = new SimpleRNN({ units: 3, returnSequences: true }).apply(y);
    await expectSame(new Model({ inputs: x, outputs: new Dense({ units: 2, activation: "tanh" }).apply(y) }), [features(10)]);
  });

  test("returnState outputs and initial states as inputs: LSTM (h, c), GRU, Bidirectional(LSTM) (four states)", async () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    const h0 = Input({ shape: [4], name: "h0" }), c0 = Input({ shape: [4], name: "c0" });
    const [seq, h, c] = new LSTM({ units: 4, returnSequences: true, returnState: true }).applyAll([x, h0, c0]);
    const [last, gh] = new GRU({ units: 4, returnState: true }).applyAll([seq, h]);
    const [both, fh, fc, bh, bc] = new Bidirectional({ layer: new LSTM({ units: 4, returnState: true }) }).applyAll([x, h0, c0, c, h]);
    const model = new Model({ inputs: [x, h0, c0], outputs: [seq, h, c, last, gh, both, fh, fc, bh, bc] });
    await expectSame(model, [features(11), seededValues(BATCH * 4, 12), seededValues(BATCH * 4, 13)]);
  });
});

describe("export of the reset-before GRU (resetAfter false): linear_before_reset = 0", () => {
  const before = (o: ConstructorParameters<typeof GRU>[0]) => new GRU({ resetAfter: false, ...o });

  test("with sequences, without a bias, goBackwards, Bidirectional (concat, then ave on the last step), returnState with an initial state", async () => {
    const x = Input({ shape: [STEPS, 3], name: "x" }), h0 = Input({ shape: [4], name: "h0" });
    const seq = before({ units: 4, returnSequences: true }).apply(x);
    const pooled = new GlobalMaxPool1D().apply(before({ units: 3, returnSequences: true, useBias: false }).apply(x));
    const back = before({ units: 3, returnSequences: true, goBackwards: true }).apply(seq);
    const both = new Bidirectional({ layer: before({ units: 3, returnSequences: true }) }).apply(back);
    const ave = new Bidirectional({ layer: before({ units: 2 }), mergeMode: "ave" }).apply(both);
    const [last, h] = before({ units: 4, returnState: true }).applyAll([x, h0]);
    await expectSame(new Model({ inputs: [x, h0], outputs: [seq, pooled, back, both, ave, last, h] }), [features(17), seededValues(BATCH * 4, 18)]);
  });

  test("Embedding(maskZero) → GRU with sequences → Bidirectional(GRU), ids padded at the end, in front, in the middle, entirely", async () => {
    const x = Input({ shape: [STEPS], name: "ids" });
    const seq = before({ units: 3, returnSequences: true }).apply(new Embedding({ inputDim: VOCAB, outputDim: 4, maskZero: true }).apply(x));
    const last = new Bidirectional({ layer: before({ units: 3 }) }).apply(seq);
    await expectSame(new Model({ inputs: x, outputs: [seq, last] }), [ids(["end", "front", "middle", "all"])]);
  });

  test("the node says linear_before_reset 0, B holds the one bias in Wb and zeros in Rb; the reset-after GRU says 1", () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    const model = new Model({ inputs: x, outputs: [before({ units: 2, name: "b" }).apply(x), new GRU({ units: 2, name: "a" }).apply(x)] });
    model.build();
    model.setWeights(model.params.map((p, i) => seededValues(p.size, 30 + i, 0.1, 0.6)));
    const proto = decodeModel(exportOnnx(model), "gru");
    const flag = (name: string) => proto.graph.nodes.find((node) => node.opType === "GRU" && node.name.startsWith(name))?.attributes.find((a) => a.name === "linear_before_reset");
    expect([flag("b"), flag("a")]).toEqual([{ name: "linear_before_reset", type: "INT", i: 0 }, { name: "linear_before_reset", type: "INT", i: 1 }]);
    const B = proto.graph.initializers.find((t) => t.name === "b/B")!;
    expect(B.dims).toEqual([1, 12]);
    expect(Array.from((B.data as Float32Array).subarray(6))).toEqual(new Array(6).fill(0));
    expect((B.data as Float32Array).subarray(0, 6).every((v) => v > 0)).toBe(true);
  });

  test("the check can fail: the same file with linear_before_reset 1 gives other outputs", async () => {
    const make = () => {
      const x = Input({ shape: [STEPS, 3], name: "x" });
      return new Model({ inputs: x, outputs: before({ units: 4, returnSequences: true }).apply(x) });
    };
    expect(await check(make(), [features(19)])).toBeLessThanOrEqual(1);
    const resetAfter = (proto: ModelProto) => {
      for (const node of proto.graph.nodes.filter((nd) => nd.opType === "GRU")) {
        node.attributes = node.attributes.map((a) => (a.name === "linear_before_reset" ? { ...a, i: 1 } : a));
      }
    };
    expect(await check(make(), [features(19)], { mutate: resetAfter })).toBeGreaterThan(100);
  });
});

describe("export of masks: exact for padding anywhere", () => {
  const padded = ["end", "front", "middle", "all"] as const;

  test("Embedding(maskZero) → Bidirectional(LSTM) with sequences → GRU → Dense, ids padded at the end, in front, in the middle, entirely", async () => {
    const x = Input({ shape: [STEPS], name: "ids" });
    let y = new Embedding({ inputDim: VOCAB, outputDim: 4, maskZero: true }).apply(x);
    y = new Bidirectional({ layer: new LSTM({ units: 3, returnSequences: true }) }).apply(y);
    const model = new Model({ inputs: x, outputs: [y, new Dense({ units: 2 }).apply(new GRU({ units: 3 }).apply(y))] });
    await expectSame(model, [ids([...padded])]);
    // Padded at the end only: the case sequence_lens alone would cover.
    await expectSame(model, [ids(["end", "end", "none", "end"], 6)]);
  });

  test("Embedding(maskZero) → Dense on every step → goBackwards SimpleRNN with sequences (its mask reversed) → GlobalAveragePool1D and GlobalMaxPool1D", async () => {
    const x = Input({ shape: [STEPS], name: "ids" });
    let y = new Embedding({ inputDim: VOCAB, outputDim: 4, maskZero: true }).apply(x);
    y = new Dense({ units: 4, activation: "tanh" }).apply(y);
    y = new SimpleRNN({ units: 3, returnSequences: true, goBackwards: true }).apply(y);
    const pooled = new Concatenate().apply([new GlobalAveragePool1D().apply(y), new GlobalMaxPool1D().apply(y)]);
    await expectSame(new Model({ inputs: x, outputs: [y, pooled] }), [ids([...padded])]);
  });

  test("Masking (padding in the middle) → GRU with initial states (kept where a sample is all padding) → Bidirectional(SimpleRNN, sum) with states", async () => {
    const x = Input({ shape: [STEPS, 3], name: "x" }), h0 = Input({ shape: [3], name: "h0" });
    const data = features(14);
    // Sample 0 padded at steps 1 and 4, sample 1 entirely, sample 2 at the end, sample 3 not at all.
    for (const [b, t] of [[0, 1], [0, 4], ...Array.from({ length: STEPS }, (_, t) => [1, t]), [2, 5]]) data.fill(0.25, (b * STEPS + t) * 3, (b * STEPS + t + 1) * 3);
    const masked = new Masking({ maskValue: 0.25 }).apply(x);
    const [seq, h] = new GRU({ units: 3, returnSequences: true, returnState: true }).applyAll([masked, h0]);
    const [merged, fh, bh] = new Bidirectional({ layer: new SimpleRNN({ units: 3, returnSequences: true, returnState: true }), mergeMode: "sum" }).applyAll([seq, h, h0]);
    await expectSame(new Model({ inputs: [x, h0], outputs: [seq, h, merged, fh, bh] }), [data, seededValues(BATCH * 3, 15)]);
  });
});

describe("the checks can fail", () => {
  test("an LSTM whose W, R and B keep our gate order [i, f, g, o] (not ONNX's [i, o, f, c]) gives other outputs", async () => {
    const make = () => {
      const x = Input({ shape: [STEPS, 3], name: "x" });
      return new Model({ inputs: x, outputs: new LSTM({ units: 4, returnSequences: true }).apply(x) });
    };
    expect(await check(make(), [features(16)])).toBeLessThanOrEqual(1);
    // Blocks 1..3 of every W, R and B row block put back in our order: o, f, c → f, c, o.
    const ours = (proto: ModelProto) => {
      for (const t of proto.graph.initializers.filter((t) => /\/(W|R|B)$/.test(t.name))) {
        const data = t.data as Float32Array;
        // Elements per gate block: W and R have four per direction, B eight (Wb's, then Rb's zeros).
        const rowsPerBlock = data.length / t.dims[0] / (t.name.endsWith("/B") ? 8 : 4);
        for (let d = 0; d < t.dims[0]; d++) {
          const slab = data.subarray((d * data.length) / t.dims[0], ((d + 1) * data.length) / t.dims[0]);
          const block = (k: number) => slab.slice(k * rowsPerBlock, (k + 1) * rowsPerBlock);
          const [o, f, c] = [block(1), block(2), block(3)];
          slab.set(f, rowsPerBlock);
          slab.set(c, 2 * rowsPerBlock);
          slab.set(o, 3 * rowsPerBlock);
        }
      }
    };
    expect(await check(make(), [features(16)], { mutate: ours })).toBeGreaterThan(100);
  });

  test("a mask in the middle without the move to the front (sequence_lens alone) gives other outputs", async () => {
    const make = () => {
      const x = Input({ shape: [STEPS], name: "ids" });
      return new Model({ inputs: x, outputs: new LSTM({ units: 3 }).apply(new Embedding({ inputDim: VOCAB, outputDim: 4, maskZero: true }).apply(x)) });
    };
    const middle = [ids(["middle", "middle", "front", "middle"])];
    expect(await check(make(), middle)).toBeLessThanOrEqual(1);
    // The ScatterElements that moves real steps to the front made an identity: its data passes through.
    const skipMove = (proto: ModelProto) => {
      const scatter = proto.graph.nodes.find((n) => n.opType === "ScatterElements")!;
      Object.assign(scatter, { opType: "Identity", inputs: [scatter.inputs[0]], attributes: [] });
    };
    expect(await check(make(), middle, { mutate: skipMove })).toBeGreaterThan(100);
  });
});

describe("what the export writes", () => {
  test("opset 13, one LSTM node with ONNX's layouts, ids cast to int64 for the Gather, no Transpose of a layout the graph does not need", () => {
    const x = Input({ shape: [STEPS], name: "ids" });
    const model = new Model({ inputs: x, outputs: new Bidirectional({ layer: new LSTM({ units: 5 }) }).apply(new Embedding({ inputDim: VOCAB, outputDim: 4, name: "embed" }).apply(x)) });
    model.build();
    const proto = decodeModel(exportOnnx(model), "shapes");
    expect(proto.opsetImports).toEqual([{ domain: "", version: 13 }]);
    const lstm = proto.graph.nodes.filter((n) => n.opType === "LSTM");
    expect(lstm.length).toBe(1);
    const dims = (name: string) => proto.graph.initializers.find((t) => t.name === name)?.dims;
    expect(lstm[0].inputs.slice(1).map(dims)).toEqual([[2, 20, 4], [2, 20, 5], [2, 40]]);
    expect(lstm[0].attributes.find((a) => a.name === "direction")).toEqual({ name: "direction", type: "STRING", s: "bidirectional" });
    const gather = proto.graph.nodes.find((n) => n.opType === "Gather")!;
    expect(gather.inputs[0]).toBe("embed/embeddings");
    expect(proto.graph.nodes.find((n) => n.outputs[0] === gather.inputs[1])?.opType).toBe("Cast");
    expect(proto.graph.inputs[0]).toEqual({ name: "input", elemType: 1, shape: ["batch", STEPS] });
  });

  test("a Bidirectional wrapping a goBackwards layer is refused by name", () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    const model = new Model({ inputs: x, outputs: new Bidirectional({ layer: new GRU({ units: 2, goBackwards: true }), name: "both" }).apply(x) });
    model.build();
    expect(() => exportOnnx(model)).toThrow("layer both (Bidirectional) has no ONNX export for a wrapped layer with goBackwards");
  });
});
