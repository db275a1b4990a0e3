// wasmgrad infer: run any ONNX model with onnxruntime-web on the WebGPU or WASM execution provider, and
// say which one ran. Every input is fed by name (--input NAME=FILE; a bare --input FILE for a one-input
// model) from IDX, .npy or JSON files, as the element type the model declares (integers checked exact);
// dynamic dims (batch, symbolic, unnamed) come from the data, and data of another rank is reshaped to the
// model's per-sample shape when the sizes agree (MNIST's [N, 28, 28] feeds a PyTorch model's [N, 1, 28, 28]).
// Every output is reported raw (--json, --output FILE.npy or DIR/); top-k lists only for [N, C] float outputs.

import type { CAC } from "cac";
import { displayText } from "../../io/display";
import { nonFiniteAllowed } from "../input-policy";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readArrayFile, type NumericArray } from "../../data/array-file";
import { floatToHalf, halvesToFloat32 } from "../../data/float16";
import { npyWritable, saveNpy, type NpyData } from "../../data/npy-writer";
import { checkSaveTarget } from "../../io/atomic-file";
import { parseIdx } from "../../data/idx";
import { InputError, UsageError, didYouMean } from "../../errors";
import { checkOnnxModel, checkOnnxNodeCount } from "../../onnx/checker";
import { decodeModel, type ModelProto } from "../../onnx/onnx-proto";
import { OnnxSession, PROVIDER_CHOICES, type OnnxRawResult, type ProviderChoice, type TensorData, type TensorShapeInfo } from "../../onnx/runtime";
import { numberFlag, optionalPathFlag, stringFlag } from "../options";
import { readInputFile } from "../sources";
import { threadCount } from "../../engine/backend";
import { writeOut } from "../output";

interface InferFlags {
  input?: unknown;
  ep: string;
  top: unknown;
  batchSize: unknown;
  labels?: string;
  json?: boolean;
  output?: unknown;
  outputName?: unknown;
}

