// The executable fed hostile input (issue 18): each class of attack or accident gets the commands that read
// it, and every case must end in one clean line on stderr with the documented exit code (1 bad input,
// 2 bad usage) — never an internal error (70), a stack trace, a hang or gigabytes of memory. Runs that
// could hang (a fifo) carry a timeout, so a regression fails instead of stalling the suite.

import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { crc32 } from "../../src/model/crc32";
import { encodeModel, TensorDataType, type ModelProto } from "../../src/onnx/onnx-proto";
import { join } from "node:path";
import { expectCleanError, isolatedBinary, runCli, runCliAsync, type RunResult } from "../support/cli";

const { dir } = isolatedBinary();
/** Far above the 40 ms a refusal takes, far below a hang. */
const HANG_MS = 15_000;

function expectInputError(r: RunResult, pattern: RegExp): void {
  const line = expectCleanError(r);
  expect(line).not.toContain("internal error");
  expect(line).toMatch(pattern);
  expect(r.code).toBe(1);
}

/** A checkpoint with its JSON header replaced by `edit`'s text and the checksum recomputed (so it passes the CRC). */
function rewriteCheckpoint(from: string, to: string, edit: (headerText: string) => string, data?: (floats: Uint8Array) => Uint8Array): string {
  const bytes = readFileSync(from);
  const headerLength = bytes.readUInt32LE(8);
  const header = new TextEncoder().encode(edit(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))));
  const oldData = bytes.subarray((12 + headerLength + 3) & ~3, bytes.length - 4);
  const tensors = data ? data(new Uint8Array(oldData)) : oldData;
  const start = (12 + header.length + 3) & ~3;
  const out = new Uint8Array(start + tensors.length + 4);
  out.set(bytes.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  out.set(tensors, start);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  const path = join(dir, to);
  writeFileSync(path, out);
  return path;
}

/** A tiny trained MLP checkpoint and its ONNX export, made once. */
let checkpoint = "";
let onnx = "";
beforeAll(() => {
  checkpoint = join(dir, "tiny.wgd");
  onnx = join(dir, "tiny.onnx");
  writeFileSync(join(dir, "tiny.json"), JSON.stringify({ name: "tiny", inputShape: [28, 28, 1], layers: [{ type: "Flatten" }, { type: "Dense", units: 10, activation: "softmax" }] }));
  const trained = runCli(["train", "--model", "tiny.json", "--epochs", "1", "--save", checkpoint, "--no-progress"]);
  expect(trained.stderr).toContain("saved");
  expect(runCli(["export", checkpoint, "-o", onnx]).code).toBe(0);
});

describe("special paths: refused before they are opened, never read whole", () => {
  const specials: { name: string; path: () => string; why: RegExp }[] = [
    { name: "a folder", path: () => (mkdirSync(join(dir, "a-folder"), { recursive: true }), join(dir, "a-folder")), why: /it is a folder/ },
    { name: "a fifo with no writer", path: () => (Bun.spawnSync(["mkfifo", join(dir, "a-fifo")]), join(dir, "a-fifo")), why: /named pipe \(fifo\)/ },
    { name: "/dev/zero", path: () => "/dev/zero", why: /character device/ },
    { name: "/dev/urandom", path: () => "/dev/urandom", why: /character device/ },
    { name: "/proc/self/pagemap (size 0, gigabytes to read)", path: () => "/proc/self/pagemap", why: /special file whose size is unknown/ },
    { name: "/proc/self/mem (EIO)", path: () => "/proc/self/mem", why: /input\/output error|special file/ },
    { name: "/proc/self/clear_refs (write-only)", path: () => "/proc/self/clear_refs", why: /permission denied|special file|cannot be read/ },
  ];
  const paths = new Map<string, string>();
  const pathOf = (s: (typeof specials)[number]) => {
    if (!paths.has(s.name)) paths.set(s.name, s.path());
    return paths.get(s.name)!;
  };

  for (const special of specials) {
    test(`${special.name}: every reader says what it is`, async () => {
      const path = pathOf(special);
      const runs: [string[], RegExp][] = [
        [["eval", path], special.why],
        [["predict", checkpoint, "--input", path], special.why],
        [["infer", path, "--input", path], special.why],
        [["infer", onnx, "--input", path], special.why],
        [["train", "--model", path, "--epochs", "1"], special.why],
        // A dataset is a folder: an empty one lacks the files, anything else is not one.
        [["train", "--data", path, "--epochs", "1"], special.name === "a folder" ? /missing train-images/ : /not a folder/],
      ];
      const results = await Promise.all(runs.map(([args]) => runCliAsync(args, { timeout: HANG_MS })));
      results.forEach((r, i) => {
        if (r.code === -1) throw new Error(`${runs[i][0].join(" ")} hung (killed after ${HANG_MS} ms)`);
        expectInputError(r, runs[i][1]);
      });
    }, 60_000);
  }

  test("a socket", () => {
    const path = join(dir, "a-socket");
    const server = Bun.listen({ unix: path, socket: { data() {} } });
    try {
      expectInputError(runCli(["eval", path], { timeout: HANG_MS }), /it is a socket/);
      expectInputError(runCli(["infer", onnx, "--input", path], { timeout: HANG_MS }), /it is a socket/);
    } finally {
      server.stop(true);
    }
  });

  test("a sparse 2 GiB file is refused by its size, before a byte is read; --max-input-size names and moves the limit", () => {
    const path = join(dir, "sparse.wgd");
    Bun.spawnSync(["truncate", "-s", "2G", path]);
    const r = runCli(["eval", path], { timeout: HANG_MS, measureRss: true });
    expectInputError(r, /it is 2\.00 GiB, over the 1\.00 GiB input limit; raise it with --max-input-size/);
    expect(r.maxRss).toBeLessThan(400 << 20);
    expectInputError(runCli(["eval", checkpoint, "--max-input-size", "1KiB"]), /over the 1\.0 KiB input limit; raise it with --max-input-size/);
    expect(runCli(["eval", checkpoint, "--max-input-size", "64MiB"]).code).toBe(0);
    const bad = runCli(["eval", checkpoint, "--max-input-size", "lots"]);
    expect(expectCleanError(bad)).toContain("--max-input-size needs a size");
  });
});

