// Graph-shaped ONNX files built here with the encoder (no blobs), imported and held against ONNX Runtime
// (ort-reference.ts): skips and merges, several inputs and outputs, Gemm's alpha/beta/transB, shape
// folding, Pad folded into windows, Softmax axes across opsets, Transpose as a layout change, constant
// arithmetic; then what must be refused, each as one InputError naming the node and what to do, and the
// inputShape option. Tolerance 1e-5 (|Δ| ≤ 1e-5·(1 + |want|)): the same float32 arithmetic in another order.

import { describe, expect, test } from "bun:test";
import "../../src/index";
import { readOnnx } from "../../src/onnx/import";
import { encodeModel, TensorDataType, type AttributeProto, type ModelProto, type NodeProto, type TensorProto } from "../../src/onnx/onnx-proto";
import { seededValues, worstMismatch } from "../support/twin-heaps";
import { runOrt, ORT_NAME, type Feed } from "./ort-reference";
import { toNhwc } from "./torch-support";

// ---- building graphs ------------------------------------------------------------------------------

let seedCounter = 100;
const f32 = (name: string, dims: number[], lo = -0.5, hi = 0.5): TensorProto => ({ name, dataType: TensorDataType.FLOAT, dims, data: seededValues(dims.reduce((a, b) => a * b, 1), seedCounter++, lo, hi) });
const i64 = (name: string, values: number[], dims = [values.length]): TensorProto => ({ name, dataType: TensorDataType.INT64, dims, data: BigInt64Array.from(values.map(BigInt)) });
const ints = (name: string, values: number[]): AttributeProto => ({ name, type: "INTS", ints: values });
const int = (name: string, i: number): AttributeProto => ({ name, type: "INT", i });
const float = (name: string, f: number): AttributeProto => ({ name, type: "FLOAT", f });
const n = (opType: string, inputs: string[], output: string | string[], attributes: AttributeProto[] = []): NodeProto => ({
  name: `/${opType}_${Array.isArray(output) ? output[0] : output}`, opType, domain: "", inputs, outputs: Array.isArray(output) ? output : [output], attributes,
});
const constant = (output: string, t: TensorProto): NodeProto => ({ name: `/Constant_${output}`, opType: "Constant", domain: "", inputs: [], outputs: [output], attributes: [{ name: "value", type: "TENSOR", t }] });
const conv = (x: string, w: string, b: string | undefined, out: string, extra: AttributeProto[] = []) => n("Conv", b ? [x, w, b] : [x, w], out, [ints("kernel_shape", [3, 3]), ...extra]);

interface GraphSpec {
  nodes: NodeProto[];
  initializers?: TensorProto[];
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: string[];
  opset?: number;
}

function model(spec: GraphSpec): ModelProto {
  return {
    irVersion: 8, opsetImports: [{ domain: "", version: spec.opset ?? 13 }], producerName: "test", producerVersion: "",
    graph: {
      name: "g", nodes: spec.nodes, initializers: spec.initializers ?? [],
      inputs: spec.inputs.map((i) => ({ name: i.name, elemType: TensorDataType.FLOAT, shape: i.shape })),
      outputs: spec.outputs.map((name) => ({ name, elemType: TensorDataType.FLOAT, shape: undefined })),
    },
  };
}

/** Imports the graph, runs both on seeded data (NCHW for ORT, channels-last where the import says), compares every output. */
async function expectSameAsOrt(spec: GraphSpec, batch = 3, options: { inputShape?: number[] } = {}): Promise<ReturnType<typeof readOnnx>> {
  const bytes = encodeModel(model(spec));
  const imported = readOnnx(bytes, { source: "g.onnx", ...options });
  const feeds: Feed[] = imported.inputs.map((info, i) => {
    const shape = [batch, ...info.fileShape];
    return { name: info.name, shape, data: seededValues(shape.reduce((a, b) => a * b, 1), 7 + i, -1, 1) };
  });
  const ours = imported.model.predictAll(imported.inputs.map((info, i) => (info.channelsLast ? toNhwc(feeds[i].data, feeds[i].shape) : Float32Array.from(feeds[i].data))));
  const theirs = await runOrt(bytes, feeds);
  expect(ours.length).toBe(theirs.length);
  theirs.forEach((want, i) => {
    // Image outputs come out channels-last: compare against ORT's NCHW turned channels-last.
    const info = imported.outputs[i];
    const expected = info.channelsLast ? toNhwc(want, [batch, ...info.fileShape]) : want;
    const m = worstMismatch(ours[i].data, expected, 1e-5, 1e-5);
    expect({ output: info.name, length: ours[i].data.length, worst: m.worst <= 1 ? "ok" : m }).toEqual({ output: info.name, length: expected.length, worst: "ok" });
  });
  return imported;
}

