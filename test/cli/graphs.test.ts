// Graph models from the command line: the built-in resnet and a graph model file train, save, evaluate
// and export (ONNX Runtime then reproduces eval's accuracy); `summary` prints the Connected-to table and
// draws the graph for a built-in name, a checkpoint and an ONNX file; bad graph files are one clear line.

import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeIdx } from "../../src/data/idx";
import { gzip } from "../../src/data/gzip";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();

/** 64 training and 32 test images whose class is which quadrant is bright: learnable in a few steps. */
async function quadrants(): Promise<string> {
  const folder = join(dir, "quadrants");
  mkdirSync(folder, { recursive: true });
  for (const [split, count] of [["train", 64], ["t10k", 32]] as const) {
    const pixels = new Uint8Array(count * 784);
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 4);
    for (let i = 0; i < count; i++)
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++) {
          const q = (y < 14 ? 0 : 2) + (x < 14 ? 0 : 1);
          pixels[i * 784 + y * 28 + x] = q === labels[i] ? 200 + ((x * y + i) % 50) : (x * 7 + y * 3 + i) % 40;
        }
    writeFileSync(join(folder, `${split}-images-idx3-ubyte.gz`), await gzip(encodeIdx([count, 28, 28], pixels)));
    writeFileSync(join(folder, `${split}-labels-idx1-ubyte.gz`), await gzip(encodeIdx([count], labels)));
  }
  return folder;
}

describe("graph models on the command line", () => {
  test("--model resnet trains, saves, evaluates and exports; ONNX Runtime reproduces eval's accuracy", async () => {
    const data = await quadrants();
    const trained = runCli(["train", "--model", "resnet", "--data", data, "--epochs", "4", "--batch-size", "8", "--save", "resnet.wgd", "--json", "--no-progress", "--threads", "1"]);
    expect({ code: trained.code, stderr: trained.code ? trained.stderr : "" }).toEqual({ code: 0, stderr: "" });
    const result = JSON.parse(trained.stdout);
    expect(result.test.accuracy).toBeGreaterThan(0.5);
    const evaluated = JSON.parse(runCli(["eval", "resnet.wgd", "--data", data, "--json"]).stdout);
    expect(evaluated.accuracy).toBe(result.test.accuracy);
    expect(runCli(["export", "resnet.wgd", "-o", "resnet.onnx"]).code).toBe(0);
    const inferred = runCli(["infer", "resnet.onnx", "--input", join(data, "t10k-images-idx3-ubyte.gz"), "--labels", join(data, "t10k-labels-idx1-ubyte.gz"), "--ep", "wasm", "--json"]);
    expect(inferred.code).toBe(0);
    expect(JSON.parse(inferred.stdout).accuracy).toBe(evaluated.accuracy);
  });

  test("a graph model file: layers name their inputs, a two-branch net trains", async () => {
    const data = await quadrants();
    writeFileSync(join(dir, "branches.json"), JSON.stringify({
      name: "branches",
      inputs: [{ name: "image", shape: [28, 28, 1] }],
      layers: [
        { type: "MaxPool2D", name: "small", poolSize: 4 },
        { type: "Conv2D", name: "wide", filters: 4, kernelSize: 3, padding: "same", activation: "relu" },
        { type: "Conv2D", name: "narrow", inputs: ["small"], filters: 4, kernelSize: 1, activation: "tanh" },
        { type: "Concatenate", name: "both", inputs: ["wide", "narrow"] },
        { type: "Flatten" },
        { type: "Dense", name: "classes", units: 4, activation: "softmax" },
      ],
      training: { optimizer: { type: "adam", learningRate: 0.01 }, loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"], batchSize: 16, epochs: 3 },
    }));
    const r = runCli(["train", "--model", "branches.json", "--data", data, "--json", "--no-progress", "--save", "branches.wgd"]);
    expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout).test.accuracy).toBeGreaterThan(0.5);
    const summary = runCli(["summary", "branches.wgd"]);
    expect(summary.stdout).toMatch(/both \(Concatenate\)\s+\[7,7,8\]\s+0\s+wide, narrow/);
  });

  test("summary prints Keras' table and draws the graph as SVG", () => {
    const r = runCli(["summary", "resnet", "-o", "resnet.svg"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Connected to");
    expect(r.stdout).toMatch(/a_add \(Add\)\s+\[14,14,16\]\s+0\s+a_bn2, stem_pool/);
    const svg = readFileSync(join(dir, "resnet.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect((svg.match(/<rect [^>]*rx="5"/g) ?? []).length).toBe(28); // the input and 27 layers
    expect((svg.match(/marker-end/g) ?? []).length).toBe(30); // 27 layers read 30 tensors (three Adds read two)
    expect(svg).toContain("<polyline"); // shortcuts run beside the blocks they skip
    const json = JSON.parse(runCli(["summary", "resnet", "--json"]).stdout);
    expect(json.params).toBe(38250);
    expect(json.layers.find((l: { name: string }) => l.name === "b_add").inputs).toEqual(["b_bn2", "b_shortcut_bn"]);
    expect(runCli(["summary", "mlp"]).stdout).not.toContain("Connected to"); // a chain reads top to bottom
  });

  test("bad graph files and requests are one clear line", () => {
    writeFileSync(join(dir, "dangling.json"), JSON.stringify({ inputs: [{ name: "x", shape: [4] }], layers: [{ type: "Dense", units: 2, inputs: ["nope"] }] }));
    expect(expectCleanError(runCli(["train", "--model", "dangling.json"]))).toContain("no model input or earlier layer is named 'nope'");
    writeFileSync(join(dir, "clash.json"), JSON.stringify({ inputs: [{ name: "x", shape: [4] }], layers: [{ type: "Dense", name: "a", units: 2 }, { type: "Dense", name: "a", units: 2 }] }));
    expect(expectCleanError(runCli(["summary", "clash.json"]))).toContain("the name 'a' is used twice");
    writeFileSync(join(dir, "both.json"), JSON.stringify({ inputShape: [4], inputs: [{ name: "x", shape: [4] }], layers: [{ type: "Dense", units: 2 }] }));
    expect(expectCleanError(runCli(["summary", "both.json"]))).toContain("drop \"inputShape\"");
    expect(expectCleanError(runCli(["summary", "linear"]))).toContain("--input-shape");
    expect(expectCleanError(runCli(["summary", "resnet", "-o", "graph.png"]))).toContain(".svg");
  });
});
