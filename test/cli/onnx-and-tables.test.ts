// The executable's ONNX and table workflows as a user runs them: train → export → infer on the WASM
// provider (1 and 2 threads) and on WebGPU (Mesa's software adapter through Dawn, where the machine has
// one; otherwise the test is skipped and says why); fine-tuning an ONNX model with frozen layers; linear
// and logistic regression from CSV files (the seed's y = 3x + noise recovered to within 0.05); plots,
// augmentation and the confusion matrix; and the bad input each of these can meet.

import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../src/engine/rng";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();
const sample = join(import.meta.dir, "..", "..", "build", "mnist-sample");
const testImages = join(sample, "t10k-images-idx3-ubyte.gz");
const testLabels = join(sample, "t10k-labels-idx1-ubyte.gz");

// One small trained model shared by the ONNX tests.
const trained = runCli(["train", "--model", "mlp", "--epochs", "1", "--save", "mlp.wgd", "--no-progress"]);
const exported = runCli(["export", "mlp.wgd", "-o", "mlp.onnx", "--json"]);

/** Whether this machine offers a WebGPU adapter to the executable, and if not, why. */
const webgpuProbe = (() => {
  const r = runCli(["infer", "mlp.onnx", "--input", testImages, "--ep", "webgpu", "--json"]);
  return r.code === 0 ? { ok: true, reason: "" } : { ok: false, reason: r.stderr.trim().split("\n").at(-1) ?? "unknown" };
})();
if (!webgpuProbe.ok) console.warn(`WebGPU tests skipped: ${webgpuProbe.reason}`);

function inferJson(args: string[]) {
  const r = runCli(["infer", "mlp.onnx", "--input", testImages, "--labels", testLabels, "--json", ...args]);
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
  return { ...JSON.parse(r.stdout), stderr: r.stderr };
}

describe("export and infer", () => {
  test("export writes an ONNX file; infer on WASM reproduces eval's accuracy and says which provider ran", () => {
    expect(trained.code).toBe(0);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout).opset).toBe(13);
    const evalResult = JSON.parse(runCli(["eval", "mlp.wgd", "--json"]).stdout);
    const wasm = inferJson(["--ep", "wasm", "--threads", "1"]);
    expect(wasm.provider).toBe("wasm");
    expect(wasm.stderr).toContain("execution provider: wasm (1 thread)");
    expect(wasm.accuracy).toBeCloseTo(evalResult.accuracy, 10);
    expect(wasm.predictions).toHaveLength(2000);
  });

  test("two WASM threads give the same outputs as one", () => {
    const one = inferJson(["--ep", "wasm", "--threads", "1"]), two = inferJson(["--ep", "wasm", "--threads", "2"]);
    expect(two.stderr).toContain("2 threads");
    const worst = one.predictions.reduce((m: number, p: { top: { probability: number }[] }, i: number) => Math.max(m, Math.abs(p.top[0].probability - two.predictions[i].top[0].probability)), 0);
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  test(`WebGPU on a software adapter equals WASM within 1e-4${webgpuProbe.ok ? "" : ` — SKIPPED: ${webgpuProbe.reason}`}`, () => {
    if (!webgpuProbe.ok) return;
    const gpu = inferJson(["--ep", "webgpu"]), cpu = inferJson(["--ep", "wasm"]);
    expect(gpu.provider).toBe("webgpu");
    expect(gpu.adapter).toBeString();
    let worst = 0;
    gpu.predictions.forEach((p: { class: number; top: { class: number; probability: number }[] }, i: number) => {
      for (const t of p.top) {
        const other = cpu.predictions[i].top.find((o: { class: number }) => o.class === t.class);
        if (other) worst = Math.max(worst, Math.abs(other.probability - t.probability));
      }
    });
    expect(worst).toBeLessThanOrEqual(1e-4);
    expect(gpu.accuracy).toBeCloseTo(cpu.accuracy, 2);
  });

  test("auto uses WebGPU when an adapter exists and otherwise falls back to WASM, saying why", () => {
    const auto = inferJson([]);
    if (webgpuProbe.ok) expect(auto.provider).toBe("webgpu");
    else {
      expect(auto.provider).toBe("wasm");
      expect(auto.fallback).toBeString();
    }
  });

  test("inputs: a .npy file and a JSON array give the same outputs as the IDX images", () => {
    // The first two test images as float32 .npy and as JSON.
    const first = inferJson(["--ep", "wasm"]).predictions.slice(0, 2);
    const x = new Float32Array(2 * 784).map((_, i) => ((i * 13) % 256) / 255);
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 28, 28), }";
    const padded = header.padEnd(118, " ") + "\n";
    const npy = new Uint8Array(10 + padded.length + x.byteLength);
    npy.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length & 0xff, padded.length >> 8]);
    npy.set(new TextEncoder().encode(padded), 10);
    npy.set(new Uint8Array(x.buffer), 10 + padded.length);
    writeFileSync(join(dir, "x.npy"), npy);
    writeFileSync(join(dir, "x.json"), JSON.stringify([Array.from(x.subarray(0, 784)), Array.from(x.subarray(784))]));
    const fromNpy = JSON.parse(runCli(["infer", "mlp.onnx", "--input", "x.npy", "--ep", "wasm", "--json"]).stdout);
    const fromJson = JSON.parse(runCli(["infer", "mlp.onnx", "--input", "x.json", "--ep", "wasm", "--json"]).stdout);
    expect(fromNpy.input.shape).toEqual([2, 28, 28, 1]);
    expect(fromNpy.predictions.map((p: { class: number }) => p.class)).toEqual(fromJson.predictions.map((p: { class: number }) => p.class));
    expect(first).toHaveLength(2);
  });

  test("bad input: corrupt or truncated ONNX, wrong input shape, unknown provider, missing files", () => {
    const bytes = readFileSync(join(dir, "mlp.onnx"));
    writeFileSync(join(dir, "truncated.onnx"), bytes.subarray(0, bytes.length >> 1));
    writeFileSync(join(dir, "x3.json"), JSON.stringify([[1, 2, 3]]));
    expect(expectCleanError(runCli(["infer", "truncated.onnx", "--input", testImages, "--ep", "wasm"]))).toContain("truncated.onnx");
    expect(expectCleanError(runCli(["infer", "mlp.onnx", "--input", "x3.json", "--ep", "wasm"]))).toContain("shaped [1, 3], but mlp.onnx takes samples shaped [batch, 28, 28, 1]");
    expect(expectCleanError(runCli(["infer", "mlp.onnx", "--input", testImages, "--ep", "cuda"]))).toContain("unknown execution provider 'cuda'");
    expect(expectCleanError(runCli(["infer", "missing.onnx", "--input", testImages]))).toContain("cannot read model missing.onnx");
    expect(expectCleanError(runCli(["export", "mlp.wgd", "-o", "model.txt"]))).toContain(".onnx extension");
    expect(expectCleanError(runCli(["train", "--from", "truncated.onnx", "--epochs", "1"]))).toContain("truncated.onnx");
  });
});

