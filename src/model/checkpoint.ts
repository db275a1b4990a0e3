// The .wgd checkpoint: everything needed to evaluate, predict or resume training exactly.
//
//   offset 0   "WGD1"                      magic
//          4   u32 format version          (little-endian, as is everything here)
//          8   u32 header length H
//         12   H bytes of UTF-8 JSON       model config, training config, tensor manifest, RNG states
//      12+H    pad to 4 bytes
//              f32 tensor data             parameters, then optimizer slots, in manifest order
//       end-4  u32 CRC-32 of all bytes before it
//
// Decoding checks every length against the bytes actually present before using it, so a truncated or
// corrupted file is a clear error, never a crash or a huge allocation.

import { InputError } from "../errors";
import type { Kernels } from "../engine/kernels";
import type { TextVectorizerConfig } from "../data/text-vectorizer";
import type { TablePreprocessing } from "../data/table-dataset";
import { crc32 } from "./crc32";
import { checkCheckpointContents, checkCheckpointHeader, type CheckpointTrust } from "./checkpoint-validation";
import type { LossSpec } from "./losses";
import type { Model } from "./model";
import { modelFromConfig } from "./model-config";
import type { GraphConfig } from "./graph";
import type { SequentialConfig } from "./sequential";
import type { OptimizerConfig } from "../optimizers/optimizer";

const MAGIC = [0x57, 0x47, 0x44, 0x31]; // "WGD1"
export const CHECKPOINT_VERSION = 1;
const MAX_HEADER_BYTES = 64 << 20;

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset into the f32 data, in floats. */
  offset: number;
  length: number;
}

export interface CheckpointHeader {
  /** A chain's config ({"inputShape", "layers"}, as every checkpoint before graphs) or a graph's. */
  model: SequentialConfig | GraphConfig;
  training?: {
    optimizer: OptimizerConfig;
    /** One loss, or one per output for a model with several (then metrics are per output too). */
    loss: LossSpec | LossSpec[];
    metrics: string[] | string[][];
    lossWeights?: number[];
    iterations: number;
    /** Epochs completed; a resumed fit starts here. */
    epoch: number;
  };
  layerStates: Record<string, number[]>;
  tensors: TensorEntry[];
  /** Free-form facts worth keeping (dataset, final metrics). */
  notes?: Record<string, unknown>;
  /**
   * How raw input becomes model input: for text models, the vectorizer (vocabulary included) and class
   * names; for tables, the target, task, class names and how each feature column is read.
   */
  preprocessing?: {
    text?: { vectorizer: TextVectorizerConfig; classNames: string[] };
    nextChar?: { vectorizer: TextVectorizerConfig; context: number };
    table?: TablePreprocessing;
  };
}

