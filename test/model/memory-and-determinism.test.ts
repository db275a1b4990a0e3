// A model's memory is laid out once: training must not grow it epoch after epoch. And a seed must fix a
// run completely: same seed, bit-identical weights; a checkpoint must restore the model exactly.

import { describe, expect, test } from "bun:test";
import { Conv2D, Dense, DivergenceError, Dropout, Flatten, MaxPool2D, Sequential, type Model } from "../../src/index";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/model/checkpoint";
import { seededValues } from "../support/twin-heaps";

const SAMPLES = 200;
const x = seededValues(SAMPLES * 64, 5, 0, 1);
const y = Int32Array.from({ length: SAMPLES }, (_, i) => (i * 3) % 4);

function smallCnn(seed: number): Sequential {
  const model = new Sequential({
    inputShape: [8, 8, 1], seed,
    layers: [
      new Conv2D({ filters: 4, kernelSize: 3, activation: "relu" }), new MaxPool2D(), new Flatten(),
      new Dense({ units: 16, activation: "relu" }), new Dropout({ rate: 0.3 }), new Dense({ units: 4, activation: "softmax" }),
    ],
  });
  model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
  return model;
}

describe("memory", () => {
  test("memory after epoch 1 equals memory after epoch 5 (no per-step allocation)", async () => {
    const model = smallCnn(1);
    const sizes: number[] = [];
    await model.fit(x, y, { epochs: 5, batchSize: 32, validationSplit: 0.2, callbacks: [{ onEpochEnd: () => void sizes.push(model.memoryBytes) }] });
    expect(sizes).toHaveLength(5);
    expect(new Set(sizes).size).toBe(1);
    // Predicting with the same or a smaller batch re-uses the buffers too.
    model.predict(x, { batchSize: 32 });
    expect(model.memoryBytes).toBe(sizes[0]);
  });
});

describe("determinism", () => {
  test("the same seed gives bit-identical weights after training; another seed does not", async () => {
    const a = smallCnn(7), b = smallCnn(7), c = smallCnn(8);
    for (const m of [a, b, c]) await m.fit(x, y, { epochs: 2, batchSize: 16 });
    const flat = (m: Model) => m.getWeights().flatMap((t) => Array.from(t.data));
    expect(flat(a)).toEqual(flat(b));
    expect(flat(a)).not.toEqual(flat(c));
  });

  test("a checkpoint restores weights, optimizer state and dropout stream: resumed training equals uninterrupted", async () => {
    const straight = smallCnn(3);
    await straight.fit(x, y, { epochs: 3, batchSize: 16 });

    const first = smallCnn(3);
    await first.fit(x, y, { epochs: 1, batchSize: 16 });
    const { model: resumed } = decodeCheckpoint(encodeCheckpoint(first), "test checkpoint");
    expect(resumed.epochsTrained).toBe(1);
    expect(Array.from(resumed.predictAll(x)[0].data)).toEqual(Array.from(first.predict(x).data));
    await resumed.fit(x, y, { epochs: 3, initialEpoch: 1, batchSize: 16 });

    const flat = (m: Model) => m.getWeights().flatMap((t) => Array.from(t.data));
    expect(flat(resumed)).toEqual(flat(straight));
  });

  test("NaN in training stops with the step and a hint, before any weight is touched", async () => {
    const model = smallCnn(2);
    const before = model.getWeights().flatMap((t) => Array.from(t.data));
    const poisoned = x.slice();
    poisoned[64 * 40 + 3] = NaN; // sample 40: in the second batch of 32
    const error = await model.fit(poisoned, y, { epochs: 1, batchSize: 32, shuffle: false }).catch((e) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    expect(error.message).toContain("at epoch 1, batch 2");
    expect(error.message).toContain("learning rate");
    // The first batch trained; the poisoned one changed nothing.
    const after = model.getWeights().flatMap((t) => Array.from(t.data));
    expect(after.every(Number.isFinite)).toBe(true);
    expect(after).not.toEqual(before);
  });

  test("a damaged checkpoint is refused with a reason", () => {
    const bytes = encodeCheckpoint(smallCnn(1));
    const flipped = bytes.slice();
    flipped[flipped.length >> 1] ^= 0x40;
    expect(() => decodeCheckpoint(flipped, "flipped.wgd")).toThrow("checksum mismatch");
    expect(() => decodeCheckpoint(bytes.subarray(0, 100), "cut.wgd")).toThrow("checksum mismatch");
    expect(() => decodeCheckpoint(bytes.subarray(0, 10), "tiny.wgd")).toThrow("too short");
    expect(() => decodeCheckpoint(new TextEncoder().encode("hello, this is not a model"), "text.wgd")).toThrow("not a wasmgrad checkpoint");
  });
});
