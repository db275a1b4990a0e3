// Numeric arrays from files, for feeding models that are not wasmgrad's own: NumPy .npy (what Python
// users save), JSON nested arrays (what anyone can write), and IDX (MNIST). Integers and bytes become
// float32; uint8 images are scaled to [0, 1] as training does. Every header is checked against the bytes
// present before anything is allocated. IDX images stay bytes until asked for: values() converts the
// range a batch needs, so a 1 GiB image file never becomes 4 GiB of floats at once.

import { InputError } from "../errors";
import { parseIdx } from "./idx";
import { describeValue } from "../io/display";
import { checkFinite } from "./finite-values";
import { halfToFloat } from "./float16";
import { checkJsonTextDepth } from "../io/json-depth";

export interface NumericArray {
  dims: number[];
  /** How many values: the product of dims. */
  length: number;
  /**
   * Values [start, end) as float32: a view where the file held them so, converted per call for IDX bytes
   * into one reused buffer — valid until the next call, so copy what must outlive it.
   */
  values(start: number, end: number): Float32Array;
  /**
   * The values as the file stored them, unconverted and unscaled (uint8 stays bytes, int64 stays BigInt,
   * bool is 0/1 bytes): what a model input of an integer or bool type is fed.
   */
  raw?: RawArray;
}

export type ArrayDtype = "float16" | "float32" | "float64" | "int32" | "int64" | "int8" | "uint8" | "bool";
export type RawData = Uint16Array | Float32Array | Float64Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;
export interface RawArray {
  dtype: ArrayDtype;
  data: RawData;
}

/** A NumericArray over float32 values already in memory. */
export function floatArray(dims: number[], data: Float32Array, raw?: RawArray): NumericArray {
  return { dims, length: data.length, values: (start, end) => data.subarray(start, end), raw: raw ?? { dtype: "float32", data } };
}

/** A NumericArray over uint8 pixels, scaled to [0, 1] as training scales them, batch by batch. */
export function byteImageArray(dims: number[], pixels: Uint8Array): NumericArray {
  // One buffer for every call: a fresh one per batch left gigabytes for the collector to catch up with.
  let scratch = new Float32Array(0);
  return {
    dims, length: pixels.length, raw: { dtype: "uint8", data: pixels },
    values: (start, end) => {
      const count = Math.max(0, Math.min(end, pixels.length) - start);
      if (scratch.length < count) scratch = new Float32Array(count);
      const out = scratch.subarray(0, count);
      for (let i = 0; i < count; i++) out[i] = pixels[start + i] / 255;
      return out;
    },
  };
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface ArrayFileOptions {
  /** Accept NaN, ±Inf and values beyond float32's range (default: refuse them; bytes are always finite). */
  allowNonFinite?: boolean;
}

const NON_FINITE_HINT = "use --allow-nonfinite (the allowNonFinite option) to feed it anyway";

export async function readArrayFile(bytes: Uint8Array, source: string, options: ArrayFileOptions = {}): Promise<NumericArray> {
  if (NPY_MAGIC.every((b, i) => bytes[i] === b)) return parseNpy(bytes, source, options);
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first === 0x5b /* [ */) return parseJsonArray(new TextDecoder().decode(bytes), source, options);
  const idx = await parseIdx(bytes, source);
  return byteImageArray(idx.dims, idx.data);
}

interface NpyType {
  dtype: ArrayDtype;
  size: number;
  read: (v: DataView, at: number) => number;
  scale?: number;
  /** The values, copied out of the file's bytes (which need not be aligned) into their own typed array. */
  copy: (bytes: Uint8Array, count: number) => RawData;
}

/** `count` values of a typed array type from possibly unaligned bytes (little-endian, as every host wasmgrad runs on). */
function copyAs<T extends RawData>(make: (buffer: ArrayBuffer) => T, size: number) {
  return (bytes: Uint8Array, count: number): T => make(bytes.slice(0, count * size).buffer);
}

