// Side-by-side benchmark, one run, same machine, same data (the embedded 8,000 MNIST digits), same batch
// sizes: the wasmgrad executable on 1 and 2 threads against
//   - TensorFlow.js 4.22, wasm backend, under Node (with a Conv2DBackpropFilter kernel built from its own
//     Transpose + Conv2D so the CNN can train; checked in test/peers) — training, inference, GEMM;
//   - ONNX Runtime (onnxruntime-web 1.30) WASM provider on 1 and 2 threads, and WebGPU where an adapter
//     exists — inference;
//   - PyTorch CPU (Debian python3-torch) on 1 and 2 threads, where installed — training and inference.
// Prints a table of absolute figures and ratios (the headline), writes bench/results/compare.json and an
// SVG chart. Warm-ups are excluded everywhere; figures are medians of timed chunks.
//   npm run bench            (builds first; set BENCH_QUICK=1 for one batch size per model)

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { barChartSvg, type BarGroup } from "../src/viz/bar-chart";

const root = join(import.meta.dir, "..");
const exe = join(root, "dist", "wasmgrad");
const quick = process.env.BENCH_QUICK === "1";
const MODELS = ["mlp", "mlp512", "cnn"];
const TRAIN_BATCHES = quick ? [64] : [32, 64, 128];
const INFER_BATCHES = [1, 64, 512];
const SAMPLES: Record<string, number> = { mlp: 8000, mlp512: 8000, cnn: 2000 };

