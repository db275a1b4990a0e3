// Learning-rate schedules (cosine, reduce-on-plateau) and the classification metrics (precision, recall,
// F1, confusion matrix) against values worked out by hand from their definitions.

import { describe, expect, test } from "bun:test";
import { ConfusionMatrix, MetricAccumulator, parseMetrics } from "../../src/model/metrics";
import { cosineDecay, ReduceLearningRateOnPlateau, scheduleFromConfig } from "../../src/model/schedules";
import type { Sequential } from "../../src/model/sequential";
import { WasmgradError } from "../../src/errors";

/** Just enough of a model for a schedule: an optimizer with a rate. */
function fakeModel(rate: number): Sequential {
  return { optimizer: { learningRate: rate, initialLearningRate: rate } } as unknown as Sequential;
}

describe("learning-rate schedules", () => {
  test("cosine: full rate at epoch 0, half at the midpoint, alpha·rate at the end and after", () => {
    const model = fakeModel(0.1);
    const schedule = cosineDecay(10, 0.01);
    schedule.setModel(model);
    const rates = [0, 5, 10, 12].map((epoch) => {
      schedule.onEpochBegin(epoch);
      return model.optimizer!.learningRate;
    });
    expect(rates[0]).toBeCloseTo(0.1, 12);
    expect(rates[1]).toBeCloseTo(0.1 * (0.01 + 0.99 * 0.5), 12);
    expect(rates[2]).toBeCloseTo(0.001, 12);
    expect(rates[3]).toBeCloseTo(0.001, 12);
  });

  test("plateau: cuts the rate after `patience` epochs without improvement, then honours cooldown and the floor", () => {
    const model = fakeModel(1);
    const plateau = new ReduceLearningRateOnPlateau({ monitor: "val_loss", factor: 0.5, patience: 2, cooldown: 1, minLearningRate: 0.2 });
    plateau.setModel(model);
    // Epoch 3 is the second stale one (cut); 4 is in cooldown, so 4–5 count afresh (cut at 5), then 6–7
    // (cut at 7, down to the floor); at 9 the rate is already at the floor and stays.
    const losses = [1.0, 0.9, 0.95, 0.93, 0.94, 0.96, 0.97, 0.98, 0.99, 0.99, 0.99, 0.99];
    const rates = losses.map((loss, epoch) => {
      plateau.onEpochEnd(epoch, { loss, val_loss: loss });
      return model.optimizer!.learningRate;
    });
    expect(plateau.reductions).toEqual([3, 5, 7]);
    expect(rates).toEqual([1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2]);
  });

  test("plateau in max mode follows an accuracy, and a metric that is not reported is a clear error", () => {
    const model = fakeModel(1);
    const plateau = new ReduceLearningRateOnPlateau({ monitor: "val_accuracy", factor: 0.1, patience: 1 });
    plateau.setModel(model);
    plateau.onEpochEnd(0, { val_accuracy: 0.5 });
    plateau.onEpochEnd(1, { val_accuracy: 0.6 });
    expect(model.optimizer!.learningRate).toBe(1);
    plateau.onEpochEnd(2, { val_accuracy: 0.55 });
    expect(model.optimizer!.learningRate).toBeCloseTo(0.1, 12);
    expect(() => plateau.onEpochEnd(3, { loss: 1 })).toThrow(/watches 'val_accuracy'.*reports loss/);
  });

  test("recipes name any of the three; a typo gets a suggestion", () => {
    expect(scheduleFromConfig({ type: "cosine", epochs: 5 }, "r").description).toContain("cosine");
    expect(scheduleFromConfig({ type: "plateau", patience: 3 }, "r")).toBeInstanceOf(ReduceLearningRateOnPlateau);
    expect(() => scheduleFromConfig({ type: "cosin", epochs: 5 }, "r")).toThrow(/did you mean 'cosine'/);
    expect(() => scheduleFromConfig({ type: "plateau", pateince: 3 }, "r")).toThrow(WasmgradError);
  });
});

describe("classification metrics", () => {
  // Three classes, ten samples, with different scores per class (the test counts TP/FP/FN itself).
  const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 0];
  const predicted = [0, 0, 0, 2, 1, 1, 0, 2, 1, 2];
  test("confusion counts, per-class and macro precision/recall/F1 match the definitions", () => {
    const k = 3;
    const outputs = new Float32Array(truth.length * k);
    predicted.forEach((p, r) => (outputs[r * k + p] = 1));
    const matrix = ConfusionMatrix.fromOutputs(outputs, truth, k);
    const count = (t: number, p: number) => truth.filter((x, i) => x === t && predicted[i] === p).length;
    for (let t = 0; t < k; t++) for (let p = 0; p < k; p++) expect(matrix.counts[t * k + p]).toBe(count(t, p));
    const rows = matrix.perClass();
    for (let c = 0; c < k; c++) {
      const tp = count(c, c);
      const fp = predicted.filter((p, i) => p === c && truth[i] !== c).length;
      const fn = truth.filter((t, i) => t === c && predicted[i] !== c).length;
      const precision = tp / (tp + fp), recall = tp / (tp + fn);
      expect(rows[c].precision).toBeCloseTo(precision, 12);
      expect(rows[c].recall).toBeCloseTo(recall, 12);
      expect(rows[c].f1).toBeCloseTo((2 * precision * recall) / (precision + recall), 12);
    }
    const summary = matrix.summary();
    expect(summary.precision).toBeCloseTo((rows[0].precision + rows[1].precision + rows[2].precision) / 3, 12);
    expect(matrix.format(["zero", "one", "two"])).toContain("precision");
  });

  test("a single sigmoid output: the positive class's precision and recall, thresholded at 0.5", () => {
    const acc = new MetricAccumulator(parseMetrics(["accuracy", "precision", "recall", "f1"]), 1);
    // Targets 1,1,1,0,0 predicted 0.9,0.8,0.2,0.7,0.1 → TP 2, FN 1, FP 1, TN 1.
    acc.update(Float32Array.from([0.9, 0.8, 0.2, 0.7, 0.1]), 5, null, Float32Array.from([1, 1, 1, 0, 0]));
    const r = acc.results();
    expect(r.accuracy).toBeCloseTo(3 / 5, 12);
    expect(r.precision).toBeCloseTo(2 / 3, 12);
    expect(r.recall).toBeCloseTo(2 / 3, 12);
    expect(r.f1).toBeCloseTo(2 / 3, 12);
  });

  test("a class never predicted scores 0 precision rather than NaN", () => {
    const matrix = new ConfusionMatrix(3);
    matrix.add(0, 0);
    matrix.add(2, 0);
    expect(matrix.perClass().map((r) => r.precision)).toEqual([0.5, 0, 0]);
    expect(Number.isNaN(matrix.summary().f1)).toBe(false);
  });
});