const NPY_TYPES: Record<string, NpyType> = {
  "<f2": { dtype: "float16", size: 2, read: (v, at) => halfToFloat(v.getUint16(at, true)), copy: copyAs((b) => new Uint16Array(b), 2) },
  "<f4": { dtype: "float32", size: 4, read: (v, at) => v.getFloat32(at, true), copy: copyAs((b) => new Float32Array(b), 4) },
  "<f8": { dtype: "float64", size: 8, read: (v, at) => v.getFloat64(at, true), copy: copyAs((b) => new Float64Array(b), 8) },
  "<i4": { dtype: "int32", size: 4, read: (v, at) => v.getInt32(at, true), copy: copyAs((b) => new Int32Array(b), 4) },
  "<i8": { dtype: "int64", size: 8, read: (v, at) => Number(v.getBigInt64(at, true)), copy: copyAs((b) => new BigInt64Array(b), 8) },
  "|u1": { dtype: "uint8", size: 1, read: (v, at) => v.getUint8(at), scale: 1 / 255, copy: copyAs((b) => new Uint8Array(b), 1) },
  "|i1": { dtype: "int8", size: 1, read: (v, at) => v.getInt8(at), copy: copyAs((b) => new Int8Array(b), 1) },
  "|b1": { dtype: "bool", size: 1, read: (v, at) => (v.getUint8(at) ? 1 : 0), copy: (bytes, count) => Uint8Array.from(bytes.subarray(0, count), (b) => (b ? 1 : 0)) },
};

export function parseNpy(bytes: Uint8Array, source: string, options: ArrayFileOptions = {}): NumericArray {
  if (bytes.length < 10) throw new InputError(`${source}: truncated .npy header`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : major === 2 || major === 3 ? 4 : 0;
  if (!lengthBytes) throw new InputError(`${source}: .npy format version ${major} is not supported`);
  if (bytes.length < 8 + lengthBytes) throw new InputError(`${source}: truncated .npy header`);
  const headerLength = lengthBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) throw new InputError(`${source}: the .npy header claims ${headerLength} bytes but the file ends first`);
  const header = new TextDecoder().decode(bytes.subarray(8 + lengthBytes, dataStart));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new InputError(`${source}: the .npy header is not a NumPy array header`);
  const type = NPY_TYPES[descr];
  if (!type) throw new InputError(`${source}: .npy dtype '${descr}' is not supported (use float16, float32, float64, int32, int64, int8, uint8 or bool, little-endian)`);
  if (fortran === "True") throw new InputError(`${source}: Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray`);
  const dims = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new InputError(`${source}: bad .npy shape (${shapeText})`);
  const count = dims.reduce((a, b) => a * b, 1);
  const present = bytes.length - dataStart;
  if (count * type.size !== present) {
    throw new InputError(`${source}: the .npy header promises ${count} values of ${type.size} bytes [${dims.join("×")}] but ${present} bytes follow`);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = type.read(view, dataStart + i * type.size) * (type.scale ?? 1);
  checkFinite(data, `${source}: the array`, { allow: options.allowNonFinite, why: descr === "<f8" ? "float64 values beyond float32's range (±3.4e38) become Inf" : undefined, hint: NON_FINITE_HINT });
  return floatArray(dims, data, type.dtype === "float32" ? undefined : { dtype: type.dtype, data: type.copy(bytes.subarray(dataStart), count) });
}

/** Nested JSON arrays of numbers, rectangular: [[…], […]] → dims [2, …]. */
export function parseJsonArray(text: string, source: string, options: ArrayFileOptions = {}): NumericArray {
  checkJsonTextDepth(text, source);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const dims: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) {
    if (dims.length === 8) throw new InputError(`${source}: lists nested more than 8 deep are not a model input`);
    if (level.length === 0) throw new InputError(`${source}: an empty list cannot be a model input`);
    dims.push(level.length);
  }
  if (dims.length === 0) throw new InputError(`${source}: expected a JSON list of numbers (or of lists), e.g. [[0.1, 0.2], [0.3, 0.4]]`);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  const exact = new Float64Array(data.length);
  let at = 0;
  const walk = (node: unknown, depth: number, path: string) => {
    if (depth === dims.length) {
      if (typeof node !== "number" || !Number.isFinite(node)) throw new InputError(`${source}: ${path} is ${describeValue(node)}, not a finite number`);
      exact[at] = node;
      data[at++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== dims[depth]) {
      throw new InputError(`${source}: ${path} should be a list of ${dims[depth]} (the array is not rectangular: shape [${dims.join(", ")}])`);
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, "value");
  // JSON has no NaN, but 1e39 is a finite number that float32 holds as Inf.
  checkFinite(data, `${source}: the array`, { allow: options.allowNonFinite, why: "beyond float32's range (±3.4e38)", hint: NON_FINITE_HINT });
  // JSON numbers are doubles: the exact values stay for integer inputs (token ids past 2^24).
  return floatArray(dims, data, { dtype: "float64", data: exact });
}
