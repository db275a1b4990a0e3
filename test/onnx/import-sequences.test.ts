// Import of ONNX's recurrent operators and embedding lookups:
//   round trip — wasmgrad's own exports of Embedding, LSTM, GRU, SimpleRNN (goBackwards too), Bidirectional
//            with every merge, stacked layers, the global 1-D pools, returnState and initial states import
//            back to the same layers computing the same function (predictAll within 1e-5·(1 + |want|));
//   graphs   — LSTM/GRU/RNN files built here with the encoder (layout 0 and 1, a reverse Y read in time
//            order, zero initial states from ConstantOfShape, int64 ids into a Gather, GRUs with
//            linear_before_reset 1 and 0 — the latter our resetAfter false, Wb + Rb its one bias), held against
//            ONNX Runtime (ort-reference.ts), and the same file written with layout 1 against layout 0;
//   refusals — what is not imported is one InputError naming the node and why.
// (PyTorch's own exports of nn.LSTM/GRU/RNN/Embedding are in pytorch-sequences.test.ts.)

import { describe, expect, test } from "bun:test";
import { roundTrip } from "./export-check";
import {
  Bidirectional, Concatenate, Dense, Embedding, GRU, GlobalAveragePool1D, GlobalMaxPool1D, Input, LSTM, Masking, Model, SimpleRNN,
} from "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { readOnnx } from "../../src/onnx/import";
import { encodeModel, TensorDataType, type AttributeProto, type ModelProto, type NodeProto, type TensorProto } from "../../src/onnx/onnx-proto";
import { seededValues, worstMismatch } from "../support/twin-heaps";
import { runOrt, ORT_NAME, type Feed } from "./ort-reference";

const BATCH = 3, STEPS = 5, VOCAB = 9;
const ids = (seed = 4) => Float32Array.from(seededValues(BATCH * STEPS, seed, 0, VOCAB), Math.floor);
const features = (seed: number, width = 3) => seededValues(BATCH * STEPS * width, seed, -1.5, 1.5);


const types = (m: Model) => m.layers.map((l) => (l instanceof Bidirectional ? `Bidirectional(${l.forwardLayer.type}, ${l.mergeMode})` : l.type));