describe("compressed input: inflated against a cap that the message names, in memory near the data's own size", () => {
  /** IDX images [count, 28, 28] of zeros plus `extra` zero bytes the header does not describe, gzipped. */
  function idxBomb(name: string, count: number, extra = 0): string {
    const raw = new Uint8Array(16 + count * 784 + extra);
    raw.set([0, 0, 8, 3]);
    new DataView(raw.buffer).setUint32(4, count);
    new DataView(raw.buffer).setUint32(8, 28);
    new DataView(raw.buffer).setUint32(12, 28);
    const path = join(dir, name);
    writeFileSync(path, Bun.gzipSync(raw, { level: 9 }));
    return path;
  }

  test("a header claiming 10 images on a stream that inflates to 256 MiB stops at the first byte too many", () => {
    const path = idxBomb("liar.gz", 10, 256 << 20);
    for (const args of [["predict", checkpoint, "--input", path], ["infer", onnx, "--input", path, "--ep", "wasm"]]) {
      const r = runCli(args, { timeout: HANG_MS, measureRss: true });
      expectInputError(r, /inflates to more than the 7,856 bytes its header describes/);
      expect(r.maxRss).toBeLessThan(200 << 20);
    }
  });

  test("a header describing more than the limit is refused before inflating; the flag raises the limit", () => {
    const path = idxBomb("big.gz", 90_000);
    const r = runCli(["predict", checkpoint, "--input", path, "--max-input-size", "64MiB"], { measureRss: true });
    expectInputError(r, /its header describes 67\.3 MiB of data, over the 64\.0 MiB input limit; raise it with --max-input-size/);
    expect(r.maxRss).toBeLessThan(200 << 20);
  });

  test("a consistent bomb just under the limit is classified in a bounded amount of memory", () => {
    // 60,000 images: 47 MB inflated from 46 KB. Before: chunks, one copy of them and every image as
    // float32 (~400 MB here); now one buffer of the inflated size, converted a chunk at a time.
    const path = idxBomb("under.gz", 60_000);
    const r = runCli(["predict", checkpoint, "--input", path, "--max-input-size", "48MiB"], { timeout: 60_000, measureRss: true });
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[59_999]).toStartWith("#59999: ");
    expect(r.maxRss).toBeLessThan(300 << 20);
  }, 60_000);
});

describe("JSON nested 10⁵ deep: refused by depth, not by a stack overflow", () => {
  const deep = (n: number, inner = "1") => "[".repeat(n) + inner + "]".repeat(n);

  test("model files, anywhere a value goes", () => {
    const where = [
      (d: string) => `{"name": "x", "inputShape": [4], "layers": [{"type": "Dense", "units": ${d}}]}`,
      (d: string) => `{"name": "x", "inputShape": [4], "layers": [{"type": "Dense", "units": 2}], "training": {"metrics": ${d}}}`,
      (d: string) => `{"name": "x", "inputShape": [4], "layers": [${d}]}`,
      (d: string) => `{"name": ${d.replace(/\[/g, '{"a": ').replace(/\]/g, "}")}, "inputShape": [4], "layers": []}`,
    ];
    where.forEach((make, i) => {
      writeFileSync(join(dir, `deep-${i}.json`), make(deep(100_000)));
      expectInputError(runCli(["train", "--model", `deep-${i}.json`, "--epochs", "1"]), /nested more than 32 deep/);
    });
  });

  test("--input arrays for infer and explain", () => {
    writeFileSync(join(dir, "deep-input.json"), `[[1, 2], ${deep(100_000)}]`);
    expectInputError(runCli(["infer", onnx, "--input", "deep-input.json", "--ep", "wasm"]), /nested more than 32 deep/);
    expectInputError(runCli(["explain", checkpoint, "--input", "deep-input.json", "-o", "x.png"]), /nested more than 32 deep/);
  });

  test("a checkpoint header (with a matching checksum)", () => {
    const path = rewriteCheckpoint(checkpoint, "deep.wgd", (text) => text.replace(/\}$/, `, "extra": ${deep(100_000)}}`));
    expectInputError(runCli(["eval", path]), /checkpoint header: lists or objects nested more than 32 deep/);
  });
});

