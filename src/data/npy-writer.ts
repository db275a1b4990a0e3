// NumPy .npy files out: the format version 1.0 header (magic, version, a Python dict literal padded with
// spaces so the data starts on a 64-byte boundary) and the values little-endian, as np.load reads them.
// Used by `wasmgrad infer --output` to save a model's outputs raw; saving goes through writeFileAtomic.

import { writeFileAtomic } from "../io/atomic-file";

/** Typed arrays .npy can hold, by the dtype names onnxruntime uses for tensors. */
const DESCR: Record<string, string> = {
  float32: "<f4", float64: "<f8", float16: "<f2",
  int8: "|i1", uint8: "|u1", int16: "<i2", uint16: "<u2", int32: "<i4", uint32: "<u4", int64: "<i8", uint64: "<u8",
  bool: "|b1",
};

export type NpyData = ArrayBufferView & { length: number };

/** Whether encodeNpy can write this dtype (strings cannot be). */
export function npyWritable(dtype: string): boolean {
  return dtype in DESCR;
}

/** The bytes of a .npy file holding `data` (C order) shaped `dims`, of the ONNX Runtime dtype `dtype`. */
export function encodeNpy(dtype: string, dims: readonly number[], data: NpyData): Uint8Array {
  const descr = DESCR[dtype];
  if (!descr) throw new Error(`.npy cannot hold ${dtype} values`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: ${data.length} values for shape [${dims.join(", ")}]`);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // 10 bytes of magic, version and length, then the header ending in a newline, all a multiple of 64.
  const padded = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header + " ".repeat(padded - 10 - header.length - 1) + "\n";
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(padded + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  // bool tensors come as bytes; anything non-zero is True, and NumPy wants exactly 0 or 1.
  if (dtype === "bool") out.set(Uint8Array.from(body, (b) => (b ? 1 : 0)), padded);
  else out.set(body, padded);
  return out;
}

/** Saves an array as .npy without ever leaving a half-written file (src/io/atomic-file.ts). */
export function saveNpy(path: string, dtype: string, dims: readonly number[], data: NpyData): void {
  writeFileAtomic(path, encodeNpy(dtype, dims, data));
}
