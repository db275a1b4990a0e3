// wasmgrad graph → exportOnnx → importOnnx: the re-imported model must compute what the original does
// (predictAll within 1e-5, |Δ| ≤ 1e-5·(1 + |want|): the same layers, so mostly the same arithmetic), with
// as many parameters, on graphs that use every layer the exporter writes and the importer reads back:
// the convolution family, the data-movement layers (padding, cropping, both upsamplings, a transposing
// Permute, Reshape) and every merge, two inputs and two outputs, a shared layer.

import { describe, expect, test } from "bun:test";
import {
  Activation, Add, Average, BatchNormalization, Concatenate, Conv2D, Conv2DTranspose, Cropping2D, Dense, DepthwiseConv2D, Flatten,
  GlobalAveragePool2D, Input, MaxPool2D, Maximum, Minimum, Model, Multiply, Permute, Reshape, Subtract, UpSampling2D, ZeroPadding2D,
} from "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { readOnnx } from "../../src/onnx/import";
import { seededValues, worstMismatch } from "../support/twin-heaps";

function imageNet(): Model {
  const image = Input({ shape: [6, 5, 3], name: "image" });
  let x = new Conv2D({ filters: 4, kernelSize: 3, padding: [[1, 0], [0, 1]], activation: "relu" }).apply(image);
  x = new ZeroPadding2D({ padding: [[1, 0], [0, 2]] }).apply(x);
  x = new Cropping2D({ cropping: [[0, 1], [1, 0]] }).apply(x);
  x = new Conv2DTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: "same", activation: "tanh" }).apply(x);
  x = new UpSampling2D({ size: 2 }).apply(x);
  x = new DepthwiseConv2D({ kernelSize: 3, padding: "same", depthMultiplier: 2 }).apply(x);
  x = new BatchNormalization().apply(x);
  x = new UpSampling2D({ size: [1, 2], interpolation: "bilinear" }).apply(x);
  x = new MaxPool2D({ poolSize: 2 }).apply(x);
  const swapped = new Conv2D({ filters: 2, kernelSize: 1 }).apply(new Permute({ dims: [2, 1, 3] }).apply(x));
  const reshaped = new Reshape({ targetShape: [-1] }).apply(new Conv2D({ filters: 1, kernelSize: 3, strides: 2, groups: 1 }).apply(x));
  const joined = new Concatenate().apply([new GlobalAveragePool2D().apply(x), new GlobalAveragePool2D().apply(swapped), new Dense({ units: 3 }).apply(reshaped)]);
  return new Model({ inputs: image, outputs: [new Dense({ units: 4, activation: "softmax" }).apply(joined), swapped], seed: 3 });
}

function towers(): Model {
  const a = Input({ shape: [6], name: "left" }), b = Input({ shape: [6], name: "right" });
  const encoder = new Dense({ units: 4, activation: "sigmoid", name: "encoder" });
  const ea = encoder.apply(a), eb = encoder.apply(b);
  const merged = new Concatenate().apply([
    new Add().apply([ea, eb]), new Subtract().apply([ea, eb]), new Multiply().apply([ea, eb, ea]),
    new Maximum().apply([ea, eb]), new Minimum().apply([ea, eb]), new Average().apply([ea, eb]),
  ]);
  const hidden = new Activation({ activation: "relu" }).apply(new Dense({ units: 5 }).apply(merged));
  return new Model({ inputs: [a, b], outputs: [new Dense({ units: 2 }).apply(hidden), new Flatten().apply(ea)], seed: 4 });
}

describe("wasmgrad's graph exports import back to the same function", () => {
  for (const [label, make] of [["images: the convolution family, padding, cropping, upsampling, Permute, Reshape", imageNet], ["two towers with a shared encoder and every merge", towers]] as const) {
    test(label, () => {
      const model = make();
      model.build();
      const batch = 3;
      const x = model.inputShapes.map((s, i) => seededValues(batch * s.reduce((p, d) => p * d, 1), 11 + i, -1, 1));
      const back = readOnnx(exportOnnx(model), { source: "roundtrip.onnx" });
      expect(back.model.inputShapes).toEqual(model.inputShapes);
      expect(back.model.countParams()).toBe(model.countParams());
      const want = model.predictAll(x), got = back.model.predictAll(x);
      want.forEach((w, i) => {
        const m = worstMismatch(got[i].data, w.data, 1e-5, 1e-5);
        expect({ output: i, shape: got[i].shape, worst: m.worst <= 1 ? "ok" : m }).toEqual({ output: i, shape: w.shape, worst: "ok" });
      });
    });
  }
});
