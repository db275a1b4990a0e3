// wasmgrad infer: run any ONNX model with onnxruntime-web on the WebGPU or WASM execution provider, and
// say which one ran. Inputs come from IDX, .npy or JSON files and are reshaped to the model's declared
// per-sample shape when the sizes agree (MNIST's [N, 28, 28] feeds a PyTorch model's [N, 1, 28, 28]).

import type { CAC } from "cac";
import { displayText } from "../../io/display";
import { nonFiniteAllowed } from "../input-policy";
import { readArrayFile, type NumericArray } from "../../data/array-file";
import { parseIdx } from "../../data/idx";
import { InputError, didYouMean } from "../../errors";
import { checkOnnxModel, checkOnnxNodeCount } from "../../onnx/checker";
import { decodeModel, type ModelProto } from "../../onnx/onnx-proto";
import { OnnxSession, PROVIDER_CHOICES, type ProviderChoice } from "../../onnx/runtime";
import { numberFlag, optionalPathFlag, stringFlag } from "../options";
import { readInputFile } from "../sources";
import { threadCount } from "../../engine/backend";
import { writeOut } from "../output";

interface InferFlags {
  input?: string;
  ep: string;
  top: unknown;
  batchSize: unknown;
  labels?: string;
  json?: boolean;
}

export function registerInfer(cli: CAC): void {
  cli
    .command("infer <model.onnx>", "Run any ONNX model with onnxruntime-web (WebGPU when a GPU adapter exists, else WASM)")
    .option("--input <file>", "Input data: IDX images (as MNIST, scaled to [0, 1]), NumPy .npy, or a JSON array")
    .option("--ep <auto|webgpu|wasm>", "Execution provider; auto = WebGPU when an adapter exists, WASM otherwise", { default: "auto" })
    .option("--top <k>", "Classes to list per sample for classifiers", { default: 3 })
    .option("--batch-size <n>", "Samples per run", { default: 256 })
    .option("--labels <file>", "IDX labels: also report the accuracy")
    .option("--json", "Print JSON: provider, shapes, per-sample outputs")
    .example("wasmgrad infer cnn.onnx --input t10k-images-idx3-ubyte.gz --labels t10k-labels-idx1-ubyte.gz")
    .example("wasmgrad infer model.onnx --input batch.npy --ep wasm --json")
    .action(async (modelPath: string, flags: InferFlags) => {
      const inputPath = stringFlag(flags.input, "input");
      const labelsPath = optionalPathFlag(flags.labels, "labels");
      const ep = String(flags.ep) as ProviderChoice;
      if (!PROVIDER_CHOICES.includes(ep)) throw new InputError(`--ep: unknown execution provider '${displayText(flags.ep)}'${didYouMean(String(flags.ep), PROVIDER_CHOICES)}`);
      const threads = threadCount();
      const top = numberFlag(flags.top, "top", { min: 1, max: 1000, integer: true });
      const batchSize = numberFlag(flags.batchSize, "batch-size", { min: 1, max: 65536, integer: true });
      const modelBytes = readInputFile(modelPath, "model");
      const array = await readArrayFile(readInputFile(inputPath, "--input"), displayText(inputPath), { allowNonFinite: nonFiniteAllowed() });
      // Labels are read before the model runs: a bad file should not cost a whole inference pass.
      const labels = labelsPath ? await parseIdx(readInputFile(labelsPath, "--labels"), displayText(labelsPath)) : undefined;

      checkBeforeRunning(modelBytes, displayText(modelPath));
      const started = performance.now();
      const session = await OnnxSession.open(modelBytes, { provider: ep, threads, source: displayText(modelPath) });
      const opened = performance.now();
      const input = session.inputs[0];
      const { count, sampleDims } = fitToModel(array, input?.shape, inputPath, modelPath);
      const providerLine = session.provider === "webgpu"
        ? `execution provider: webgpu${session.adapter ? ` on ${session.adapter}` : ""}`
        : `execution provider: wasm (${threads} thread${threads > 1 ? "s" : ""})${session.fallbackReason ? `; WebGPU not used: ${session.fallbackReason}` : ""}`;
      const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
      let outputDims: number[] = [];
      const chunks: Float32Array[] = [];
      for (let start = 0; start < count; start += batchSize) {
        const n = Math.min(batchSize, count - start);
        const [first] = await session.run(array.values(start * sampleSize, (start + n) * sampleSize), [n, ...sampleDims]);
        outputDims = first.dims;
        chunks.push(first.data.slice());
      }
      const seconds = (performance.now() - opened) / 1000;
      await session.release();
      const perSample = outputDims.slice(1).reduce((a, b) => a * b, 1);
      const outputs = concat(chunks);
      const rows = Array.from({ length: count }, (_, i) => outputs.subarray(i * perSample, (i + 1) * perSample));
      const classifier = outputDims.length === 2 && perSample > 1;
      const ranked = classifier ? rows.map((r) => rank(r, top)) : [];

      let accuracy: number | undefined;
      if (labels && labelsPath) {
        if (labels.dims.length !== 1 || labels.dims[0] !== count) throw new InputError(`${displayText(labelsPath)} holds ${labels.dims[0]} labels for ${count} samples`);
        if (!classifier) throw new InputError(`--labels needs a classifier, but the model's output is shaped [${outputDims.join(", ")}]`);
        // A label the model cannot output would silently count as a miss: say so instead.
        const outOfRange = labels.data.findIndex((l) => l >= perSample);
        if (outOfRange >= 0) {
          throw new InputError(`${displayText(labelsPath)}: label ${outOfRange} is ${labels.data[outOfRange]}, but ${displayText(modelPath)} has only ${perSample} classes (0 to ${perSample - 1})`);
        }
        accuracy = ranked.filter((r, i) => r[0].class === labels.data[i]).length / count;
      }
      // Said once everything has been checked, so that a failure stays one line on stderr.
      process.stderr.write(`${providerLine}\n`);
      const summary = {
        model: modelPath, provider: session.provider, adapter: session.adapter ?? null, fallback: session.fallbackReason ?? null, threads,
        input: { name: input?.name, shape: [count, ...sampleDims] }, output: { dims: [count, ...outputDims.slice(1)] },
        seconds: { open: (opened - started) / 1000, run: seconds }, samplesPerSecond: count / seconds,
        ...(accuracy !== undefined ? { accuracy } : {}),
      };
      if (flags.json) {
        const predictions = classifier ? ranked.map((r, index) => ({ index, class: r[0].class, top: r })) : rows.map((r, index) => ({ index, values: Array.from(r) }));
        writeOut(JSON.stringify({ ...summary, predictions }, null, 2) + "\n");
        return;
      }
      const shown = Math.min(count, 20);
      for (let i = 0; i < shown; i++) {
        writeOut(classifier
          ? `#${i}: ${ranked[i][0].class}  (${ranked[i].map((t) => `${t.class} ${t.probability.toFixed(4)}`).join(", ")})\n`
          : `#${i}: ${Array.from(rows[i].subarray(0, 10), (v) => v.toFixed(4)).join(" ")}${perSample > 10 ? " …" : ""}\n`);
      }
      if (count > shown) writeOut(`… ${count - shown} more (use --json for all)\n`);
      writeOut(`${count} samples in ${seconds.toFixed(3)} s (${Math.round(count / seconds).toLocaleString("en-US")} samples/s) on ${session.provider}${accuracy !== undefined ? `; accuracy ${accuracy.toFixed(4)}` : ""}\n`);
    });
}