describe("checkpoints: a matching checksum is not enough", () => {
  test("truncated data with its checksum recomputed", () => {
    // The case: two bytes short and the manifest's last tensor one float shorter, so every tensor
    // still fits but the data no longer divides into four-byte floats (a RangeError from Float32Array before).
    const shorten = (text: string) => {
      const h = JSON.parse(text);
      h.tensors[h.tensors.length - 1].length -= 1;
      h.tensors[h.tensors.length - 1].shape = [h.tensors[h.tensors.length - 1].length];
      return JSON.stringify(h);
    };
    const path = rewriteCheckpoint(checkpoint, "truncated.wgd", shorten, (d) => d.subarray(0, d.length - 2));
    expectInputError(runCli(["eval", path]), /not a whole number of float32 values/);
    const extra = rewriteCheckpoint(checkpoint, "extra.wgd", shorten, (d) => d);
    expectInputError(runCli(["eval", extra]), /describes \d+ floats but the file holds \d+/);
    const cut = rewriteCheckpoint(checkpoint, "cut.wgd", (t) => t, (d) => d.subarray(0, d.length - 2));
    expectInputError(runCli(["eval", cut]), /lies outside the file/);
  });

  test("headers that lie about the manifest or the training state", () => {
    const lies: [string, (h: any) => void, RegExp][] = [
      ["shape", (h) => (h.tensors[0].shape = [...h.tensors[0].shape].reverse()), /is shaped \[10, 784\] in the manifest but the model's is \[784, 10\]/],
      ["duplicate", (h) => h.tensors.push(h.tensors[0]), /appears twice/],
      ["epochs", (h) => (h.training.epoch = h.training.iterations + 5), /claims \d+ completed epochs in \d+ optimizer steps/],
      ["optimizer", (h) => (h.training.optimizer = { type: "rmsprop", learningRate: 0.01 }), /no such optimizer state|missing from the manifest|mean of squares \(rmsprop\) but holds negative/],
      ["fresh", (h) => ((h.training.iterations = 0), (h.training.epoch = 0)), /no step was taken/],
    ];
    for (const [name, lie, why] of lies) {
      const path = rewriteCheckpoint(checkpoint, `lie-${name}.wgd`, (text) => {
        const h = JSON.parse(text);
        lie(h);
        return JSON.stringify(h);
      });
      expectInputError(runCli(["eval", path]), why);
      expectInputError(runCli(["train", "--resume", path, "--epochs", "9", "--no-progress"]), why);
    }
  });

  test("NaN or Inf in the weights is refused; --allow-nonfinite loads them anyway", () => {
    const path = rewriteCheckpoint(checkpoint, "nan.wgd", (t) => t, (d) => {
      const floats = new Float32Array(d.slice().buffer);
      floats[5] = NaN;
      floats[6] = Infinity;
      return new Uint8Array(floats.buffer);
    });
    expectInputError(runCli(["eval", path]), /tensor dense_1\/kernel holds NaN at index 5 \(2 non-finite values in all\): saved from a run that diverged\? use --allow-nonfinite/);
    const allowed = runCli(["eval", path, "--allow-nonfinite", "--json"]);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout).samples).toBe(2000);
  });
});

