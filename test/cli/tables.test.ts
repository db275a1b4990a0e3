// Tables on the command line as a new user meets them: features on wildly different scales, three classes
// with --model logistic, word labels and categorical columns with missing cells, --model mlp sized from the
// data, a regression, and the mistakes (forced tasks that cannot work) that must be one clear line. The
// checkpoint keeps how rows are read and the Normalization statistics, so eval, predict (raw rows, class
// names) and --resume read tables as training did, and the exported ONNX model (Sub + Div in front) gives
// ONNX Runtime's (onnxruntime-web, WASM, in this process) the probabilities predict prints.

import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../src/engine/rng";
import { decodeCheckpointHeader } from "../../src/model/checkpoint";
import { decodeModel } from "../../src/onnx/onnx-proto";
import { OnnxSession } from "../../src/onnx/runtime";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();
const ok = (r: { code: number; stderr: string }) => expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
const write = (name: string, lines: string[]) => writeFileSync(join(dir, name), lines.join("\n") + "\n");
const json = (r: { stdout: string }) => JSON.parse(r.stdout);

// Two classes from two features, one in the thousands and one below 0.01 (as breast-cancer tables have):
// the class is which side of a line through the standardised features a row falls.
const rng = new Rng(11);
const scaled = Array.from({ length: 400 }, () => {
  const [a, b] = [rng.normal(), rng.normal()];
  return { area: 1000 + 300 * a, smooth: 0.005 + 0.002 * b, y: a - b + 0.3 * rng.normal() > 0 ? 1 : 0 };
});
write("scaled.csv", ["area,smoothness,malignant", ...scaled.map((r) => `${r.area.toFixed(1)},${r.smooth.toFixed(5)},${r.y}`)]);

// Three classes 0, 1, 2 from three features (the wine table's shape, smaller).
const three = Array.from({ length: 300 }, (_, i) => {
  const c = i % 3;
  return [c * 2 + rng.normal(), (c === 1 ? 3 : 0) + rng.normal(), 50 + 10 * rng.normal(), c];
});
write("three.csv", ["alcohol,hue,proline,cultivar", ...three.map((r) => `${r[0].toFixed(3)},${r[1].toFixed(3)},${r[2].toFixed(2)},${r[3]}`)]);

// Word labels, a word column, an integer column to declare categorical, and missing cells in both kinds.
const plants = Array.from({ length: 360 }, (_, i) => {
  const soil = ["clay", "loam", "sand"][i % 3], shade = 1 + (Math.floor(i / 3) % 3);
  const height = 20 + 10 * rng.normal();
  const score = (soil === "loam" ? 2 : soil === "sand" ? -2 : 0) + (shade - 2) * 1.5 + (height - 20) / 10 + 0.3 * rng.normal();
  const label = score > 1 ? "thrives" : score < -1 ? "wilts" : "survives";
  return `${i % 17 === 0 ? "NA" : height.toFixed(1)},${i % 23 === 0 ? "" : soil},${shade},${label}`;
});
write("plants.csv", ["height,soil,shade,fate", ...plants]);

// A regression: y = 2·x1 − 3·x2 + 500 + noise, x2 in the hundreds.
const points = Array.from({ length: 300 }, () => {
  const x1 = rng.normal(), x2 = 200 + 50 * rng.normal();
  return [x1, x2, 2 * x1 - 3 * x2 + 500 + 0.5 * rng.normal()];
});
write("points.csv", ["x1,x2,y", ...points.map((p) => p.map((v) => v.toFixed(4)).join(","))]);

