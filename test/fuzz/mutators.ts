// A small structure-aware fuzzer for wasmgrad's file readers: seeded, so any failure replays from its
// case number. Mutations are what damaged and hostile files look like: truncation, bit flips, runs of
// 0x00/0xff over length fields, splices, and (for text) deleted characters and swapped values.

import { Rng } from "../../src/engine/rng";

export type Mutation = (bytes: Uint8Array, rng: Rng) => Uint8Array;

const pick = (rng: Rng, n: number) => Math.floor(rng.next() * n);

export const byteMutations: Record<string, Mutation> = {
  truncate: (b, rng) => b.subarray(0, pick(rng, b.length)),
  flipBits: (b, rng) => {
    const out = b.slice();
    for (let i = 1 + pick(rng, 8); i > 0; i--) out[pick(rng, out.length)] ^= 1 << pick(rng, 8);
    return out;
  },
  /** Overwrites 4 bytes in the first 64 (where headers and their length fields live) with 0xff or 0x00. */
  clobberHeader: (b, rng) => {
    const out = b.slice();
    const at = pick(rng, Math.min(64, out.length));
    out.fill(rng.next() < 0.5 ? 0xff : 0x00, at, at + 4);
    return out;
  },
  /** Sets a big-endian u32 dimension field to a huge, zero or "negative" value. */
  hostileDimension: (b, rng) => {
    const out = b.slice();
    if (out.length < 8) return out;
    const field = 4 + 4 * pick(rng, Math.max(1, Math.min(4, (out.length - 4) >> 2)));
    const value = [0, 0xffffffff, 0x80000000, 0x7fffffff, 1 << 20][pick(rng, 5)];
    new DataView(out.buffer, out.byteOffset).setUint32(Math.min(field, out.length - 4), value, false);
    return out;
  },
  splice: (b, rng) => {
    const cut = pick(rng, b.length);
    const from = pick(rng, b.length);
    const piece = b.subarray(from, from + pick(rng, 64));
    return Uint8Array.from([...b.subarray(0, cut), ...piece, ...b.subarray(cut)]);
  },
  randomBytes: (_b, rng) => Uint8Array.from({ length: pick(rng, 128) }, () => pick(rng, 256)),
};

export const textMutations: Record<string, (text: string, rng: Rng) => string> = {
  deleteChar: (t, rng) => {
    const i = pick(rng, t.length);
    return t.slice(0, i) + t.slice(i + 1);
  },
  truncate: (t, rng) => t.slice(0, pick(rng, t.length)),
  /** Replaces a number with a hostile one. */
  hostileNumber: (t, rng) => {
    const numbers = [...t.matchAll(/-?\d+(\.\d+)?/g)];
    if (numbers.length === 0) return t;
    const m = numbers[pick(rng, numbers.length)];
    const value = ["0", "-1", "1e308", "-5", "3.5", "2147483648", "NaN", '"7"', "null", "[]"][pick(rng, 10)];
    return t.slice(0, m.index!) + value + t.slice(m.index! + m[0].length);
  },
  /** Replaces a string value with another plausible or hostile one. */
  hostileString: (t, rng) => {
    const strings = [...t.matchAll(/"[A-Za-z0-9_]*"/g)];
    if (strings.length === 0) return t;
    const m = strings[pick(rng, strings.length)];
    const value = ['"Dense"', '"Conv2D"', '"softmax"', '"same"', '""', "1", "null", "{}", '"__proto__"', '"constructor"'][pick(rng, 10)];
    return t.slice(0, m.index!) + value + t.slice(m.index! + m[0].length);
  },
};

export function mutate(bytes: Uint8Array, rng: Rng): { name: string; bytes: Uint8Array } {
  const names = Object.keys(byteMutations);
  const name = names[pick(rng, names.length)];
  return { name, bytes: byteMutations[name](bytes, rng) };
}

export function mutateText(text: string, rng: Rng): { name: string; text: string } {
  const names = Object.keys(textMutations);
  let out = text;
  const applied: string[] = [];
  for (let i = 1 + pick(rng, 3); i > 0; i--) {
    const name = names[pick(rng, names.length)];
    out = textMutations[name](out, rng);
    applied.push(name);
  }
  return { name: applied.join("+"), text: out };
}
