// im2col and col2im against the naive reference loops, over batches 1/2/3, square and ragged images (1×1,
// 5×5, 7×4, 6×9), channels 1/3/4/5/8 (below, at and past one v128 of 4 lanes), square kernels 1/3/5 and
// non-square 1×3 / 3×2, strides 1/2/3 and paddings 0/1/2 (windows partly or, for 1×1 images, almost wholly
// in the padding), plus TF-style asymmetric "same" padding (padTop ≠ padBottom).
//
// Tolerance: none — results must be bit-identical. im2col only copies floats and writes zeros; col2im sums
// each input pixel's taps in the same (image, oy, ox, ky, kx) order as the reference, one f32 add per tap,
// and a v128 f32x4.add is four independent IEEE f32 adds, so no rounding can differ. Each output buffer is
// followed by guard floats that both kernels must leave untouched (a SIMD tail overrun shows up there).
//
// Independent property: col2im is the adjoint of im2col, <im2col(x), y> = <x, col2im(y)>. It is computed
// with the reference only, so a shared misunderstanding of the layout in both backends cannot hide. Both
// sides are f64 dot products; col2im rounds its sums to f32, so the tolerance is 1e-6 · Σ|im2col(x)|·|y|
// (a few f32 ulps of the sum of magnitudes); a misplaced tap moves the result by whole terms.

import { describe, expect, test } from "bun:test";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Heap } from "../../src/engine/heap";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 7;

interface Shape {
  n: number; h: number; w: number; c: number;
  kh: number; kw: number; stride: number; padTop: number; padLeft: number; oh: number; ow: number;
}

function describeShape(s: Shape): string {
  return `n=${s.n} ${s.h}×${s.w}×${s.c} k=${s.kh}×${s.kw} s=${s.stride} pad=${s.padTop},${s.padLeft} out=${s.oh}×${s.ow}`;
}

/** Output size with padTop/padLeft before and padBottom/padRight after; null when no window fits. */
function shapeOf(n: number, h: number, w: number, c: number, kh: number, kw: number, stride: number,
  padTop: number, padBottom: number, padLeft: number, padRight: number): Shape | null {
  const oh = Math.floor((h + padTop + padBottom - kh) / stride) + 1;
  const ow = Math.floor((w + padLeft + padRight - kw) / stride) + 1;
  if (oh < 1 || ow < 1) return null;
  return { n, h, w, c, kh, kw, stride, padTop, padLeft, oh, ow };
}

function sweep(): Shape[] {
  const shapes: Shape[] = [];
  const images = [[1, 1], [5, 5], [7, 4], [6, 9]];
  const kernels = [[1, 1], [3, 3], [5, 5], [1, 3], [3, 2]];
  for (const n of [1, 2, 3])
    for (const [h, w] of images)
      for (const c of [1, 3, 4, 5, 8])
        for (const [kh, kw] of kernels)
          for (const stride of [1, 2, 3])
            for (const pad of [0, 1, 2]) {
              // Batch 2 and 3 only with a subset of channel counts, to keep the sweep fast.
              if (n > 1 && c !== 3 && c !== 5) continue;
              const s = shapeOf(n, h, w, c, kh, kw, stride, pad, pad, pad, pad);
              if (s) shapes.push(s);
            }
  // TF "same" padding: total = max((out − 1)·s + k − in, 0), top = ⌊total/2⌋, the odd one at the bottom.
  for (const [h, w] of [[5, 5], [7, 4], [6, 9], [8, 8]])
    for (const [kh, kw] of [[2, 2], [3, 3], [4, 4], [5, 2]])
      for (const stride of [1, 2, 3]) {
        const oh = Math.ceil(h / stride), ow = Math.ceil(w / stride);
        const th = Math.max((oh - 1) * stride + kh - h, 0), tw = Math.max((ow - 1) * stride + kw - w, 0);
        const s = shapeOf(2, h, w, 3, kh, kw, stride, th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1));
        if (s) shapes.push(s);
      }
  return shapes;
}

const colSize = (s: Shape) => s.n * s.oh * s.ow * s.kh * s.kw * s.c;
const imageSize = (s: Shape) => s.n * s.h * s.w * s.c;

