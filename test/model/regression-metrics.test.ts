// The regression metrics beside MSE and MAE: RMSE (the root of the epoch's mean squared error) and R²
// (1 − SSE/SST over the epoch, averaged over outputs as scikit-learn's r2_score), against values worked
// out from their definitions in float64 here; batches add up to the same result as one pass; targets far
// from 0 keep their precision; and fit and evaluate report both under Keras' names.

import { describe, expect, test } from "bun:test";
import { Dense, Sequential } from "../../src/index";
import { MetricAccumulator, parseMetrics, RegressionSums } from "../../src/model/metrics";
import { Rng } from "../../src/engine/rng";

function reference(pred: number[], y: number[], outputs = 1): { rmse: number; r2: number } {
  const rows = y.length / outputs;
  let sse = 0, r2 = 0;
  for (let j = 0; j < outputs; j++) {
    let mean = 0, sj = 0, sst = 0;
    for (let r = 0; r < rows; r++) mean += y[r * outputs + j] / rows;
    for (let r = 0; r < rows; r++) {
      sj += (pred[r * outputs + j] - y[r * outputs + j]) ** 2;
      sst += (y[r * outputs + j] - mean) ** 2;
    }
    sse += sj;
    r2 += (1 - sj / sst) / outputs;
  }
  return { rmse: Math.sqrt(sse / y.length), r2 };
}

describe("RMSE and R²", () => {
  test("one output: hand-checked values (y = 1..4, predictions off by 0, 1, −1, 2)", () => {
    const sums = new RegressionSums(1);
    sums.add([1, 3, 2, 6], [1, 2, 3, 4], 4);
    // SSE = 0 + 1 + 1 + 4 = 6; SST = 2.25 + 0.25 + 0.25 + 2.25 = 5.
    expect(sums.rmse()).toBeCloseTo(Math.sqrt(6 / 4), 12);
    expect(sums.r2()).toBeCloseTo(1 - 6 / 5, 12);
  });

  test("batches add up to one pass; two outputs average their R²", () => {
    const rng = new Rng(3);
    const y = Array.from({ length: 60 }, () => rng.normal() * 5 + 2), pred = y.map((v) => v + rng.normal());
    const want = reference(pred, y, 2);
    const acc = new MetricAccumulator(parseMetrics(["rmse", "r2", "mse"]), 2);
    for (let start = 0; start < 30; start += 7) {
      const rows = Math.min(7, 30 - start);
      acc.update(Float32Array.from(pred.slice(start * 2, (start + rows) * 2)), rows, null, Float32Array.from(y.slice(start * 2, (start + rows) * 2)));
    }
    const got = acc.results();
    expect(got.rmse).toBeCloseTo(want.rmse, 5);
    expect(got.r2).toBeCloseTo(want.r2, 5);
    expect(got.mse).toBeCloseTo(want.rmse ** 2, 5);
  });

  test("targets near 10⁶ with unit spread keep R² exact (the sums are taken about the first target)", () => {
    const y = [1e6, 1e6 + 1, 1e6 + 2, 1e6 + 3], pred = [1e6 + 0.5, 1e6 + 1, 1e6 + 2, 1e6 + 2.5];
    const sums = new RegressionSums(1);
    sums.add(pred, y, 4);
    expect(sums.r2()).toBeCloseTo(1 - 0.5 / 5, 10);
  });

  test("a constant target: R² is 1 when predicted exactly and 0 otherwise (scikit-learn's force_finite)", () => {
    const exact = new RegressionSums(1), off = new RegressionSums(1);
    exact.add([2, 2], [2, 2], 2);
    off.add([2, 3], [2, 2], 2);
    expect([exact.r2(), off.r2()]).toEqual([1, 0]);
  });

  test("fit logs and evaluate report rmse and r2 (and val_ of each); names and aliases parse", async () => {
    const rng = new Rng(5);
    const x = Float32Array.from({ length: 200 }, () => rng.normal());
    const y = x.map((v) => 2 * v + 1 + 0.1 * rng.normal());
    const model = new Sequential({ inputShape: [1], seed: 1, layers: [new Dense({ units: 1 })] });
    model.compile({ optimizer: { type: "sgd", learningRate: 0.1 }, loss: "meanSquaredError", metrics: ["mae", "rmse", "r2"] });
    const history = await model.fit(x, y, { epochs: 20, batchSize: 20, validationSplit: 0.2 });
    for (const key of ["rmse", "r2", "val_rmse", "val_r2"]) expect(history.history[key]).toHaveLength(20);
    const result = model.evaluate(x, y);
    const pred = Array.from(model.predictAll(x)[0].data);
    const want = reference(pred, Array.from(y));
    expect(result.rmse).toBeCloseTo(want.rmse, 5);
    expect(result.r2).toBeCloseTo(want.r2, 5);
    expect(result.r2).toBeGreaterThan(0.99);
    expect(result.mse).toBeUndefined();
    expect(parseMetrics(["R2_score", "r_squared", "RMSE"])).toEqual(["r2", "r2", "rmse"]);
  });
});
