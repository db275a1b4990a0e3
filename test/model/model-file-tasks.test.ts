// Model files whose head follows the data's task: "units": "outputs" and "activation": "task" build one
// sigmoid unit for two classes, a softmax over k classes, one linear unit for a number; "loss" and
// "metrics": "task" compile to binary cross-entropy / sparse categorical cross-entropy / mean squared
// error with the task's metrics; "tasks" and a fixed loss say what a file can learn; "defaults" stand in for
// data only when there is none (the built-in MLPs are MNIST's 784-128-10 then, exactly as before); a
// regularizer {"C": c} is scikit-learn's 1/(2·c·n); --hidden replaces an MLP's hidden layers.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildModel, parseModelJson, recipeOf, tasksOf, validateModelFile, withHiddenLayers, type ModelFile } from "../../src/model/model-file";
import { headFor, tasksOfLoss } from "../../src/model/tasks";
import "../../src/index"; // registers the kernels

const models = join(import.meta.dir, "..", "..", "models");
const builtIn = (name: string) => parseModelJson(readFileSync(join(models, `${name}.json`), "utf8"), `built-in model ${name}`);
/** The built model's layer configs. */
const dense = (file: ModelFile, facts: Parameters<typeof buildModel>[2]) => buildModel(file, "test.json", facts).toConfig() as unknown as { layers: Record<string, unknown>[] };

describe("heads that follow the task", () => {
  const file = validateModelFile({ name: "head", layers: [{ type: "Dense", units: 8, activation: "relu" }, { type: "Dense", units: "outputs", activation: "task" }], training: { loss: "task", metrics: "task" } }, "head.json");

  test("binary: one sigmoid unit, binary cross-entropy, accuracy/precision/recall/F1", () => {
    const config = dense(file, { inputShape: [5], task: "binary", classes: 2 });
    expect(config.layers[1]).toMatchObject({ units: 1, activation: "sigmoid" });
    expect(recipeOf(file, { task: "binary", classes: 2 })).toMatchObject({ loss: { type: "binaryCrossentropy" }, metrics: ["accuracy", "precision", "recall", "f1"] });
  });

  test("multiclass: a softmax over the classes, sparse categorical cross-entropy", () => {
    const config = dense(file, { inputShape: [5], task: "multiclass", classes: 7 });
    expect(config.layers[1]).toMatchObject({ units: 7, activation: "softmax" });
    expect(recipeOf(file, { task: "multiclass", classes: 7 })).toMatchObject({ loss: { type: "sparseCategoricalCrossentropy" }, metrics: ["accuracy"] });
  });

  test("regression: one linear unit, mean squared error, MAE/RMSE/R²", () => {
    const config = dense(file, { inputShape: [5], task: "regression" });
    expect(config.layers[1]).toMatchObject({ units: 1, activation: "linear" });
    expect(recipeOf(file, { task: "regression" })).toMatchObject({ loss: { type: "meanSquaredError" }, metrics: ["mae", "rmse", "r2"] });
  });

  test("without a task the words are an error, and the recipe leaves the loss to the task", () => {
    expect(() => buildModel(file, "head.json", { inputShape: [5] })).toThrow(/"outputs" needs data whose target sets the task/);
    expect(recipeOf(file)).toMatchObject({ loss: "task", metrics: [] });
    expect(() => headFor("multiclass")).toThrow(/needs the number of classes/);
  });
});

describe("what a file can learn", () => {
  test("\"tasks\", else the loss: binary cross-entropy two classes, the categorical ones classes, MSE numbers, \"task\" any", () => {
    expect(tasksOf(builtIn("logistic"))).toEqual(["binary", "multiclass"]);
    expect(tasksOf(builtIn("linear"))).toEqual(["regression"]);
    expect(tasksOf(builtIn("mlp"))).toEqual(["binary", "multiclass", "regression"]);
    expect(tasksOf(builtIn("text_cnn"))).toEqual(["binary", "multiclass"]);
    expect(tasksOfLoss({ type: "binaryCrossentropy" })).toEqual(["binary"]);
    expect(tasksOfLoss("mse")).toEqual(["regression"]);
  });

  test("bad \"tasks\" and \"defaults\" are one clear line", () => {
    expect(() => validateModelFile({ layers: [], tasks: ["classification"] }, "t.json")).toThrow(/"tasks" must be a non-empty list of "binary", "multiclass", "regression"/);
    expect(() => validateModelFile({ layers: [], defaults: { task: "numbers" } }, "t.json")).toThrow(/defaults: 'task' must be one of/);
    expect(() => validateModelFile({ layers: [], defaults: { rows: 3 } }, "t.json")).toThrow(/'rows' is not a defaults option/);
  });
});