/**
 * onnx.checker's structural checks before onnxruntime sees the file (src/onnx/checker.ts), where wasmgrad's
 * decoder takes it; a graph it does not decode (control flow, say) still has its nodes counted.
 */
function checkBeforeRunning(bytes: Uint8Array, source: string): void {
  checkOnnxNodeCount(bytes, source);
  let model: ModelProto;
  try {
    model = decodeModel(bytes, source);
  } catch {
    return;
  }
  checkOnnxModel(model, source);
}

/** The data as [count, ...the model's per-sample dims] when the sizes agree; else one clear error. */
function fitToModel(array: NumericArray, shape: readonly (number | string)[] | undefined, inputPath: string, modelPath: string): { count: number; sampleDims: number[] } {
  if (!shape) return { count: array.dims[0], sampleDims: array.dims.slice(1) };
  const fixed = shape.slice(1);
  if (fixed.some((d) => typeof d !== "number" || d < 1)) return { count: array.dims[0], sampleDims: array.dims.slice(1) };
  const sampleDims = fixed as number[];
  const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  const total = array.length;
  // One sample given without a batch dimension, or a batch whose per-sample size matches.
  if (array.dims.join(",") === sampleDims.join(",")) return { count: 1, sampleDims };
  if (array.dims.slice(1).reduce((a, b) => a * b, 1) === sampleSize && total % sampleSize === 0) return { count: array.dims[0], sampleDims };
  throw new InputError(`${displayText(inputPath)} holds data shaped [${array.dims.join(", ")}], but ${displayText(modelPath)} takes samples shaped [${shape.join(", ")}]`);
}

function rank(row: Float32Array, top: number): { class: number; probability: number }[] {
  // Show probabilities: rows that are not already a distribution (logits) go through softmax.
  let sum = 0, min = Infinity, max = -Infinity;
  for (const v of row) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const isDistribution = min >= 0 && Math.abs(sum - 1) < 1e-3;
  let probabilities = Array.from(row);
  if (!isDistribution) {
    const exps = probabilities.map((v) => Math.exp(v - max));
    const total = exps.reduce((a, b) => a + b, 0);
    probabilities = exps.map((e) => e / total);
  }
  return probabilities.map((probability, c) => ({ class: c, probability })).sort((a, b) => b.probability - a.probability).slice(0, top);
}

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
