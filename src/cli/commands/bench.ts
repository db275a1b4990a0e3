// wasmgrad bench: training and inference throughput of the built-in models at several batch sizes, GEMM
// GFLOPS at square and layer shapes, and the footprint (binary size, cold start to the first training
// step, peak RSS), measured inside the executable on the embedded MNIST sample; warm-ups excluded,
// medians reported. With --onnx it instead sets ONNX Runtime's WebGPU provider against its WASM one on a
// model, batch size by batch size. bench/compare.ts puts these beside TensorFlow.js, ONNX Runtime and
// PyTorch measured in the same run.

import { statSync, writeSync } from "node:fs";
import type { CAC } from "cac";
import { GEMM_SHAPES, median, measureGemm, measureInference, measureTraining } from "../../bench/measure";
import { kernelLibrary, threadCount } from "../../engine/backend";
import { toFloatImages } from "../../data/image-dataset";
import { buildModel, recipeOf } from "../../model/model-file";
import { InputError } from "../../errors";
import { writeFileAtomic } from "../../io/atomic-file";
import { OnnxSession } from "../../onnx/runtime";
import { barChartSvg, type BarGroup } from "../../viz/bar-chart";
import { numberFlag, optionalPathFlag } from "../options";
import { BUILTIN_MODELS } from "../embedded-assets";
import { readInputFile, resolveData, resolveModelFile } from "../sources";
import { displayText } from "../../io/display";
import { writeOut } from "../output";

interface BenchFlags {
  models: string;
  trainBatches: string;
  inferBatches: string;
  samples: unknown;
  gemm: boolean;
  onnx?: string;
  out?: string;
  json?: boolean;
}

export function registerBench(cli: CAC): void {
  cli
    .command("bench", "Measure training/inference samples/s, GEMM GFLOPS and footprint (warm-ups excluded, medians)")
    .option("--models <list>", "Comma-separated built-in models", { default: "mlp,mlp512,cnn" })
    .option("--train-batches <list>", "Training batch sizes", { default: "32,64,128" })
    .option("--infer-batches <list>", "Inference batch sizes", { default: "1,64,512" })
    .option("--samples <n>", "Training samples timed per model and batch size (CNN: a quarter)", { default: 8000 })
    .option("--no-gemm", "Skip the GEMM measurements")
    .option("--onnx <model.onnx>", "Instead: ONNX Runtime inference on WebGPU vs WASM at the --infer-batches")
    .option("--out <prefix>", "Also write <prefix>.json and an SVG chart <prefix>.svg")
    .option("--json", "Print JSON")
    .example("wasmgrad bench --threads 2 --out bench-2threads")
    .example("wasmgrad bench --onnx cnn.onnx --infer-batches 1,64,512")
    .action(async (flags: BenchFlags) => {
      const log = (line: string) => writeSync(2, line + "\n");
      const inferBatches = batchList(flags.inferBatches, "infer-batches");
      const onnx = optionalPathFlag(flags.onnx, "onnx");
      const out = optionalPathFlag(flags.out, "out");
      const result = onnx ? await benchOnnx(onnx, inferBatches, log) : await benchModels(flags, inferBatches, log);
      if (out) {
        writeFileAtomic(`${out}.json`, new TextEncoder().encode(JSON.stringify(result, null, 2) + "\n"));
        writeFileAtomic(`${out}.svg`, new TextEncoder().encode(chart(result)));
        log(`wrote ${out}.json and ${out}.svg`);
      }
      if (flags.json) writeOut(JSON.stringify(result, null, 2) + "\n");
    });
}

interface ModelResult {
  train: { batch: number; samplesPerSec: number }[];
  inference: { batch: number; samplesPerSec: number }[];
}

