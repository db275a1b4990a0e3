// ONNX in and out, held against onnxruntime-web (WASM provider) as the independent implementation:
//   export — wasmgrad models (every layer type, softmax/sigmoid/linear outputs, trained weights) run in
//            ORT and must give predict()'s outputs within 1e-5;
//   import — graphs written the way PyTorch exports them (NCHW input, Conv with explicit pads,
//            BatchNormalization, Flatten of a multi-channel image, Gemm with transB = 1, MatMul + Add,
//            Reshape to [-1, F] with a Constant shape, Dropout/Identity), built in this file with the
//            encoder rather than checked in as blobs; wasmgrad's forward pass must equal ORT's within 1e-5;
//   fine-tuning an imported model, re-exporting it, and clear errors for what cannot be imported.
// (Graph-shaped files — skips, merges, several inputs — are in import-graphs.test.ts.)
// Tolerance 1e-5: the same f32 arithmetic in a different order (ORT's im2col/GEMM vs ours).

import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Activation, AveragePool2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePool2D, InputError, MaxPool2D, Sequential } from "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { importOnnx } from "../../src/onnx/import";
import { decodeModel, encodeModel, TensorDataType, type AttributeProto, type ModelProto, type NodeProto, type TensorProto } from "../../src/onnx/onnx-proto";
import { configureOnnxRuntime, DEFAULT_ONNX_RUNTIME, OnnxSession } from "../../src/onnx/runtime";
import { seededValues, worstMismatch } from "../support/twin-heaps";

ort.env.wasm.numThreads = 1;

async function runOrt(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await OnnxSession.open(bytes, { provider: "wasm", source: "test.onnx" });
  expect(session.provider).toBe("wasm");
  const [out] = await session.run(x, dims);
  await session.release();
  return out.data;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length).toBe(want.length);
  const r = worstMismatch(got, want, 1e-5, 0);
  expect({ label, worst: r.worst <= 1 ? "ok" : r }).toEqual({ label, worst: "ok" });
}