describe("wasmgrad's exports of sequence layers import back to the same function", () => {
  test("Embedding → LSTM → Dense", () => {
    const x = Input({ shape: [STEPS], name: "ids" });
    const model = new Model({ inputs: x, outputs: new Dense({ units: 3, activation: "softmax" }).apply(new LSTM({ units: 4 }).apply(new Embedding({ inputDim: VOCAB, outputDim: 3 }).apply(x))) });
    expect(types(roundTrip(model, [ids()]).model)).toEqual(["Embedding", "LSTM", "Dense"]);
  });

  test("GRU with sequences → GlobalAveragePool1D, a GRU without bias → GlobalMaxPool1D", () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    const a = new GlobalAveragePool1D().apply(new GRU({ units: 4, returnSequences: true }).apply(x));
    const b = new GlobalMaxPool1D().apply(new GRU({ units: 3, returnSequences: true, useBias: false }).apply(x));
    const back = roundTrip(new Model({ inputs: x, outputs: new Dense({ units: 2 }).apply(new Concatenate().apply([a, b])) }), [features(5)]);
    expect(types(back.model)).toEqual(["GRU", "GlobalAveragePool1D", "GRU", "GlobalMaxPool1D", "Concatenate", "Dense"]);
  });

  for (const mergeMode of ["concat", "sum", "ave", "mul"] as const) {
    test(`Bidirectional(LSTM) ${mergeMode} with sequences → Bidirectional(GRU) ${mergeMode}: the merge is read back from the reduction over directions`, () => {
      const x = Input({ shape: [STEPS, 3], name: "x" });
      const seq = new Bidirectional({ layer: new LSTM({ units: 3, returnSequences: true }), mergeMode }).apply(x);
      const back = roundTrip(new Model({ inputs: x, outputs: [seq, new Bidirectional({ layer: new GRU({ units: 2 }), mergeMode }).apply(seq)] }), [features(6)]);
      expect(types(back.model)).toEqual([`Bidirectional(LSTM, ${mergeMode})`, `Bidirectional(GRU, ${mergeMode})`]);
    });
  }

  test("goBackwards SimpleRNN with sequences (the export's reversing Slice cancels the pending reversal: no extra layer), stacked under LSTM and GRU", () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    let y = new LSTM({ units: 4, returnSequences: true }).apply(x);
    y = new SimpleRNN({ units: 3, returnSequences: true, goBackwards: true, activation: "relu" }).apply(y);
    y = new GRU({ units: 3, returnSequences: true, goBackwards: true }).apply(y);
    const last = new SimpleRNN({ units: 2, goBackwards: true, activation: "linear" }).apply(y);
    const back = roundTrip(new Model({ inputs: x, outputs: [y, last, new SimpleRNN({ units: 2, activation: "sigmoid" }).apply(x)] }), [features(7)]);
    expect(types(back.model)).toEqual(["LSTM", "SimpleRNN", "GRU", "SimpleRNN", "SimpleRNN"]);
    expect(back.model.layers.filter((l) => l instanceof SimpleRNN).map((l) => [(l as SimpleRNN).goBackwards, (l as SimpleRNN).activation])).toEqual([[true, "relu"], [true, "linear"], [false, "sigmoid"]]);
  });

  test("returnState and initial states as inputs: LSTM (h, c), GRU, Bidirectional(LSTM) with four states", () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    const h0 = Input({ shape: [4], name: "h0" }), c0 = Input({ shape: [4], name: "c0" });
    const [seq, h, c] = new LSTM({ units: 4, returnSequences: true, returnState: true }).applyAll([x, h0, c0]);
    const [last, gh] = new GRU({ units: 4, returnState: true }).applyAll([seq, h]);
    const [both, fh, fc, bh, bc] = new Bidirectional({ layer: new LSTM({ units: 4, returnState: true }) }).applyAll([x, h0, c0, c, h]);
    const model = new Model({ inputs: [x, h0, c0], outputs: [seq, h, c, last, gh, both, fh, fc, bh, bc] });
    roundTrip(model, [features(8), seededValues(BATCH * 4, 9), seededValues(BATCH * 4, 10)]);
  });

  test("the reset-before GRU (resetAfter false, linear_before_reset 0): with sequences, without a bias, goBackwards, Bidirectional, returnState with an initial state", () => {
    const x = Input({ shape: [STEPS, 3], name: "x" }), h0 = Input({ shape: [3], name: "h0" });
    const before = (o: ConstructorParameters<typeof GRU>[0]) => new GRU({ resetAfter: false, ...o });
    const seq = before({ units: 3, returnSequences: true }).apply(x);
    const plain = new GlobalMaxPool1D().apply(before({ units: 2, returnSequences: true, useBias: false }).apply(x));
    const back = before({ units: 3, returnSequences: true, goBackwards: true }).apply(seq);
    const both = new Bidirectional({ layer: before({ units: 2 }), mergeMode: "sum" }).apply(back);
    const [last, h] = before({ units: 3, returnState: true }).applyAll([x, h0]);
    const imported = roundTrip(new Model({ inputs: [x, h0], outputs: [seq, plain, back, both, last, h] }), [features(11), seededValues(BATCH * 3, 12)]);
    const grus = imported.model.layers.flatMap((l) => (l instanceof Bidirectional ? [l.forwardLayer] : l instanceof GRU ? [l] : [])) as GRU[];
    expect(grus.map((g) => [g.resetAfter, g.bias?.shape ?? null])).toEqual([[false, [9]], [false, null], [false, [9]], [false, [6]], [false, [9]]]);
  });

  test("a masked model's export is refused on import at its first mask operator, by name", () => {
    const x = Input({ shape: [STEPS, 3], name: "x" });
    const model = new Model({ inputs: x, outputs: new LSTM({ units: 2 }).apply(new Masking().apply(x)) });
    model.build();
    expect(() => readOnnx(exportOnnx(model), { source: "masked.onnx" })).toThrow(/masked\.onnx: node \w+ \(Equal\): unsupported operator 'Equal'/);
  });
});

