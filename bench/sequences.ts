// Sequence models side by side, one run, one machine: training throughput in tokens/s (batch × steps per
// second) of
//   - LSTM and GRU: [batch, 64 steps, 128 features] → 128 units → Dense(10) on the last step, batch 32 and 128;
//   - a text CNN: token ids [batch, 200] → Embedding(20,000, 64) → Conv1D(64, 5, relu) → global max → Dense(2);
// in wasmgrad (this library, 1 and 2 threads), PyTorch CPU (Debian python3-torch, 1 and 2 threads;
// bench/peers/torch-sequences.py) and TensorFlow.js 4.22 (wasm backend where it can train the model, one
// thread; the text CNN on tfjs-backend-cpu, since tfjs-wasm has no UnsortedSegmentSum for the Embedding's
// gradient). Same shapes, Adam(1e-3), cross-entropy, seeded random data; medians of per-step rates after
// warm-up steps. tfjs' GRU is Keras 1's form (reset gate before the recurrent kernel), ours and PyTorch's
// the reset-after form: the same cost to within one elementwise product.
//
//   bun bench/sequences.ts            (after npm run build:kernels; prints a table, writes bench/results/sequences.json)

import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import { Conv1D, Dense, Embedding, GRU, GlobalMaxPool1D, Input, LSTM, Model } from "../src/index";
import { setThreads } from "../src/engine/backend";
import { median } from "../src/bench/measure";

const root = join(import.meta.dir, "..");
const T = 64, F = 128, U = 128, TEXT_T = 200, VOCAB = 20000;
const WARMUP = 3, TIMED = 12;

type Kind = "lstm" | "gru" | "textcnn";
const CASES: { kind: Kind; batch: number }[] = [
  { kind: "lstm", batch: 32 }, { kind: "lstm", batch: 128 }, { kind: "gru", batch: 32 }, { kind: "gru", batch: 128 }, { kind: "textcnn", batch: 32 },
];
const steps = (kind: Kind) => (kind === "textcnn" ? TEXT_T : T);

function data(kind: Kind, batch: number): { x: Float32Array; y: Int32Array } {
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const x = kind === "textcnn" ? Float32Array.from({ length: batch * TEXT_T }, () => 1 + Math.floor(next() * (VOCAB - 1))) : Float32Array.from({ length: batch * T * F }, () => next() * 2 - 1);
  return { x, y: Int32Array.from({ length: batch }, () => Math.floor(next() * (kind === "textcnn" ? 2 : 10))) };
}