async function benchModels(flags: BenchFlags, inferBatches: number[], log: (line: string) => void) {
  const trainBatches = batchList(flags.trainBatches, "train-batches");
  const samples = numberFlag(flags.samples, "samples", { min: 256, max: 1_000_000, integer: true });
  const names = String(flags.models).split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of names) if (!Object.hasOwn(BUILTIN_MODELS, name)) throw new InputError(`--models: '${name}' is not a built-in model (${Object.keys(BUILTIN_MODELS).join(", ")})`);
  const data = await resolveData("embedded");
  const x = toFloatImages(data.train);
  const models: Record<string, ModelResult> = {};
  let firstStepMs: number | undefined;
  for (const name of names) {
    const { file, source } = resolveModelFile(name);
    const count = Math.min(data.train.count, name === "cnn" ? Math.max(1024, samples >> 2) : samples);
    const result: ModelResult = { train: [], inference: [] };
    for (const batch of trainBatches) {
      const model = buildModel(file, source, { seed: 1 });
      model.compile({ optimizer: { type: "adam", learningRate: 0.001 }, loss: recipeOf(file).loss, metrics: [] });
      const rate = await measureTraining(model, x.subarray(0, count * 784), data.train.labels.subarray(0, count), batch, 10, () => {
        // Cold start: from process start to the end of the first training step anywhere in this run.
        firstStepMs ??= performance.now();
      });
      result.train.push({ batch, samplesPerSec: rate.samplesPerSec });
      log(`${name} train batch ${batch}: ${Math.round(rate.samplesPerSec).toLocaleString("en-US")} samples/s`);
      if (batch === trainBatches[trainBatches.length - 1]) {
        for (const b of inferBatches) {
          const rate = measureInference(model, x, data.train.count, b);
          result.inference.push({ batch: b, samplesPerSec: rate });
          log(`${name} inference batch ${b}: ${Math.round(rate).toLocaleString("en-US")} samples/s`);
        }
      }
    }
    models[name] = result;
  }
  const gemm = flags.gemm ? GEMM_SHAPES.map((shape) => {
    const gflops = measureGemm(shape);
    log(`gemm ${shape.name}: ${gflops.toFixed(1)} GFLOPS`);
    return { ...shape, gflops };
  }) : [];
  return {
    kind: "models" as const,
    runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.versions.node}`,
    kernels: kernelLibrary().variant,
    threads: threadCount(),
    data: data.source,
    note: "warm-ups excluded (10 training steps, one inference pass); medians of timed chunks",
    models,
    gemm,
    footprint: {
      binaryBytes: executableBytes(),
      coldStartToFirstStepMs: firstStepMs,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    },
  };
}

async function benchOnnx(path: string, batches: number[], log: (line: string) => void) {
  const bytes = readInputFile(path, "--onnx");
  const providers: Record<string, { batch: number; samplesPerSec: number }[]> = {};
  const notes: string[] = [];
  for (const provider of ["wasm", "webgpu"] as const) {
    let session: OnnxSession;
    try {
      session = await OnnxSession.open(bytes, { provider, threads: threadCount(), source: displayText(path) });
    } catch (error) {
      notes.push(`${provider}: ${(error as Error).message}`);
      log(`${provider}: not measured: ${(error as Error).message}`);
      continue;
    }
    const shape = session.inputs[0]?.shape;
    if (!shape || shape.slice(1).some((d) => typeof d !== "number" || d < 1)) throw new InputError(`${displayText(path)}: its input needs fixed sizes after the batch dimension to be benchmarked`);
    const sample = shape.slice(1) as number[];
    const size = sample.reduce((a, b) => a * b, 1);
    const rows: { batch: number; samplesPerSec: number }[] = [];
    for (const batch of batches) {
      const x = new Float32Array(batch * size).map((_, i) => ((i * 7919) % 255) / 255);
      // Warm-up: ONNX Runtime's first runs at a shape plan memory and are several times slower.
      const warmUntil = performance.now() + 300;
      for (let w = 0; w < 3 || performance.now() < warmUntil; w++) await session.run(x, [batch, ...sample]);
      const rates: number[] = [];
      const deadline = performance.now() + 2000;
      for (let r = 0; r < 5 && (r < 3 || performance.now() < deadline); r++) {
        const t = performance.now();
        await session.run(x, [batch, ...sample]);
        rates.push(batch / ((performance.now() - t) / 1000));
      }
      rows.push({ batch, samplesPerSec: median(rates) });
      log(`${provider}${session.adapter ? ` (${session.adapter})` : ""} batch ${batch}: ${Math.round(median(rates)).toLocaleString("en-US")} samples/s`);
    }
    providers[provider] = rows;
    if (session.adapter) notes.push(`webgpu adapter: ${session.adapter}`);
    await session.release();
  }
  return { kind: "onnx" as const, model: path, threads: threadCount(), note: "per batch size: untimed warm-up runs (at least 3 and 0.3 s), then the median of 3–5 timed runs", providers, notes };
}

function batchList(raw: string, flag: string): number[] {
  const list = String(raw).split(",").map((s) => s.trim()).filter(Boolean).map((s) => numberFlag(s, flag, { min: 1, max: 8192, integer: true }));
  if (list.length === 0) throw new InputError(`--${flag} needs at least one batch size`);
  return list;
}

/** The executable's size when running compiled (the runtime itself otherwise, which says little). */
function executableBytes(): number | undefined {
  try {
    return statSync(process.execPath).size;
  } catch {
    return undefined;
  }
}

function chart(result: Awaited<ReturnType<typeof benchModels>> | Awaited<ReturnType<typeof benchOnnx>>): string {
  const groups: BarGroup[] = [];
  if (result.kind === "onnx") {
    const byBatch = new Map<number, BarGroup>();
    for (const [provider, rows] of Object.entries(result.providers)) {
      for (const r of rows) {
        if (!byBatch.has(r.batch)) byBatch.set(r.batch, { label: `batch ${r.batch}`, bars: [] });
        byBatch.get(r.batch)!.bars.push({ name: provider, value: r.samplesPerSec });
      }
    }
    groups.push(...byBatch.values());
    return barChartSvg(groups, { title: `ONNX Runtime inference: ${result.model}`, unit: "samples/s" });
  }
  for (const [name, r] of Object.entries(result.models)) {
    for (const t of r.train) groups.push({ label: `${name} train b${t.batch}`, bars: [{ name: `wasmgrad (${result.threads} thread${result.threads > 1 ? "s" : ""})`, value: t.samplesPerSec }] });
    for (const t of r.inference) groups.push({ label: `${name} infer b${t.batch}`, bars: [{ name: `wasmgrad (${result.threads} thread${result.threads > 1 ? "s" : ""})`, value: t.samplesPerSec }] });
  }
  return barChartSvg(groups, { title: `wasmgrad ${result.kernels}`, unit: "samples/s" });
}