// ---- graphs built here ------------------------------------------------------------------------------

let seedCounter = 300;
const f32 = (name: string, dims: number[], lo = -0.5, hi = 0.5): TensorProto => ({ name, dataType: TensorDataType.FLOAT, dims, data: seededValues(dims.reduce((a, b) => a * b, 1), seedCounter++, lo, hi) });
const i64 = (name: string, values: number[], dims = [values.length]): TensorProto => ({ name, dataType: TensorDataType.INT64, dims, data: BigInt64Array.from(values.map(BigInt)) });
const ints = (name: string, values: number[]): AttributeProto => ({ name, type: "INTS", ints: values });
const int = (name: string, i: number): AttributeProto => ({ name, type: "INT", i });
const str = (name: string, s: string): AttributeProto => ({ name, type: "STRING", s });
const n = (opType: string, inputs: string[], output: string | string[], attributes: AttributeProto[] = []): NodeProto => ({
  name: `/${opType}_${Array.isArray(output) ? output.find(Boolean) : output}`, opType, domain: "", inputs, outputs: Array.isArray(output) ? output : [output], attributes,
});

interface GraphSpec {
  nodes: NodeProto[];
  initializers?: TensorProto[];
  inputs: { name: string; shape: (number | string)[]; type?: number }[];
  outputs: string[];
  opset?: number;
}

function file(spec: GraphSpec): Uint8Array {
  const proto: ModelProto = {
    irVersion: 8, opsetImports: [{ domain: "", version: spec.opset ?? 13 }], producerName: "test", producerVersion: "",
    graph: {
      name: "g", nodes: spec.nodes, initializers: spec.initializers ?? [],
      inputs: spec.inputs.map((i) => ({ name: i.name, elemType: i.type ?? TensorDataType.FLOAT, shape: i.shape })),
      outputs: spec.outputs.map((name) => ({ name, elemType: TensorDataType.FLOAT, shape: undefined })),
    },
  };
  return encodeModel(proto);
}

/** The batch the graphs are fed: ids for integer inputs, features otherwise. */
function feedsFor(imported: ReturnType<typeof readOnnx>): Feed[] {
  return imported.inputs.map((info, i) => {
    const shape = [BATCH, ...info.fileShape];
    const size = shape.reduce((a, b) => a * b, 1);
    return info.integer ? { name: info.name, shape, data: ids(40 + i), type: "int64" as const } : { name: info.name, shape, data: seededValues(size, 40 + i, -1.5, 1.5) };
  });
}

async function expectSameAsOrt(spec: GraphSpec): Promise<ReturnType<typeof readOnnx>> {
  const bytes = file(spec);
  const imported = readOnnx(bytes, { source: "g.onnx" });
  const feeds = feedsFor(imported);
  const ours = imported.model.predictAll(feeds.map((f) => Float32Array.from(f.data)));
  const theirs = await runOrt(bytes, feeds);
  expect(ours.length).toBe(theirs.length);
  theirs.forEach((want, i) => {
    const m = worstMismatch(ours[i].data, want, 1e-5, 1e-5);
    expect({ output: imported.outputs[i].name, length: ours[i].data.length, worst: m.worst <= 1 ? "ok" : m }).toEqual({ output: imported.outputs[i].name, length: want.length, worst: "ok" });
  });
  return imported;
}

/**
 * PyTorch's zero initial state [rows, batch, units] for x (time-major): Shape → Gather(1) → Unsqueeze → Concat →
 * ConstantOfShape; rows and units are the initializers zerosInitializers() adds.
 */