function ours(kind: Kind, batch: number): number {
  let model: Model;
  if (kind === "textcnn") {
    const ids = Input({ shape: [TEXT_T] });
    const h = new GlobalMaxPool1D().apply(new Conv1D({ filters: 64, kernelSize: 5, activation: "relu" }).apply(new Embedding({ inputDim: VOCAB, outputDim: 64 }).apply(ids)));
    model = new Model({ inputs: ids, outputs: new Dense({ units: 2, activation: "softmax" }).apply(h), seed: 1 });
  } else {
    const x = Input({ shape: [T, F] });
    const cell = kind === "lstm" ? new LSTM({ units: U }) : new GRU({ units: U });
    model = new Model({ inputs: x, outputs: new Dense({ units: 10, activation: "softmax" }).apply(cell.apply(x)), seed: 1 });
  }
  model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy" });
  const { x, y } = data(kind, batch);
  const rates: number[] = [];
  for (let i = 0; i < WARMUP + TIMED; i++) {
    const t = performance.now();
    model.trainOnBatch(x, y);
    if (i >= WARMUP) rates.push((batch * steps(kind)) / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

async function tfjs(kind: Kind, batch: number): Promise<{ rate: number; backend: string } | undefined> {
  const backend = kind === "textcnn" ? "cpu" : "wasm";
  await tf.setBackend(backend);
  let model: tfl.LayersModel;
  if (kind === "textcnn") {
    model = tfl.sequential({ layers: [
      tfl.layers.embedding({ inputDim: VOCAB, outputDim: 64, inputLength: TEXT_T }),
      tfl.layers.conv1d({ filters: 64, kernelSize: 5, activation: "relu" }), tfl.layers.globalMaxPooling1d(), tfl.layers.dense({ units: 2, activation: "softmax" }),
    ] });
  } else {
    const options = { units: U, inputShape: [T, F], recurrentActivation: "sigmoid" as const, recurrentInitializer: "glorotUniform" as const };
    model = tfl.sequential({ layers: [kind === "lstm" ? tfl.layers.lstm(options) : tfl.layers.gru(options), tfl.layers.dense({ units: 10, activation: "softmax" })] });
  }
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "sparseCategoricalCrossentropy" });
  const { x, y } = data(kind, batch);
  const xs = tf.tensor(x, kind === "textcnn" ? [batch, TEXT_T] : [batch, T, F]), ys = tf.tensor(Float32Array.from(y), [batch, 1]);
  const rates: number[] = [];
  // tfjs-cpu's text CNN step takes seconds and gigabytes (the Embedding's gradient over a 20,000-row
  // table): one warm-up and two timed steps there.
  const [warmup, timed] = kind === "textcnn" ? [1, 2] : [WARMUP, Math.min(TIMED, 6)];
  try {
    for (let i = 0; i < warmup + timed; i++) {
      const t = performance.now();
      await model.trainOnBatch(xs, ys);
      if (i >= warmup) rates.push((batch * steps(kind)) / ((performance.now() - t) / 1000));
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

function torch(kind: Kind, batch: number, threads: number): number | undefined {
  if (!existsSync("/usr/bin/python3")) return undefined;
  try {
    const out = execFileSync("/usr/bin/python3", [join(root, "bench/peers/torch-sequences.py"), "--model", kind, "--batch", String(batch), "--threads", String(threads),
      "--steps", String(steps(kind)), "--features", String(F), "--units", String(U), "--vocab", String(VOCAB)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(out).tokensPerSec;
  } catch (error) {
    console.error(`  PyTorch ${kind} failed: ${(error as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

setWasmPaths(join(root, "node_modules/@tensorflow/tfjs-backend-wasm/dist") + "/");
const cpu = cpus()[0]?.model ?? "unknown CPU";
const rows: Record<string, Record<string, number | string | undefined>> = {};
for (const { kind, batch } of CASES) {
  const label = `${kind} b${batch}`;
  console.error(`measuring ${label}…`);
  const row: Record<string, number | string | undefined> = {};
  for (const threads of [1, 2]) {
    setThreads(threads);
    row[`wasmgrad ${threads}T`] = ours(kind, batch);
  }
  setThreads(1);
  for (const threads of [1, 2]) row[`torch ${threads}T`] = torch(kind, batch, threads);
  const t = await tfjs(kind, batch);
  row.tfjs = t?.rate;
  row["tfjs backend"] = t?.backend;
  rows[label] = row;
  console.error(`  ${JSON.stringify(row)}`);
}

const columns = ["wasmgrad 1T", "wasmgrad 2T", "torch 1T", "torch 2T", "tfjs"];
const fmt = (v: unknown) => (typeof v === "number" ? Math.round(v).toLocaleString("en-US") : "—");
console.log(`Sequence models, training tokens/s (median of ${TIMED} steps after ${WARMUP} warm-up), ${cpu}, ${cpus().length} cores`);
console.log(`| | ${columns.join(" | ")} | wasmgrad 1T ÷ torch 1T | wasmgrad best ÷ tfjs |`);
console.log(`|---|${columns.map(() => "---:").join("|")}|---:|---:|`);
for (const [label, r] of Object.entries(rows)) {
  const best = Math.max(r["wasmgrad 1T"] as number, r["wasmgrad 2T"] as number);
  const vsTorch = typeof r["torch 1T"] === "number" ? ((r["wasmgrad 1T"] as number) / (r["torch 1T"] as number)).toFixed(2) : "—";
  const vsTfjs = typeof r.tfjs === "number" ? (best / (r.tfjs as number)).toFixed(1) : "—";
  console.log(`| ${label}${r["tfjs backend"] === "cpu" ? " (tfjs cpu)" : ""} | ${columns.map((c) => fmt(r[c])).join(" | ")} | ${vsTorch} | ${vsTfjs} |`);
}
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/sequences.json"), JSON.stringify({ cpu, cores: cpus().length, unit: "tokens/s", rows }, null, 2));