describe("tables on the command line", () => {
  test("unscaled features: a Normalization layer in front by default, adapted to the training rows; --no-normalize leaves them raw", () => {
    const normalized = runCli(["train", "--model", "logistic", "--data", "scaled.csv", "--target", "malignant", "--save", "scaled.wgd", "--json", "--no-progress"]);
    ok(normalized);
    expect(normalized.stderr).toContain("task: binary (2 classes: 0, 1) from 'malignant'; features standardised by a Normalization layer adapted to the training rows");
    const raw = runCli(["train", "--model", "logistic", "--data", "scaled.csv", "--target", "malignant", "--no-normalize", "--json", "--no-progress"]);
    ok(raw);
    expect(raw.stderr).not.toContain("standardised");
    const [ours, unscaled] = [json(normalized).test.accuracy, json(raw).test.accuracy];
    console.log(`scaled.csv: test accuracy ${ours} standardised, ${unscaled} raw`);
    expect(ours).toBeGreaterThanOrEqual(0.9);
    expect(ours).toBeGreaterThan(unscaled);
    // The statistics are the training rows' (320 of 400), kept as the layer's state in the checkpoint.
    const { header } = decodeCheckpointHeader(readFileSync(join(dir, "scaled.wgd")), "scaled.wgd");
    const [meanArea, , varArea] = header.layerStates.normalization_1;
    expect(meanArea).toBeGreaterThan(900);
    expect(Math.sqrt(varArea)).toBeGreaterThan(200);
    expect(header.preprocessing?.table).toMatchObject({ target: "malignant", task: "binary", classNames: ["0", "1"] });
    // eval on the same split reproduces the test accuracy; predict takes the raw rows.
    const evaluated = runCli(["eval", "scaled.wgd", "--data", "scaled.csv", "--json"]);
    ok(evaluated);
    expect(json(evaluated).accuracy).toBe(ours);
    const predicted = json(runCli(["predict", "scaled.wgd", "--input", "scaled.csv", "--json"]));
    expect(predicted).toHaveLength(400);
    const hits = predicted.filter((p: { class: string }, i: number) => p.class === String(scaled[i].y)).length;
    expect(hits / 400).toBeGreaterThanOrEqual(0.9);
  });

  test("three classes with --model logistic: a softmax over 3, a positive loss, class names in eval and predict", () => {
    const r = runCli(["train", "--model", "logistic", "--data", "three.csv", "--target", "cultivar", "--save", "three.wgd", "--json", "--no-progress"]);
    ok(r);
    expect(r.stderr).toContain("task: multiclass (3 classes: 0, 1, 2) from 'cultivar'");
    expect(r.stderr).toContain("logistic: 12 parameters");
    const result = json(r);
    expect(result.test.loss).toBeGreaterThan(0);
    expect(result.history.loss.every((l: number) => l > 0)).toBe(true);
    expect(result.test.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(result.classNames).toEqual(["0", "1", "2"]);
    const evaluated = runCli(["eval", "three.wgd", "--data", "three.csv", "--target", "cultivar"]);
    ok(evaluated);
    expect(evaluated.stdout).toMatch(/precision [\d.]+ {2}recall [\d.]+ {2}f1 [\d.]+/);
    expect(evaluated.stdout).toContain("classes 0 0, 1 1, 2 2");
    write("three-new.csv", ["proline,hue,alcohol", "50,0,0", "50,3,2", "50,0,4"]);
    const predicted = runCli(["predict", "three.wgd", "--input", "three-new.csv"]);
    ok(predicted);
    expect(predicted.stdout.trim().split("\n").map((l) => l.split(" ")[1])).toEqual(["0", "1", "2"]);
  });

  test("word labels, a word column, a declared integer column and missing cells: one-hot, filled and reported; --strict refuses", () => {
    const r = runCli(["train", "--model", "logistic", "--data", "plants.csv", "--target", "fate", "--categorical", "shade", "--save", "plants.wgd", "--json", "--no-progress"]);
    ok(r);
    expect(r.stderr).toContain("plants.csv (3 feature columns (2 categorical, one-hot: 7 features) → 'fate', 288 train / 72 test rows)");
    expect(r.stderr).toContain("task: multiclass (3 classes: survives, thrives, wilts) from 'fate'");
    expect(r.stderr).toMatch(/training rows: \d+ missing cells filled with the training rows' mean or most frequent category: 'height' \d+ → the mean [\d.]+, 'soil' \d+ → '\w+'/);
    expect(r.stderr).toMatch(/in the columns' units: score of survives = .*soil=clay .*shade=3/);
    expect(json(r).test.accuracy).toBeGreaterThanOrEqual(0.8);
    write("plants-new.csv", ["fate,height,soil,shade", "?,30,loam,3", "?,10,sand,1", "?,,peat,2"]);
    const predicted = runCli(["predict", "plants.wgd", "--input", "plants-new.csv", "--json"]);
    ok(predicted);
    const rows = json(predicted);
    expect(rows.map((p: { class: string }) => p.class).slice(0, 2)).toEqual(["thrives", "wilts"]);
    expect(Object.keys(rows[0].probabilities)).toEqual(["survives", "thrives", "wilts"]);
    expect(rows[0].probability).toBe(rows[0].probabilities.thrives);
    expect(predicted.stderr).toContain("plants-new.csv: 1 missing cell filled with the training rows' mean or most frequent category: 'height' 1 → the mean");
    expect(predicted.stderr).toContain("plants-new.csv: 1 cell of 'soil' holds a category the training rows do not have (such as 'peat'): encoded as none of its categories (all zeros)");
    expect(runCli(["predict", "plants.wgd", "--input", "plants-new.csv"]).stdout).toMatch(/^#0: thrives [\d.]+ {2}\(thrives [\d.]+, /);
    expect(expectCleanError(runCli(["predict", "plants.wgd", "--input", "plants-new.csv", "--strict"]))).toContain('plants-new.csv: row 4, column "height" (2): the cell is missing (""), and --strict refuses missing cells');
    expect(expectCleanError(runCli(["train", "--model", "logistic", "--data", "plants.csv", "--target", "fate", "--strict"]))).toMatch(/row \d+, column "(height|soil)" \(\d\): the cell is missing/);
    write("plants-partial.csv", ["height,shade", "3,1"]);
    expect(expectCleanError(runCli(["predict", "plants.wgd", "--input", "plants-partial.csv"]))).toContain('plants-partial.csv lacks the column "soil" that the model reads');
  });

  test("--model mlp on a table: input and output sized from the data (3-128-3); --hidden picks the widths", () => {
    const r = runCli(["train", "--model", "mlp", "--data", "three.csv", "--target", "cultivar", "--epochs", "20", "--json", "--no-progress"]);
    ok(r);
    expect(r.stderr).toContain(`mlp: ${(3 * 128 + 128 + 128 * 3 + 3).toLocaleString("en-US")} parameters`);
    expect(json(r).test.accuracy).toBeGreaterThanOrEqual(0.85);
    const hidden = runCli(["train", "--model", "mlp", "--hidden", "16,8", "--data", "points.csv", "--target", "y", "--epochs", "30", "--json", "--no-progress"]);
    ok(hidden);
    expect(hidden.stderr).toContain(`mlp: ${2 * 16 + 16 + 16 * 8 + 8 + 8 + 1} parameters`);
    expect(hidden.stderr).toContain("task: regression from 'y'");
    expect(json(hidden).test.r2).toBeGreaterThan(0.9);
    expect(expectCleanError(runCli(["train", "--model", "logistic", "--hidden", "8", "--data", "three.csv", "--target", "cultivar"]))).toContain("--hidden sets the hidden layers of a multilayer perceptron; built-in model logistic has no hidden Dense layer");
    expect(expectCleanError(runCli(["train", "--model", "mlp", "--hidden", "8,x", "--data", "three.csv", "--target", "cultivar"]))).toContain("--hidden takes layer widths separated by commas");
  });

  test("a regression: the target standardised too, RMSE and R² in its units in the fit logs and in eval; predict prints the values; coefficients in the columns' units", () => {
    const r = runCli(["train", "--model", "linear", "--data", "points.csv", "--target", "y", "--save", "points.wgd", "--json", "--no-progress"]);
    ok(r);
    expect(r.stderr).toMatch(/task: regression from 'y'; features standardised by a Normalization layer adapted to the training rows; the target too \(mean -?[\d.]+, sd [\d.]+\): the last layer, a Normalization with invert, gives predictions in its units, and the loss is the squared error over its variance/);
    const result = json(r);
    expect(Object.keys(result.history)).toEqual(expect.arrayContaining(["rmse", "r2", "val_rmse", "val_r2"]));
    expect(result.test.r2).toBeGreaterThan(0.99);
    // The loss is the squared error over the target's variance; RMSE is in the target's units.
    const { header } = decodeCheckpointHeader(readFileSync(join(dir, "points.wgd")), "points.wgd");
    const variance = header.layerStates.normalization_2[1];
    expect(variance).toBeGreaterThan(1000);
    expect(header.training?.lossWeights).toHaveLength(1);
    expect(header.training!.lossWeights![0] * variance).toBeCloseTo(1, 6);
    expect(result.test.loss).toBeCloseTo(result.test.rmse ** 2 / variance, 4);
    const [, intercept, w1, w2] = /in the columns' units: 'y' = (-?[\d.]+) \+ ([\d.]+)·x1 − ([\d.]+)·x2/.exec(r.stderr)!.map(Number);
    expect([Math.abs(intercept - 500) < 2, Math.abs(w1 - 2) < 0.1, Math.abs(w2 - 3) < 0.01]).toEqual([true, true, true]);
    const evaluated = runCli(["eval", "points.wgd", "--data", "points.csv", "--target", "y"]);
    ok(evaluated);
    expect(evaluated.stdout).toMatch(/^loss [\d.]+ {2}mae [\d.]+ {2}rmse [\d.]+ {2}r2 (0\.99\d\d|1\.0000) /);
    expect(evaluated.stdout).not.toContain("confusion");
    expect(evaluated.stderr).toBe("task: regression from 'y'; loss: the squared error over the target's training variance (MAE and RMSE are in its units)\n");
    write("points-new.csv", ["x1,x2", "0,100", "1,200"]);
    const values = json(runCli(["predict", "points.wgd", "--input", "points-new.csv", "--json"])).map((p: { value: number }) => p.value);
    expect(Math.abs(values[0] - 200)).toBeLessThan(2);
    expect(Math.abs(values[1] - -98)).toBeLessThan(2);
    expect(runCli(["predict", "points.wgd", "--input", "points-new.csv"]).stdout).toMatch(/^#0: (19\d|20\d)\.\d+\n#1: -9\d\.\d+\n$/);
  });

  test("--resume reads the table as trained and keeps the Normalization statistics", () => {
    const first = runCli(["train", "--model", "logistic", "--data", "plants.csv", "--target", "fate", "--categorical", "shade", "--epochs", "3", "--save", "p3.wgd", "--no-progress"]);
    ok(first);
    const resumed = runCli(["train", "--model", "logistic", "--data", "plants.csv", "--target", "fate", "--epochs", "5", "--resume", "p3.wgd", "--save", "p5.wgd", "--json", "--no-progress"]);
    ok(resumed);
    expect(json(resumed).history.loss).toHaveLength(2);
    const states = ["p3.wgd", "p5.wgd"].map((f) => decodeCheckpointHeader(readFileSync(join(dir, f)), f).header);
    expect(states[1].layerStates.normalization_1).toEqual(states[0].layerStates.normalization_1);
    expect(states[1].preprocessing).toEqual(states[0].preprocessing);
    expect(expectCleanError(runCli(["train", "--model", "logistic", "--data", "plants.csv", "--target", "fate", "--epochs", "6", "--resume", "p5.wgd", "--task", "binary"]))).toContain("--task binary: the resumed model learns multiclass (3 classes)");
    expect(expectCleanError(runCli(["train", "--model", "logistic", "--data", "plants.csv", "--target", "fate", "--epochs", "6", "--resume", "p5.wgd", "--categorical", "height"]))).toContain("a resumed model reads it as it was trained to");
  });

  test("ONNX: the export standardises raw rows itself (Sub, Div) and scales a regression back (Mul, Add); ONNX Runtime gives predict's answers", async () => {
    ok(runCli(["export", "three.wgd", "-o", "three.onnx"]));
    const bytes = readFileSync(join(dir, "three.onnx"));
    expect(decodeModel(bytes).graph.nodes.slice(0, 2).map((n) => n.opType)).toEqual(["Sub", "Div"]);
    const rows = three.slice(0, 20);
    const x = Float32Array.from(rows.flatMap((r) => [Number(r[0].toFixed(3)), Number(r[1].toFixed(3)), Number(r[2].toFixed(2))]));
    const session = await OnnxSession.open(bytes, { provider: "wasm", source: "three.onnx" });
    const [out] = await session.run(x, [20, 3]);
    await session.release();
    const predicted = json(runCli(["predict", "three.wgd", "--input", "three.csv", "--json"])).slice(0, 20);
    let worst = 0;
    predicted.forEach((p: { probabilities: Record<string, number> }, i: number) => ["0", "1", "2"].forEach((c, j) => (worst = Math.max(worst, Math.abs(p.probabilities[c] - out.data[i * 3 + j])))));
    expect(worst).toBeLessThanOrEqual(1e-5);

    // The input's features in order, for a table with categories: what a caller of the ONNX model must build.
    const plants = runCli(["export", "plants.wgd", "-o", "plants.onnx"]);
    ok(plants);
    expect(plants.stdout).toContain('input "input" [batch, 7], a table\'s rows encoded (a 0/1 feature per category), standardised inside the model, in this order: height, soil=clay, soil=loam, soil=sand, shade=1, shade=2, shade=3; output "output" [batch, 3] (survives, thrives, wilts)');
    expect(json(runCli(["export", "plants.wgd", "-o", "plants.onnx", "--json"])).features).toEqual(["height", "soil=clay", "soil=loam", "soil=sand", "shade=1", "shade=2", "shade=3"]);
    ok(runCli(["export", "points.wgd", "-o", "points.onnx"]));
    const regression = readFileSync(join(dir, "points.onnx"));
    expect(decodeModel(regression).graph.nodes.map((n) => n.opType)).toEqual(["Sub", "Div", "Gemm", "Mul", "Add"]);
    const inputs = Float32Array.from(points.slice(0, 10).flatMap((p) => [Number(p[0].toFixed(4)), Number(p[1].toFixed(4))]));
    const ort = await OnnxSession.open(regression, { provider: "wasm", source: "points.onnx" });
    const [values] = await ort.run(inputs, [10, 2]);
    await ort.release();
    const ours = json(runCli(["predict", "points.wgd", "--input", "points.csv", "--json"])).slice(0, 10).map((p: { value: number }) => p.value);
    ours.forEach((v: number, i: number) => expect(Math.abs(v - values.data[i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(v))));
  });

  test("mismatches are one clear line, never a negative loss", () => {
    expect(expectCleanError(runCli(["train", "--model", "logistic", "--data", "three.csv", "--target", "cultivar", "--task", "binary"]))).toContain("--task binary needs a target with two values; the target 'cultivar' has 3 (0, 1, 2)");
    expect(expectCleanError(runCli(["train", "--model", "logistic", "--data", "points.csv", "--target", "y"]))).toContain("the target 'y' holds numbers (300 distinct values, such as");
    expect(expectCleanError(runCli(["train", "--model", "linear", "--data", "plants.csv", "--target", "fate"]))).toContain("the target 'fate' holds words (survives, thrives, wilts), but built-in model linear predicts a number");
    expect(expectCleanError(runCli(["train", "--model", "mlp", "--data", "plants.csv", "--target", "fate", "--task", "regression"]))).toContain("--task regression needs numbers, but the target 'fate' holds words");
    expect(expectCleanError(runCli(["train", "--model", "logistic", "--data", "three.csv", "--target", "cultivar", "--task", "regression"]))).toContain("--task regression: built-in model logistic learns binary or multiclass, not regression");
    expect(expectCleanError(runCli(["train", "--model", "mlp", "--task", "binary"]))).toContain("are for CSV tables");
    // A model file whose loss is binary cross-entropy cannot learn three classes.
    writeFileSync(join(dir, "sigmoid.json"), JSON.stringify({ layers: [{ type: "Dense", units: 1, activation: "sigmoid" }], training: { loss: "binaryCrossentropy" } }));
    expect(expectCleanError(runCli(["train", "--model", "sigmoid.json", "--data", "three.csv", "--target", "cultivar"]))).toContain("the target 'cultivar' has 3 classes (0, 1, 2), but sigmoid.json learns two");
    // linear on numeric classes regresses them, and says so.
    const linear = runCli(["train", "--model", "linear", "--data", "three.csv", "--target", "cultivar", "--epochs", "2", "--no-progress"]);
    ok(linear);
    expect(linear.stderr).toContain("note: the target 'cultivar' has 3 values (0, 1, 2), which built-in model linear learns as numbers (a regression)");
    expect(expectCleanError(runCli(["eval", "three.wgd", "--data", "plants.csv", "--target", "fate"]))).toContain("--target fate: the model predicts 'cultivar'");
    expect(expectCleanError(runCli(["eval", "three.wgd"]))).toContain("three.wgd was trained on a table: give one with --data file.csv");
  });
});
