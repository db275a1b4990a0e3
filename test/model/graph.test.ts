// The graph engine as users meet it: Sequential is the chain case of Model (same weights, same bits), a
// functional graph trains, saves and resumes exactly (shared layers, several outputs, batch statistics,
// dropout), its JSON config rebuilds the same model, several inputs and outputs take arrays or records by
// name and log under Keras' names, and what cannot work is one clear error.

import { describe, expect, test } from "bun:test";
import {
  Activation, Add, BatchNormalization, Concatenate, Conv2D, Dense, Dropout, Flatten, GlobalAveragePool2D, Input, Model, Sequential, modelFromConfig,
} from "../../src/index";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/model/checkpoint";
import { seededValues } from "../support/twin-heaps";

const N = 48;
const images = seededValues(N * 6 * 6, 11, 0, 1);
const labels = Int32Array.from({ length: N }, (_, i) => (i * 7) % 3);
const flat = (m: Model) => m.getWeights().flatMap((t) => Array.from(t.data));

function residualNet(seed = 2) {
  const image = Input({ shape: [6, 6, 1], name: "image" });
  let x = new Conv2D({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }).apply(image);
  const shortcut = x;
  x = new Conv2D({ filters: 4, kernelSize: 3, padding: "same" }).apply(x);
  x = new BatchNormalization().apply(x);
  x = new Activation({ activation: "relu" }).apply(new Add().apply([x, shortcut]));
  x = new Dropout({ rate: 0.3 }).apply(new GlobalAveragePool2D().apply(x));
  const out = new Dense({ units: 3, activation: "softmax" }).apply(x);
  return new Model({ inputs: image, outputs: out, seed });
}

/** Two inputs through one shared Dense, two outputs (classes and a regression). */
function siamese(seed = 3) {
  const a = Input({ shape: [5], name: "left" }), b = Input({ shape: [5], name: "right" });
  const encoder = new Dense({ units: 6, activation: "tanh", name: "encoder" });
  const joined = new Concatenate().apply([encoder.apply(a), encoder.apply(b)]);
  const classes = new Dense({ units: 3, activation: "softmax", name: "classes" }).apply(joined);
  const distance = new Dense({ units: 1, name: "distance" }).apply(joined);
  return new Model({ inputs: [a, b], outputs: [classes, distance], seed });
}
const left = seededValues(N * 5, 21), right = seededValues(N * 5, 22), distances = seededValues(N, 23);