describe("the built-in models", () => {
  test("mlp, mlp512 and torch_mlp without data are MNIST's networks, layer for layer as before", () => {
    const before: Record<string, unknown[]> = {
      mlp: [{ type: "Flatten" }, { type: "Dense", units: 128, activation: "relu" }, { type: "Dense", units: 10, activation: "softmax" }],
      mlp512: [{ type: "Flatten" }, { type: "Dense", units: 512, activation: "relu" }, { type: "Dropout", rate: 0.2 }, { type: "Dense", units: 10, activation: "softmax" }],
      torch_mlp: [{ type: "Flatten" }, { type: "Dense", units: 500, activation: "relu" }, { type: "Dense", units: 10, activation: "softmax" }],
    };
    for (const [name, layers] of Object.entries(before)) {
      const file = builtIn(name);
      const ours = buildModel(file, name, { seed: 1 });
      const old = buildModel({ name, inputShape: [28, 28, 1], layers }, name, { seed: 1 });
      expect(ours.toConfig()).toEqual(old.toConfig());
      expect(ours.getWeights().map((w) => Array.from(w.data.subarray(0, 8)))).toEqual(old.getWeights().map((w) => Array.from(w.data.subarray(0, 8))));
      expect(recipeOf(file).loss).toEqual({ type: "sparseCategoricalCrossentropy" });
      expect(recipeOf(file).metrics).toEqual(["accuracy"]);
    }
  });

  test("data facts replace the defaults, never mix with them: mlp on 13 columns and 3 classes is 13-128-3", () => {
    const model = buildModel(builtIn("mlp"), "mlp", { inputShape: [13], task: "multiclass", classes: 3 });
    expect(model.countParams()).toBe(13 * 128 + 128 + 128 * 3 + 3);
    expect(model.outputShape).toEqual([3]);
    expect(() => buildModel(builtIn("mlp"), "mlp", { inputShape: [13] })).toThrow(/"outputs" needs data/);
  });

  test("logistic's {\"C\": 1} is scikit-learn's default penalty: L2 strength 1/(2·n) for n training samples", () => {
    const config = buildModel(builtIn("logistic"), "logistic", { inputShape: [4], task: "binary", classes: 2, rows: 400 }).toConfig() as unknown as { layers: { kernelRegularizer: unknown }[] };
    expect(config.layers[0].kernelRegularizer).toEqual({ l1: 0, l2: 1 / 800 });
    const c10 = validateModelFile({ layers: [{ type: "Dense", units: 1, kernelRegularizer: { C: 10 } }] }, "c.json");
    expect(dense(c10, { inputShape: [2], rows: 50 }).layers[0].kernelRegularizer).toEqual({ l1: 0, l2: 1 / 1000 });
    expect(() => buildModel(c10, "c.json", { inputShape: [2] })).toThrow(/"C" needs the number of training samples/);
    const bad = validateModelFile({ layers: [{ type: "Dense", units: 1, kernelRegularizer: { C: -1, l1: 2 } }] }, "c.json");
    expect(() => buildModel(bad, "c.json", { inputShape: [2], rows: 5 })).toThrow(/"C" .* stands alone; drop 'l1'/);
  });
});

describe("--hidden", () => {
  const layersOf = (file: ModelFile) => file.layers.map((l) => JSON.stringify(l));

  test("replaces the hidden Dense layers, each a copy of the first (a Dropout after it repeats too)", () => {
    expect(layersOf(withHiddenLayers(builtIn("mlp"), [64, 32], "mlp"))).toEqual([
      '{"type":"Flatten"}', '{"type":"Dense","units":64,"activation":"relu"}', '{"type":"Dense","units":32,"activation":"relu"}', '{"type":"Dense","units":"outputs","activation":"task"}',
    ]);
    expect(layersOf(withHiddenLayers(builtIn("mlp512"), [100, 50], "mlp512"))).toEqual([
      '{"type":"Flatten"}', '{"type":"Dense","units":100,"activation":"relu"}', '{"type":"Dropout","rate":0.2}',
      '{"type":"Dense","units":50,"activation":"relu"}', '{"type":"Dropout","rate":0.2}', '{"type":"Dense","units":"outputs","activation":"task"}',
    ]);
    const model = buildModel(withHiddenLayers(builtIn("mlp"), [64, 32], "mlp"), "mlp", { inputShape: [13], task: "multiclass", classes: 3 });
    expect(model.layers.map((l) => l.outputShape[0])).toEqual([13, 64, 32, 3]);
  });

  test("a model without hidden Dense layers, or not a chain of them, is refused", () => {
    expect(() => withHiddenLayers(builtIn("logistic"), [8], "built-in model logistic")).toThrow(/built-in model logistic has no hidden Dense layer \(use --model mlp\)/);
    expect(() => withHiddenLayers(builtIn("cnn"), [8], "built-in model cnn")).toThrow(/is not a chain of Dense layers \(it has Conv2D\)/);
  });
});
