// The tables scikit-learn ships (Debian's python3-sklearn), trained the way a new user would — `wasmgrad
// train --model logistic|linear --data table.csv --target column`, defaults but --validation-split 0 so both
// fit the same rows — against scikit-learn's LogisticRegression and LinearRegression with their defaults on
// the same seeded split (wasmgrad's own, handed to Python as row indices), standardised as wasmgrad
// standardises (fixtures/sklearn-tables.py says how, and how the bundled files are laid out):
//   breast_cancer  binary, word labels          accuracy within 1 point
//   iris           3 classes, word labels       accuracy within 1 point
//   wine           3 classes, integer labels    accuracy within 1 point
//   digits         10 classes (constant pixels)  accuracy within 1 point
//   wine_messy     word and integer categories, ~6 % missing cells ("", NA, ?)   accuracy within 1 point
//   diabetes       regression, raw features     test MSE within 5 %
// Besides the accuracies, the test rows' class probabilities are compared (mean |Δp|): the same model, not
// the same score by chance. Without python3-sklearn the tests skip with the reason, except under CI=true,
// where they fail (scripts/install-test-packages.sh installs it).

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededOrder } from "../../src/cli/training-data";
import { PYTHON, runPython } from "../onnx/torch-support";
import { runCli } from "../support/cli";