export function encodeCheckpoint(model: Model, extra: { notes?: Record<string, unknown>; preprocessing?: CheckpointHeader["preprocessing"] } = {}): Uint8Array {
  const kernels = model.kernels;
  const buffers: { name: string; shape: number[]; ptr: number; length: number }[] = [];
  for (const p of model.params) buffers.push({ name: p.name, shape: p.shape, ptr: p.value, length: p.size });
  for (const { param, slots } of model.optimizer?.slotBuffers() ?? []) {
    slots.forEach((ptr, i) => buffers.push({ name: `${param.name}/slot${i}`, shape: param.shape, ptr, length: param.size }));
  }
  let offset = 0;
  const tensors = buffers.map((b) => {
    const entry = { name: b.name, shape: b.shape, offset, length: b.length };
    offset += b.length;
    return entry;
  });
  const header: CheckpointHeader = {
    model: model.toConfig(),
    training: model.optimizer && model.heads.length > 0
      ? {
          optimizer: model.optimizer.getConfig(),
          // One output keeps the form every earlier checkpoint has.
          // (its loss weight only where it is not 1: a regression's target scale, say).
          ...(model.heads.length === 1
            ? { loss: model.heads[0].loss.spec, metrics: model.heads[0].metrics, ...(model.heads[0].weight !== 1 ? { lossWeights: [model.heads[0].weight] } : {}) }
            : { loss: model.heads.map((h) => h.loss.spec), metrics: model.heads.map((h) => h.metrics), lossWeights: model.heads.map((h) => h.weight) }),
          iterations: model.optimizer.iterations,
          epoch: model.epochsTrained,
        }
      : undefined,
    layerStates: model.layerStates(),
    tensors,
    notes: extra.notes,
    ...(extra.preprocessing ? { preprocessing: extra.preprocessing } : {}),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align4(12 + headerBytes.length);
  const total = dataStart + offset * 4 + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, CHECKPOINT_VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  const memory = new Uint8Array(kernels.memory.buffer);
  buffers.forEach((b, i) => {
    const at = dataStart + tensors[i].offset * 4;
    // WebAssembly memory is little-endian on every host, as is the file: a byte copy is exact.
    out.set(memory.subarray(b.ptr, b.ptr + b.length * 4), at);
  });
  view.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

export function decodeCheckpointHeader(bytes: Uint8Array, source: string): { header: CheckpointHeader; data: Uint8Array } {
  if (bytes.length < 16) throw new InputError(`${source}: ${bytes.length} bytes is too short for a wasmgrad checkpoint (truncated?)`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new InputError(`${source}: not a wasmgrad checkpoint (.wgd): wrong magic bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== CHECKPOINT_VERSION) {
    throw new InputError(`${source}: checkpoint format version ${version}; this wasmgrad reads version ${CHECKPOINT_VERSION}`);
  }
  const stored = view.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes.subarray(0, bytes.length - 4));
  if (stored !== actual) throw new InputError(`${source}: checksum mismatch: the file is corrupt or truncated`);
  const headerLength = view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES || 12 + headerLength > bytes.length - 4) {
    throw new InputError(`${source}: header length ${headerLength} exceeds the file`);
  }
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    throw new InputError(`${source}: the checkpoint header is not valid JSON`);
  }
  if (!header || typeof header !== "object" || !Array.isArray(header.tensors) || typeof header.model !== "object") {
    throw new InputError(`${source}: the checkpoint header lacks a model or tensor list`);
  }
  const dataStart = align4(12 + headerLength);
  const data = bytes.subarray(dataStart, bytes.length - 4);
  for (const t of header.tensors) {
    if (!Number.isInteger(t.offset) || !Number.isInteger(t.length) || t.offset < 0 || t.length < 0 || (t.offset + t.length) * 4 > data.length) {
      throw new InputError(`${source}: tensor ${String(t.name)} lies outside the file`);
    }
  }
  return { header, data };
}

/** Rebuilds a model (compiled, with optimizer state, ready to resume) from checkpoint bytes. */
export function decodeCheckpoint(bytes: Uint8Array, source: string, options: { kernels?: Kernels } & CheckpointTrust = {}): { model: Model; header: CheckpointHeader } {
  const { header, data } = decodeCheckpointHeader(bytes, source);
  checkCheckpointHeader(header, data, source);
  const model = modelFromConfig(header.model, { where: `${source} model`, kernels: options.kernels });
  if (header.training) {
    const { iterations, epoch } = header.training;
    if (!Number.isInteger(iterations) || iterations < 0 || !Number.isInteger(epoch) || epoch < 0) {
      throw new InputError(`${source}: the checkpoint's step or epoch count is not a non-negative integer`);
    }
    const { loss, metrics, lossWeights } = header.training;
    const several = Array.isArray(loss);
    const byOutput = (list: unknown) => (Array.isArray(list) ? Object.fromEntries(model.outputNames.map((n, i) => [n, list[i]])) : undefined);
    model.compile({
      optimizer: header.training.optimizer,
      loss,
      metrics: several ? (byOutput(metrics) as Record<string, string[]>) : (metrics as string[]),
      lossWeights,
    });
    model.optimizer!.iterations = header.training.iterations;
    model.epochsTrained = header.training.epoch;
  }
  checkCheckpointContents(model, header, data, source, options);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const floats = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const memory = () => new Float32Array(model.kernels.memory.buffer);
  const fill = (name: string, ptr: number, size: number) => {
    const t = byName.get(name);
    if (!t || t.length !== size) throw new InputError(`${source}: tensor ${name} is missing or has the wrong size`);
    memory().set(floats.subarray(t.offset, t.offset + t.length), ptr >> 2);
  };
  for (const p of model.params) fill(p.name, p.value, p.size);
  for (const { param, slots } of model.optimizer?.slotBuffers() ?? []) slots.forEach((ptr, i) => fill(`${param.name}/slot${i}`, ptr, param.size));
  if (header.layerStates && typeof header.layerStates === "object") model.setLayerStates(header.layerStates);
  return { model, header };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
