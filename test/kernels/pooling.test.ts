// Max pooling against the naive reference: batches 1/2/3, square and ragged images (1×1, 2×2, 5×5, 7×4,
// 6×9), channels 1/3/4/5/8, pool windows 2×2, 3×3 and non-square 2×3, strides 1/2/3 (overlapping, tiling
// and gapped windows) and paddings 0/1/2, so windows lie partly — and with padding 2 under a 2×2 window,
// wholly — in the padding. Inputs include plateaus of tied values (every input rounded to a multiple of
// 0.5) so the tie rule is exercised, plus a case with a NaN.
//
// Tolerance: none. The forward pass only compares and copies floats, so outputs and argmax indices must be
// equal bit for bit (−Infinity / −1 for a window wholly in the padding; on ties the first element in
// window order wins). The backward pass adds each dy into dx[argmax] in output order, as the reference
// does, one f32 add each, so dx is bit-identical too, including where overlapping windows share a winner.
// Guard floats after every output buffer must be left untouched by both.

import { describe, expect, test } from "bun:test";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 7;

interface Shape {
  n: number; h: number; w: number; c: number;
  ph: number; pw: number; stride: number; pad: number; oh: number; ow: number;
}

const describeShape = (s: Shape) =>
  `n=${s.n} ${s.h}×${s.w}×${s.c} pool=${s.ph}×${s.pw} s=${s.stride} pad=${s.pad} out=${s.oh}×${s.ow}`;

function sweep(): Shape[] {
  const shapes: Shape[] = [];
  for (const n of [1, 2, 3])
    for (const [h, w] of [[1, 1], [2, 2], [5, 5], [7, 4], [6, 9]])
      for (const c of [1, 3, 4, 5, 8])
        for (const [ph, pw] of [[2, 2], [3, 3], [2, 3]])
          for (const stride of [1, 2, 3])
            for (const pad of [0, 1, 2]) {
              if (n > 1 && c !== 3 && c !== 5) continue;
              const oh = Math.floor((h + 2 * pad - ph) / stride) + 1;
              const ow = Math.floor((w + 2 * pad - pw) / stride) + 1;
              if (oh >= 1 && ow >= 1) shapes.push({ n, h, w, c, ph, pw, stride, pad, oh, ow });
            }
  return shapes;
}

const inputSize = (s: Shape) => s.n * s.h * s.w * s.c;
const outputSize = (s: Shape) => s.n * s.oh * s.ow * s.c;