export function registerInfer(cli: CAC): void {
  cli
    .command("infer <model.onnx>", "Run any ONNX model with onnxruntime-web (WebGPU when a GPU adapter exists, else WASM)")
    .option("--input <[name=]file>", "Input data: IDX images (as MNIST, scaled to [0, 1]), NumPy .npy, or a JSON array; repeat as --input NAME=FILE for each input of a model with several")
    .option("--ep <auto|webgpu|wasm>", "Execution provider; auto = WebGPU when an adapter exists, WASM otherwise", { default: "auto" })
    .option("--top <k>", "Classes to list per sample for classifier-shaped ([N, C] float) outputs", { default: 3 })
    .option("--batch-size <n>", "Samples per run", { default: 256 })
    .option("--labels <file>", "IDX labels: also report the accuracy")
    .option("--output <file.npy|dir/>", "Save outputs raw as .npy: one file (a one-output model, or --output-name), or DIR/ holding NAME.npy per output")
    .option("--output-name <name>", "The output that --output FILE.npy saves")
    .option("--json", "Print JSON: provider, inputs, every output (name, dims, dtype, values), per-sample predictions")
    .example("wasmgrad infer cnn.onnx --input t10k-images-idx3-ubyte.gz --labels t10k-labels-idx1-ubyte.gz")
    .example("wasmgrad infer model.onnx --input batch.npy --ep wasm --json")
    .example("wasmgrad infer bert.onnx --input input_ids=ids.npy --input attention_mask=mask.npy --output out/")
    .action(async (modelPath: string, flags: InferFlags) => {
      const specs = inputSpecs(flags.input);
      const labelsPath = optionalPathFlag(flags.labels, "labels");
      const outputPath = optionalPathFlag(flags.output, "output");
      const outputName = flags.outputName === undefined ? undefined : stringFlag(flags.outputName, "output-name");
      if (outputName !== undefined && outputPath === undefined) throw new UsageError("--output-name names the output that --output FILE.npy saves; give --output too");
      const outputDir = outputPath !== undefined && (outputPath.endsWith("/") || isDirectory(outputPath));
      if (outputPath !== undefined && !outputDir) checkSaveTarget(outputPath);
      const ep = String(flags.ep) as ProviderChoice;
      if (!PROVIDER_CHOICES.includes(ep)) throw new InputError(`--ep: unknown execution provider '${displayText(flags.ep)}'${didYouMean(String(flags.ep), PROVIDER_CHOICES)}`);
      const threads = threadCount();
      const top = numberFlag(flags.top, "top", { min: 1, max: 1000, integer: true });
      const batchSize = numberFlag(flags.batchSize, "batch-size", { min: 1, max: 65536, integer: true });
      const modelBytes = readInputFile(modelPath, "model");
      const arrays: NumericArray[] = [];
      for (const spec of specs) arrays.push(await readArrayFile(readInputFile(spec.path, "--input"), displayText(spec.path), { allowNonFinite: nonFiniteAllowed() }));
      // Labels are read before the model runs: a bad file should not cost a whole inference pass.
      const labels = labelsPath ? await parseIdx(readInputFile(labelsPath, "--labels"), displayText(labelsPath)) : undefined;

      checkBeforeRunning(modelBytes, displayText(modelPath));
      const started = performance.now();
      const session = await OnnxSession.open(modelBytes, { provider: ep, threads, source: displayText(modelPath) });
      const opened = performance.now();
      const model = displayText(modelPath);
      const feeds = bindInputs(specs, arrays, session.inputs, model);
      const outputInfo = session.outputs;
      const saveTargets = outputPath === undefined ? [] : planSaves(outputPath, outputDir, outputName, outputInfo, model);
      const providerLine = session.provider === "webgpu"
        ? `execution provider: webgpu${session.adapter ? ` on ${session.adapter}` : ""}`
        : `execution provider: wasm (${threads} thread${threads > 1 ? "s" : ""})${session.fallbackReason ? `; WebGPU not used: ${session.fallbackReason}` : ""}`;

      const results = await runAll(session, feeds, batchSize);
      const seconds = (performance.now() - opened) / 1000;
      await session.release();

      const count = feeds[0]?.dims[0] ?? 1;
      const described = results.map((r) => describeOutput(r, top));
      const first = described[0];
      const classifierOutput = described.find((d) => d.ranked);
      let accuracy: number | undefined;
      if (labels && labelsPath) {
        const classes = classifierOutput?.result.dims[1] ?? 0;
        if (labels.dims.length !== 1 || labels.dims[0] !== count) throw new InputError(`${displayText(labelsPath)} holds ${labels.dims[0]} labels for ${count} samples`);
        if (!classifierOutput) throw new InputError(`--labels needs a classifier, but the model's output${results.length > 1 ? "s are" : " is"} shaped ${results.map((r) => `[${r.dims.join(", ")}]`).join(", ")}`);
        // A label the model cannot output would silently count as a miss: say so instead.
        const outOfRange = labels.data.findIndex((l) => l >= classes);
        if (outOfRange >= 0) {
          throw new InputError(`${displayText(labelsPath)}: label ${outOfRange} is ${labels.data[outOfRange]}, but ${model} has only ${classes} classes (0 to ${classes - 1})`);
        }
        accuracy = classifierOutput.ranked!.filter((r, i) => r[0].class === labels.data[i]).length / count;
      }
      const saved = saveTargets.map(({ name, path }) => {
        const r = results.find((o) => o.name === name)!;
        if (!npyWritable(r.type)) throw new InputError(`${model}: output '${name}' is ${r.type}, which a .npy file cannot hold`);
        return { name, path };
      });
      if (outputDir && outputPath !== undefined && saved.length) mkdirSync(outputPath, { recursive: true });
      for (const { name, path } of saved) {
        const r = results.find((o) => o.name === name)!;
        saveNpy(path, r.type, r.dims, r.data as NpyData);
      }
      // Said once everything has been checked, so that a failure stays one line on stderr.
      process.stderr.write(`${providerLine}\n`);
      const summary = {
        model: modelPath, provider: session.provider, adapter: session.adapter ?? null, fallback: session.fallbackReason ?? null, threads,
        input: { name: feeds[0]?.name, shape: feeds[0]?.dims }, output: { dims: first?.result.dims },
        inputs: feeds.map((f) => ({ name: f.name, dtype: f.type, dims: f.dims, declared: f.declared ?? null })),
        seconds: { open: (opened - started) / 1000, run: seconds }, samplesPerSecond: count / seconds,
        ...(accuracy !== undefined ? { accuracy } : {}),
        ...(saved.length ? { saved } : {}),
      };
      if (flags.json) {
        const outputs = described.map((d) => ({
          name: d.result.name, dims: d.result.dims, dtype: d.result.type, ...(d.ranked ? { probabilities: d.probabilities } : {}), values: jsonValues(d.values),
        }));
        const predictions = !first ? [] : first.ranked
          ? first.ranked.map((r, index) => ({ index, class: r[0].class, top: r }))
          : first.rows.map((r, index) => ({ index, values: jsonValues(r) }));
        writeOut(JSON.stringify({ ...summary, outputs, predictions }, null, 2) + "\n");
        return;
      }
      for (const d of described) {
        const { name, dims, type } = d.result;
        writeOut(`output '${displayText(name)}' [${dims.join(", ")}] ${type}${d.ranked ? `: top ${Math.min(top, dims[1])} per sample, ${d.probabilities === "as given" ? "probabilities as given" : "softmax of logits"}` : ""}\n`);
        const shown = Math.min(d.rows.length, 20);
        for (let i = 0; i < shown; i++) {
          writeOut(d.ranked
            ? `#${i}: ${d.ranked[i][0].class}  (${d.ranked[i].map((t) => `${t.class} ${t.probability.toFixed(4)}`).join(", ")})\n`
            : `#${i}: ${formatValues(d.rows[i])}\n`);
        }
        if (d.rows.length > shown) writeOut(`… ${d.rows.length - shown} more (use --json or --output for all)\n`);
      }
      for (const { name, path } of saved) writeOut(`saved '${displayText(name)}' to ${displayText(path)}\n`);
      writeOut(`${count} samples in ${seconds.toFixed(3)} s (${Math.round(count / seconds).toLocaleString("en-US")} samples/s) on ${session.provider}${accuracy !== undefined ? `; accuracy ${accuracy.toFixed(4)}` : ""}\n`);
    });
}