/** First index where a and b differ bit-for-bit (NaN equals NaN, +0 equals −0), or −1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return i;
  return -1;
}

function im2colCase(heaps: TwinHeaps, s: Shape): string | null {
  const mark = heaps.fast.mark();
  const size = colSize(s);
  const x = heaps.floats(imageSize(s), seededValues(imageSize(s), s.h * 131 + s.w * 7 + s.c));
  // The output starts full of junk (and guard floats past its end) so that every element must be written.
  const col = heaps.floats(size + GUARD, seededValues(size + GUARD, 4242, 50, 60));
  heaps.run((k) => k.im2col(x, s.n, s.h, s.w, s.c, s.kh, s.kw, s.stride, s.padTop, s.padLeft, s.oh, s.ow, col));
  const { fast, reference } = heaps.both(col, size + GUARD);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const at = firstDifference(fast, reference);
  if (at < 0) return null;
  return `im2col ${describeShape(s)}: col[${at}${at >= size ? " (guard)" : ""}] got ${fast[at]} want ${reference[at]}`;
}

function col2imCase(heaps: TwinHeaps, s: Shape): string | null {
  const mark = heaps.fast.mark();
  const size = imageSize(s);
  const col = heaps.floats(colSize(s), seededValues(colSize(s), s.kh * 17 + s.stride * 5 + s.c));
  const dx = heaps.floats(size + GUARD, seededValues(size + GUARD, 777, 50, 60));
  heaps.run((k) => k.col2im(col, s.n, s.h, s.w, s.c, s.kh, s.kw, s.stride, s.padTop, s.padLeft, s.oh, s.ow, dx));
  const { fast, reference } = heaps.both(dx, size + GUARD);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const at = firstDifference(fast, reference);
  if (at < 0) return null;
  return `col2im ${describeShape(s)}: dx[${at}${at >= size ? " (guard)" : ""}] got ${fast[at]} want ${reference[at]}`;
}

const shapes = sweep();

for (const variant of wasmVariants()) {
  describe(`im2col / col2im (${variant.name})`, () => {
    test(`im2col is bit-identical to the reference over ${shapes.length} shapes`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const s of shapes) {
        const failure = im2colCase(heaps, s);
        if (failure) failures.push(failure);
      }
      expect(failures).toEqual([]);
    });

    test(`col2im is bit-identical to the reference over ${shapes.length} shapes (dx starts dirty)`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const s of shapes) {
        const failure = col2imCase(heaps, s);
        if (failure) failures.push(failure);
      }
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: a corrupted column or image element is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const s = shapeOf(1, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1)!;
      const x = heaps.floats(imageSize(s), seededValues(imageSize(s), 1));
      const col = heaps.floats(colSize(s));
      heaps.run((k) => k.im2col(x, 1, 5, 5, 3, 3, 3, 1, 1, 1, 5, 5, col));
      heaps.fast.f32(col, colSize(s))[100] += 1e-6;
      const c = heaps.both(col, colSize(s));
      expect(firstDifference(c.fast, c.reference)).toBe(100);

      const dx = heaps.floats(imageSize(s));
      heaps.run((k) => k.col2im(col, 1, 5, 5, 3, 3, 3, 1, 1, 1, 5, 5, dx));
      const d = heaps.both(dx, imageSize(s));
      expect(firstDifference(d.fast, d.reference)).toBeGreaterThanOrEqual(0);
    });
  });
}

describe("im2col / col2im adjointness (reference only, an independent property)", () => {
  test(`<im2col(x), y> = <x, col2im(y)> over ${shapes.length} shapes`, () => {
    const heap = new Heap(createReferenceKernels());
    const k: Kernels = heap.kernels;
    const failures: string[] = [];
    for (const s of shapes) {
      const mark = heap.mark();
      const xs = seededValues(imageSize(s), s.n * 3 + s.h + s.c);
      const ys = seededValues(colSize(s), s.w * 11 + s.kw + s.stride);
      const x = heap.allocFloats(xs.length);
      const y = heap.allocFloats(ys.length);
      const colX = heap.allocFloats(ys.length);
      const dxY = heap.allocFloats(xs.length);
      heap.f32(x, xs.length).set(xs);
      heap.f32(y, ys.length).set(ys);
      k.im2col(x, s.n, s.h, s.w, s.c, s.kh, s.kw, s.stride, s.padTop, s.padLeft, s.oh, s.ow, colX);
      k.col2im(y, s.n, s.h, s.w, s.c, s.kh, s.kw, s.stride, s.padTop, s.padLeft, s.oh, s.ow, dxY);
      const cx = heap.f32(colX, ys.length), dy = heap.f32(dxY, xs.length);
      let left = 0, right = 0, magnitude = 0;
      for (let i = 0; i < ys.length; i++) {
        left += cx[i] * ys[i];
        magnitude += Math.abs(cx[i] * ys[i]);
      }
      for (let i = 0; i < xs.length; i++) right += xs[i] * dy[i];
      if (!(Math.abs(left - right) <= 1e-6 * magnitude + 1e-12))
        failures.push(`${describeShape(s)}: <im2col(x),y> = ${left} but <x,col2im(y)> = ${right}`);
      heap.release(mark);
    }
    expect(failures).toEqual([]);
  });

  test("the adjoint check can fail: col2im with the padding shifted by one is not im2col's adjoint", () => {
    const heap = new Heap(createReferenceKernels());
    const k: Kernels = heap.kernels;
    const s = shapeOf(1, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1)!;
    const x = heap.allocFloats(imageSize(s)), y = heap.allocFloats(colSize(s));
    const colX = heap.allocFloats(colSize(s)), dxY = heap.allocFloats(imageSize(s));
    heap.f32(x, imageSize(s)).set(seededValues(imageSize(s), 5));
    heap.f32(y, colSize(s)).set(seededValues(colSize(s), 6));
    k.im2col(x, 1, 5, 5, 3, 3, 3, 1, 1, 1, 5, 5, colX);
    k.col2im(y, 1, 5, 5, 3, 3, 3, 1, 1, 0, 5, 5, dxY);
    let left = 0, right = 0;
    for (let i = 0; i < colSize(s); i++) left += heap.f32(colX, colSize(s))[i] * heap.f32(y, colSize(s))[i];
    for (let i = 0; i < imageSize(s); i++) right += heap.f32(x, imageSize(s))[i] * heap.f32(dxY, imageSize(s))[i];
    expect(Math.abs(left - right)).toBeGreaterThan(0.1);
  });
});