/** First index where a and b differ (NaN equals NaN), or −1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return i;
  return -1;
}

function inputs(s: Shape, tied: boolean): Float32Array {
  const x = seededValues(inputSize(s), s.h * 37 + s.w * 3 + s.c + s.n, -2, 2);
  if (tied) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i] * 2) / 2;
  return x;
}

function forwardCase(heaps: TwinHeaps, s: Shape, x: Float32Array): string[] {
  const mark = heaps.fast.mark();
  const size = outputSize(s);
  const xp = heaps.floats(x.length, x);
  const y = heaps.floats(size + GUARD, seededValues(size + GUARD, 99, 50, 60));
  const argmax = heaps.ints(Array.from({ length: size + GUARD }, (_, i) => 1000 + i));
  heaps.run((k) => k.maxPoolForward(xp, s.n, s.h, s.w, s.c, s.ph, s.pw, s.stride, s.pad, s.pad, s.oh, s.ow, y, argmax));
  const ys = heaps.both(y, size + GUARD);
  const idx = { fast: heaps.fast.i32(argmax, size + GUARD).slice(), reference: heaps.reference.i32(argmax, size + GUARD).slice() };
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const failures: string[] = [];
  const yAt = firstDifference(ys.fast, ys.reference);
  if (yAt >= 0) failures.push(`forward ${describeShape(s)}: y[${yAt}] got ${ys.fast[yAt]} want ${ys.reference[yAt]}`);
  const iAt = firstDifference(idx.fast, idx.reference);
  if (iAt >= 0) failures.push(`forward ${describeShape(s)}: argmax[${iAt}] got ${idx.fast[iAt]} want ${idx.reference[iAt]}`);
  return failures;
}

function backwardCase(heaps: TwinHeaps, s: Shape, x: Float32Array): string | null {
  const mark = heaps.fast.mark();
  const outSize = outputSize(s), inSize = inputSize(s);
  const xp = heaps.floats(x.length, x);
  const y = heaps.floats(outSize);
  // argmax comes from the reference forward pass and is copied into both heaps, so the backward pass is
  // tested on its own even if the forward passes disagreed.
  const argmax = heaps.floats(outSize);
  heaps.reference.kernels.maxPoolForward(xp, s.n, s.h, s.w, s.c, s.ph, s.pw, s.stride, s.pad, s.pad, s.oh, s.ow, y, argmax);
  heaps.fast.i32(argmax, outSize).set(heaps.reference.i32(argmax, outSize));
  const dy = heaps.floats(outSize, seededValues(outSize, outSize + 3));
  const dx = heaps.floats(inSize + GUARD, seededValues(inSize + GUARD, 55, 50, 60));
  heaps.run((k) => k.maxPoolBackward(dy, argmax, outSize, dx, inSize));
  const { fast, reference } = heaps.both(dx, inSize + GUARD);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const at = firstDifference(fast, reference);
  if (at < 0) return null;
  return `backward ${describeShape(s)}: dx[${at}${at >= inSize ? " (guard)" : ""}] got ${fast[at]} want ${reference[at]}`;
}

const shapes = sweep();

for (const variant of wasmVariants()) {
  describe(`max pooling (${variant.name})`, () => {
    test(`forward outputs and argmax indices are identical over ${shapes.length} shapes, distinct and tied inputs`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const s of shapes)
        for (const tied of [false, true]) failures.push(...forwardCase(heaps, s, inputs(s, tied)).map((f) => `${f}${tied ? " (tied)" : ""}`));
      expect(failures).toEqual([]);
    });

    test(`inference (argmax = 0) gives the very same outputs over ${shapes.length} shapes, tied inputs and NaN included`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const s of shapes)
        for (const tied of [false, true]) {
          const x = inputs(s, tied);
          if (tied) x[0] = NaN;
          const mark = heaps.fast.mark();
          const size = outputSize(s);
          const xp = heaps.floats(x.length, x);
          const withIndex = heaps.floats(size), argmax = heaps.floats(size), without = heaps.floats(size + GUARD, seededValues(size + GUARD, 7, 50, 60));
          heaps.fast.kernels.maxPoolForward(xp, s.n, s.h, s.w, s.c, s.ph, s.pw, s.stride, s.pad, s.pad, s.oh, s.ow, withIndex, argmax);
          heaps.fast.kernels.maxPoolForward(xp, s.n, s.h, s.w, s.c, s.ph, s.pw, s.stride, s.pad, s.pad, s.oh, s.ow, without, 0);
          const a = heaps.fast.f32(withIndex, size).slice(), b = heaps.fast.f32(without, size + GUARD).slice();
          const at = firstDifference(a, b.subarray(0, size));
          if (at >= 0) failures.push(`${describeShape(s)}: y[${at}] ${b[at]} without indices, ${a[at]} with`);
          if (b.subarray(size).some((v, i) => v !== seededValues(size + GUARD, 7, 50, 60)[size + i])) failures.push(`${describeShape(s)}: guard overwritten`);
          heaps.fast.release(mark);
          heaps.reference.release(mark);
        }
      expect(failures).toEqual([]);
    });

    test("windows wholly in the padding give −Infinity and argmax −1 in both", () => {
      const heaps = new TwinHeaps(variant.make());
      // 2×2 image, 2×2 pool, stride 2, padding 2: the corner windows see only padding.
      const s: Shape = { n: 1, h: 2, w: 2, c: 3, ph: 2, pw: 2, stride: 2, pad: 2, oh: 3, ow: 3 };
      expect(forwardCase(heaps, s, inputs(s, false))).toEqual([]);
      const x = heaps.floats(12, inputs(s, false));
      const y = heaps.floats(27);
      const argmax = heaps.floats(27);
      heaps.fast.kernels.maxPoolForward(x, 1, 2, 2, 3, 2, 2, 2, 2, 2, 3, 3, y, argmax);
      expect(heaps.fast.f32(y, 3)[0]).toBe(-Infinity);
      expect(heaps.fast.i32(argmax, 3)[0]).toBe(-1);
    });

    test("a NaN in a window wins it in both, so it propagates", () => {
      const heaps = new TwinHeaps(variant.make());
      const s: Shape = { n: 1, h: 5, w: 5, c: 3, ph: 3, pw: 3, stride: 2, pad: 1, oh: 3, ow: 3 };
      const x = inputs(s, false);
      x[(2 * 5 + 2) * 3 + 1] = NaN;
      expect(forwardCase(heaps, s, x)).toEqual([]);
    });

    test(`backward scatters dy to the recorded argmax identically over ${shapes.length} shapes (dx starts dirty)`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const s of shapes)
        for (const tied of [false, true]) {
          const failure = backwardCase(heaps, s, inputs(s, tied));
          if (failure) failures.push(`${failure}${tied ? " (tied)" : ""}`);
        }
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: a corrupted argmax or dx element is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const x = heaps.floats(75, seededValues(75, 3));
      const y = heaps.floats(27);
      const argmax = heaps.floats(27);
      heaps.run((k) => k.maxPoolForward(x, 1, 5, 5, 3, 3, 3, 2, 1, 1, 3, 3, y, argmax));
      heaps.fast.i32(argmax, 27)[5] += 3;
      expect(firstDifference(heaps.fast.i32(argmax, 27), heaps.reference.i32(argmax, 27))).toBe(5);
      const dy = heaps.floats(27, seededValues(27, 4));
      const dx = heaps.floats(75);
      heaps.run((k) => k.maxPoolBackward(dy, argmax, 27, dx, 75));
      const d = heaps.both(dx, 75);
      expect(firstDifference(d.fast, d.reference)).toBeGreaterThanOrEqual(0);
    });
  });
}