describe("Sequential is the chain case of Model", () => {
  test("the same layers as a Sequential and as a functional chain train to identical bits", async () => {
    const layers = () => [new Flatten(), new Dense({ units: 8, activation: "relu" }), new Dropout({ rate: 0.2 }), new Dense({ units: 3, activation: "softmax" })];
    const seq = new Sequential({ inputShape: [6, 6, 1], seed: 5, layers: layers() });
    const x = Input({ shape: [6, 6, 1] });
    const chain = layers();
    const fn = new Model({ inputs: x, outputs: chain.reduce((t, l) => l.apply(t), x), seed: 5 });
    for (const m of [seq, fn]) {
      m.compile({ optimizer: { type: "adam", learningRate: 0.01 }, loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
      await m.fit(images, labels, { epochs: 2, batchSize: 16 });
    }
    expect(flat(fn)).toEqual(flat(seq));
    expect(Array.from((fn.predict(images) as { data: Float32Array }).data)).toEqual(Array.from(seq.predict(images).data));
  });
});

describe("functional graphs", () => {
  test("a residual net trains, and a checkpoint resumes it exactly (batch statistics, dropout stream, Adam state)", async () => {
    const compile = (m: Model) => m.compile({ optimizer: { type: "adam", learningRate: 0.02 }, loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    const straight = residualNet();
    compile(straight);
    const history = await straight.fit(images, labels, { epochs: 3, batchSize: 16 });
    expect(history.history.loss[2]).toBeLessThan(history.history.loss[0]);

    const first = residualNet();
    compile(first);
    await first.fit(images, labels, { epochs: 1, batchSize: 16 });
    const { model: resumed, header } = decodeCheckpoint(encodeCheckpoint(first), "test checkpoint");
    expect(Object.keys(header.model)).toContain("inputs");
    expect(resumed.executionPlan.steps.length).toBe(first.executionPlan.steps.length);
    await resumed.fit(images, labels, { epochs: 3, initialEpoch: 1, batchSize: 16 });
    expect(flat(resumed)).toEqual(flat(straight));
  });

  test("two inputs and two outputs: arrays or records by name, per-output losses, loss weights and Keras' log names", async () => {
    const model = siamese();
    model.compile({
      optimizer: { type: "adam", learningRate: 0.01 },
      loss: { classes: "sparseCategoricalCrossentropy", distance: "meanSquaredError" },
      lossWeights: { classes: 1, distance: 0.25 },
      metrics: { classes: ["accuracy"] },
    });
    const history = await model.fit({ left, right }, { classes: labels, distance: distances }, { epochs: 2, batchSize: 12, validationSplit: 0.25 });
    expect(Object.keys(history.history).sort()).toEqual(
      ["classes_accuracy", "classes_loss", "distance_loss", "loss", "val_classes_accuracy", "val_classes_loss", "val_distance_loss", "val_loss"],
    );
    const h = history.history;
    // The total is the weighted sum of the parts (no regularisation here).
    expect(h.loss[1]).toBeCloseTo(h.classes_loss[1] + 0.25 * h.distance_loss[1], 5);
    const byName = model.evaluate({ left, right }, { classes: labels, distance: distances });
    const inOrder = model.evaluate([left, right], [labels, distances]);
    expect(inOrder).toEqual(byName);
    const [classes, distance] = model.predictAll([left, right]);
    expect(classes.shape).toEqual([N, 3]);
    expect(distance.shape).toEqual([N, 1]);
  });

  test("a shared layer is one set of weights: listed once, saved once, its gradient the sum of both applications", () => {
    const model = siamese();
    expect(model.layers.map((l) => l.name)).toEqual(["encoder", "concatenate_1", "classes", "distance"]);
    expect(model.params.map((p) => p.name)).toEqual(["encoder/kernel", "encoder/bias", "classes/kernel", "classes/bias", "distance/kernel", "distance/bias"]);
    model.compile({ optimizer: "sgd", loss: ["sparseCategoricalCrossentropy", "meanSquaredError"] });
    // Same input on both sides: the shared kernel's gradient is then exactly twice what one side gives
    // when the other side's contribution is cut off — checked through finite differences instead of
    // assumptions: perturb one kernel element, both applications move.
    const g = model.computeGradients([left, left], [labels, distances], { training: false });
    const w = model.getWeights();
    const h = 1e-2;
    const lossAt = (delta: number) => {
      const moved = w.map((t) => t.data.slice());
      moved[0][3] += delta;
      model.setWeights(moved);
      return model.evaluate([left, left], [labels, distances], { batchSize: N }).loss;
    };
    const numeric = (lossAt(h) - lossAt(-h)) / (2 * h);
    model.setWeights(w);
    expect(Math.abs(g.grads[0].data[3] - numeric)).toBeLessThan(2e-4 + 2e-3 * Math.abs(numeric));
  });

  test("the JSON config rebuilds the same graph: same outputs, shared layer by name", () => {
    const model = siamese();
    const config = model.toConfig() as { layers: Record<string, unknown>[] };
    const shared = config.layers.find((l) => l.shares !== undefined)!;
    expect(shared).toEqual({ name: "encoder:2", shares: "encoder", inputs: ["right"] });
    const rebuilt = modelFromConfig(JSON.parse(JSON.stringify(config)));
    rebuilt.setWeights(model.getWeights());
    const a = model.predictAll([left, right]), b = rebuilt.predictAll([left, right]);
    expect(Array.from(b[0].data)).toEqual(Array.from(a[0].data));
    expect(Array.from(b[1].data)).toEqual(Array.from(a[1].data));
  });

  test("a checkpoint of a two-output model keeps its losses, weights and metrics per output", () => {
    const model = siamese();
    model.compile({ optimizer: "adam", loss: ["sparseCategoricalCrossentropy", "meanSquaredError"], lossWeights: [1, 0.5], metrics: { classes: ["accuracy"] } });
    model.trainOnBatch([left, right], [labels, distances]);
    const { model: loaded } = decodeCheckpoint(encodeCheckpoint(model), "two outputs");
    expect(loaded.heads.map((h) => [h.loss.spec.type, h.weight, h.metrics])).toEqual([["sparseCategoricalCrossentropy", 1, ["accuracy"]], ["meanSquaredError", 0.5, []]]);
    expect(loaded.evaluate([left, right], [labels, distances])).toEqual(model.evaluate([left, right], [labels, distances]));
  });

  test("summary() shows what each layer is connected to", () => {
    const text = siamese().summary();
    expect(text).toContain("Connected to");
    expect(text).toMatch(/encoder:2 \(Dense, shared\)\s+\[6\]\s+0\s+right/);
    expect(text).toMatch(/concatenate_1 \(Concatenate\)\s+\[12\]\s+0\s+encoder, encoder:2/);
  });
});

describe("mistakes are one clear error", () => {
  test("an output that depends on an Input the model was not given", () => {
    const a = Input({ shape: [3] }), b = Input({ shape: [3] });
    const out = new Add().apply([a, b]);
    expect(() => new Model({ inputs: a, outputs: out })).toThrow(/depend on Input 'input_\d+', which is not among the model's inputs/);
  });

  test("a layer already built into another model", () => {
    const dense = new Dense({ units: 2 });
    const x = Input({ shape: [3] });
    new Model({ inputs: x, outputs: dense.apply(x) }).build();
    const y = Input({ shape: [3] });
    expect(() => new Model({ inputs: y, outputs: dense.apply(y) }).build()).toThrow(/already belongs to another model/);
  });

  test("a shared layer applied to another shape", () => {
    const dense = new Dense({ units: 2, name: "shared" });
    const a = Input({ shape: [3] }), b = Input({ shape: [4] });
    expect(() => new Model({ inputs: [a, b], outputs: new Concatenate().apply([dense.apply(a), dense.apply(b)]) }).build()).toThrow(/shared weights need the same shapes/);
  });

  test("a softmax output that other layers also read cannot be fused into the loss", () => {
    const x = Input({ shape: [4] });
    const probs = new Dense({ units: 3, activation: "softmax", name: "probs" }).apply(x);
    const more = new Dense({ units: 1 }).apply(probs);
    const model = new Model({ inputs: x, outputs: [probs, more] });
    expect(() => model.compile({ optimizer: "sgd", loss: ["sparseCategoricalCrossentropy", "mse"] })).toThrow(/output 'probs' is also read by other layers/);
  });

  test("data for the wrong number of inputs, or a name the model lacks", () => {
    const model = siamese();
    model.compile({ optimizer: "sgd", loss: ["sparseCategoricalCrossentropy", "mse"] });
    expect(() => model.evaluate([left], [labels, distances])).toThrow(/the model has 2 inputs \(left, right\) but 1 were given/);
    expect(() => model.evaluate({ left, rihgt: right }, [labels, distances])).toThrow(/no input named 'rihgt'/);
    expect(() => model.evaluate([left, right.subarray(0, 10)], [labels, distances])).toThrow(/input 'right' holds 2 samples but 'left' holds 48/);
  });

  test("a graph config naming a layer that does not exist", () => {
    const config = { inputs: [{ name: "x", shape: [3] }], layers: [{ type: "Dense", units: 2, name: "d", inputs: ["y"] }] };
    expect(() => modelFromConfig(config, { where: "net.json" })).toThrow(/net.json layers\[0\]: no model input or earlier layer is named 'y'/);
  });
});