describe("inputs must be finite and labels in range", () => {
  /** A version 1.0 .npy of one 28×28×1 image. */
  function npy(name: string, descr: "<f4" | "<f8", set: (values: number[]) => void): string {
    const values = Array.from({ length: 784 }, (_, i) => (i % 7) / 7);
    set(values);
    const data = new Uint8Array((descr === "<f8" ? Float64Array.from(values) : Float32Array.from(values)).buffer);
    const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (1, 28, 28, 1), }`;
    const padded = header + " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
    const bytes = new Uint8Array(10 + padded.length + data.length);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(bytes.buffer).setUint16(8, padded.length, true);
    bytes.set(new TextEncoder().encode(padded), 10);
    bytes.set(data, 10 + padded.length);
    writeFileSync(join(dir, name), bytes);
    return name;
  }

  test(".npy with NaN or Inf, float64 beyond float32's range, JSON beyond it: refused; --allow-nonfinite feeds them", () => {
    const cases: [string, RegExp][] = [
      [npy("nan.npy", "<f4", (v) => (v[3] = NaN)), /the array holds NaN at index 3; use --allow-nonfinite/],
      [npy("inf.npy", "<f4", (v) => ((v[0] = Infinity), (v[9] = -Infinity))), /holds Infinity at index 0 \(2 non-finite values in all\)/],
      [npy("huge.npy", "<f8", (v) => (v[100] = 1e300)), /holds Infinity at index 100: float64 values beyond float32's range/],
    ];
    writeFileSync(join(dir, "huge.json"), JSON.stringify([Array.from({ length: 784 }, (_, i) => (i === 5 ? 1e39 : 0))]));
    cases.push(["huge.json", /holds Infinity at index 5: beyond float32's range/]);
    for (const [file, why] of cases) {
      expectInputError(runCli(["infer", onnx, "--input", file, "--ep", "wasm"]), why);
      expectInputError(runCli(["explain", checkpoint, "--input", file, "-o", "saliency.png"]), why);
    }
    const allowed = runCli(["infer", onnx, "--input", "nan.npy", "--ep", "wasm", "--allow-nonfinite", "--json"]);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout).predictions).toHaveLength(1);
  });

  test("CSV cells beyond float32's range (the CSV reader already refused them)", () => {
    writeFileSync(join(dir, "huge.csv"), `x,y\n1,2\n3,4\n1e39,5\n2,3\n4,4\n`);
    expectInputError(runCli(["train", "--model", "linear", "--data", "huge.csv", "--target", "y", "--epochs", "1"]), /huge\.csv: row 4, column "x" \(1\): "1e39" is too large for a 32-bit float/);
  });

  test("infer --labels outside the model's classes is refused, not counted as a miss", () => {
    writeFileSync(join(dir, "two.json"), JSON.stringify([new Array(784).fill(0.5), new Array(784).fill(0.25)]));
    const labels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 3, 10]);
    writeFileSync(join(dir, "labels-10"), labels);
    expectInputError(runCli(["infer", onnx, "--input", "two.json", "--labels", "labels-10", "--ep", "wasm"]), /label 1 is 10, but .* has only 10 classes \(0 to 9\)/);
    labels[9] = 9;
    writeFileSync(join(dir, "labels-9"), labels);
    expect(runCli(["infer", onnx, "--input", "two.json", "--labels", "labels-9", "--ep", "wasm", "--json"]).code).toBe(0);
  });
});

describe("names read from files are looked up as own keys of the registries", () => {
  const modelWith = (name: string, training: object, layer: object = {}) => {
    writeFileSync(join(dir, name), JSON.stringify({ name: "p", inputShape: [28, 28, 1], layers: [{ type: "Flatten" }, { type: "Dense", units: 10, activation: "softmax", ...layer }], training: { epochs: 1, ...training } }));
    return name;
  };

  test("a metric '__proto__', a loss 'constructor', a layer type 'toString', a monitor 'valueOf' are unknown names", () => {
    expectInputError(runCli(["train", "--model", modelWith("metric.json", { metrics: ["__proto__"] }), "--no-progress"]), /unknown metric '__proto__'/);
    // Before: "constructor" found Object, whose "loss" was undefined: the run went on until it diverged.
    expectInputError(runCli(["train", "--model", modelWith("loss.json", { loss: "constructor" }), "--no-progress"]), /unknown loss 'constructor'/);
    writeFileSync(join(dir, "layer.json"), JSON.stringify({ name: "p", inputShape: [4], layers: [{ type: "toString" }] }));
    expectInputError(runCli(["train", "--model", "layer.json"]), /unknown layer type 'toString'/);
    expectInputError(runCli(["train", "--model", modelWith("monitor.json", { schedule: { type: "plateau", monitor: "valueOf" } }), "--no-progress"]), /unknown metric 'valueOf' to watch/);
    expectInputError(runCli(["train", "--model", "constructor"]), /unknown model 'constructor'/);
  });
});

describe("an empty path given to a flag is a usage error (exit 2), never 'not given'", () => {
  test("--resume '', --from '', --labels '', --save '', --model '', --data '', --input '', and an empty checkpoint argument", () => {
    const runs: [string[], RegExp][] = [
      [["train", "--resume", "", "--epochs", "1"], /--resume needs a value, got an empty one/],
      [["train", "--from", "", "--epochs", "1"], /--from needs a value/],
      [["train", "--save", "", "--epochs", "1"], /--save needs a value/],
      [["train", "--plot", "", "--epochs", "1"], /--plot needs a value/],
      [["train", "--model", "", "--epochs", "1"], /--model needs a value/],
      [["train", "--data", "", "--epochs", "1"], /--data needs a value/],
      [["infer", onnx, "--input", "two.json", "--labels", ""], /--labels needs a value/],
      [["predict", checkpoint, "--input", ""], /--input needs a value/],
      [["eval", ""], /checkpoint needs a file name/],
      [["export", "", "-o", "x.onnx"], /checkpoint needs a file name/],
      [["explain", checkpoint, "--input", "two.json", "-o", "s.png", "--filters", ""], /--filters needs a value/],
    ];
    for (const [args, why] of runs) {
      const r = runCli(args);
      expect(expectCleanError(r)).toMatch(why);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
    }
  });

  test("a path that looks like a number stays the name typed (the parser made '007' into 7 and '1e3' into 1000)", () => {
    const r = runCli(["train", "--model", "tiny.json", "--epochs", "1", "--no-progress", "--save", "007"]);
    expect(r.stderr).toContain("saved 007");
    expect(runCli(["eval", "007", "--json"]).code).toBe(0);
    expect(existsSync(join(dir, "007"))).toBe(true);
    expect(existsSync(join(dir, "7"))).toBe(false);
  });
});

describe("ONNX graphs checked as onnx.checker checks them, before train --from or infer uses them", () => {
  /** A 4 → 3 Gemm classifier as PyTorch would export it, edited by `lie`. */
  function gemmModel(name: string, lie: (m: ModelProto) => void = () => {}): string {
    const tensor = (n: string, dims: number[]) => ({ name: n, dataType: TensorDataType.FLOAT, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) / 4) });
    const model: ModelProto = {
      irVersion: 8, opsetImports: [{ domain: "", version: 17 }], producerName: "pytorch", producerVersion: "2.5",
      graph: {
        name: "g",
        nodes: [{ name: "fc", opType: "Gemm", domain: "", inputs: ["x", "w", "b"], outputs: ["y"], attributes: [{ name: "transB", type: "INT", i: 1 }] }],
        initializers: [tensor("w", [3, 4]), tensor("b", [3])],
        inputs: [{ name: "x", elemType: TensorDataType.FLOAT, shape: ["N", 4] }],
        outputs: [{ name: "y", elemType: TensorDataType.FLOAT, shape: ["N", 3] }],
      },
    };
    lie(model);
    writeFileSync(join(dir, name), encodeModel(model));
    return name;
  }

  test("train --from refuses each kind of broken graph with one line", () => {
    writeFileSync(join(dir, "four.csv"), "a,b,c,d,label\n" + Array.from({ length: 20 }, (_, i) => `${i % 3},${i % 5},${i % 7},${i % 2},${i % 3}`).join("\n") + "\n");
    const honest = runCli(["train", "--from", gemmModel("honest.onnx"), "--data", "four.csv", "--target", "label", "--epochs", "1", "--no-progress"]);
    expect(honest.code).toBe(0);
    const lies: [string, (m: ModelProto) => void, RegExp][] = [
      ["dup-init", (m) => m.graph.initializers.push({ ...m.graph.initializers[0] }), /two initializers are named 'w'/],
      ["collide", (m) => (m.graph.nodes[0].outputs = ["b"]), /writes 'b', which is also the name of an initializer/],
      ["no-opset", (m) => (m.opsetImports = []), /no opset import for the default ONNX domain/],
      ["two-opsets", (m) => m.opsetImports.push({ domain: "ai.onnx", version: 13 }), /two opset imports for the default domain/],
      ["wrong-domain", (m) => (m.opsetImports = [{ domain: "com.example", version: 17 }]), /no opset import for the default ONNX domain \(\"\" or \"ai.onnx\"\), only for 'com.example'/],
      ["string-input", (m) => (m.graph.inputs[0].elemType = 8), /input 'x' is declared string; wasmgrad feeds float32 inputs/],
      ["int64-input", (m) => (m.graph.inputs[0].elemType = 7), /input 'x' is declared int64/],
      ["lying-dims", (m) => m.graph.inputs.push({ name: "w", elemType: 1, shape: [4, 3] }), /graph input 'w' is declared \[4, 3\] but its initializer is \[3, 4\]/],
      ["zero-dim", (m) => (m.graph.inputs[0].shape = ["N", 0]), /declares dimension 1 as 0/],
    ];
    for (const [name, lie, why] of lies) {
      const r = runCli(["train", "--from", gemmModel(`${name}.onnx`, lie), "--data", "four.csv", "--target", "label", "--epochs", "1"]);
      expectInputError(r, why);
    }
  });

  test("infer on a 100,000-node chain is refused at once (onnxruntime took ~15 s to load it); --max-nodes raises the limit", () => {
    const n = 100_000;
    const chain = gemmModel("chain.onnx", (m) => {
      for (let i = 0; i < n; i++) m.graph.nodes.push({ name: "", opType: "Relu", domain: "", inputs: [i === 0 ? "y" : `r${i - 1}`], outputs: [`r${i}`], attributes: [] });
      m.graph.outputs = [{ name: `r${n - 1}`, elemType: 1, shape: ["N", 3] }];
    });
    writeFileSync(join(dir, "x4.json"), "[[1, 2, 3, 4]]");
    const r = runCli(["infer", chain, "--input", "x4.json", "--ep", "wasm"], { timeout: HANG_MS });
    expectInputError(r, /the graph has 100,001 nodes, over the limit of 50,000; raise it with --max-nodes/);
    const small = gemmModel("chain-small.onnx", (m) => {
      for (let i = 0; i < 50; i++) m.graph.nodes.push({ name: "", opType: "Relu", domain: "", inputs: [i === 0 ? "y" : `r${i - 1}`], outputs: [`r${i}`], attributes: [] });
      m.graph.outputs = [{ name: "r49", elemType: 1, shape: ["N", 3] }];
    });
    expectInputError(runCli(["infer", small, "--input", "x4.json", "--ep", "wasm", "--max-nodes", "20"]), /51 nodes, over the limit of 20/);
    expect(runCli(["infer", small, "--input", "x4.json", "--ep", "wasm", "--max-nodes", "60"]).code).toBe(0);
  }, 30_000);
});

describe("one line per error: names escaped, quoted input cut to a few hundred characters", () => {
  test("a newline, a carriage return or an escape sequence in a file name cannot split or recolour the line", () => {
    for (const name of ["bad\nname.wgd", "bad\rname.wgd", "bad\x1b[31mred.wgd"]) {
      const r = runCli(["eval", name]);
      const line = expectCleanError(r);
      expect(line).toContain(JSON.stringify(name).slice(1, -1).replace("\\u001b", "\\x1b"));
      expect(r.stderr).not.toContain("\x1b");
    }
    writeFileSync(join(dir, "two\nlines.json"), "{ not json");
    expect(expectCleanError(runCli(["train", "--model", "two\nlines.json"]))).toContain("two\\nlines.json: not valid JSON");
  });

  test("a 10 MB value from a file or the command line is quoted in at most a few hundred characters", () => {
    const huge = "x".repeat(10 << 20);
    const runs: string[][] = [];
    writeFileSync(join(dir, "huge-type.json"), JSON.stringify({ name: "h", inputShape: [4], layers: [{ type: huge }] }));
    runs.push(["train", "--model", "huge-type.json"]);
    writeFileSync(join(dir, "huge-units.json"), JSON.stringify({ name: "h", inputShape: [4], layers: [{ type: "Dense", units: huge }] }));
    runs.push(["train", "--model", "huge-units.json"]);
    writeFileSync(join(dir, "huge-metric.json"), JSON.stringify({ name: "h", inputShape: [4], layers: [{ type: "Dense", units: 2 }], training: { metrics: [huge] } }));
    runs.push(["train", "--model", "huge-metric.json"]);
    writeFileSync(join(dir, "huge-value.json"), JSON.stringify([[1, 2], [3, huge]]));
    runs.push(["infer", onnx, "--input", "huge-value.json", "--ep", "wasm"]);
    runs.push(["train", "--epochs", "y".repeat(100_000)]);
    runs.push(["y".repeat(100_000)]);
    // What is measured is the user's text quoted back (the longest run of its x or y), not the whole line:
    // a line may also list the project's own names (every known layer type), which grows with the registry.
    const longestRun = (line: string) => Math.max(0, ...(line.match(/x+|y+/g) ?? []).map((run) => run.length));
    for (const args of runs) {
      const line = expectCleanError(runCli(args));
      const seen = { args: args.map((a) => a.slice(0, 20)), quoted: longestRun(line) <= 300, line: line.length < 2_000 };
      expect(seen).toEqual({ args: seen.args, quoted: true, line: true });
    }
  });
});

describe("a closed stdout ends the run quietly with exit 0", () => {
  test("predict, infer, eval, info and --help piped into `head -c0` or `head -n1`", async () => {
    const { exe } = isolatedBinary();
    // 3,000 images: more output than a pipe holds (64 KiB), so the writes meet the closed end.
    const images = join(dir, "three-thousand.gz");
    const raw = new Uint8Array(16 + 3000 * 784).map((_, i) => i * 7);
    raw.set([0, 0, 8, 3, 0, 0, 0x0b, 0xb8, 0, 0, 0, 28, 0, 0, 0, 28]);
    writeFileSync(images, Bun.gzipSync(raw));
    const runs = [
      `predict "${checkpoint}" --input "${images}"`, `predict "${checkpoint}" --input "${images}" --json`,
      `infer "${onnx}" --input "${images}" --ep wasm --json`, `eval "${checkpoint}" --json`, "info", "--help",
    ];
    const cases = runs.flatMap((args) => ["head -c0", "head -n1 >/dev/null"].map((head) => ({ args, head })));
    const results = await Promise.all(cases.map(async ({ args, head }) => {
      const child = Bun.spawn(["bash", "-c", `"${exe}" ${args} | ${head}; exit \${PIPESTATUS[0]}`], { cwd: dir, stderr: "pipe", timeout: 60_000 });
      const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
      return { args, head, code, stderr: stderr.replace(/^execution provider: .*\n/, "") };
    }));
    for (const r of results) expect(r).toEqual({ ...r, code: 0, stderr: "" });
  }, 60_000);
});

describe("native chatter (Dawn, onnxruntime) is held back unless --verbose", () => {
  test("onnxruntime's [W:onnxruntime:…] warnings with --ep wasm", () => {
    // An initializer listed as a graph input, and one nobody uses: onnxruntime warns about both.
    const tensor = (n: string, dims: number[]) => ({ name: n, dataType: TensorDataType.FLOAT, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.1) });
    const model: ModelProto = {
      irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "t", producerVersion: "1",
      graph: {
        name: "g", nodes: [{ name: "fc", opType: "Gemm", domain: "", inputs: ["x", "w", "b"], outputs: ["y"], attributes: [{ name: "transB", type: "INT", i: 1 }] }],
        initializers: [tensor("w", [3, 4]), tensor("b", [3]), tensor("unused", [2])],
        inputs: [{ name: "x", elemType: 1, shape: ["N", 4] }, { name: "w", elemType: 1, shape: [3, 4] }], outputs: [{ name: "y", elemType: 1, shape: ["N", 3] }],
      },
    };
    writeFileSync(join(dir, "warns.onnx"), encodeModel(model));
    writeFileSync(join(dir, "x4.json"), "[[1, 2, 3, 4]]");
    const quiet = runCli(["infer", "warns.onnx", "--input", "x4.json", "--ep", "wasm"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toMatch(/^execution provider: wasm \(\d+ threads?\)\n$/);
    const verbose = runCli(["infer", "warns.onnx", "--input", "x4.json", "--ep", "wasm", "--verbose"]);
    expect(verbose.stderr).toContain("[W:onnxruntime:");
  }, 30_000);

  test("Dawn's warnings on a software WebGPU adapter, before every result and every error", async () => {
    writeFileSync(join(dir, "one-image.json"), JSON.stringify([new Array(784).fill(0.5)]));
    writeFileSync(join(dir, "x4.json"), "[[1, 2, 3, 4]]");
    const [ok, error, verbose] = await Promise.all([
      runCliAsync(["infer", onnx, "--input", "one-image.json"], { timeout: 60_000 }),
      runCliAsync(["infer", onnx, "--input", "x4.json"], { timeout: 60_000 }),
      runCliAsync(["infer", onnx, "--input", "one-image.json", "--verbose"], { timeout: 60_000 }),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stderr.trim().split("\n")).toHaveLength(1);
    expect(ok.stderr).toStartWith("execution provider: ");
    expect(expectCleanError(error)).toContain("takes samples shaped");
    // Only a machine whose adapter is a software one makes Dawn say this; elsewhere --verbose has less to show.
    if (ok.stderr.includes("opengles, compatibility")) expect(verbose.stderr).toContain("artificially reduced");
  }, 90_000);
});

describe("saves: through links, never over devices, temporaries cleaned and short enough", () => {
  const tiny = ["train", "--model", "tiny.json", "--epochs", "1", "--no-progress"];

  test("temporaries of dead processes beside the target are removed; a live process's, and other targets', are kept", () => {
    const dead = Bun.spawnSync(["true"]).pid;
    const stale = join(dir, `kept.wgd.tmp-${dead}`), live = join(dir, `kept.wgd.tmp-${process.pid}`), other = join(dir, `other.wgd.tmp-${dead}`);
    for (const f of [stale, live, other]) writeFileSync(f, "half a checkpoint");
    expect(runCli([...tiny, "--save", "kept.wgd"]).code).toBe(0);
    expect([existsSync(stale), existsSync(live), existsSync(other)]).toEqual([false, true, true]);
    expect(runCli(["eval", "kept.wgd"]).code).toBe(0);
  });

  test("train --save and export -o onto a symbolic link write the file it names, atomically there, and keep the link", () => {
    mkdirSync(join(dir, "real"), { recursive: true });
    writeFileSync(join(dir, "real", "model.wgd"), "old");
    Bun.spawnSync(["ln", "-sfn", "real/model.wgd", join(dir, "link.wgd")]);
    Bun.spawnSync(["ln", "-sfn", "real/fresh.onnx", join(dir, "dangling.onnx")]);
    expect(runCli([...tiny, "--save", "link.wgd"]).code).toBe(0);
    expect(lstatSync(join(dir, "link.wgd")).isSymbolicLink()).toBe(true);
    expect(runCli(["eval", join(dir, "real", "model.wgd")]).code).toBe(0);
    expect(runCli(["export", "link.wgd", "-o", "dangling.onnx"]).code).toBe(0);
    expect(lstatSync(join(dir, "dangling.onnx")).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(dir, "real", "fresh.onnx")).isFile()).toBe(true);
  });

  test("a character device, a fifo or a folder as the target is refused, and stays what it was", () => {
    Bun.spawnSync(["mkfifo", join(dir, "save-fifo")]);
    mkdirSync(join(dir, "save-folder.wgd"), { recursive: true });
    Bun.spawnSync(["ln", "-sfn", "/dev/null", join(dir, "to-null.wgd")]);
    const targets: [string, RegExp, () => boolean][] = [
      ["save-fifo", /it is a named pipe \(fifo\); wasmgrad replaces regular files only/, () => lstatSync(join(dir, "save-fifo")).isFIFO()],
      ["save-folder.wgd", /it is a folder/, () => lstatSync(join(dir, "save-folder.wgd")).isDirectory()],
      ["to-null.wgd", /a link to \/dev\/null\): it is a character device/, () => lstatSync("/dev/null").isCharacterDevice()],
    ];
    // A device node of our own (as root only: mknod needs it) stands for /dev/null itself.
    if (Bun.spawnSync(["mknod", join(dir, "null-device"), "c", "1", "3"]).exitCode === 0) {
      targets.push(["null-device", /it is a character device/, () => lstatSync(join(dir, "null-device")).isCharacterDevice()]);
    }
    for (const [target, why, unchanged] of targets) {
      expectInputError(runCli([...tiny, "--save", target], { timeout: HANG_MS }), why);
      expect(unchanged()).toBe(true);
    }
    Bun.spawnSync(["mkfifo", join(dir, "fifo.onnx")]);
    Bun.spawnSync(["ln", "-sfn", "/dev/null", join(dir, "to-null.onnx")]);
    expectInputError(runCli(["export", checkpoint, "-o", "fifo.onnx"], { timeout: HANG_MS }), /it is a named pipe/);
    expectInputError(runCli(["export", checkpoint, "-o", "to-null.onnx"], { timeout: HANG_MS }), /a link to \/dev\/null\): it is a character device/);
    expect(lstatSync(join(dir, "fifo.onnx")).isFIFO()).toBe(true);
    expect(lstatSync(join(dir, "to-null.onnx")).isSymbolicLink()).toBe(true);
  });

  test("a valid 255-byte file name can be saved (NAME.tmp-PID was too long)", () => {
    const name = `${"é".repeat(100)}${"a".repeat(51)}.wgd`; // 255 bytes in UTF-8
    expect(new TextEncoder().encode(name).length).toBe(255);
    const r = runCli([...tiny, "--save", name]);
    expect(r.code).toBe(0);
    expect(runCli(["eval", name]).code).toBe(0);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-") && f.startsWith("é"))).toEqual([]);
  });
});

describe("a limited address space (ulimit -v): shared memories sized to need, so threads and fallbacks still work", () => {
  for (const gib of [8, 2]) {
    const shell = `ulimit -v ${gib * 1024 * 1024}`;
    test(`ulimit -v ${gib} GiB: training gets its threads, info says so, infer runs on WASM and falls back from WebGPU`, async () => {
      // Before: "running on one thread: Out of memory" on every command, and no WASM provider at all.
      writeFileSync(join(dir, "one-image.json"), JSON.stringify([new Array(784).fill(0.5)]));
      // At 2 GiB the engine runs without its JIT (slowly), and Dawn finds no adapter: auto is wasm there.
      const eps = gib === 2 ? ["wasm"] : ["wasm", "auto"];
      const [trained, infoRun, ...inferred] = await Promise.all([
        runCliAsync(["train", "--model", "tiny.json", "--epochs", "1", "--threads", "2", "--no-progress"], { shell, timeout: 60_000 }),
        runCliAsync(["info", "--json", "--threads", "2"], { shell }),
        ...eps.map((ep) => runCliAsync(["infer", onnx, "--input", "one-image.json", "--ep", ep], { shell, timeout: 60_000 })),
      ]);
      expect(trained.code).toBe(0);
      expect(trained.stderr).toContain("2 threads");
      expect(trained.stderr).not.toContain("one thread");
      const info = JSON.parse(infoRun.stdout);
      expect({ threads: info.threadsInUse, note: info.threadsNote, limit: info.addressSpace }).toEqual({ threads: 2, note: null, limit: `${gib}.00 GiB` });
      for (const [i, r] of inferred.entries()) {
        const ep = eps[i];
        expect({ ep, code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ ep, code: 0, stderr: "" });
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
    }, 90_000);
  }
});
