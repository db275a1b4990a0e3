// AdamW's decoupled weight decay and global-norm gradient clipping, each checked against the formula
// written out in plain TypeScript, plus their configuration surviving a checkpoint.

import { describe, expect, test } from "bun:test";
import { Dense, Sequential } from "../../src/index";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/model/checkpoint";
import { optimizerFromConfig } from "../../src/optimizers/registry";
import { seededValues } from "../support/twin-heaps";

const x = seededValues(8 * 5, 3, -1, 1);
const y = Int32Array.from({ length: 8 }, (_, i) => i % 3);

function model(optimizer: unknown): Sequential {
  const m = new Sequential({ inputShape: [5], seed: 2, layers: [new Dense({ units: 3, activation: "softmax" })] });
  m.compile({ optimizer: optimizerFromConfig(optimizer), loss: "sparseCategoricalCrossentropy" });
  return m;
}

const flat = (m: Sequential) => m.getWeights().flatMap((t) => Array.from(t.data));

describe("AdamW", () => {
  test("one step equals w − lr·λ·w followed by Adam's step", () => {
    const lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    const m = model({ type: "adamw", learningRate: lr, weightDecay: wd });
    const w0 = flat(m);
    const g = m.computeGradients(x, y).grads.flatMap((t) => Array.from(t.data));
    m.trainOnBatch(x, y);
    const lrT = (lr * Math.sqrt(1 - b2)) / (1 - b1);
    const expected = w0.map((w, i) => {
      const decayed = w - lr * wd * w;
      const mt = (1 - b1) * g[i], vt = (1 - b2) * g[i] * g[i];
      return decayed - (lrT * mt) / (Math.sqrt(vt) + eps);
    });
    flat(m).forEach((w, i) => expect(w).toBeCloseTo(expected[i], 5));
  });

  test("epsilonAfterCorrection: two steps equal PyTorch's formula, ε added to the bias-corrected √v̂", () => {
    // A large ε, so where it goes shows: with Keras' placement the same formula is visibly off.
    const lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-3;
    const twoSteps = (afterCorrection: boolean) => {
      const m = model({ type: "adamw", learningRate: lr, weightDecay: wd, epsilon: eps, epsilonAfterCorrection: afterCorrection });
      let w = flat(m);
      const mt = new Array(w.length).fill(0), vt = new Array(w.length).fill(0);
      for (let t = 1; t <= 2; t++) {
        const g = m.computeGradients(x, y).grads.flatMap((tensor) => Array.from(tensor.data));
        m.trainOnBatch(x, y);
        w = w.map((wi, i) => {
          mt[i] = b1 * mt[i] + (1 - b1) * g[i];
          vt[i] = b2 * vt[i] + (1 - b2) * g[i] * g[i];
          const mHat = mt[i] / (1 - b1 ** t), vHat = vt[i] / (1 - b2 ** t);
          return wi * (1 - lr * wd) - (lr * mHat) / (Math.sqrt(vHat) + eps);
        });
      }
      return { got: flat(m), want: w };
    };
    const torch = twoSteps(true);
    torch.got.forEach((w, i) => expect(w).toBeCloseTo(torch.want[i], 6));
    const keras = twoSteps(false);
    expect(Math.max(...keras.got.map((w, i) => Math.abs(w - keras.want[i])))).toBeGreaterThan(1e-4);
  });

  test("epsilonAfterCorrection survives a checkpoint and is left out of configs without it", () => {
    const m = model({ type: "adamw", learningRate: 0.01, epsilonAfterCorrection: true });
    const { model: restored } = decodeCheckpoint(encodeCheckpoint(m), "test.wgd");
    expect(restored.optimizer!.getConfig()).toMatchObject({ type: "adamw", epsilonAfterCorrection: true });
    expect(model({ type: "adam" }).optimizer!.getConfig()).not.toHaveProperty("epsilonAfterCorrection");
  });
});

describe("global-norm clipping", () => {
  test("an SGD step moves the weights by at most the clip norm, in the gradient's direction", () => {
    const clip = 0.05;
    const m = model({ type: "sgd", learningRate: 1, globalClipNorm: clip });
    const g = m.computeGradients(x, y).grads.flatMap((t) => Array.from(t.data));
    const norm = Math.hypot(...g);
    expect(norm).toBeGreaterThan(clip); // otherwise the test would prove nothing
    const w0 = flat(m);
    m.trainOnBatch(x, y);
    const delta = flat(m).map((w, i) => w - w0[i]);
    expect(Math.hypot(...delta)).toBeCloseTo(clip, 5);
    delta.forEach((d, i) => expect(d).toBeCloseTo((-g[i] * clip) / norm, 6));
  });

  test("gradients under the norm are left alone", () => {
    const m = model({ type: "sgd", learningRate: 1, globalClipNorm: 1e6 });
    const g = m.computeGradients(x, y).grads.flatMap((t) => Array.from(t.data));
    const w0 = flat(m);
    m.trainOnBatch(x, y);
    flat(m).forEach((w, i) => expect(w - w0[i]).toBeCloseTo(-g[i], 6));
  });

  test("weight decay and the clip norm survive a checkpoint", () => {
    const m = model({ type: "adamw", learningRate: 0.01, weightDecay: 0.02, globalClipNorm: 2 });
    const { model: restored } = decodeCheckpoint(encodeCheckpoint(m), "test.wgd");
    expect(restored.optimizer!.getConfig()).toEqual(m.optimizer!.getConfig());
    expect(restored.optimizer!.getConfig()).toMatchObject({ type: "adamw", weightDecay: 0.02, globalClipNorm: 2 });
  });
});