const image = (c: number, h: number, w: number) => [{ name: "x", shape: ["N", c, h, w] as (number | string)[] }];

describe(`import: graphs against ${ORT_NAME}`, () => {
  test("a residual block (fan-out and Add), Conv + bias Add folded, ReLU fused, a multi-channel flatten into Gemm", async () => {
    const imported = await expectSameAsOrt({
      inputs: image(3, 6, 6),
      nodes: [
        conv("x", "w1", "b1", "c1", [ints("pads", [1, 1, 1, 1])]), n("Relu", ["c1"], "r1"),
        conv("r1", "w2", undefined, "c2", [ints("pads", [1, 1, 1, 1])]), n("Add", ["c2", "shift"], "c2b"),
        n("Add", ["r1", "c2b"], "sum"), n("Relu", ["sum"], "r2"),
        n("Flatten", ["r2"], "flat"), n("Gemm", ["flat", "fc", "fcb"], "y", [int("transB", 1)]),
      ],
      initializers: [f32("w1", [4, 3, 3, 3]), f32("b1", [4]), f32("w2", [4, 4, 3, 3]), f32("shift", [1, 4, 1, 1]), f32("fc", [5, 4 * 6 * 6]), f32("fcb", [5])],
      outputs: ["y"],
    });
    expect(imported.model.layers.map((l) => l.type)).toEqual(["Conv2D", "Conv2D", "Add", "Activation", "Flatten", "Dense"]);
  });

  test("two inputs, two outputs, a channel Concat, a shared Conv (one initializer, two nodes), Sub and Mul merges", async () => {
    const imported = await expectSameAsOrt({
      inputs: [{ name: "a", shape: ["N", 2, 5, 5] }, { name: "b", shape: ["N", 2, 5, 5] }],
      nodes: [
        conv("a", "w", "bias", "ca", [ints("pads", [1, 1, 1, 1])]), conv("b", "w", "bias", "cb", [ints("pads", [1, 1, 1, 1])]),
        n("Sub", ["ca", "cb"], "d"), n("Mul", ["ca", "cb"], "p"), n("Concat", ["d", "p", "a"], "cat", [int("axis", 1)]),
        n("GlobalAveragePool", ["cat"], "g"), n("Flatten", ["g"], "gf"), n("Gemm", ["gf", "fc", "fcb"], "y1", [int("transB", 1)]),
        n("Sigmoid", ["d"], "y2"),
      ],
      initializers: [f32("w", [3, 2, 3, 3]), f32("bias", [3]), f32("fc", [4, 8]), f32("fcb", [4])],
      outputs: ["y1", "y2"],
    });
    const conv2d = imported.model.layers.filter((l) => l.type === "Conv2D");
    expect(conv2d.length).toBe(1);
    expect(imported.model.executionPlan.steps.filter((s) => s.layer.type === "Conv2D").length).toBe(2);
    expect(imported.model.outputNames).toEqual(["y1", "y2"]);
    expect(imported.outputs[1]).toEqual({ name: "y2", fileShape: [3, 5, 5], shape: [5, 5, 3], channelsLast: true });
  });

  test("Gemm with alpha, beta, a transposed-free weight and a scalar bias; MatMul + Add; Softmax fused into the last Dense", async () => {
    const imported = await expectSameAsOrt({
      inputs: [{ name: "x", shape: ["N", 6] }],
      nodes: [
        n("Gemm", ["x", "w1", "c1"], "h", [float("alpha", 0.5), float("beta", 2)]), n("Tanh", ["h"], "t"),
        n("MatMul", ["t", "w2"], "m"), n("Add", ["bias", "m"], "a"), n("Softmax", ["a"], "y", [int("axis", 1)]),
      ],
      initializers: [f32("w1", [6, 5]), f32("c1", [1]), f32("w2", [5, 4]), f32("bias", [4])],
      outputs: ["y"],
    });
    expect(imported.model.layers.map((l) => `${l.type}:${l.getConfig().activation}`)).toEqual(["Dense:tanh", "Dense:softmax"]);
  });

  test("x.view(x.size(0), -1) as Shape → Gather → Unsqueeze → Concat → Reshape (opset 11 attributes), and Squeeze after global pooling", async () => {
    await expectSameAsOrt({
      opset: 11,
      inputs: image(2, 4, 4),
      nodes: [
        conv("x", "w", "b", "c"), n("Shape", ["c"], "s"), constant("zero", i64("", [0], [])), n("Gather", ["s", "zero"], "batch", [int("axis", 0)]),
        n("Unsqueeze", ["batch"], "b1", [ints("axes", [0])]), constant("minus", i64("", [-1])), n("Concat", ["b1", "minus"], "shape", [int("axis", 0)]),
        n("Reshape", ["c", "shape"], "flat"), n("Gemm", ["flat", "fc"], "y1", [int("transB", 1)]),
        n("GlobalAveragePool", ["c"], "g"), n("Squeeze", ["g"], "gs", [ints("axes", [2, 3])]), n("Relu", ["gs"], "y2"),
      ],
      initializers: [f32("w", [3, 2, 3, 3]), f32("b", [3]), f32("fc", [2, 3 * 2 * 2])],
      outputs: ["y1", "y2"],
    });
  });

  test("Pad folded into the next Conv ('same' overall) and into an AveragePool that counts it (count_include_pad)", async () => {
    const imported = await expectSameAsOrt({
      opset: 11,
      inputs: image(2, 5, 5),
      nodes: [
        n("Pad", ["x", "pads"], "p"), conv("p", "w", "b", "c"),
        n("Pad", ["c", "pads"], "p2"), n("AveragePool", ["p2"], "y", [ints("kernel_shape", [3, 3]), ints("strides", [1, 1])]),
      ],
      initializers: [i64("pads", [0, 0, 1, 1, 0, 0, 1, 1]), f32("w", [3, 2, 3, 3]), f32("b", [3])],
      outputs: ["y"],
    });
    expect(imported.model.layers.map((l) => [l.type, l.getConfig().padding, l.getConfig().countIncludePad])).toEqual([
      ["Conv2D", "same", undefined], ["AveragePool2D", "same", true],
    ]);
  });

  test("Softmax over channels at opset 13 (one axis) and over C·H·W at opset 11 (flattened from axis 1)", async () => {
    const graph = (opset: number): GraphSpec => ({
      opset, inputs: image(3, 2, 2), nodes: [n("Conv", ["x", "w"], "c", [ints("kernel_shape", [1, 1])]), n("Softmax", ["c"], "y", [int("axis", 1)])],
      initializers: [f32("w", [4, 3, 1, 1])], outputs: ["y"],
    });
    const channels = await expectSameAsOrt(graph(13));
    expect(channels.model.layers[0].getConfig().activation).toBe("softmax");
    await expectSameAsOrt(graph(11));
  });

  test("NHWC input transposed to NCHW, pooled, transposed back and flattened: no layer for the transposes, no row permutation", async () => {
    const imported = await expectSameAsOrt({
      inputs: [{ name: "x", shape: ["N", 6, 6, 2] }],
      nodes: [
        n("Transpose", ["x"], "t", [ints("perm", [0, 3, 1, 2])]), n("MaxPool", ["t"], "m", [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]),
        n("Transpose", ["m"], "back", [ints("perm", [0, 2, 3, 1])]), n("Flatten", ["back"], "f"), n("Gemm", ["f", "fc"], "y"),
      ],
      initializers: [f32("fc", [18, 3])],
      outputs: ["y"],
    });
    expect(imported.inputs[0]).toEqual({ name: "x", fileShape: [6, 6, 2], shape: [6, 6, 2], channelsLast: false });
    expect(imported.model.layers.map((l) => l.type)).toEqual(["MaxPool2D", "Flatten", "Dense"]);
  });

  test("constant arithmetic: (x − mean) / std per channel, · a scalar, + a scalar (one frozen affine layer); Sum and Max of three", async () => {
    const imported = await expectSameAsOrt({
      inputs: image(3, 3, 3),
      nodes: [
        n("Sub", ["x", "mean"], "s"), n("Div", ["s", "std"], "d"), n("Mul", ["two", "d"], "m"), n("Add", ["m", "one"], "a"),
        n("Relu", ["a"], "r"), n("Sigmoid", ["a"], "g"), n("Sum", ["a", "r", "g"], "sum"), n("Max", ["a", "r", "g"], "max"),
        n("Sub", ["one", "sum"], "y1"), n("Identity", ["max"], "y2"),
      ],
      initializers: [f32("mean", [1, 3, 1, 1]), f32("std", [3, 1, 1], 0.5, 2), f32("two", []), f32("one", [1])],
      outputs: ["y1", "y2"],
    });
    const affine = imported.model.layers.filter((l) => l.type === "BatchNormalization");
    expect(affine.map((l) => l.trainable)).toEqual([false, false]);
  });

  test("the convolution family: asymmetric, dilated, per-axis strided, grouped and depthwise Convs; a lone Pad before MaxPool; pools with their own padding", async () => {
    const imported = await expectSameAsOrt({
      opset: 11,
      inputs: image(4, 9, 8),
      nodes: [
        conv("x", "w1", "b1", "c1", [ints("pads", [0, 1, 2, 1]), ints("strides", [1, 2])]),
        conv("c1", "w2", undefined, "c2", [ints("pads", [2, 2, 2, 2]), ints("dilations", [2, 2]), int("group", 2)]),
        conv("c2", "w3", "b3", "c3", [ints("pads", [1, 1, 1, 1]), int("group", 4)]),
        n("Pad", ["c3", "pads"], "p"), n("MaxPool", ["p"], "m", [ints("kernel_shape", [3, 3]), ints("strides", [2, 2])]),
        n("MaxPool", ["c3"], "m2", [ints("kernel_shape", [3, 3]), ints("strides", [2, 2]), ints("pads", [1, 1, 1, 1])]),
        n("AveragePool", ["c3"], "a", [ints("kernel_shape", [3, 3]), ints("strides", [2, 2]), ints("pads", [1, 0, 0, 1]), int("count_include_pad", 1)]),
        n("AveragePool", ["c3"], "a2", [ints("kernel_shape", [2, 2]), ints("pads", [1, 1, 0, 0])]),
        n("GlobalMaxPool", ["a2"], "g"), n("Flatten", ["g"], "y5"),
      ],
      initializers: [f32("w1", [4, 4, 3, 3]), f32("b1", [4]), f32("w2", [4, 2, 3, 3]), f32("w3", [8, 1, 3, 3]), f32("b3", [8]), i64("pads", [0, 0, 1, 1, 0, 0, 1, 1])],
      outputs: ["m", "m2", "a", "y5"],
    });
    expect(imported.model.layers.map((l) => l.type).slice(0, 4)).toEqual(["Conv2D", "Conv2D", "DepthwiseConv2D", "ZeroPadding2D"]);
  });

  test("activations: Elu, LeakyRelu and HardSigmoid (opset 13), HardSwish (14), Gelu both ways (20), Clip(0, 6), fused where they follow a Conv", async () => {
    const act = (op: string, input: string, out: string, attributes: AttributeProto[] = []) => n(op, [input], out, attributes);
    const spec = (opset: number, nodes: NodeProto[], outputs: string[]): GraphSpec => ({
      opset, inputs: image(2, 3, 3), nodes: [conv("x", "w", "b", "c", [ints("pads", [1, 1, 1, 1])]), ...nodes], initializers: [f32("w", [3, 2, 3, 3], -2, 2), f32("b", [3]), f32("six", [], 6, 6), f32("zero", [], 0, 0)], outputs,
    });
    const first = await expectSameAsOrt(spec(13, [act("Elu", "c", "e", [float("alpha", 0.7)]), act("LeakyRelu", "x", "l", [float("alpha", 0.2)]), act("HardSigmoid", "x", "h", [float("alpha", 1 / 6), float("beta", 0.5)]), n("Clip", ["x", "zero", "six"], "r6")], ["e", "l", "h", "r6"]));
    expect(first.model.layers[0].getConfig().activation).toEqual({ name: "elu", alpha: 0.699999988079071 });
    await expectSameAsOrt(spec(14, [act("HardSwish", "c", "y")], ["y"]));
    await expectSameAsOrt(spec(20, [act("Gelu", "c", "y"), act("Gelu", "x", "t", [{ name: "approximate", type: "STRING", s: "tanh" }])], ["y", "t"]));
  });

  test("a Reshape of a flat vector into a channels-first image (Reshape, then Permute) before a Conv", async () => {
    const imported = await expectSameAsOrt({
      inputs: [{ name: "x", shape: ["N", 12] }],
      nodes: [n("Reshape", ["x", "shape"], "img"), conv("img", "w", "b", "c", [ints("pads", [1, 1, 1, 1])]), n("Relu", ["c"], "y")],
      initializers: [i64("shape", [-1, 3, 2, 2]), f32("w", [2, 3, 3, 3]), f32("b", [2])],
      outputs: ["y"],
    });
    expect(imported.model.layers.map((l) => l.type)).toEqual(["Reshape", "Permute", "Conv2D"]);
  });

  test("a file exported with a fixed batch of 1 (Reshape to [1, -1]) imports for any batch", async () => {
    await expectSameAsOrt({
      inputs: [{ name: "x", shape: [1, 2, 3, 3] }],
      nodes: [conv("x", "w", "b", "c"), constant("shape", i64("", [1, -1])), n("Reshape", ["c", "shape"], "f"), n("Gemm", ["f", "fc"], "y", [int("transB", 1)])],
      initializers: [f32("w", [4, 2, 3, 3]), f32("b", [4]), f32("fc", [3, 4])],
      outputs: ["y"],
    }, 1);
  });
});

