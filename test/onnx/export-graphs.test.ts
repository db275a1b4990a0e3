// ONNX export of graph models, held against onnxruntime-web (WASM provider): residual blocks (a tensor
// read twice, Add), concatenation of images along channels and of vectors, every merge, a shared layer
// (one initializer read by two nodes), two inputs and two outputs, and the data-movement layers (padding,
// cropping, both upsamplings, reshape, permute) — on random weights and inputs, ORT's outputs must equal
// predictAll()'s within 1e-5 (the same f32 arithmetic in another order).

import { describe, expect, test } from "bun:test";
import {
  Activation, Add, Average, AveragePool2D, BatchNormalization, Conv2DTranspose, DepthwiseConv2D, Concatenate, Conv2D, Cropping2D, Dense, Dot, Dropout, Flatten, GlobalAveragePool2D, Input, MaxPool2D,
  Maximum, Minimum, Model, Multiply, Permute, Reshape, Subtract, UpSampling2D, ZeroPadding2D,
} from "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { decodeModel } from "../../src/onnx/onnx-proto";
import { OnnxSession } from "../../src/onnx/runtime";
import { seededValues, worstMismatch } from "../support/twin-heaps";

const BATCH = 3;

function residualCnn(): Model {
  const image = Input({ shape: [8, 7, 3], name: "image" });
  let x = new Conv2D({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }).apply(image);
  const shortcut = x;
  x = new Conv2D({ filters: 4, kernelSize: 3, padding: "same" }).apply(x);
  x = new BatchNormalization().apply(x);
  x = new Activation({ activation: "relu" }).apply(new Add().apply([x, shortcut]));
  const branch = new Conv2D({ filters: 2, kernelSize: 1, activation: "tanh" }).apply(x);
  x = new Concatenate().apply([x, branch]); // channels of two NCHW tensors
  x = new MaxPool2D({ poolSize: 2 }).apply(x);
  const flat = new Flatten().apply(x);
  const pooled = new GlobalAveragePool2D().apply(x);
  const joined = new Concatenate().apply([new Dense({ units: 5, activation: "relu" }).apply(flat), pooled]);
  return new Model({ inputs: image, outputs: new Dense({ units: 4, activation: "softmax" }).apply(new Dropout({ rate: 0.3 }).apply(joined)), seed: 2 });
}

function twoTowers(): Model {
  const a = Input({ shape: [6], name: "left" }), b = Input({ shape: [6], name: "right" });
  const encoder = new Dense({ units: 4, activation: "sigmoid", name: "encoder" });
  const ea = encoder.apply(a), eb = encoder.apply(b);
  const merged = new Concatenate().apply([
    new Add().apply([ea, eb]), new Subtract().apply([ea, eb]), new Multiply().apply([ea, eb, ea]),
    new Average().apply([ea, eb]), new Maximum().apply([ea, eb]), new Minimum().apply([ea, eb]),
  ]);
  const classes = new Dense({ units: 3, activation: "softmax", name: "classes" }).apply(merged);
  const score = new Dot({ axes: 1 }).apply([ea, eb]);
  return new Model({ inputs: [a, b], outputs: [classes, score], seed: 3 });
}

/** MobileNetV2's inverted residual, and every convolution variant and newer activation. */
function convolutions(): Model {
  const image = Input({ shape: [9, 8, 4], name: "image" });
  const expand = new Conv2D({ filters: 8, kernelSize: 1, activation: "relu6" }).apply(image);
  const depthwise = new DepthwiseConv2D({ kernelSize: 3, padding: "same", activation: "relu6" }).apply(expand);
  const project = new Conv2D({ filters: 4, kernelSize: 1 }).apply(depthwise);
  let x = new Add().apply([project, image]);
  x = new Conv2D({ filters: 6, kernelSize: 3, strides: 2, padding: 1, groups: 2, activation: "hardSwish" }).apply(x);
  x = new Conv2D({ filters: 6, kernelSize: [3, 2], dilationRate: [2, 1], padding: [[2, 1], [0, 1]], activation: { name: "leakyRelu", alpha: 0.1 } }).apply(x);
  x = new DepthwiseConv2D({ kernelSize: 2, depthMultiplier: 2, strides: [1, 2], activation: "gelu" }).apply(x);
  x = new AveragePool2D({ poolSize: 2, strides: 1, padding: 1, countIncludePad: true }).apply(x);
  const up = new Conv2DTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: "same", activation: "swish" }).apply(x);
  const upValid = new Conv2DTranspose({ filters: 3, kernelSize: 3, strides: 2, outputPadding: 1, activation: "elu" }).apply(x);
  const pooled = new Concatenate().apply([new GlobalAveragePool2D().apply(up), new GlobalAveragePool2D().apply(upValid)]);
  return new Model({ inputs: image, outputs: new Dense({ units: 3, activation: "geluTanh" }).apply(pooled), seed: 5 });
}

