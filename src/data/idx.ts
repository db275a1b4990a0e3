// Reader for the IDX format of MNIST and Fashion-MNIST (gzipped or raw):
//   magic: 0x00 0x00 <type code> <number of dims>; then one big-endian u32 per dim; then the data.
// Only unsigned-byte data (type 0x08) is used by these datasets, and it is all we accept.
// The header is checked against the bytes actually present before anything is allocated, so a file
// that claims a huge size cannot make us allocate it; gzipped, the header read from the first inflated
// bytes fixes the size the stream must inflate to, so a bomb stops at the first byte too many.

import { InputError } from "../errors";
import { gunzip, isGzip } from "./gzip";

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;

export async function parseIdx(bytes: Uint8Array, source: string): Promise<IdxArray> {
  const raw = isGzip(bytes) ? await gunzip(bytes, source, { sizeFromHead: (head) => sizeFromHead(head, source) }) : bytes;
  const { dims, headerBytes, values } = readHeader(raw, source);
  const present = raw.length - headerBytes;
  if (present < values) {
    throw new InputError(`${source}: truncated: the header promises ${values} values [${dims.join("×")}] but only ${present} bytes follow`);
  }
  if (present > values) {
    throw new InputError(`${source}: ${present - values} unexpected bytes after the ${values} values the header describes`);
  }
  return { dims, data: raw.subarray(headerBytes) };
}

/** The file's size as its header states it; undefined until the header is in; an error as soon as it cannot be one. */
function sizeFromHead(head: Uint8Array, source: string): number | undefined {
  if (head.length < 4) return undefined;
  const rank = head[3];
  if (rank >= 1 && rank <= 4 && head.length < 4 + 4 * rank) return undefined;
  return readHeader(head, source).fileBytes;
}

/** The header at the start of `raw` (which may hold more than the header), checked. */
function readHeader(raw: Uint8Array, source: string): { dims: number[]; headerBytes: number; values: number; fileBytes: number } {
  if (raw.length < 4) throw new InputError(`${source}: ${raw.length} bytes is too short for an IDX file (truncated?)`);
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new InputError(`${source}: not an IDX file (the first two bytes must be zero; got ${hex(raw[0])} ${hex(raw[1])})`);
  }
  if (raw[2] !== UNSIGNED_BYTE) {
    throw new InputError(`${source}: IDX data type ${hex(raw[2])} is not supported (only unsigned bytes, 0x08, as in MNIST)`);
  }
  const rank = raw[3];
  if (rank < 1 || rank > 4) throw new InputError(`${source}: an IDX file with ${rank} dimensions is not an image or label file`);
  const headerBytes = 4 + 4 * rank;
  if (raw.length < headerBytes) throw new InputError(`${source}: the IDX header is truncated (${raw.length} of ${headerBytes} bytes)`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let values = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) throw new InputError(`${source}: dimension ${i} is zero`);
    dims.push(d);
    values *= d;
  }
  return { dims, headerBytes, values, fileBytes: headerBytes + values };
}

/** Builds an IDX file (unsigned bytes) — for the embedded sample and for tests. */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = UNSIGNED_BYTE;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(byte: number | undefined): string {
  return `0x${(byte ?? 0).toString(16).padStart(2, "0")}`;
}
