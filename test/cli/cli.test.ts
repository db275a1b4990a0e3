// The executable as a user runs it: copied alone into an empty folder, trained on the embedded sample,
// saved, evaluated, asked for predictions; and fed bad input, where every failure must be one clear line
// on stderr with a non-zero exit and no stack trace.

import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeIdx } from "../../src/data/idx";
import { gzip } from "../../src/data/gzip";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();

/** Writes an MNIST-layout folder of `count` random 28×28 images (or other shapes) for tests. */
async function writeIdxFolder(name: string, options: { count?: number; labels?: number; side?: number; truncate?: boolean } = {}) {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const count = options.count ?? 20;
  const side = options.side ?? 28;
  const pixels = Uint8Array.from({ length: count * side * side }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from({ length: options.labels ?? count }, (_, i) => i % 10);
  for (const split of ["train", "t10k"]) {
    let images = await gzip(encodeIdx([count, side, side], pixels));
    if (options.truncate) images = images.subarray(0, images.length >> 1);
    writeFileSync(join(folder, `${split}-images-idx3-ubyte.gz`), images);
    writeFileSync(join(folder, `${split}-labels-idx1-ubyte.gz`), await gzip(encodeIdx([labels.length], labels)));
  }
  return folder;
}

describe("wasmgrad executable", () => {
  test("info reports the runtime, SIMD support and the chosen kernel build", () => {
    const r = runCli(["info", "--json"]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.simd).toBe(true);
    expect(info.kernels).toMatch(/^wasm-(relaxed-)?simd$/);
    expect(info.models).toEqual(["mlp", "mlp512", "cnn", "resnet", "torch_mlp", "linear", "logistic", "text_cnn", "text_bilstm", "bow_logistic", "char_mlp", "char_lstm", "char_transformer"]);
  });

  test("--help is there for every command", () => {
    for (const command of [[], ["train"], ["eval"], ["predict"], ["info"]]) {
      const r = runCli([...command, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Usage:");
    }
    expect(runCli(["train", "--help"]).stdout).toContain("--batch-size");
  });

  test("train → save → eval → predict on the embedded sample, with no files around it", async () => {
    const trained = runCli(["train", "--model", "mlp", "--epochs", "2", "--seed", "3", "--save", "mlp.wgd", "--json"]);
    expect(trained.stderr).toContain("epoch 2/2");
    expect(trained.code).toBe(0);
    const summary = JSON.parse(trained.stdout);
    expect(summary.history.loss).toHaveLength(2);
    expect(summary.history.val_accuracy).toHaveLength(2);
    expect(summary.test.accuracy).toBeGreaterThan(0.85);

    const evaluated = runCli(["eval", "mlp.wgd", "--json"]);
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.stdout).accuracy).toBeCloseTo(summary.test.accuracy, 6);

    const folder = await writeIdxFolder("digits", { count: 5 });
    const predicted = runCli(["predict", "mlp.wgd", "--input", join(folder, "t10k-images-idx3-ubyte.gz"), "--json"]);
    expect(predicted.code).toBe(0);
    const rows = JSON.parse(predicted.stdout);
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      expect(row.probabilities).toHaveLength(10);
      expect(row.probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 4);
      expect(row.class).toBe(row.probabilities.indexOf(Math.max(...row.probabilities)));
    }
  }, 60_000);

  test("the same seed gives the same run", () => {
    const a = JSON.parse(runCli(["train", "--epochs", "1", "--seed", "9", "--json"]).stdout);
    const b = JSON.parse(runCli(["train", "--epochs", "1", "--seed", "9", "--json"]).stdout);
    expect(a.history).toEqual(b.history);
    expect(a.test).toEqual(b.test);
  }, 60_000);

  test("a run resumed from a checkpoint ends bit-identical to an uninterrupted one (schedule and shuffles included)", () => {
    const common = ["train", "--model", "cnn", "--seed", "4", "--batch-size", "128"];
    expect(runCli([...common, "--epochs", "2", "--save", "straight.wgd"]).code).toBe(0);
    expect(runCli([...common, "--epochs", "1", "--save", "halves.wgd", "--checkpoint-every", "1"]).code).toBe(0);
    const resumed = runCli([...common, "--epochs", "2", "--save", "halves.wgd", "--resume", "halves.wgd"]);
    expect(resumed.stderr).toContain("resuming halves.wgd at epoch 2");
    expect(resumed.code).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, "straight.wgd")), readFileSync(join(dir, "halves.wgd")))).toBe(0);
  }, 120_000);

  test("Ctrl-C saves a checkpoint that resumes, and exits 130", async () => {
    const { exe } = isolatedBinary();
    const child = Bun.spawn([exe, "train", "--model", "cnn", "--epochs", "3", "--save", "interrupted.wgd"], { cwd: dir, stderr: "pipe", stdout: "pipe" });
    await Bun.sleep(2500);
    child.kill("SIGINT");
    expect(await child.exited).toBe(130);
    expect(await new Response(child.stderr).text()).toContain("continue with --resume interrupted.wgd");
    const evaluated = runCli(["eval", "interrupted.wgd", "--json"]);
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.stdout).accuracy).toBeGreaterThan(0);
  }, 60_000);

  describe("bad input: one clear line, non-zero exit", () => {
    test("unknown model name", () => {
      expect(expectCleanError(runCli(["train", "--model", "mpl"]))).toContain("did you mean 'mlp'");
    });

    test("malformed model JSON names the line", () => {
      writeFileSync(join(dir, "broken.json"), '{\n  "inputShape": [28, 28, 1],\n  "layers": [ { "type": "Dense" ]\n}');
      expect(expectCleanError(runCli(["train", "--model", "broken.json"]))).toMatch(/broken\.json: not valid JSON: expected ',' or '}' at line 3, column 33/);
    });

    test("unknown layer type and unknown option in a model file", () => {
      writeFileSync(join(dir, "typo.json"), JSON.stringify({ inputShape: [28, 28, 1], layers: [{ type: "Flatten" }, { type: "Dence", units: 10 }] }));
      expect(expectCleanError(runCli(["train", "--model", "typo.json"]))).toContain("unknown layer type 'Dence' (did you mean 'Dense'?)");
      writeFileSync(join(dir, "typo2.json"), JSON.stringify({ inputShape: [28, 28, 1], layers: [{ type: "Flatten" }, { type: "Dense", unit: 10 }] }));
      expect(expectCleanError(runCli(["train", "--model", "typo2.json"]))).toContain("'unit' is not a Dense option (did you mean 'units'?)");
    });

    test("missing data folder and missing files", () => {
      expect(expectCleanError(runCli(["train", "--data", "no/such/dir"]))).toContain("does not exist");
      mkdirSync(join(dir, "empty-data"), { recursive: true });
      expect(expectCleanError(runCli(["train", "--data", "empty-data"]))).toContain("missing train-images-idx3-ubyte.gz");
    });

    test("truncated IDX images", async () => {
      const folder = await writeIdxFolder("truncated", { truncate: true });
      expect(expectCleanError(runCli(["train", "--data", folder]))).toMatch(/train-images-idx3-ubyte\.gz: .*(corrupt or truncated|truncated)/);
    });

    test("images and labels disagree on the count", async () => {
      const folder = await writeIdxFolder("mismatch", { count: 20, labels: 19 });
      expect(expectCleanError(runCli(["train", "--data", folder]))).toContain("holds 20 images but");
    });

    test("data shaped differently from the model", async () => {
      const folder = await writeIdxFolder("small", { side: 14 });
      // cnn fixes its input shape; the MLPs take theirs from the data (mlp on 14×14 digits is 196-128-10).
      expect(expectCleanError(runCli(["train", "--model", "cnn", "--data", folder]))).toContain("holds samples shaped [14,14,1] but the model takes inputs shaped [28,28,1]");
    });

    test("out-of-range and unknown flags", () => {
      expect(expectCleanError(runCli(["train", "--epochs", "0"]))).toContain("--epochs must be between 1 and");
      expect(expectCleanError(runCli(["train", "--lr", "abc"]))).toContain("--lr needs a number");
      expect(expectCleanError(runCli(["train", "--optimizer", "adagrad"]))).toContain("unknown optimizer 'adagrad'");
      expect(expectCleanError(runCli(["train", "--bogus"]))).toContain("Unknown option `--bogus`");
      expect(expectCleanError(runCli(["train", "--epoch", "2"]))).toContain("did you mean '--epochs'");
      expect(expectCleanError(runCli(["train", "--checkpoint-every", "1"]))).toContain("--checkpoint-every needs --save");
      expect(expectCleanError(runCli(["train", "--patience", "2", "--validation-split", "0"]))).toContain("needs --validation-split above 0");
      expect(expectCleanError(runCli(["train", "--monitor", "val_acc"]))).toContain("unknown metric 'val_acc'");
      expect(expectCleanError(runCli(["trian"]))).toContain("did you mean 'train'");
    });

    test("missing or corrupt checkpoint", () => {
      expect(expectCleanError(runCli(["eval", "nope.wgd"]))).toContain("does not exist");
      writeFileSync(join(dir, "junk.wgd"), "definitely not a checkpoint");
      expect(expectCleanError(runCli(["eval", "junk.wgd"]))).toContain("not a wasmgrad checkpoint");
    });
  });
});