function movement(halfPixelCenters: boolean): Model {
  const image = Input({ shape: [5, 6, 2], name: "image" });
  let x = new ZeroPadding2D({ padding: [[1, 2], [0, 1]] }).apply(image);
  x = new Conv2D({ filters: 3, kernelSize: 3, activation: "relu" }).apply(x);
  x = new Cropping2D({ cropping: [[1, 0], [0, 1]] }).apply(x);
  const nearest = new UpSampling2D({ size: [2, 3] }).apply(x);
  const bilinear = new UpSampling2D({ size: [2, 3], interpolation: "bilinear", halfPixelCenters }).apply(x);
  x = new Add().apply([nearest, bilinear]);
  x = new Permute({ dims: [2, 1, 3] }).apply(x);
  x = new Reshape({ targetShape: [-1, 3] }).apply(x);
  return new Model({ inputs: image, outputs: new Flatten().apply(x), seed: 4 });
}

async function check(model: Model): Promise<void> {
  model.build();
  model.setWeights(model.params.map((p, i) => seededValues(p.size, 10 + i, p.name.endsWith("/gamma") ? 0.5 : -1, p.name.endsWith("/gamma") ? 1.5 : 1)));
  for (const layer of model.layers) if (layer instanceof BatchNormalization) layer.setState([...seededValues(layer.channels, 1, -0.5, 0.5), ...seededValues(layer.channels, 2, 0.5, 2)]);
  const xs = model.inputShapes.map((s, i) => seededValues(BATCH * s.reduce((a, b) => a * b, 1), 30 + i, -1, 1));
  const want = model.predictAll(xs);
  const bytes = exportOnnx(model);
  const session = await OnnxSession.open(bytes, { provider: "wasm", source: "graph.onnx" });
  const names = session.inputs.map((i) => i.name);
  const got = await session.runNamed(xs.map((data, i) => ({ name: names[i], data, dims: [BATCH, ...model.inputShapes[i]] })));
  await session.release();
  expect(got.length).toBe(want.length);
  got.forEach((out, i) => {
    expect(out.dims).toEqual(want[i].shape as number[]);
    const r = worstMismatch(out.data, want[i].data, 1e-5, 0);
    expect({ output: out.name, worst: r.worst <= 1 ? "ok" : r }).toEqual({ output: out.name, worst: "ok" });
  });
}

describe("export of graphs: ONNX Runtime reproduces predictAll()", () => {
  test("a residual CNN: Add of a tensor read twice, Concatenate of NCHW images and of vectors, pools, batch norm", () => check(residualCnn()));
  test("two inputs, two outputs, a shared Dense, every merge layer and Dot", () => check(twoTowers()));
  test("ZeroPadding2D, Cropping2D, nearest and bilinear (half-pixel) UpSampling2D, Permute, Reshape", () => check(movement(true)));
  test("an inverted residual, grouped, dilated and transposed convolutions, depthwise with a multiplier, count-include-pad pooling, the newer activations", () => check(convolutions()));
  test("bilinear UpSampling2D on tfjs' grid (halfPixelCenters false)", () => check(movement(false)));
  test("Dense on the last axis of a sequence and of an image (MatMul + Add), softmax per position", () => {
    const seq = Input({ shape: [5, 3], name: "seq" });
    const tags = new Dense({ units: 4, activation: "softmax" }).apply(new Dense({ units: 6, activation: "tanh" }).apply(seq));
    const image = Input({ shape: [4, 4, 2], name: "image" });
    const pixels = new Dense({ units: 3, useBias: false }).apply(new Conv2D({ filters: 2, kernelSize: 3, padding: "same" }).apply(image));
    return check(new Model({ inputs: [seq, image], outputs: [tags, new Flatten().apply(pixels)], seed: 4 }));
  });

  test("a shared layer's weights are written once and read by both nodes; each layout change is written once", () => {
    const model = twoTowers();
    const proto = decodeModel(exportOnnx(model), "two towers");
    expect(proto.graph.initializers.filter((t) => t.name === "encoder/kernel").length).toBe(1);
    expect(proto.graph.nodes.filter((n) => n.inputs.includes("encoder/kernel")).length).toBe(2);
    expect(proto.graph.inputs.map((i) => i.name)).toEqual(["left", "right"]);
    expect(proto.graph.outputs.map((o) => o.name)).toEqual(["classes", "dot_1"]);
    const cnn = decodeModel(exportOnnx(residualCnn()), "residual");
    // One transpose into NCHW for the image, one back for the Flatten: none per extra consumer.
    expect(cnn.graph.nodes.filter((n) => n.opType === "Transpose").length).toBe(2);
  });
});