const hasSklearn = Bun.spawnSync([PYTHON, "-c", "import sklearn"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
const SKLEARN_MISSING = "Debian's python3-sklearn is not installed for /usr/bin/python3 (scripts/install-test-packages.sh installs it as root)";
const required = process.env.CI === "true";
const SEED = 1, TEST_SPLIT = 0.2;

interface Table {
  rows: number;
  target: string;
  task: "classes" | "regression";
  categorical?: string[];
}
interface Reference {
  accuracy?: number;
  classes?: string[];
  probabilities?: number[][];
  mse?: number;
  trainMse?: number;
  r2?: number;
}

const dir = mkdtempSync(join(tmpdir(), "wasmgrad-sklearn-"));
const script = join(import.meta.dir, "fixtures", "sklearn-tables.py");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let tables: Record<string, Table> = {}, reference: Record<string, Reference> = {};
const splits: Record<string, { train: number[]; test: number[] }> = {};
let failure = "";
if (hasSklearn) {
  const made = await runPython([script, "tables", dir]);
  if (made.code !== 0) failure = `generator failed: ${made.stderr}`;
  else {
    tables = JSON.parse(readFileSync(join(dir, "tables.json"), "utf8"));
    // wasmgrad's split: the seeded order's first rows train, the last round(rows · 0.2) test.
    for (const [name, { rows }] of Object.entries(tables)) {
      const order = Array.from(seededOrder(rows, SEED));
      const testCount = Math.round(rows * TEST_SPLIT);
      splits[name] = { train: order.slice(0, rows - testCount), test: order.slice(rows - testCount) };
    }
    writeFileSync(join(dir, "splits.json"), JSON.stringify(splits));
    const fitted = await runPython([script, "reference", dir, join(dir, "splits.json"), join(dir, "reference.json")]);
    if (fitted.code !== 0) failure = `scikit-learn failed: ${fitted.stderr}`;
    else reference = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8"));
  }
}
const skip = !hasSklearn && !required;
if (skip) console.warn(`scikit-learn comparisons skipped: ${SKLEARN_MISSING}`);

/** False where the tests skip; under CI=true without scikit-learn (or when Python failed), a failure that says why. */
function ready(): boolean {
  if (skip) return false;
  if (!hasSklearn) throw new Error(SKLEARN_MISSING);
  if (failure) throw new Error(failure);
  return true;
}

/** Trains as a user would (the model's recipe), fitting the whole training split; the JSON summary and stderr. */
function train(name: string, model: string, extra: string[] = []) {
  const table = tables[name];
  const args = ["train", "--model", model, "--data", join(dir, `${name}.csv`), "--target", table.target, "--seed", String(SEED), "--test-split", String(TEST_SPLIT),
    "--validation-split", "0", "--save", join(dir, `${name}.wgd`), "--json", "--no-progress", "--threads", "1", ...(table.categorical ? ["--categorical", table.categorical.join(",")] : []), ...extra];
  const r = runCli(args);
  expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
  return { result: JSON.parse(r.stdout), stderr: r.stderr };
}

/** Mean |p_ours − p_sklearn| over the test rows and classes, with predict's probabilities. */
function probabilityGap(name: string): number {
  const predicted: { probabilities: Record<string, number> }[] = JSON.parse(runCli(["predict", join(dir, `${name}.wgd`), "--input", join(dir, `${name}.csv`), "--json"]).stdout);
  const { classes, probabilities } = reference[name];
  let sum = 0;
  splits[name].test.forEach((row, i) => classes!.forEach((c, j) => (sum += Math.abs(predicted[row].probabilities[c] - probabilities![i][j]))));
  return sum / (splits[name].test.length * classes!.length);
}

const classifiers: [string, string][] = [
  ["breast_cancer", "binary, word labels (benign, malignant), 30 features from 0.001 to 4,000"],
  ["iris", "3 classes, word labels"],
  ["wine", "3 classes, integer labels"],
  ["digits", "10 classes, 64 pixels (some constant)"],
  ["wine_messy", "3 classes, a word column, an integer column declared categorical, ~6 % missing cells"],
];

describe(`scikit-learn's tables: wasmgrad against scikit-learn on the same split${skip ? ` — SKIPPED: ${SKLEARN_MISSING}` : ""}`, () => {
  test("scikit-learn is there and its fits ran", () => {
    if (!ready()) return;
    expect(Object.keys(reference).sort()).toEqual(["breast_cancer", "diabetes", "digits", "iris", "wine", "wine_messy"]);
  });

  for (const [name, what] of classifiers) {
    test(`${name} (${what}): --model logistic within 1 point of LogisticRegression`, () => {
      if (!ready()) return;
      const { result, stderr } = train(name, "logistic");
      const ours = result.test.accuracy, theirs = reference[name].accuracy!;
      const gap = probabilityGap(name);
      console.log(`${name}: wasmgrad ${(100 * ours).toFixed(2)} %, scikit-learn ${(100 * theirs).toFixed(2)} % on ${splits[name].test.length} test rows; mean |Δp| ${gap.toFixed(4)}`);
      expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(0.01 + 1e-9);
      expect(gap).toBeLessThanOrEqual(0.02);
      expect(result.classNames).toEqual(reference[name].classes);
      expect(stderr).toContain(`task: ${result.classNames.length === 2 ? "binary" : "multiclass"} (${result.classNames.length} classes`);
      if (name === "wine_messy") expect(stderr).toMatch(/training rows: \d+ missing cells filled with the training rows' mean or most frequent category: 'alcohol' \d+ → '\w+'/);
    });
  }

  test("diabetes (regression, raw features): --model linear's test MSE within 5 % of LinearRegression's", () => {
    if (!ready()) return;
    const { result, stderr } = train("diabetes", "linear");
    const mse = result.test.rmse ** 2, theirs = reference.diabetes;
    // The last epoch's training MSE (its rate annealed to 0 by then) beside the least-squares optimum's.
    const trainMse = result.history.rmse.at(-1) ** 2;
    console.log(`diabetes: wasmgrad test MSE ${mse.toFixed(1)} (R² ${result.test.r2.toFixed(4)}), scikit-learn ${theirs.mse!.toFixed(1)} (R² ${theirs.r2!.toFixed(4)}); training MSE ${trainMse.toFixed(1)} and ${theirs.trainMse!.toFixed(1)}`);
    expect(stderr).toContain("task: regression from 'progression'");
    expect(Math.abs(mse / theirs.mse! - 1)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(result.test.r2 - theirs.r2!)).toBeLessThanOrEqual(0.05);
    expect(trainMse / theirs.trainMse!).toBeLessThanOrEqual(1.05);
  });

  test("wine with --model mlp: sized from the data (13-128-3), trained by its own recipe (MNIST's SGD, 20 epochs)", () => {
    if (!ready()) return;
    const { result, stderr } = train("wine", "mlp", ["--epochs", "20"]);
    expect(stderr).toContain(`mlp: ${(13 * 128 + 128 + 128 * 3 + 3).toLocaleString("en-US")} parameters`);
    console.log(`wine, mlp 13-128-3 (20 epochs): ${(100 * result.test.accuracy).toFixed(2)} %, scikit-learn's logistic regression ${(100 * reference.wine.accuracy!).toFixed(2)} %`);
    expect(result.test.accuracy).toBeGreaterThanOrEqual(0.9);
  });
});