interface InputSpec {
  /** The model input it feeds; undefined for a bare --input FILE (a one-input model). */
  name?: string;
  path: string;
}

/** --input FILE or --input NAME=FILE, once or repeated. A path holding '=' that exists is a path. */
function inputSpecs(value: unknown): InputSpec[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => {
    const text = stringFlag(v, "input");
    const eq = text.indexOf("=");
    if (eq <= 0 || existsSync(text)) return { path: text };
    const path = text.slice(eq + 1);
    if (!path) throw new UsageError(`--input ${displayText(text)} needs a file after '='`);
    return { name: text.slice(0, eq), path };
  });
}

/** An unnamed dim: onnxruntime-web reports it as -1 or 4294967295 (2^32 - 1). */
function isDynamic(d: number | string): boolean {
  return typeof d === "string" || d < 0 || d >= 2 ** 31;
}

function dimText(d: number | string): number | string {
  return typeof d === "string" ? d || "?" : isDynamic(d) ? "?" : d;
}

export function shapeText(shape: readonly (number | string)[] | undefined): string {
  return shape ? `[${shape.map(dimText).join(", ")}]` : "[unknown shape]";
}

function listInputs(inputs: TensorShapeInfo[]): string {
  return inputs.map((i) => `${displayText(i.name)} ${i.type ?? "?"} ${shapeText(i.shape)}`).join(", ");
}

interface Feed {
  name: string;
  type: string;
  dims: number[];
  /** As the model declares it: sizes, symbolic names, "?" for unnamed dims. */
  declared?: (number | string)[];
  array: NumericArray;
  path: string;
}

