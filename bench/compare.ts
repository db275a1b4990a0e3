// Side-by-side benchmark, one run, same machine, same batch sizes: the wasmgrad executable against
// TensorFlow.js 4.22 (wasm backend, under Node, with a Conv2DBackpropFilter kernel built from its own
// kernels so the CNN can train). Prints absolute figures and the ratios, and writes bench/results/.
//   bun bench/compare.ts            (after npm run build)

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const exe = join(root, "dist", "wasmgrad");
const TRAIN_BATCH = 64;
const INFER_BATCH = 256;

function run(command: string[]): unknown {
  const r = Bun.spawnSync(command, { cwd: root, stdout: "pipe", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`${command.join(" ")} exited with ${r.exitCode}`);
  return JSON.parse(r.stdout.toString());
}

type Ours = { kernels: string; runtime: string; models: Record<string, { trainSamplesPerSec: number; inferSamplesPerSec: number }>; gemm: { name: string; gflops: number }[] };
type Peer = {
  versions: { node: string };
  train: { samplesPerSec: number };
  inference: { batch: number; samplesPerSec: number }[];
  gemm?: { name: string; m: number; n: number; k: number; gflops: number }[];
};

console.error("measuring wasmgrad (executable)…");
const ours = run([exe, "bench", "--json", "--batch-size", String(TRAIN_BATCH), "--infer-batch", String(INFER_BATCH)]) as Ours;
const peers: Record<string, Peer> = {};
for (const model of ["mlp", "cnn"]) {
  console.error(`measuring TensorFlow.js wasm: ${model}…`);
  peers[model] = run([
    "node", "bench/peers/tfjs-peer.mjs", "--backend", "wasm", "--model", model, "--batch", String(TRAIN_BATCH),
    "--samples", "8000", "--infer-batch", String(INFER_BATCH), "--json", ...(model === "mlp" ? [] : ["--no-gemm"]),
  ]) as Peer;
}

function peerInference(p: Peer): number {
  return p.inference.find((r) => r.batch === INFER_BATCH)?.samplesPerSec ?? NaN;
}

const rows: [string, number, number][] = [];
for (const model of ["mlp", "cnn"]) {
  rows.push([`${model} training, batch ${TRAIN_BATCH} (samples/s)`, ours.models[model].trainSamplesPerSec, peers[model].train.samplesPerSec]);
  rows.push([`${model} inference, batch ${INFER_BATCH} (samples/s)`, ours.models[model].inferSamplesPerSec, peerInference(peers[model])]);
}
// GEMM at the same shapes and transposes (the backprop products included).
type OurGemm = { name: string; m: number; n: number; k: number; transpose?: "A" | "B"; gflops: number };
type PeerGemm = { m: number; n: number; k: number; transposeA: boolean; transposeB: boolean; gflops: number };
for (const g of ours.gemm as OurGemm[]) {
  const twin = ((peers.mlp.gemm ?? []) as unknown as PeerGemm[]).find(
    (p) => p.m === g.m && p.n === g.n && p.k === g.k && p.transposeA === (g.transpose === "A") && p.transposeB === (g.transpose === "B"),
  );
  rows.push([`GEMM ${g.name} (GFLOPS)`, g.gflops, twin?.gflops ?? NaN]);
}

const format = (v: number) => (Number.isFinite(v) ? (v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1)) : "n/a");
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`wasmgrad ${ours.runtime}, ${ours.kernels}  vs  TensorFlow.js 4.22 wasm backend under node ${peers.mlp.versions.node} (warm-ups excluded, medians)`);
console.log(`${"".padEnd(width)}  ${"wasmgrad".padStart(10)}  ${"tfjs-wasm".padStart(10)}  ${"ratio".padStart(7)}`);
for (const [name, a, b] of rows) console.log(`${name.padEnd(width)}  ${format(a).padStart(10)}  ${format(b).padStart(10)}  ${(a / b).toFixed(2).padStart(6)}×`);

mkdirSync(join(root, "bench", "results"), { recursive: true });
const out = join(root, "bench", "results", "compare.json");
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), ours, peers, rows: rows.map(([name, wasmgrad, tfjs]) => ({ name, wasmgrad, tfjs, ratio: wasmgrad / tfjs })) }, null, 2));
console.error(`wrote ${out}`);