function run(command: string[], label: string): any | undefined {
  console.error(`measuring ${label}…`);
  const r = Bun.spawnSync(command, { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    console.error(`  ${label} failed (exit ${r.exitCode}): ${r.stderr.toString().trim().split("\n").at(-1)}`);
    return undefined;
  }
  return JSON.parse(r.stdout.toString());
}

// ---- measurements ----------------------------------------------------------------------------------

const ours: Record<number, any> = {};
for (const threads of [1, 2]) {
  ours[threads] = run([exe, "bench", "--json", "--threads", String(threads), "--models", MODELS.join(","), "--train-batches", TRAIN_BATCHES.join(","), "--infer-batches", INFER_BATCHES.join(",")], `wasmgrad, ${threads} thread(s)`);
}

const tfjs: Record<string, Record<number, any>> = {};
let tfjsGemm: any[] = [];
for (const model of MODELS) {
  tfjs[model] = {};
  for (const batch of TRAIN_BATCHES) {
    const withGemm = model === "mlp" && batch === 64;
    const r = run([
      "node", "bench/peers/tfjs-peer.mjs", "--backend", "wasm", "--model", model, "--batch", String(batch), "--samples", String(SAMPLES[model]),
      "--infer-batch", batch === 64 ? INFER_BATCHES.join(",") : "64", "--max-seconds", "40", "--json", ...(withGemm ? [] : ["--no-gemm"]),
    ], `TensorFlow.js wasm: ${model}, batch ${batch}`);
    tfjs[model][batch] = r;
    if (withGemm && r) tfjsGemm = r.gemm ?? [];
  }
}

const ort: Record<string, Record<number, any>> = {};
for (const model of MODELS) {
  ort[model] = {};
  for (const threads of [1, 2]) ort[model][threads] = run([process.execPath, "bench/peers/ort-peer.ts", "--model", model, "--threads", String(threads), "--infer-batch", INFER_BATCHES.join(",")], `ONNX Runtime: ${model}, ${threads} thread(s)`);
}

const python = "/usr/bin/python3";
const hasTorch = existsSync(python) && Bun.spawnSync([python, "-c", "import torch"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
const torch: Record<string, Record<string, any>> = {};
if (hasTorch) {
  for (const model of MODELS) {
    torch[model] = {};
    for (const threads of [1, 2]) {
      for (const batch of TRAIN_BATCHES) {
        torch[model][`${threads}/${batch}`] = run([python, "bench/peers/torch-peer.py", "--model", model, "--batch", String(batch), "--threads", String(threads), "--samples", String(SAMPLES[model]), "--infer-batch", batch === 64 ? INFER_BATCHES.join(",") : "64", "--omp-wait", "passive", "--json"], `PyTorch CPU: ${model}, batch ${batch}, ${threads} thread(s)`);
      }
    }
  }
} else {
  console.error("PyTorch CPU: not installed (bash bench/peers/install-torch.sh installs Debian's python3-torch); left out");
}

// ---- the table ---------------------------------------------------------------------------------------

interface Row { section: string; name: string; values: Record<string, number | undefined> }
const rows: Row[] = [];
const trainRate = (r: any, batch: number) => r?.train?.find?.((t: any) => t.batch === batch)?.samplesPerSec;
const inferRate = (list: any[] | undefined, batch: number) => list?.find((t) => t.batch === batch)?.samplesPerSec;

for (const model of MODELS) {
  for (const batch of TRAIN_BATCHES) {
    rows.push({
      section: "training (samples/s)", name: `${model}, batch ${batch}`,
      values: {
        "wasmgrad 1T": trainRate(ours[1]?.models?.[model], batch), "wasmgrad 2T": trainRate(ours[2]?.models?.[model], batch),
        "tfjs-wasm": tfjs[model][batch]?.train?.samplesPerSec,
        ...(hasTorch ? { "torch 1T": torch[model][`1/${batch}`]?.train?.samplesPerSec, "torch 2T": torch[model][`2/${batch}`]?.train?.samplesPerSec } : {}),
      },
    });
  }
}
for (const model of MODELS) {
  for (const batch of INFER_BATCHES) {
    rows.push({
      section: "inference (samples/s)", name: `${model}, batch ${batch}`,
      values: {
        "wasmgrad 1T": inferRate(ours[1]?.models?.[model]?.inference, batch), "wasmgrad 2T": inferRate(ours[2]?.models?.[model]?.inference, batch),
        "tfjs-wasm": inferRate(tfjs[model][64]?.inference, batch),
        "ort-wasm 1T": inferRate(ort[model][1]?.providers?.wasm, batch), "ort-wasm 2T": inferRate(ort[model][2]?.providers?.wasm, batch),
        ...(ort[model][1]?.providers?.webgpu ? { "ort-webgpu": inferRate(ort[model][1].providers.webgpu, batch) } : {}),
        ...(hasTorch ? { "torch 1T": inferRate(torch[model][`1/64`]?.inference, batch), "torch 2T": inferRate(torch[model][`2/64`]?.inference, batch) } : {}),
      },
    });
  }
}
for (const g of ours[1]?.gemm ?? []) {
  const twin = tfjsGemm.find((p: any) => p.m === g.m && p.n === g.n && p.k === g.k && p.transposeA === (g.transpose === "A") && p.transposeB === (g.transpose === "B"));
  const two = (ours[2]?.gemm ?? []).find((x: any) => x.name === g.name);
  rows.push({ section: "GEMM (GFLOPS)", name: g.name, values: { "wasmgrad 1T": g.gflops, "wasmgrad 2T": two?.gflops, "tfjs-wasm": twin?.gflops } });
}

const columns = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
const format = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "n/a" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}×` : "n/a");
const nameWidth = Math.max(...rows.map((r) => r.name.length)) + 2;
console.log(`\nwasmgrad ${ours[1]?.runtime} (${ours[1]?.kernels}); peers measured in this run; warm-ups excluded, medians.`);
let section = "";
let shown = columns;
for (const r of rows) {
  if (r.section !== section) {
    section = r.section;
    // Only the columns this section has figures for (ONNX Runtime does not train, say).
    shown = columns.filter((c) => rows.some((x) => x.section === section && x.values[c] !== undefined));
    console.log(`\n${section.padEnd(nameWidth)}${shown.map((c) => c.padStart(12)).join("")}   best wasmgrad ÷ best peer`);
  }
  const oursBest = Math.max(r.values["wasmgrad 1T"] ?? 0, r.values["wasmgrad 2T"] ?? 0);
  const peerBest = Math.max(...columns.filter((c) => !c.startsWith("wasmgrad")).map((c) => r.values[c] ?? 0));
  console.log(`${r.name.padEnd(nameWidth)}${shown.map((c) => format(r.values[c]).padStart(12)).join("")}   ${ratio(oursBest, peerBest)}`);
}
const fp = ours[1]?.footprint;
if (fp) {
  console.log(`\nfootprint: binary ${(fp.binaryBytes / 1e6).toFixed(1)} MB, cold start to first training step ${Math.round(fp.coldStartToFirstStepMs)} ms, peak RSS ${(fp.peakRssBytes / 1e6).toFixed(0)} MB (whole 1-thread bench run)`);
}

// ---- files ---------------------------------------------------------------------------------------------

mkdirSync(join(root, "bench", "results"), { recursive: true });
const out = join(root, "bench", "results", "compare.json");
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), ours, tfjs, ort, torch: hasTorch ? torch : null, rows }, null, 2));
const groups: BarGroup[] = rows.filter((r) => r.section !== "GEMM (GFLOPS)").map((r) => ({
  label: `${r.section.startsWith("training") ? "train" : "infer"} ${r.name}`,
  bars: Object.entries(r.values).filter(([, v]) => v !== undefined && Number.isFinite(v)).map(([name, value]) => ({ name, value: value! })),
}));
writeFileSync(join(root, "bench", "results", "compare.svg"), barChartSvg(groups, { title: "wasmgrad vs peers, same machine, same run", unit: "samples/s" }));
console.error(`wrote ${out} and bench/results/compare.svg`);
