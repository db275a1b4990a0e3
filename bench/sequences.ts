// Sequence models side by side, one run, one machine: training throughput in tokens/s (batch × steps per
// second) of
//   - LSTM and GRU: [batch, 64 steps, 128 features] → 128 units → Dense(10) on the last step, batch 32 and 128;
//   - a text CNN: token ids [batch, 200] → Embedding(20,000, 64) → Conv1D(64, 5, relu) → global max → Dense(2);
//   - a transformer: [batch, T, 128] through 4 pre-norm causal blocks (4 heads, feed-forward 512, ReLU), a
//     final layer norm, Dense(10) on the last position; T 64 and 256, batch 32 (tfjs-layers has no
//     MultiHeadAttention, so no tfjs column there); with the memory each side holds: our model's
//     WebAssembly memory, PyTorch's process peak RSS (its libraries included);
// in wasmgrad (this library, 1 and 2 threads), PyTorch CPU (Debian python3-torch, 1 and 2 threads;
// bench/peers/torch-sequences.py) and TensorFlow.js 4.22 (wasm backend, one thread; not for the text CNN,
// whose Embedding gradient tfjs-wasm lacks and tfjs-cpu could not train in 16 GB). Same shapes,
// Adam(1e-3), cross-entropy, seeded random data; medians of per-step rates after
// warm-up steps. tfjs' GRU is Keras 1's form (reset gate before the recurrent kernel), ours and PyTorch's
// the reset-after form: the same cost to within one elementwise product.
//
//   bun bench/sequences.ts            (after npm run build:kernels; prints a table, writes bench/results/sequences.json)

import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import { Conv1D, Cropping1D, Dense, Embedding, Flatten, GRU, GlobalMaxPool1D, Input, LayerNormalization, LSTM, Model, transformerEncoderBlock } from "../src/index";
import { setThreads } from "../src/engine/backend";
import { median } from "../src/bench/measure";

const root = join(import.meta.dir, "..");
const T = 64, F = 128, U = 128, TEXT_T = 200, VOCAB = 20000;
const WARMUP = 3, TIMED = 12;

type Kind = "lstm" | "gru" | "textcnn" | "transformer";
const CASES: { kind: Kind; batch: number; steps: number }[] = [
  { kind: "lstm", batch: 32, steps: T }, { kind: "lstm", batch: 128, steps: T }, { kind: "gru", batch: 32, steps: T }, { kind: "gru", batch: 128, steps: T },
  { kind: "textcnn", batch: 32, steps: TEXT_T }, { kind: "transformer", batch: 32, steps: 64 }, { kind: "transformer", batch: 32, steps: 256 },
];

function data(kind: Kind, batch: number, steps: number): { x: Float32Array; y: Int32Array } {
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const x = kind === "textcnn" ? Float32Array.from({ length: batch * steps }, () => 1 + Math.floor(next() * (VOCAB - 1))) : Float32Array.from({ length: batch * steps * F }, () => next() * 2 - 1);
  return { x, y: Int32Array.from({ length: batch }, () => Math.floor(next() * (kind === "textcnn" ? 2 : 10))) };
}

function ours(kind: Kind, batch: number, steps: number): { rate: number; memoryBytes: number } {
  let model: Model;
  if (kind === "transformer") {
    const x = Input({ shape: [steps, F] });
    let h = x;
    for (let block = 0; block < 4; block++) h = transformerEncoderBlock(h, { numHeads: 4, ffDim: 4 * F, activation: "relu", causal: true });
    const last = new Flatten().apply(new Cropping1D({ cropping: [steps - 1, 0] }).apply(new LayerNormalization({ epsilon: 1e-5 }).apply(h)));
    model = new Model({ inputs: x, outputs: new Dense({ units: 10, activation: "softmax" }).apply(last), seed: 1 });
  } else if (kind === "textcnn") {
    const ids = Input({ shape: [TEXT_T] });
    const h = new GlobalMaxPool1D().apply(new Conv1D({ filters: 64, kernelSize: 5, activation: "relu" }).apply(new Embedding({ inputDim: VOCAB, outputDim: 64 }).apply(ids)));
    model = new Model({ inputs: ids, outputs: new Dense({ units: 2, activation: "softmax" }).apply(h), seed: 1 });
  } else {
    const x = Input({ shape: [T, F] });
    const cell = kind === "lstm" ? new LSTM({ units: U }) : new GRU({ units: U });
    model = new Model({ inputs: x, outputs: new Dense({ units: 10, activation: "softmax" }).apply(cell.apply(x)), seed: 1 });
  }
  model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy" });
  const { x, y } = data(kind, batch, steps);
  const rates: number[] = [];
  const timed = kind === "transformer" && steps > 64 ? 4 : TIMED;
  for (let i = 0; i < WARMUP + timed; i++) {
    const t = performance.now();
    model.trainOnBatch(x, y);
    if (i >= WARMUP) rates.push((batch * steps) / ((performance.now() - t) / 1000));
  }
  return { rate: median(rates), memoryBytes: model.kernels.memory.buffer.byteLength };
}