describe("fine-tuning an ONNX model", () => {
  test("train --from with --freeze keeps the frozen layers' weights, trains the rest, and exports again", () => {
    const r = runCli(["train", "--from", "mlp.onnx", "--freeze", "2", "--epochs", "1", "--save", "tuned.wgd", "--no-progress", "--json"]);
    expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(r.stderr).toContain("frozen: flatten_1, dense_1");
    expect(JSON.parse(r.stdout).test.accuracy).toBeGreaterThan(0.8);
    expect(runCli(["export", "tuned.wgd", "-o", "tuned.onnx"]).code).toBe(0);
    const before = inferJson(["--ep", "wasm"]);
    const after = JSON.parse(runCli(["infer", "tuned.onnx", "--input", testImages, "--labels", testLabels, "--ep", "wasm", "--json"]).stdout);
    expect(after.accuracy).toBeGreaterThan(0.8);
    expect(after.predictions[0].top[0].probability).not.toBe(before.predictions[0].top[0].probability);
    expect(expectCleanError(runCli(["train", "--from", "mlp.onnx", "--freeze", "9"]))).toContain("only 3 layers");
  });
});

describe("tables: linear and logistic regression from CSV", () => {
  const rng = new Rng(7);
  const line = ["x,y", ...Array.from({ length: 400 }, () => {
    const x = rng.uniform(-2, 2);
    return `${x.toFixed(5)},${(3 * x + 0.5 + 0.1 * rng.normal()).toFixed(5)}`;
  })].join("\n");
  writeFileSync(join(dir, "line.csv"), line);

  test("y = 3x + noise: linear regression recovers the slope within 0.05 (in x's units, through the Normalization layer) and plots its curves", () => {
    const r = runCli(["train", "--model", "linear", "--data", "line.csv", "--target", "y", "--no-progress", "--plot", "curves.svg"]);
    expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
    const [, intercept, slope] = /in the columns' units: 'y' = (-?[\d.]+) \+ ([\d.]+)·x/.exec(r.stderr)!.map(Number);
    expect(Math.abs(slope - 3)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(intercept - 0.5)).toBeLessThanOrEqual(0.05);
    // Without the Normalization layer the Dense weights are the slope and intercept themselves, as before.
    const raw = runCli(["train", "--model", "linear", "--data", "line.csv", "--target", "y", "--no-progress", "--no-normalize"]);
    expect(Math.abs(Number(/dense_1\/kernel \[1,1\]: (-?[\d.]+)/.exec(raw.stderr)?.[1]) - 3)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(Number(/dense_1\/bias \[1\]: (-?[\d.]+)/.exec(raw.stderr)?.[1]) - 0.5)).toBeLessThanOrEqual(0.05);
    expect(raw.stderr).not.toContain("in the columns' units");
    const svg = readFileSync(join(dir, "curves.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("val_loss");
  });

  test("logistic regression separates two classes and eval prints precision, recall, F1 and the confusion matrix", () => {
    const r2 = new Rng(3);
    const rows = ["hours,score,passed", ...Array.from({ length: 300 }, () => {
      const h = r2.uniform(0, 10), s = r2.uniform(0, 100);
      return `${h.toFixed(3)},${s.toFixed(2)},${0.8 * (h - 5) + 0.05 * (s - 50) > 0 ? 1 : 0}`;
    })];
    writeFileSync(join(dir, "pass.csv"), rows.join("\n"));
    const train = runCli(["train", "--model", "logistic", "--data", "pass.csv", "--target", "passed", "--save", "logit.wgd", "--no-progress", "--json"]);
    expect({ code: train.code, stderr: train.code ? train.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(train.stdout).test.accuracy).toBeGreaterThan(0.9);
    const evaluation = runCli(["eval", "logit.wgd", "--data", "pass.csv", "--target", "passed"]);
    expect(evaluation.stdout).toMatch(/precision [\d.]+\s+recall [\d.]+\s+f1 [\d.]+/);
    expect(evaluation.stdout).toContain("confusion matrix");
  });

  test("bad CSV input: one line naming the row and column", () => {
    writeFileSync(join(dir, "bad.csv"), "x,y\n1,2\n3,abc\n");
    writeFileSync(join(dir, "ragged.csv"), "x,y\n1,2\n3\n");
    expect(expectCleanError(runCli(["train", "--model", "linear", "--data", "bad.csv", "--target", "y"]))).toMatch(/row 3, column "y" \(2\): "abc" is not a number/);
    expect(expectCleanError(runCli(["train", "--model", "linear", "--data", "ragged.csv", "--target", "y"]))).toMatch(/row 3 has 1 cells?, the header has 2/);
    expect(expectCleanError(runCli(["train", "--model", "linear", "--data", "line.csv", "--target", "z"]))).toContain("no target column \"z\"");
    expect(expectCleanError(runCli(["train", "--model", "linear", "--data", "line.csv"]))).toContain("--target");
  });
});

describe("images: augmentation", () => {
  test("train --augment runs, says what it does, and rejects a bad spec", () => {
    const r = runCli(["train", "--model", "mlp", "--epochs", "1", "--augment", "rotation=10,shift=0.1,elastic=8:3", "--no-progress", "--json"]);
    expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(r.stderr).toContain("augmentation rotation ±10°, shift ±0.1, elastic α 8 σ 3");
    expect(JSON.parse(r.stdout).test.accuracy).toBeGreaterThan(0.8);
    expect(expectCleanError(runCli(["train", "--augment", "spin=3"]))).toContain("unknown transformation 'spin'");
  });
});

describe("explain", () => {
  test("writes the saliency panel and the first conv layer's filters (PNG and SVG), and refuses bad requests", () => {
    writeFileSync(join(dir, "tiny-cnn.json"), JSON.stringify({
      name: "tiny-cnn", inputShape: [28, 28, 1],
      layers: [{ type: "Conv2D", filters: 4, kernelSize: 5, strides: 2, activation: "relu" }, { type: "Flatten" }, { type: "Dense", units: 10, activation: "softmax" }],
      training: { optimizer: "adam", epochs: 1, batchSize: 64 },
    }));
    expect(runCli(["train", "--model", "tiny-cnn.json", "--save", "tiny.wgd", "--no-progress"]).code).toBe(0);
    const r = runCli(["explain", "tiny.wgd", "--input", testImages, "--index", "5", "-o", "saliency.png", "--json"]);
    expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
    const summary = JSON.parse(r.stdout);
    expect(summary.filters).toBe("saliency-filters.png");
    for (const file of ["saliency.png", "saliency-filters.png"]) expect(Array.from(readFileSync(join(dir, file)).subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(runCli(["explain", "tiny.wgd", "--input", testImages, "-o", "s.svg", "--filters", "f.svg"]).code).toBe(0);
    expect(readFileSync(join(dir, "f.svg"), "utf8").startsWith("<svg")).toBe(true);
    const mlpRun = runCli(["explain", "mlp.wgd", "--input", testImages, "-o", "m.png"]);
    expect(mlpRun.stdout).toContain("no convolution layer");
    expect(expectCleanError(runCli(["explain", "tiny.wgd", "--input", testImages, "--index", "5000", "-o", "x.png"]))).toContain("holds 2000 samples");
    expect(expectCleanError(runCli(["explain", "tiny.wgd", "--input", testImages, "-o", "x.jpg"]))).toContain(".png or .svg");
  });
});