const zeros = (x: string, out: string): NodeProto[] => [
  n("Shape", [x], `${out}_shape`), n("Gather", [`${out}_shape`, `${out}_one`], `${out}_batch`, [int("axis", 0)]),
  n("Unsqueeze", [`${out}_batch`, `${out}_zero`], `${out}_b1`), n("Concat", [`${out}_rows`, `${out}_b1`, `${out}_units`], `${out}_dims`, [int("axis", 0)]),
  { ...n("ConstantOfShape", [`${out}_dims`], out), attributes: [{ name: "value", type: "TENSOR", t: { name: "", dataType: TensorDataType.FLOAT, dims: [1], data: Float32Array.of(0) } }] },
];
const zerosInitializers = (out: string, rows: number, units: number) => [i64(`${out}_one`, [1], []), i64(`${out}_zero`, [0]), i64(`${out}_rows`, [rows]), i64(`${out}_units`, [units])];

describe(`import of recurrent operators against ${ORT_NAME}`, () => {
  test("LSTM as PyTorch writes it: Transpose in, zero states from ConstantOfShape, Squeeze and Transpose out, y[:, -1] into a Gemm; Y_h and Y_c as outputs", async () => {
    const u = 4;
    const imported = await expectSameAsOrt({
      inputs: [{ name: "x", shape: ["N", STEPS, 3] }],
      nodes: [
        n("Transpose", ["x"], "xt", [ints("perm", [1, 0, 2])]), ...zeros("xt", "z"),
        n("LSTM", ["xt", "W", "R", "B", "", "z", "z"], ["Y", "Yh", "Yc"], [int("hidden_size", u)]),
        n("Squeeze", ["Y", "one"], "ys"), n("Transpose", ["ys"], "y", [ints("perm", [1, 0, 2])]),
        n("Gather", ["y", "last"], "yl", [int("axis", 1)]), n("Gemm", ["yl", "fc", "fcb"], "logits", [int("transB", 1)]),
        n("Squeeze", ["Yh", "zero"], "h"), n("Squeeze", ["Yc", "zero"], "c"),
      ],
      initializers: [f32("W", [1, 4 * u, 3]), f32("R", [1, 4 * u, u]), f32("B", [1, 8 * u]), i64("one", [1]), i64("zero", [0]), i64("last", [-1], []), f32("fc", [2, u]), f32("fcb", [2]), ...zerosInitializers("z", 1, u)],
      outputs: ["y", "logits", "h", "c"],
    });
    expect(types(imported.model).slice(0, 1)).toEqual(["LSTM"]);
  });

  test("two stacked bidirectional GRUs with zero states sliced per layer from one ConstantOfShape, the directions joined by Transpose + Reshape, the last step, and Y_h joined as [batch, 2·units]", async () => {
    const u = 3;
    const imported = await expectSameAsOrt({
      inputs: [{ name: "x", shape: ["N", STEPS, 3] }],
      nodes: [
        n("Transpose", ["x"], "xt", [ints("perm", [1, 0, 2])]), ...zeros("xt", "z"),
        n("Slice", ["z", "s0", "s2", "ax0"], "h0a"), n("Slice", ["z", "s2", "s4", "ax0"], "h0b"),
        n("GRU", ["xt", "W1", "R1", "B1", "", "h0a"], ["Y1", ""], [int("hidden_size", u), str("direction", "bidirectional"), int("linear_before_reset", 1)]),
        n("Transpose", ["Y1"], "t1", [ints("perm", [0, 2, 1, 3])]), n("Reshape", ["t1", "shape3"], "x2"),
        n("GRU", ["x2", "W2", "R2", "B2", "", "h0b"], ["Y2", "Yh2"], [int("hidden_size", u), str("direction", "bidirectional"), int("linear_before_reset", 1)]),
        n("Transpose", ["Y2"], "t2", [ints("perm", [0, 2, 1, 3])]), n("Reshape", ["t2", "shape3"], "r2"), n("Transpose", ["r2"], "y", [ints("perm", [1, 0, 2])]),
        n("Gather", ["y", "last"], "yl", [int("axis", 1)]),
        n("Transpose", ["Yh2"], "th", [ints("perm", [1, 0, 2])]), n("Reshape", ["th", "shape2"], "h"),
      ],
      initializers: [
        f32("W1", [2, 3 * u, 3]), f32("R1", [2, 3 * u, u]), f32("B1", [2, 6 * u]), f32("W2", [2, 3 * u, 2 * u]), f32("R2", [2, 3 * u, u]), f32("B2", [2, 6 * u]),
        i64("s0", [0]), i64("s2", [2]), i64("s4", [4]), i64("ax0", [0]), i64("shape3", [0, 0, -1]), i64("shape2", [0, -1]), i64("last", [-1], []), ...zerosInitializers("z", 4, u),
      ],
      outputs: ["y", "yl", "h"],
    });
    expect(types(imported.model).slice(0, 2)).toEqual(["Bidirectional(GRU, concat)", "Bidirectional(GRU, concat)"]);
  });

  test("GRUs with linear_before_reset 0 (ONNX's default, left out; and written), Wb and Rb both non-zero: a bidirectional one into a reverse one, Y_h read", async () => {
    const u = 3;
    const imported = await expectSameAsOrt({
      inputs: [{ name: "x", shape: ["N", STEPS, 3] }],
      nodes: [
        n("Transpose", ["x"], "xt", [ints("perm", [1, 0, 2])]),
        n("GRU", ["xt", "W1", "R1", "B1"], ["Y1", ""], [int("hidden_size", u), str("direction", "bidirectional")]),
        n("Transpose", ["Y1"], "t1", [ints("perm", [0, 2, 1, 3])]), n("Reshape", ["t1", "shape3"], "x2"),
        n("GRU", ["x2", "W2", "R2", "B2"], ["Y2", "Yh2"], [int("hidden_size", u), str("direction", "reverse"), int("linear_before_reset", 0)]),
        n("Squeeze", ["Y2", "one"], "ys"), n("Transpose", ["ys"], "y", [ints("perm", [1, 0, 2])]), n("Squeeze", ["Yh2", "zero"], "h"),
      ],
      initializers: [
        f32("W1", [2, 3 * u, 3], -1, 1), f32("R1", [2, 3 * u, u], -1, 1), f32("B1", [2, 6 * u], -1, 1),
        f32("W2", [1, 3 * u, 2 * u], -1, 1), f32("R2", [1, 3 * u, u], -1, 1), f32("B2", [1, 6 * u], -1, 1),
        i64("shape3", [0, 0, -1]), i64("one", [1]), i64("zero", [0]),
      ],
      outputs: ["y", "h"],
    });
    expect(types(imported.model).slice(0, 2)).toEqual(["Bidirectional(GRU, concat)", "GRU"]);
    const [a, b] = [(imported.model.layers[0] as Bidirectional).forwardLayer as GRU, imported.model.layers[1] as GRU];
    expect([a.resetAfter, b.resetAfter, b.goBackwards, b.bias!.shape]).toEqual([false, false, true, [9]]);
  });

  test("a reverse RNN (Relu) whose Y is read in time order: its steps are put back by a frozen reversal, exactly", async () => {
    const u = 3;
    const imported = await expectSameAsOrt({
      inputs: [{ name: "x", shape: ["N", STEPS, 2] }],
      nodes: [
        n("Transpose", ["x"], "xt", [ints("perm", [1, 0, 2])]),
        n("RNN", ["xt", "W", "R", "B"], ["Y", "Yh"], [int("hidden_size", u), str("direction", "reverse"), { name: "activations", type: "STRINGS", strings: ["Relu"] }]),
        n("Squeeze", ["Y", "one"], "ys"), n("Transpose", ["ys"], "y", [ints("perm", [1, 0, 2])]),
        n("Gather", ["y", "zero"], "first", [int("axis", 1)]), n("Squeeze", ["Yh", "zeros"], "h"),
      ],
      initializers: [f32("W", [1, u, 2], -1, 1), f32("R", [1, u, u], -1, 1), f32("B", [1, 2 * u]), i64("one", [1]), i64("zero", [0], []), i64("zeros", [0])],
      outputs: ["y", "first", "h"],
    });
    const reversal = imported.model.layers.filter((l) => l.type === "Dense");
    expect(reversal.map((l) => l.trainable)).toEqual([false]);
  });

  test("int64 ids (an embedding lookup, the checker lets integers in as a Gather's indices) → RNN (Affine: linear) → Y_h", async () => {
    const imported = await expectSameAsOrt({
      inputs: [{ name: "ids", shape: ["N", STEPS], type: TensorDataType.INT64 }],
      nodes: [
        n("Gather", ["table", "ids"], "e"), n("Transpose", ["e"], "et", [ints("perm", [1, 0, 2])]),
        n("RNN", ["et", "W", "R", "B"], ["", "Yh"], [int("hidden_size", 3), { name: "activations", type: "STRINGS", strings: ["Affine"] }, { name: "activation_alpha", type: "FLOATS", floats: [1] }, { name: "activation_beta", type: "FLOATS", floats: [0] }]),
        n("Squeeze", ["Yh", "zero"], "h"),
      ],
      initializers: [f32("table", [VOCAB, 4], -1, 1), f32("W", [1, 3, 4]), f32("R", [1, 3, 3]), f32("B", [1, 6]), i64("zero", [0])],
      outputs: ["h"],
    });
    expect(imported.inputs[0]).toEqual({ name: "ids", fileShape: [STEPS], shape: [STEPS], channelsLast: false, integer: "int64" });
    expect(types(imported.model)).toEqual(["Embedding", "SimpleRNN"]);
  });

  test("layout 1 (opset 14, batch first; ONNX Runtime refuses it) imports to what the layout-0 file computes", async () => {
    const u = 3;
    const weights = [f32("W", [1, 4 * u, 3]), f32("R", [1, 4 * u, u]), f32("B", [1, 8 * u]), i64("one", [1]), i64("two", [2])];
    const timeMajor = await expectSameAsOrt({
      inputs: [{ name: "x", shape: ["N", STEPS, 3] }],
      nodes: [
        n("Transpose", ["x"], "xt", [ints("perm", [1, 0, 2])]), n("LSTM", ["xt", "W", "R", "B"], ["Y", "Yh"], [int("hidden_size", u)]),
        n("Squeeze", ["Y", "one"], "ys"), n("Transpose", ["ys"], "y", [ints("perm", [1, 0, 2])]), n("Transpose", ["Yh"], "h", [ints("perm", [1, 0, 2])]),
      ],
      initializers: weights, outputs: ["y", "h"],
    });
    const batchFirst = readOnnx(file({
      opset: 14, inputs: [{ name: "x", shape: ["N", STEPS, 3] }],
      nodes: [n("LSTM", ["x", "W", "R", "B"], ["Y", "h"], [int("hidden_size", u), int("layout", 1)]), n("Squeeze", ["Y", "two"], "y")],
      initializers: weights, outputs: ["y", "h"],
    }), { source: "layout1.onnx" });
    const x = features(41);
    const [a, b] = [timeMajor, batchFirst].map((m) => m.model.predictAll([x]));
    a.forEach((want, i) => expect(worstMismatch(b[i].data, want.data, 1e-6, 0).worst).toBeLessThanOrEqual(1));
  });
});

