// Whole models against an independent implementation: TensorFlow.js (tfjs-core ops on the cpu backend)
// given the very same weights and inputs. Forward outputs, the loss and every parameter gradient must
// agree, for the MLP and the CNN of the seed articles, each with the SIMD kernels and with the reference.
//
// Tolerance: outputs |Δ| ≤ 1e-5 (probabilities in [0, 1], f32 on both sides, different summation order);
// gradients |Δ| ≤ 1e-4 + 1e-3·|g|: a gradient is a sum over the batch and the spatial positions of
// products of f32 values, and the two implementations sum in different orders.

import { beforeAll, describe, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { Activation, AveragePool2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePool2D, MaxPool2D, Sequential, createReferenceKernels } from "../../src/index";
import type { Kernels } from "../../src/engine/kernels";
import { seededValues, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const mlp = (kernels?: Kernels) =>
  new Sequential({ inputShape: [28, 28, 1], seed: 7, kernels, layers: [new Flatten(), new Dense({ units: 128, activation: "relu" }), new Dropout({ rate: 0.2 }), new Dense({ units: 10, activation: "softmax" })] });

const cnn = (kernels?: Kernels) =>
  new Sequential({
    inputShape: [28, 28, 1], seed: 7, kernels,
    layers: [
      new Conv2D({ filters: 32, kernelSize: 3, activation: "relu" }), new MaxPool2D({ poolSize: 2 }),
      new Conv2D({ filters: 64, kernelSize: 3, activation: "relu" }), new MaxPool2D({ poolSize: 2 }),
      new Conv2D({ filters: 64, kernelSize: 3, activation: "relu" }), new Flatten(),
      new Dense({ units: 64, activation: "relu" }), new Dense({ units: 10, activation: "softmax" }),
    ],
  });

/** Odd shapes: 'same' padding, stride 2, tanh and sigmoid, a pool with padding. */
const oddCnn = (kernels?: Kernels) =>
  new Sequential({
    inputShape: [11, 9, 3], seed: 3, kernels,
    layers: [
      new Conv2D({ filters: 5, kernelSize: [3, 2], strides: 2, padding: "same", activation: "tanh" }),
      new MaxPool2D({ poolSize: 2, strides: 1, padding: "same" }),
      new Conv2D({ filters: 4, kernelSize: 1, activation: "sigmoid" }), new Flatten(),
      new Dense({ units: 6, activation: "softmax" }),
    ],
  });

/**
 * BatchNormalization (random running statistics), average pooling, global pooling. The average pool is
 * 'valid': tfjs-backend-cpu's AvgPoolGrad divides by the full window even where its forward pass excluded
 * padding, so with 'same' its gradient disagrees with its own forward pass (ours is checked against finite
 * differences in test/layers/gradients.test.ts).
 */
const normalizedCnn = (kernels?: Kernels) => {
  const model = new Sequential({
    inputShape: [9, 8, 2], seed: 5, kernels,
    layers: [
      new Conv2D({ filters: 6, kernelSize: 3, padding: "same" }), new BatchNormalization(), new Activation({ activation: "relu" }),
      new AveragePool2D({ poolSize: 3, strides: 2, padding: "valid" }),
      new Conv2D({ filters: 5, kernelSize: 2, activation: "tanh" }), new GlobalAveragePool2D(),
      new BatchNormalization({ epsilon: 1e-5 }), new Dense({ units: 4, activation: "softmax" }),
    ],
  });
  model.build();
  model.layers.forEach((layer, i) => {
    if (layer instanceof BatchNormalization) {
      const c = layer.channels;
      layer.setState([...seededValues(c, 20 + i, -0.3, 0.3), ...seededValues(c, 30 + i, 0.5, 2)]);
      model.setWeights(model.getWeights().map((t, k) => (model.params[k] === layer.gamma ? seededValues(c, 40 + i, 0.5, 1.5) : t)));
    }
  });
  return model;
};

/** The same forward pass written with tfjs ops, reading our weights in order. */
function tfjsForward(model: Sequential, weights: tf.Variable[], x: tf.Tensor): tf.Tensor {
  let h: tf.Tensor = tf.reshape(x, [-1, ...model.inputShape!]);
  let w = 0;
  for (const layer of model.layers) {
    const cfg = layer.getConfig();
    if (cfg.type === "Flatten") h = tf.reshape(h, [h.shape[0], -1]);
    else if (cfg.type === "Dropout") continue; // evaluated in inference mode
    else if (cfg.type === "Activation") h = applyActivation(h, cfg.activation as string);
    else if (cfg.type === "AveragePool2D") {
      const [ph, pw] = cfg.poolSize as number[];
      h = tf.avgPool(h as tf.Tensor4D, [ph, pw], cfg.strides as number, cfg.padding as "valid" | "same");
    } else if (cfg.type === "GlobalAveragePool2D") h = tf.mean(h, [1, 2]);
    else if (cfg.type === "BatchNormalization") {
      const state = layer.getState();
      const c = state.length / 2;
      const gamma = weights[w++], beta = weights[w++];
      h = tf.batchNorm(h, tf.tensor1d(state.slice(0, c)), tf.tensor1d(state.slice(c)), beta as tf.Tensor1D, gamma as tf.Tensor1D, cfg.epsilon as number);
    } else if (cfg.type === "MaxPool2D") {
      const [ph, pw] = cfg.poolSize as number[];
      h = tf.maxPool(h as tf.Tensor4D, [ph, pw], cfg.strides as number, cfg.padding as "valid" | "same");
    } else {
      const kernel = weights[w++];
      const bias = weights[w++];
      const z = cfg.type === "Dense"
        ? tf.add(tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D), bias)
        : tf.add(tf.conv2d(h as tf.Tensor4D, kernel as tf.Tensor4D, cfg.strides as number, cfg.padding as "valid" | "same"), bias);
      h = applyActivation(z, cfg.activation as string);
    }
  }
  return h;
}

function applyActivation(z: tf.Tensor, act: string): tf.Tensor {
  return act === "relu" ? tf.relu(z) : act === "sigmoid" ? tf.sigmoid(z) : act === "tanh" ? tf.tanh(z) : act === "softmax" ? tf.softmax(z) : z;
}

function check(name: string, build: (k?: Kernels) => Sequential, kernels: () => Kernels | undefined, batch: number) {
  test(name, () => {
    const model = build(kernels());
    model.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy" });
    const inputSize = model.inputShape!.reduce((a, b) => a * b, 1);
    const classes = model.outputShape[0];
    const x = seededValues(batch * inputSize, 11, 0, 1);
    const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7 + 3) % classes);

    const weights = model.getWeights().map((t) => tf.variable(tf.tensor(t.data, [...t.shape])));
    const xs = tf.tensor(x, [batch, inputSize]);
    const expected = tfjsForward(model, weights, xs).dataSync();
    const predicted = model.predict(x, { batchSize: batch }).data;
    const forward = worstMismatch(predicted, expected, 1e-5, 0);
    expect({ forward: forward.worst <= 1 ? "ok" : forward }).toEqual({ forward: "ok" });

    // Gradients in inference mode (dropout off) so both sides see the same function.
    const ours = model.computeGradients(x, labels, { training: false });
    const oneHot = tf.oneHot(tf.tensor1d(labels, "int32"), classes);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(oneHot, tf.log(tfjsForward(model, weights, xs) as tf.Tensor2D)) as tf.Scalar, weights);
    expect(ours.loss).toBeCloseTo(value.dataSync()[0], 4);
    const failures: string[] = [];
    weights.forEach((v, i) => {
      const want = grads[v.name].dataSync();
      const r = worstMismatch(ours.grads[i].data, want, 1e-4, 1e-3);
      if (r.worst > 1) failures.push(`${model.params[i].name}: got ${r.got} want ${r.want} at ${r.at}`);
    });
    expect(failures).toEqual([]);
  });
}

describe("models equal TensorFlow.js on the same weights", () => {
  check("MLP 784-128-10 (SIMD kernels)", mlp, () => undefined, 16);
  check("CNN of the seed article (SIMD kernels)", cnn, () => undefined, 4);
  check("CNN with same padding, stride 2, tanh/sigmoid (SIMD kernels)", oddCnn, () => undefined, 3);
  check("CNN with BatchNormalization, AveragePool2D, GlobalAveragePool2D (SIMD kernels)", normalizedCnn, () => undefined, 3);
  check("MLP (reference kernels)", mlp, createReferenceKernels, 4);
  check("CNN with odd shapes (reference kernels)", oddCnn, createReferenceKernels, 2);
});
