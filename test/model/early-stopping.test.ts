// EarlyStopping: patience counted as Keras counts it, the monitored direction, and restore-best-weights
// (which TF.js never implemented): after training the model holds its best epoch's weights.

import { describe, expect, test } from "bun:test";
import { Dense, EarlyStopping, Sequential } from "../../src/index";
import { seededValues } from "../support/twin-heaps";

function tinyModel(): Sequential {
  const model = new Sequential({ inputShape: [3], seed: 1, layers: [new Dense({ units: 2, activation: "softmax" })] });
  model.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
  return model;
}

/** Drives the callback with scripted logs; the model's weights are set to the epoch number each epoch. */
function drive(stopper: EarlyStopping, values: number[], key = "val_loss") {
  const model = tinyModel();
  stopper.setModel(model);
  stopper.onTrainBegin();
  let epochs = 0;
  for (let epoch = 0; epoch < values.length && !model.stopTraining; epoch++) {
    model.setWeights(model.getWeights().map((w) => w.data.map(() => epoch)));
    stopper.onEpochEnd(epoch, { loss: 1, [key]: values[epoch] });
    epochs++;
  }
  stopper.onTrainEnd();
  return { epochs, weightsEpoch: model.getWeights()[0].data[0] };
}

describe("EarlyStopping", () => {
  test("stops after `patience` epochs without improvement", () => {
    expect(drive(new EarlyStopping({ patience: 2 }), [1.0, 0.8, 0.9, 0.85, 0.7, 0.6]).epochs).toBe(4);
    expect(drive(new EarlyStopping({ patience: 0 }), [1.0, 0.8, 0.9, 0.7]).epochs).toBe(3);
    expect(drive(new EarlyStopping({ patience: 3 }), [1.0, 0.9, 0.8, 0.7]).epochs).toBe(4);
  });

  test("minDelta: smaller changes are not improvements", () => {
    expect(drive(new EarlyStopping({ patience: 1, minDelta: 0.05 }), [1.0, 0.97, 0.5]).epochs).toBe(2);
  });

  test("accuracy is maximised in auto mode", () => {
    const s = new EarlyStopping({ monitor: "val_accuracy", patience: 1 });
    expect(drive(s, [0.5, 0.7, 0.6, 0.9], "val_accuracy").epochs).toBe(3);
    expect(s.bestEpoch).toBe(1);
  });

  test("restoreBestWeights leaves the best epoch's weights, stopped early or not", () => {
    expect(drive(new EarlyStopping({ patience: 2, restoreBestWeights: true }), [1.0, 0.5, 0.9, 0.8]).weightsEpoch).toBe(1);
    expect(drive(new EarlyStopping({ patience: 9, restoreBestWeights: true }), [1.0, 0.5, 0.9]).weightsEpoch).toBe(1);
    expect(drive(new EarlyStopping({ patience: 2 }), [1.0, 0.5, 0.9, 0.8]).weightsEpoch).toBe(3);
  });

  test("in a real fit: stops on rising validation loss and restores the best weights", async () => {
    // Random labels: the training loss falls while the validation loss rises — overfitting on cue.
    const x = seededValues(120 * 3, 4, -1, 1);
    const y = Int32Array.from(seededValues(120, 9, 0, 2), Math.floor);
    const model = tinyModel();
    model.compile({ optimizer: { type: "adam", learningRate: 0.1 }, loss: "sparseCategoricalCrossentropy" });
    const stopper = new EarlyStopping({ patience: 2, restoreBestWeights: true });
    const history = await model.fit(x, y, { epochs: 50, batchSize: 8, validationSplit: 0.5, callbacks: [stopper] });
    const valLoss = history.history.val_loss;
    expect(valLoss.length).toBeLessThan(50);
    expect(stopper.stoppedEpoch).toBe(valLoss.length - 1);
    const best = Math.min(...valLoss);
    expect(valLoss.indexOf(best)).toBe(stopper.bestEpoch);
    expect(model.evaluate(x.subarray(60 * 3), y.subarray(60)).loss).toBeCloseTo(best, 5);
  });

  test("a monitor that is not logged is a clear error", async () => {
    const model = tinyModel();
    const error = await model.fit(seededValues(30, 1), Int32Array.from({ length: 10 }, (_, i) => i % 2), { epochs: 2, callbacks: [new EarlyStopping()] }).catch((e) => e);
    expect(error.message).toContain("give fit a validationSplit or validationData");
  });
});