/** Each model input paired with its file, shaped and typed as the model declares; one clear error otherwise. */
function bindInputs(specs: InputSpec[], arrays: NumericArray[], inputs: TensorShapeInfo[], model: string): Feed[] {
  const byName = new Map<string, number>();
  specs.forEach((spec, i) => {
    const name = spec.name ?? (inputs.length === 1 && specs.length === 1 ? inputs[0].name : undefined);
    if (name === undefined) {
      throw new InputError(`${model} has ${inputs.length} inputs; give each as --input NAME=FILE (its inputs: ${listInputs(inputs)})`);
    }
    if (!inputs.some((input) => input.name === name)) {
      throw new InputError(`${model} has no input '${displayText(name)}'${didYouMean(name, inputs.map((input) => input.name))} (its inputs: ${listInputs(inputs)})`);
    }
    if (byName.has(name)) throw new InputError(`--input ${displayText(name)} is given twice`);
    byName.set(name, i);
  });
  const missing = inputs.filter((input) => !byName.has(input.name));
  if (missing.length) {
    throw new InputError(`${model} needs input${missing.length > 1 ? "s" : ""} ${missing.map((m) => `'${displayText(m.name)}'`).join(", ")} too: give each as --input NAME=FILE (its inputs: ${listInputs(inputs)})`);
  }
  return inputs.map((input) => {
    const i = byName.get(input.name)!;
    const path = displayText(specs[i].path);
    const type = input.type ?? "float32";
    if (!FEEDABLE.has(type)) throw new InputError(`${model}: input '${displayText(input.name)}' takes ${type}; wasmgrad infer feeds float16, float32, float64, integer and bool inputs`);
    return { name: input.name, type, dims: fitShape(arrays[i], input, path, model, inputs.length), declared: input.shape?.map(dimText), array: arrays[i], path };
  });
}

const INTEGER_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], uint64: [0, Number.MAX_SAFE_INTEGER], bool: [0, 1],
};
const FEEDABLE = new Set(["float16", "float32", "float64", ...Object.keys(INTEGER_RANGE)]);

/**
 * The data's dims as the model takes them: dynamic dims (batch, symbolic or unnamed) from the data, fixed
 * ones checked axis by axis. Data of another rank is reshaped when every per-sample dim is fixed and the
 * sizes agree: a model wanting [N, 1, 28, 28] takes MNIST's [N, 28, 28], and one sample without its batch axis.
 */
function fitShape(array: NumericArray, input: TensorShapeInfo, path: string, model: string, inputCount: number): number[] {
  const shape = input.shape;
  if (!shape || shape.length === 0) return array.dims;
  const forInput = inputCount > 1 ? ` for input '${displayText(input.name)}'` : "";
  if (shape.length === array.dims.length) {
    const axis = shape.findIndex((d, i) => !isDynamic(d) && d !== array.dims[i]);
    if (axis < 0) return array.dims;
    throw new InputError(`${model}: input '${displayText(input.name)}' has ${shape[axis]} on axis ${axis}, but ${path} has ${array.dims[axis]} there (data shaped [${array.dims.join(", ")}], the input ${shapeText(shape)})`);
  }
  const sampleDims = shape.slice(1);
  if (sampleDims.some(isDynamic)) {
    throw new InputError(`${path} holds data shaped [${array.dims.join(", ")}], but ${model} takes ${shape.length}-dimensional data shaped ${shapeText(shape)}${forInput}`);
  }
  const fixed = sampleDims as number[];
  const sampleSize = fixed.reduce((a, b) => a * b, 1);
  // One sample given without a batch dimension, or a batch whose per-sample size matches.
  if (array.dims.join(",") === fixed.join(",")) return [1, ...fixed];
  if (array.dims.length > 0 && array.dims.slice(1).reduce((a, b) => a * b, 1) === sampleSize && array.length % sampleSize === 0 && isDynamic(shape[0])) return [array.dims[0], ...fixed];
  throw new InputError(`${path} holds data shaped [${array.dims.join(", ")}], but ${model} takes samples shaped [${shape.map(dimText).join(", ")}]${forInput}`);
}