describe("import: what cannot be imported is one InputError naming the node and what to do", () => {
  const refuse = (spec: GraphSpec, pattern: RegExp, options: { inputShape?: number[] | Record<string, number[]> } = {}) =>
    expect(() => readOnnx(encodeModel(model(spec)), { source: "g.onnx", ...options })).toThrow(pattern);

  test("one initializer used in two different ways (so it could not train as one weight)", () => {
    refuse({
      inputs: [{ name: "x", shape: ["N", 4] }],
      nodes: [n("Gemm", ["x", "w"], "a", [int("transB", 1)]), n("Relu", ["a"], "r"), n("Gemm", ["r", "w"], "y")],
      initializers: [f32("w", [4, 4])], outputs: ["y"],
    }, /g\.onnx: node \/Gemm_y \(Gemm\): initializer 'w' is also a weight of node \/Gemm_a \(Gemm\), used another way there/);
  });

  test("broadcasting merges, constants that vary off the channel axis, MatMul of two computed tensors", () => {
    const x = [{ name: "x", shape: ["N", 2, 3, 3] as (number | string)[] }];
    refuse({ inputs: x, nodes: [n("GlobalAveragePool", ["x"], "g"), n("Add", ["x", "g"], "y")], outputs: ["y"] },
      /node \/Add_y \(Add\): combines tensors shaped \[batch, 2,3,3\] and \[batch, 2,1,1\]; wasmgrad merges tensors of one shape only/);
    refuse({ inputs: x, nodes: [n("Mul", ["x", "c"], "y")], initializers: [f32("c", [1, 1, 3, 3])], outputs: ["y"] },
      /node \/Mul_y \(Mul\): Mul by a constant shaped \[1,1,3,3\].*only constants that are one number or one per channel/);
    refuse({ inputs: [{ name: "x", shape: ["N", 3] }], nodes: [n("MatMul", ["x", "x"], "y")], outputs: ["y"] }, /node \/MatMul_y \(MatMul\): multiplies two computed tensors/);
  });

  test("a reshape of a channels-last image other than a flatten, an output that is a flattened channels-first image", () => {
    const x = [{ name: "x", shape: ["N", 2, 4, 4] as (number | string)[] }];
    refuse({ inputs: x, nodes: [n("Reshape", ["x", "s"], "y")], initializers: [i64("s", [0, 4, 8])], outputs: ["y"] },
      /node \/Reshape_y \(Reshape\): reshapes \[batch, 2,4,4\] to \[batch, 4,8\], but wasmgrad stores it channels-last/);
    refuse({ inputs: x, nodes: [n("Flatten", ["x"], "y")], outputs: ["y"] }, /g\.onnx: output 'y' \[batch, 32\] is stored in another order than the file's/);
  });

  test("unsupported attributes: ceil_mode, Clip to other bounds, the batch axis in Concat/Softmax/Transpose, a channel slice", () => {
    const x = [{ name: "x", shape: ["N", 2, 5, 5] as (number | string)[] }];
    refuse({ inputs: x, nodes: [n("MaxPool", ["x"], "y", [ints("kernel_shape", [2, 2]), ints("strides", [2, 2]), int("ceil_mode", 1)])], outputs: ["y"] }, /ceil_mode = 1 \(a partial window at the edge\) is not supported/);
    refuse({ inputs: x, nodes: [n("Clip", ["x", "lo", "hi"], "y")], initializers: [f32("lo", [], -1, -1), f32("hi", [], 1, 1)], outputs: ["y"] }, /node \/Clip_y \(Clip\): Clip to \[-1, 1\] is supported only as ReLU/);
    refuse({ inputs: x, nodes: [n("Concat", ["x", "x"], "y", [int("axis", 0)])], outputs: ["y"] }, /concatenates along the batch axis/);
    refuse({ inputs: x, nodes: [n("Softmax", ["x"], "y", [int("axis", 0)])], outputs: ["y"] }, /Softmax over the batch axis/);
    refuse({ inputs: x, nodes: [n("Transpose", ["x"], "t", [ints("perm", [1, 0, 2, 3])]), n("Relu", ["t"], "y")], outputs: ["y"] }, /moves the batch axis/);
    refuse({ inputs: x, nodes: [n("Slice", ["x", "s", "e", "a"], "y")], initializers: [i64("s", [0]), i64("e", [1]), i64("a", [1])], outputs: ["y"] }, /node \/Slice_y \(Slice\): slices the channel axis; only crops of H and W are supported/);
  });

  test("a node that reads a tensor nothing produces, and a second definition of a tensor", () => {
    const x = [{ name: "x", shape: ["N", 3] as (number | string)[] }];
    // The checker (src/onnx/checker.ts) sees these before the importer does.
    refuse({ inputs: x, nodes: [n("Relu", ["ghost"], "y")], outputs: ["y"] }, /node '\/Relu_y' \(Relu\) reads 'ghost', which no graph input, initializer or earlier node defines/);
    refuse({ inputs: x, nodes: [n("Relu", ["x"], "y"), n("Tanh", ["x"], "y")], outputs: ["y"] }, /node '\/Tanh_y' \(Tanh\) writes 'y', which an earlier node already wrote/);
  });

  test("inputShape: open sizes need it, it must fit the file's fixed sizes and rank, several inputs take it by name", () => {
    const open: GraphSpec = { inputs: [{ name: "x", shape: ["N", 3, "h", "w"] }], nodes: [n("Relu", ["x"], "y")], outputs: ["y"] };
    refuse(open, /g\.onnx: input 'x' is \[N, 3, h, w\], with sizes left open: .*inputShape \[3, …, …\]; on the command line --input-shape 3,N,N/);
    refuse(open, /size 4 at position 1 of the input shape \[4, 8, 8\] contradicts the file's 3/, { inputShape: [4, 8, 8] });
    refuse(open, /needs 3 positive sizes, not \[3, 8\]/, { inputShape: [3, 8] });
    expect(readOnnx(encodeModel(model(open)), { inputShape: [3, 8, 6] }).model.inputShape).toEqual([8, 6, 3]);
    const two: GraphSpec = { inputs: [{ name: "a", shape: ["N", "k"] }, { name: "b", shape: ["N", "k"] }], nodes: [n("Add", ["a", "b"], "y")], outputs: ["y"] };
    refuse(two, /has 2 inputs \(a, b\); give each its shape by name/, { inputShape: [5] });
    refuse(two, /has no input 'c'/, { inputShape: { a: [5], c: [5] } });
    expect(readOnnx(encodeModel(model(two)), { inputShape: { a: [5], b: [5] } }).model.inputShapes).toEqual([[5], [5]]);
  });
});