describe("export: ONNX Runtime reproduces predict()", () => {
  const cases: [string, () => Sequential][] = [
    ["MLP with dropout, softmax output", () => new Sequential({ inputShape: [28, 28, 1], seed: 2, layers: [new Flatten(), new Dense({ units: 32, activation: "relu" }), new Dropout({ rate: 0.2 }), new Dense({ units: 10, activation: "softmax" })] })],
    ["CNN: same-padded stride-2 conv, batch norm, both pools, global pool, tanh, sigmoid output", () => new Sequential({
      inputShape: [11, 10, 3], seed: 3, layers: [
        new Conv2D({ filters: 6, kernelSize: [3, 2], strides: 2, padding: "same" }), new BatchNormalization(), new Activation({ activation: "relu" }),
        new MaxPool2D({ poolSize: 2, strides: 1, padding: "same" }), new AveragePool2D({ poolSize: 2, padding: "same" }),
        new Conv2D({ filters: 5, kernelSize: 1, activation: "tanh" }), new GlobalAveragePool2D(), new Dense({ units: 1, activation: "sigmoid" }),
      ],
    })],
    ["CNN whose Flatten follows a multi-channel image (the NHWC order must survive)", () => new Sequential({
      inputShape: [8, 8, 2], seed: 4, layers: [new Conv2D({ filters: 4, kernelSize: 3, activation: "relu" }), new MaxPool2D({ poolSize: 2 }), new Flatten(), new Dense({ units: 3 })],
    })],
    ["feature vectors, tanh and a linear output", () => new Sequential({ inputShape: [5], seed: 5, layers: [new Dense({ units: 7, activation: "tanh" }), new BatchNormalization(), new Dense({ units: 2 })] })],
  ];
  for (const [label, make] of cases) {
    test(label, async () => {
      const model = make();
      model.build();
      // Non-trivial batch-norm statistics, so the exported moving mean and variance matter.
      for (const layer of model.layers) if (layer instanceof BatchNormalization) layer.setState([...seededValues(layer.channels, 1, -0.5, 0.5), ...seededValues(layer.channels, 2, 0.5, 2)]);
      const batch = 5;
      const x = seededValues(batch * model.inputShape!.reduce((a, b) => a * b, 1), 9, 0, 1);
      const bytes = exportOnnx(model);
      const decoded = decodeModel(bytes);
      expect(decoded.irVersion).toBeLessThanOrEqual(8);
      expect(decoded.opsetImports[0].version).toBeGreaterThanOrEqual(13);
      expect(decoded.graph.inputs[0].shape![0]).toBe("batch");
      expect(decoded.graph.nodes.some((n) => n.opType === "Dropout")).toBe(false);
      expectClose(await runOrt(bytes, x, [batch, ...model.inputShape!]), model.predict(x).data, label);
      // And back: importing wasmgrad's own export gives the same model (NHWC input, same outputs).
      const back = importOnnx(bytes);
      expect(back.inputShape).toEqual(model.inputShape);
      expectClose(back.predictAll(x)[0].data, model.predict(x).data, `${label}, re-imported`);
    });
  }

  test("a trained model (after fit) exports its trained weights, and any batch size runs", async () => {
    const model = cases[2][1]();
    model.compile({ optimizer: "adam", loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
    const x = seededValues(40 * 128, 3, 0, 1);
    const y = Int32Array.from({ length: 40 }, (_, i) => i % 3);
    await model.fit(x, y, { epochs: 2, batchSize: 8 });
    const bytes = exportOnnx(model);
    for (const batch of [1, 7]) {
      const xs = x.subarray(0, batch * 128);
      expectClose(await runOrt(bytes, xs, [batch, 8, 8, 2]), model.predict(xs).data, `trained, batch ${batch}`);
    }
  });
});

// ---- graphs as PyTorch writes them --------------------------------------------------------------

const f32 = (name: string, dims: number[], seed: number, lo = -0.5, hi = 0.5): TensorProto => ({ name, dataType: TensorDataType.FLOAT, dims, data: seededValues(dims.reduce((a, b) => a * b, 1), seed, lo, hi) });
const i64 = (name: string, values: number[]): TensorProto => ({ name, dataType: TensorDataType.INT64, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
const ints = (name: string, values: number[]): AttributeProto => ({ name, type: "INTS", ints: values });
const node = (opType: string, inputs: string[], output: string, attributes: AttributeProto[] = []): NodeProto => ({ name: `/${opType}_${output}`, opType, domain: "", inputs, outputs: [output], attributes });

function torchStyle(nodes: NodeProto[], initializers: TensorProto[], inputDims: (number | string)[], output: string): ModelProto {
  return {
    irVersion: 8, opsetImports: [{ domain: "", version: 17 }], producerName: "pytorch", producerVersion: "2.5.0",
    graph: {
      name: "main_graph", nodes, initializers,
      inputs: [{ name: "input", elemType: TensorDataType.FLOAT, shape: inputDims }],
      outputs: [{ name: output, elemType: TensorDataType.FLOAT, shape: ["batch_size", 10] }],
    },
  };
}

/** PyTorch's MNIST CNN, in miniature: conv(pad 1) → BN → relu → pool → conv → relu → flatten → linear → relu → dropout → linear. */
function torchCnn(channels: number): ModelProto {
  return torchStyle([
    node("Conv", ["input", "conv1.weight", "conv1.bias"], "c1", [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), ints("strides", [1, 1]), ints("dilations", [1, 1]), { name: "group", type: "INT", i: 1 }]),
    node("BatchNormalization", ["c1", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], "b1", [{ name: "epsilon", type: "FLOAT", f: 1e-5 }, { name: "momentum", type: "FLOAT", f: 0.9 }]),
    node("Relu", ["b1"], "r1"),
    node("MaxPool", ["r1"], "p1", [ints("kernel_shape", [2, 2]), ints("strides", [2, 2]), ints("pads", [0, 0, 0, 0])]),
    node("Conv", ["p1", "conv2.weight", "conv2.bias"], "c2", [ints("kernel_shape", [3, 3]), ints("strides", [1, 1])]),
    node("Relu", ["c2"], "r2"),
    node("Flatten", ["r2"], "f", [{ name: "axis", type: "INT", i: 1 }]),
    node("Gemm", ["f", "fc1.weight", "fc1.bias"], "g1", [{ name: "alpha", type: "FLOAT", f: 1 }, { name: "beta", type: "FLOAT", f: 1 }, { name: "transB", type: "INT", i: 1 }]),
    node("Relu", ["g1"], "r3"),
    node("Dropout", ["r3"], "d"),
    node("Gemm", ["d", "fc2.weight", "fc2.bias"], "logits", [{ name: "transB", type: "INT", i: 1 }]),
  ], [
    f32("conv1.weight", [4, channels, 3, 3], 1), f32("conv1.bias", [4], 2),
    f32("bn.weight", [4], 3, 0.5, 1.5), f32("bn.bias", [4], 4), f32("bn.running_mean", [4], 5), f32("bn.running_var", [4], 6, 0.5, 2),
    f32("conv2.weight", [6, 4, 3, 3], 7), f32("conv2.bias", [6], 8),
    f32("fc1.weight", [16, 6 * 2 * 2], 9), f32("fc1.bias", [16], 10), f32("fc2.weight", [10, 16], 11), f32("fc2.bias", [10], 12),
  ], ["batch_size", channels, 8, 8], "logits");
}

/** PyTorch's MNIST MLP: x.view(-1, 784) (Reshape with a Constant shape), MatMul + Add, ReLU, Linear. */
function torchMlp(): ModelProto {
  return torchStyle([
    { name: "/Constant", opType: "Constant", domain: "", inputs: [], outputs: ["shape"], attributes: [{ name: "value", type: "TENSOR", t: i64("", [-1, 64]) }] },
    node("Reshape", ["input", "shape"], "flat"),
    node("MatMul", ["flat", "fc1.weight_t"], "mm"),
    node("Add", ["mm", "fc1.bias"], "a"),
    node("Relu", ["a"], "r"),
    node("Gemm", ["r", "fc2.weight", "fc2.bias"], "logits", [{ name: "transB", type: "INT", i: 1 }]),
    node("Softmax", ["logits"], "probs", [{ name: "axis", type: "INT", i: 1 }]),
  ], [f32("fc1.weight_t", [64, 20], 21), f32("fc1.bias", [20], 22), f32("fc2.weight", [10, 20], 23), f32("fc2.bias", [10], 24)], ["batch_size", 1, 8, 8], "probs");
}

/** NCHW → NHWC, for feeding wasmgrad the data ORT gets in NCHW. */
function toNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) out[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx];
  return out;
}

describe("import: wasmgrad reproduces ONNX Runtime on PyTorch-style graphs", () => {
  for (const channels of [1, 3]) {
    test(`CNN with ${channels} input channel(s): conv, batch norm, pool, NCHW flatten, Gemm transB`, async () => {
      const bytes = encodeModel(torchCnn(channels));
      const model = importOnnx(bytes, { source: "cnn.onnx" });
      expect(model.inputShape).toEqual([8, 8, channels]);
      expect(model.layers.map((l) => l.type)).toEqual(["Conv2D", "BatchNormalization", "Activation", "MaxPool2D", "Conv2D", "Flatten", "Dense", "Dropout", "Dense"]);
      const n = 4, x = seededValues(n * channels * 64, 31, 0, 1);
      expectClose(model.predictAll(toNhwc(x, n, channels, 8, 8))[0].data, await runOrt(bytes, x, [n, channels, 8, 8]), `cnn ${channels}`);
    });
  }

  test("MLP: Reshape with a Constant shape, MatMul + Add, Softmax fused into the last Dense", async () => {
    const bytes = encodeModel(torchMlp());
    const model = importOnnx(bytes);
    expect(model.layers.map((l) => `${l.type}`)).toEqual(["Flatten", "Dense", "Dense"]);
    const x = seededValues(6 * 64, 5, 0, 1);
    expectClose(model.predictAll(x)[0].data, await runOrt(bytes, x, [6, 1, 8, 8]), "mlp");
  });

  test("asymmetric pads, grouped and depthwise convolutions, LeakyRelu", async () => {
    const pads = torchCnn(1);
    pads.graph.nodes[0].attributes[1] = ints("pads", [0, 1, 1, 0]);
    pads.graph.initializers[8] = f32("fc1.weight", [16, 6], 9);
    const grouped = torchCnn(4);
    grouped.graph.nodes[0].attributes[4] = { name: "group", type: "INT", i: 2 };
    grouped.graph.initializers[0] = f32("conv1.weight", [4, 2, 3, 3], 1);
    const depthwise = torchCnn(4);
    depthwise.graph.nodes[0].attributes[4] = { name: "group", type: "INT", i: 4 };
    depthwise.graph.initializers[0] = f32("conv1.weight", [4, 1, 3, 3], 1);
    const leaky = torchCnn(1);
    leaky.graph.nodes[2] = node("LeakyRelu", ["b1"], "r1", [{ name: "alpha", type: "FLOAT", f: 0.1 }]);
    for (const [label, m, c, layer] of [["pads", pads, 1, "Conv2D"], ["grouped", grouped, 4, "Conv2D"], ["depthwise", depthwise, 4, "DepthwiseConv2D"], ["leaky", leaky, 1, "Conv2D"]] as const) {
      const bytes = encodeModel(m);
      const model = importOnnx(bytes, { source: `${label}.onnx` });
      expect(model.layers[0].type).toBe(layer);
      const x = seededValues(3 * c * 64, 13, -1, 1);
      expectClose(model.predictAll(toNhwc(x, 3, c, 8, 8))[0].data, await runOrt(bytes, x, [3, c, 8, 8]), label);
    }
  });

  test("files read with readFileSync (Node/Bun Buffers, whose slice() is a view) import intact", async () => {
    const bytes = encodeModel(torchCnn(3));
    const path = join(mkdtempSync(join(tmpdir(), "wasmgrad-onnx-")), "cnn.onnx");
    writeFileSync(path, bytes);
    const fromFile = importOnnx(readFileSync(path));
    const x = seededValues(2 * 3 * 64, 3, 0, 1);
    expectClose(fromFile.predictAll(toNhwc(x, 2, 3, 8, 8))[0].data, await runOrt(bytes, x, [2, 3, 8, 8]), "from file");
  });

  test("an imported model fine-tunes (frozen first layers stay fixed) and exports again", async () => {
    const model = importOnnx(encodeModel(torchCnn(1)));
    for (const layer of model.layers.slice(0, 2)) layer.trainable = false;
    const frozen = model.getWeights()[0].data.slice();
    const head = model.getWeights().at(-1)!.data.slice();
    model.compile({ optimizer: "adam", loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
    const x = seededValues(64 * 64, 8, 0, 1);
    const y = Int32Array.from({ length: 64 }, (_, i) => i % 10);
    const history = await model.fit(x, y, { epochs: 3, batchSize: 16 });
    expect(history.history.loss[2]).toBeLessThan(history.history.loss[0]);
    expect(Array.from(model.getWeights()[0].data)).toEqual(Array.from(frozen));
    expect(Array.from(model.getWeights().at(-1)!.data)).not.toEqual(Array.from(head));
    const again = exportOnnx(model);
    expectClose(await runOrt(again, x.subarray(0, 3 * 64), [3, 8, 8, 1]), model.predictAll(x.subarray(0, 3 * 64))[0].data, "re-exported");
  });
});

describe("import: what cannot be imported is one clear error", () => {
  const expectError = (m: ModelProto, pattern: RegExp) => expect(() => importOnnx(encodeModel(m), { source: "m.onnx" })).toThrow(pattern);

  test("an unsupported operator is named with its node, and the list of what imports", () => {
    const m = torchMlp();
    m.graph.nodes[4] = node("Einsum", ["a"], "r");
    expectError(m, /m\.onnx: node \/Einsum_r \(Einsum\): unsupported operator 'Einsum'; wasmgrad imports Conv, Gemm, MatMul, .*Pad/);
  });

  test("weights of the wrong size are refused", () => {
    const wrong = torchCnn(1);
    wrong.graph.initializers[8] = f32("fc1.weight", [16, 25], 9);
    expectError(wrong, /takes 25 inputs but 24 arrive/);
  });

  test("damaged bytes are an InputError", () => {
    const bytes = encodeModel(torchCnn(1));
    expect(() => importOnnx(bytes.subarray(0, bytes.length - 100))).toThrow(InputError);
    expect(() => importOnnx(new TextEncoder().encode("not an onnx file at all"))).toThrow(InputError);
  });
});

describe("the runtime wrapper", () => {
  test("a wrong input shape is refused before ORT sees it, naming both shapes", async () => {
    const session = await OnnxSession.open(encodeModel(torchMlp()), { provider: "wasm", source: "mlp.onnx" });
    await expect(session.run(new Float32Array(64), [1, 8, 8])).rejects.toThrow("mlp.onnx expects input 'input' shaped [batch_size, 1, 8, 8], but the data is shaped [1, 8, 8]");
    await session.release();
  });

  test("no WebGPU adapter: --ep webgpu is an error that says why; auto falls back to WASM and says why", async () => {
    configureOnnxRuntime({ ...DEFAULT_ONNX_RUNTIME, webgpu: async () => ({ unavailable: "no GPU adapter in this test" }) });
    try {
      const bytes = encodeModel(torchMlp());
      await expect(OnnxSession.open(bytes, { provider: "webgpu", source: "mlp.onnx" })).rejects.toThrow("--ep webgpu: no GPU adapter in this test; use --ep wasm or --ep auto");
      const auto = await OnnxSession.open(bytes, { provider: "auto", source: "mlp.onnx" });
      expect(auto.provider).toBe("wasm");
      expect(auto.fallbackReason).toBe("no GPU adapter in this test");
      await auto.release();
    } finally {
      configureOnnxRuntime(DEFAULT_ONNX_RUNTIME);
    }
  });

  test("an input of another type than float32 is refused with the type named", async () => {
    const m = torchMlp();
    m.graph.inputs[0] = { ...m.graph.inputs[0], elemType: TensorDataType.INT64 };
    m.graph.nodes.splice(1, 0, node("Cast", ["input"], "cast", [{ name: "to", type: "INT", i: 1 }]));
    m.graph.nodes[2].inputs[0] = "cast";
    const session = await OnnxSession.open(encodeModel(m), { provider: "wasm", source: "int.onnx" });
    await expect(session.run(new Float32Array(64), [1, 1, 8, 8])).rejects.toThrow("int.onnx wants input 'input' of type int64; wasmgrad infer feeds float32");
    await session.release();
  });

  test("bytes ORT cannot load are an InputError", async () => {
    await expect(OnnxSession.open(new Uint8Array([1, 2, 3, 4]), { provider: "wasm", source: "bad.onnx" })).rejects.toThrow(InputError);
  });
});