async function tfjs(kind: Kind, batch: number, steps: number): Promise<{ rate: number; backend: string } | undefined> {
  // No tfjs column for the transformer (tfjs-layers exports no MultiHeadAttention) nor the text CNN (tfjs-cpu,
  // the one backend with the Embedding's gradient, grew past 16 GB in three steps over a 20,000-row table).
  if (kind === "transformer" || kind === "textcnn") return undefined;
  const backend = "wasm";
  await tf.setBackend(backend);
  const options = { units: U, inputShape: [T, F], recurrentActivation: "sigmoid" as const, recurrentInitializer: "glorotUniform" as const };
  const model = tfl.sequential({ layers: [kind === "lstm" ? tfl.layers.lstm(options) : tfl.layers.gru(options), tfl.layers.dense({ units: 10, activation: "softmax" })] });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "sparseCategoricalCrossentropy" });
  const { x, y } = data(kind, batch, steps);
  const xs = tf.tensor(x, [batch, T, F]), ys = tf.tensor(Float32Array.from(y), [batch, 1]);
  const rates: number[] = [];
  const [warmup, timed] = [WARMUP, Math.min(TIMED, 6)];
  try {
    for (let i = 0; i < warmup + timed; i++) {
      const t = performance.now();
      await model.trainOnBatch(xs, ys);
      if (i >= warmup) rates.push((batch * steps) / ((performance.now() - t) / 1000));
    }
  } catch (error) {
    console.error(`  tfjs ${kind} on ${backend} failed: ${(error as Error).message.split("\n")[0]}`);
    return undefined;
  } finally {
    tf.dispose([xs, ys]);
    model.dispose();
  }
  return { rate: median(rates), backend };
}

function torch(kind: Kind, batch: number, steps: number, threads: number): { rate: number; maxRssBytes: number } | undefined {
  if (!existsSync("/usr/bin/python3")) return undefined;
  try {
    const out = execFileSync("/usr/bin/python3", [join(root, "bench/peers/torch-sequences.py"), "--model", kind, "--batch", String(batch), "--threads", String(threads),
      "--steps", String(steps),
      ...(kind === "transformer" ? ["--timed", steps > 64 ? "4" : "12", "--warmup", "2"] : []), "--features", String(F), "--units", String(U), "--vocab", String(VOCAB)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const r = JSON.parse(out);
    return { rate: r.tokensPerSec, maxRssBytes: r.maxRssBytes };
  } catch (error) {
    console.error(`  PyTorch ${kind} failed: ${(error as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

setWasmPaths(join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist") + "/");
const cpu = cpus()[0]?.model ?? "unknown CPU";
const rows: Record<string, Record<string, number | string | undefined>> = {};
// BENCH_ONLY=lstm,transformer measures those kinds alone.
const only = process.env.BENCH_ONLY?.split(",");
for (const { kind, batch, steps } of CASES.filter((c) => !only || only.includes(c.kind))) {
  const label = `${kind} b${batch}${kind === "transformer" ? ` T${steps}` : ""}`;
  console.error(`measuring ${label}…`);
  const row: Record<string, number | string | undefined> = {};
  for (const threads of [1, 2]) {
    setThreads(threads);
    const r = ours(kind, batch, steps);
    row[`wasmgrad ${threads}T`] = r.rate;
    row["wasmgrad memory MB"] = r.memoryBytes / 2 ** 20;
  }
  setThreads(1);
  for (const threads of [1, 2]) {
    const r = torch(kind, batch, steps, threads);
    row[`torch ${threads}T`] = r?.rate;
    if (r) row["torch peak RSS MB"] = r.maxRssBytes / 2 ** 20;
  }
  const t = await tfjs(kind, batch, steps);
  row.tfjs = t?.rate;
  row["tfjs backend"] = t?.backend;
  rows[label] = row;
  console.error(`  ${JSON.stringify(row)}`);
}

const columns = ["wasmgrad 1T", "wasmgrad 2T", "torch 1T", "torch 2T", "tfjs", "wasmgrad memory MB", "torch peak RSS MB"];
const fmt = (v: unknown) => (typeof v === "number" ? Math.round(v).toLocaleString("en-US") : "—");
console.log(`Sequence models, training tokens/s (median of ${TIMED} steps after ${WARMUP} warm-up), ${cpu}, ${cpus().length} cores`);
console.log(`| | ${columns.join(" | ")} | wasmgrad 1T ÷ torch 1T | wasmgrad 2T ÷ torch 2T | wasmgrad best ÷ tfjs |`);
console.log(`|---|${columns.map(() => "---:").join("|")}|---:|---:|`);
for (const [label, r] of Object.entries(rows)) {
  const best = Math.max(r["wasmgrad 1T"] as number, r["wasmgrad 2T"] as number);
  const vsTorch = typeof r["torch 1T"] === "number" ? ((r["wasmgrad 1T"] as number) / (r["torch 1T"] as number)).toFixed(2) : "—";
  const vsTorch2 = typeof r["torch 2T"] === "number" ? ((r["wasmgrad 2T"] as number) / (r["torch 2T"] as number)).toFixed(2) : "—";
  const vsTfjs = typeof r.tfjs === "number" ? (best / (r.tfjs as number)).toFixed(1) : "—";
  console.log(`| ${label}${r["tfjs backend"] === "cpu" ? " (tfjs cpu)" : ""} | ${columns.map((c) => fmt(r[c])).join(" | ")} | ${vsTorch} | ${vsTorch2} | ${vsTfjs} |`);
}
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/sequences.json"), JSON.stringify({ cpu, cores: cpus().length, unit: "tokens/s", rows }, null, 2));