/** Values [start, end) as the input's type: floats as before (bytes scaled to [0, 1]), integers exact and checked. */
function feedData(feed: Feed, start: number, end: number): TensorData {
  const { array, type } = feed;
  if (type === "float32") return array.values(start, end);
  const raw = array.raw;
  // float16 goes as its bit patterns: a float16 .npy as it is, anything else rounded to nearest.
  if (type === "float16") return raw?.dtype === "float16" ? raw.data.subarray(start, end) as Uint16Array : Uint16Array.from(array.values(start, end), floatToHalf);
  if (type === "float64") return raw?.dtype === "float64" ? raw.data.subarray(start, end) as Float64Array : Float64Array.from(array.values(start, end));
  const source = raw && raw.dtype !== "float32" ? raw.data.subarray(start, end) : array.values(start, end);
  if (source instanceof BigInt64Array) {
    if (type === "int64") return source;
    return convertIntegers(Array.from(source, Number), type, feed, start);
  }
  if (type === "bool" && raw?.dtype === "bool") return source as Uint8Array;
  return convertIntegers(source as ArrayLike<number>, type, feed, start);
}

function convertIntegers(values: ArrayLike<number>, type: string, feed: Feed, offset: number): TensorData {
  const [min, max] = INTEGER_RANGE[type];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < min || v > max) {
      const what = Number.isInteger(v) ? `outside ${type}'s range (${min} to ${max})` : "not an integer";
      throw new InputError(`${feed.path}: input '${displayText(feed.name)}' takes ${type}, but value ${offset + i} (${v}) is ${what}`);
    }
  }
  switch (type) {
    case "int64": return BigInt64Array.from(Array.from(values), (v) => BigInt(v));
    case "uint64": return BigUint64Array.from(Array.from(values), (v) => BigInt(v));
    case "int32": return Int32Array.from(values);
    case "uint32": return Uint32Array.from(values);
    case "int16": return Int16Array.from(values);
    case "uint16": return Uint16Array.from(values);
    case "int8": return Int8Array.from(values);
    default: return Uint8Array.from(values); // uint8, bool
  }
}

/**
 * Runs the model, in batches of `batchSize` samples when every input's first axis is the batch (dynamic
 * in the model, the same size in every file) and every output keeps it; else all at once.
 */
async function runAll(session: OnnxSession, feeds: Feed[], batchSize: number): Promise<OnnxRawResult[]> {
  const count = feeds[0]?.dims[0] ?? 0;
  const batched = feeds.length > 0 && count > batchSize && feeds.every((f) => f.dims.length > 0 && f.dims[0] === count)
    && session.inputs.every((i) => !i.shape || i.shape.length === 0 || isDynamic(i.shape[0]));
  const runBatch = (start: number, n: number) => session.runTensors(feeds.map((f) => {
    const per = f.dims.slice(1).reduce((a, b) => a * b, 1);
    return { name: f.name, type: f.type, data: feedData(f, start * per, (start + n) * per), dims: [n, ...f.dims.slice(1)] };
  }));
  if (!batched) return session.runTensors(feeds.map((f) => ({ name: f.name, type: f.type, data: feedData(f, 0, f.dims.reduce((a, b) => a * b, 1)), dims: f.dims })));
  const chunks: OnnxRawResult[][] = [];
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const results = await runBatch(start, n);
    // An output without the batch axis (a pooled statistic, say) cannot be stitched from batches.
    if (results.some((r) => r.dims[0] !== n)) return runBatch(0, count);
    chunks.push(results.map((r) => ({ ...r, data: r.data.slice() as TensorData })));
  }
  return chunks[0].map((first, o) => ({ ...first, dims: [count, ...first.dims.slice(1)], data: concat(chunks.map((c) => c[o].data)) }));
}

type Ranked = { class: number; probability: number }[];

interface DescribedOutput {
  result: OnnxRawResult;
  /** The values to show: as given, but float16 as numbers rather than bit patterns. */
  values: TensorData;
  /** Per sample (the first axis), or the whole output as one row when it has no axes. */
  rows: TensorData[];
  /** Top-k per sample, for classifier-shaped outputs ([N, C] float) only. */
  ranked?: Ranked[];
  probabilities?: "as given" | "softmax";
}