describe("import: what cannot be imported is one InputError naming the node", () => {
  const lstm = (extra: Partial<NodeProto> = {}, more: TensorProto[] = [], outputs = ["h"]): GraphSpec => ({
    inputs: [{ name: "x", shape: ["N", STEPS, 3] }],
    nodes: [
      n("Transpose", ["x"], "xt", [ints("perm", [1, 0, 2])]), { ...n("LSTM", ["xt", "W", "R", "B"], ["Y", "Yh"], [int("hidden_size", 2)]), ...extra },
      n("Squeeze", ["Yh", "zero"], "h"),
    ],
    initializers: [f32("W", [1, 8, 3]), f32("R", [1, 8, 2]), f32("B", [1, 16]), i64("zero", [0]), ...more],
    outputs,
  });
  const refuse = (spec: GraphSpec, pattern: RegExp) => expect(() => readOnnx(file(spec), { source: "g.onnx" })).toThrow(pattern);

  test("packed sequences (sequence_lens), clip, peepholes, input_forget, a GRU with linear_before_reset 2, RNN activations it lacks", () => {
    refuse(lstm({ inputs: ["xt", "W", "R", "B", "lens"] }, [{ name: "lens", dataType: TensorDataType.INT32, dims: [3], data: Int32Array.of(5, 2, 4) }]),
      /g\.onnx: node \/LSTM_Y \(LSTM\): sequence_lens \(packed sequences of different lengths\) is not supported; wasmgrad marks padding with a mask/);
    refuse(lstm({ attributes: [int("hidden_size", 2), { name: "clip", type: "FLOAT", f: 3 }] }), /node \/LSTM_Y \(LSTM\): clip .* is not supported/);
    refuse(lstm({ inputs: ["xt", "W", "R", "B", "", "", "", "P"] }, [f32("P", [1, 6])]), /peephole connections \(P\) are not supported/);
    refuse(lstm({ attributes: [int("hidden_size", 2), int("input_forget", 1)] }), /input_forget = 1/);
    refuse({
      inputs: [{ name: "x", shape: ["N", STEPS, 3] }],
      nodes: [n("Transpose", ["x"], "xt", [ints("perm", [1, 0, 2])]), n("GRU", ["xt", "W", "R"], ["Y", "Yh"], [int("hidden_size", 2), int("linear_before_reset", 2)]), n("Squeeze", ["Yh", "zero"], "h")],
      initializers: [f32("W", [1, 6, 3]), f32("R", [1, 6, 2]), i64("zero", [0])], outputs: ["h"],
    }, /node \/GRU_Y \(GRU\): linear_before_reset 2 is not 0 or 1/);
    refuse({
      inputs: [{ name: "x", shape: ["N", STEPS, 3] }],
      nodes: [n("Transpose", ["x"], "xt", [ints("perm", [1, 0, 2])]), n("RNN", ["xt", "W", "R"], ["Y", "Yh"], [int("hidden_size", 2), { name: "activations", type: "STRINGS", strings: ["LeakyRelu"] }]), n("Squeeze", ["Yh", "zero"], "h")],
      initializers: [f32("W", [1, 2, 3]), f32("R", [1, 2, 2]), i64("zero", [0])], outputs: ["h"],
    }, /activation LeakyRelu is not one of SimpleRNN's/);
  });

  test("a batch-first X (no Transpose), a time-major tensor read by an operator that needs the batch first, h_n as a graph output", () => {
    refuse({ ...lstm(), nodes: [n("LSTM", ["x", "W", "R", "B"], ["Y", "Yh"], [int("hidden_size", 2)]), n("Squeeze", ["Yh", "zero"], "h")] },
      /node \/LSTM_Y \(LSTM\): reads X \[batch, 5, 3\] with the batch at axis 0; with layout 0 ONNX's LSTM takes \[seq, batch, input\]/);
    refuse({ ...lstm(), nodes: [...lstm().nodes.slice(0, 2), n("Relu", ["Yh"], "h")] }, /node \/Relu_h \(Relu\): its input \('Yh'\) has the batch at axis 1/);
    refuse({ ...lstm(), nodes: lstm().nodes.slice(0, 2), outputs: ["Yh"] }, /g\.onnx: output 'Yh' has the batch at axis 1 \(a recurrent operator's time-major output, such as h_n\)/);
  });

  test("a Gather of computed data by computed indices; integer inputs read other than as a Gather's indices", () => {
    refuse({ inputs: [{ name: "x", shape: ["N", 4] }], nodes: [n("Gather", ["x", "x"], "y")], outputs: ["y"] }, /node \/Gather_y \(Gather\): gathers computed data by computed indices/);
    refuse({ inputs: [{ name: "x", shape: ["N", 4], type: TensorDataType.INT64 }], nodes: [n("Gather", ["t", "x"], "e"), n("Relu", ["x"], "y")], initializers: [f32("t", [5, 2])], outputs: ["y", "e"] },
      /input 'x' is declared int64; wasmgrad feeds float32 inputs \(integers only as the indices of a Gather/);
  });
});