function describeOutput(result: OnnxRawResult, top: number): DescribedOutput {
  const { dims } = result;
  const data = result.type === "float16" ? halvesToFloat32(result.data as Uint16Array) : result.data;
  const n = dims.length ? dims[0] : 1;
  const per = dims.slice(1).reduce((a, b) => a * b, 1);
  const rows = Array.from({ length: n }, (_, i) => sliceOf(data, i * per, (i + 1) * per));
  const classifier = dims.length === 2 && dims[1] > 1 && (result.type === "float32" || result.type === "float64" || result.type === "float16");
  if (!classifier) return { result, values: data, rows };
  const floatRows = rows as (Float32Array | Float64Array)[];
  // Softmax only when the rows are not already a distribution: non-negative, each summing to 1.
  const given = floatRows.every((row) => {
    let sum = 0;
    for (const v of row) {
      if (!(v >= 0)) return false;
      sum += v;
    }
    return Math.abs(sum - 1) < 1e-3;
  });
  return { result, values: data, rows, ranked: floatRows.map((r) => rank(r, top, given)), probabilities: given ? "as given" : "softmax" };
}

function sliceOf(data: TensorData, start: number, end: number): TensorData {
  return Array.isArray(data) ? data.slice(start, end) : data.subarray(start, end) as TensorData;
}

/** Values for JSON: int64 as numbers where exact, else as decimal strings. */
function jsonValues(data: TensorData): (number | string)[] {
  return Array.from(data as ArrayLike<number | bigint | string>, (v) => typeof v === "bigint" ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString()) : v);
}

function formatValues(row: TensorData): string {
  const values = jsonValues(row.slice(0, 10) as TensorData);
  return `${values.map((v) => (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : String(v))).join(" ")}${row.length > 10 ? " …" : ""}`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Where each saved output goes: FILE.npy for one, or DIR/NAME.npy for each (names made file-safe, distinct). */
function planSaves(path: string, dir: boolean, name: string | undefined, outputs: TensorShapeInfo[], model: string): { name: string; path: string }[] {
  const list = () => outputs.map((o) => `${displayText(o.name)} ${o.type ?? "?"} ${shapeText(o.shape)}`).join(", ");
  if (name !== undefined && !outputs.some((o) => o.name === name)) {
    throw new InputError(`${model} has no output '${displayText(name)}'${didYouMean(name, outputs.map((o) => o.name))} (its outputs: ${list()})`);
  }
  if (!dir) {
    if (name === undefined && outputs.length !== 1) {
      throw new InputError(`${model} has ${outputs.length} outputs (${list()}); save them all with --output DIR/, or one with --output-name NAME`);
    }
    return [{ name: name ?? outputs[0].name, path }];
  }
  const used = new Set<string>();
  return outputs.filter((o) => name === undefined || o.name === name).map((o) => {
    const base = fileSafe(o.name);
    let file = base;
    for (let k = 2; used.has(file.toLowerCase()); k++) file = `${base}-${k}`;
    used.add(file.toLowerCase());
    const target = join(path, `${file}.npy`);
    checkSaveTarget(target);
    return { name: o.name, path: target };
  });
}

/** An output name as a file name: letters, digits, '.', '_' and '-' only, no leading dot, at most 200 bytes. */
export function fileSafe(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\./, "_").slice(0, 200);
  return safe || "output";
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
  checkOnnxModel(model, source, { anyInputType: true });
}

function rank(row: Float32Array | Float64Array, top: number, isDistribution: boolean): Ranked {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let probabilities = Array.from(row);
  if (!isDistribution) {
    const exps = probabilities.map((v) => Math.exp(v - max));
    const total = exps.reduce((a, b) => a + b, 0);
    probabilities = exps.map((e) => e / total);
  }
  return probabilities.map((probability, c) => ({ class: c, probability })).sort((a, b) => b.probability - a.probability).slice(0, top);
}

function concat(chunks: TensorData[]): TensorData {
  if (Array.isArray(chunks[0])) return (chunks as string[][]).flat();
  const first = chunks[0] as Exclude<TensorData, string[]>;
  const out = new (first.constructor as new (n: number) => Exclude<TensorData, string[]>)(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks as Exclude<TensorData, string[]>[]) {
    (out as Float32Array).set(c as Float32Array, at);
    at += c.length;
  }
  return out;
}
