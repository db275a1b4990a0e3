// im2colGeneral / col2imGeneral (channel groups, a stride and a dilation per axis) against the naive
// reference loops. Sweep: batches 1 and 2; images 1×1, 5×5, 7×4, 6×9; channels 1/3/4/5/8/12 split into
// every group count among 1, 2, 3, 4, 6, 12 that divides them (so 1, 2, 3, 4, 5, 6, 8 or 12 channels per
// group: below, at and past one 4-lane vector); kernels 1×1, 3×3, 1×3, 3×2; strides [1,1], [2,2], [1,2], [3,1];
// dilations [1,1], [2,2], [1,3]; padding none, 1 on every side, and asymmetric [[0,2],[1,0]] and
// [[2,1],[0,3]] (more padding at the bottom/right than the top/left, which the output size alone implies).
// Plus: groups = 1, unit dilation and equal strides must give exactly what the old im2col/col2im give.
//
// Tolerance: none — results must be bit-identical, for im2col's reason (it only copies floats and writes
// zeros) and col2im's (each input sums its taps in the reference's (image, oy, ox, group, ky, kx) order,
// one f32 add each; f32x4.add is four independent IEEE adds). Guard floats after each output must survive.
//
// Independent property (reference only, so a layout misunderstanding shared by both backends cannot hide):
// <im2colGeneral(x), y> = <x, col2imGeneral(y)>, f64 dot products, tolerance 1e-6 · Σ|terms|.

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 7;

interface Shape {
  n: number; h: number; w: number; c: number; groups: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  padTop: number; padLeft: number; oh: number; ow: number;
}

const describeShape = (s: Shape) =>
  `n=${s.n} ${s.h}×${s.w}×${s.c} groups=${s.groups} k=${s.kh}×${s.kw} s=${s.sh},${s.sw} d=${s.dh},${s.dw} pad=${s.padTop},${s.padLeft} out=${s.oh}×${s.ow}`;

const args = (s: Shape) =>
  [s.n, s.h, s.w, s.c, s.groups, s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.padTop, s.padLeft, s.oh, s.ow] as const;

function sweep(): Shape[] {
  const shapes: Shape[] = [];
  const pads: [number, number, number, number][] = [[0, 0, 0, 0], [1, 1, 1, 1], [0, 2, 1, 0], [2, 1, 0, 3]];
  for (const n of [1, 2])
    for (const [h, w] of [[1, 1], [5, 5], [7, 4], [6, 9]])
      for (const c of [1, 3, 4, 5, 8, 12])
        for (const groups of [1, 2, 3, 4, 6, 12]) {
          if (c % groups !== 0) continue;
          for (const [kh, kw] of [[1, 1], [3, 3], [1, 3], [3, 2]])
            for (const [sh, sw] of [[1, 1], [2, 2], [1, 2], [3, 1]])
              for (const [dh, dw] of [[1, 1], [2, 2], [1, 3]])
                for (const [top, bottom, left, right] of pads) {
                  // Batch 2 only for a few channel counts, and dilation only with unit strides or 2×2, to keep it quick.
                  if (n > 1 && c !== 5 && c !== 12) continue;
                  if ((dh > 1 || dw > 1) && sh !== sw) continue;
                  const oh = Math.floor((h + top + bottom - (kh - 1) * dh - 1) / sh) + 1;
                  const ow = Math.floor((w + left + right - (kw - 1) * dw - 1) / sw) + 1;
                  if (oh >= 1 && ow >= 1) shapes.push({ n, h, w, c, groups, kh, kw, sh, sw, dh, dw, padTop: top, padLeft: left, oh, ow });
                }
        }
  return shapes;
}

const colSize = (s: Shape) => s.n * s.oh * s.ow * s.kh * s.kw * s.c;
const imageSize = (s: Shape) => s.n * s.h * s.w * s.c;

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return i;
  return -1;
}

function im2colCase(heaps: TwinHeaps, s: Shape, misalign: boolean): string | null {
  const mark = heaps.fast.mark();
  const size = colSize(s), skew = misalign ? 4 : 0;
  const x = heaps.floats(imageSize(s) + 1, seededValues(imageSize(s) + 1, s.h * 131 + s.w * 7 + s.c + s.groups)) + skew;
  const col = heaps.floats(size + GUARD + 1, seededValues(size + GUARD + 1, 4242, 50, 60)) + skew;
  heaps.run((k) => k.im2colGeneral(x, ...args(s), col));
  const { fast, reference } = heaps.both(col, size + GUARD);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const at = firstDifference(fast, reference);
  return at < 0 ? null : `im2colGeneral ${describeShape(s)}: col[${at}${at >= size ? " (guard)" : ""}] got ${fast[at]} want ${reference[at]}`;
}

function col2imCase(heaps: TwinHeaps, s: Shape, misalign: boolean): string | null {
  const mark = heaps.fast.mark();
  const size = imageSize(s), skew = misalign ? 4 : 0;
  const col = heaps.floats(colSize(s) + 1, seededValues(colSize(s) + 1, s.kh * 17 + s.sh * 5 + s.c + s.dh)) + skew;
  const dx = heaps.floats(size + GUARD + 1, seededValues(size + GUARD + 1, 777, 50, 60)) + skew;
  heaps.run((k) => k.col2imGeneral(col, ...args(s), dx));
  const { fast, reference } = heaps.both(dx, size + GUARD);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const at = firstDifference(fast, reference);
  return at < 0 ? null : `col2imGeneral ${describeShape(s)}: dx[${at}${at >= size ? " (guard)" : ""}] got ${fast[at]} want ${reference[at]}`;
}

const shapes = sweep();

for (const variant of wasmVariants()) {
  describe(`im2colGeneral / col2imGeneral (${variant.name})`, () => {
    test(`im2colGeneral is bit-identical to the reference over ${shapes.length} shapes (every other one misaligned by a float)`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures = shapes.map((s, i) => im2colCase(heaps, s, i % 2 === 1)).filter((f) => f !== null);
      expect(failures).toEqual([]);
    });

    test(`col2imGeneral is bit-identical to the reference over ${shapes.length} shapes (dx starts dirty)`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures = shapes.map((s, i) => col2imCase(heaps, s, i % 2 === 0)).filter((f) => f !== null);
      expect(failures).toEqual([]);
    });

    test("with one group, unit dilation and equal strides it is exactly im2col / col2im", () => {
      const heaps = new TwinHeaps(variant.make());
      const k = heaps.fast.kernels;
      const failures: string[] = [];
      for (const s of shapes.filter((t) => t.groups === 1 && t.dh === 1 && t.dw === 1 && t.sh === t.sw)) {
        const mark = heaps.fast.mark();
        const x = heaps.floats(imageSize(s), seededValues(imageSize(s), 3));
        const a = heaps.floats(colSize(s)), b = heaps.floats(colSize(s));
        k.im2col(x, s.n, s.h, s.w, s.c, s.kh, s.kw, s.sh, s.padTop, s.padLeft, s.oh, s.ow, a);
        k.im2colGeneral(x, ...args(s), b);
        const dxA = heaps.floats(imageSize(s)), dxB = heaps.floats(imageSize(s));
        k.col2im(a, s.n, s.h, s.w, s.c, s.kh, s.kw, s.sh, s.padTop, s.padLeft, s.oh, s.ow, dxA);
        k.col2imGeneral(a, ...args(s), dxB);
        if (firstDifference(heaps.fast.f32(a, colSize(s)), heaps.fast.f32(b, colSize(s))) >= 0) failures.push(`im2col ${describeShape(s)}`);
        if (firstDifference(heaps.fast.f32(dxA, imageSize(s)), heaps.fast.f32(dxB, imageSize(s))) >= 0) failures.push(`col2im ${describeShape(s)}`);
        heaps.fast.release(mark);
        heaps.reference.release(mark);
      }
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: a group layout swapped in the fast result is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const s = shapes.find((t) => t.groups === 2 && t.c === 4 && t.h === 5 && t.kh === 3 && t.kw === 3 && t.padTop === 1 && t.sh === 1 && t.dh === 1)!;
      const x = heaps.floats(imageSize(s), seededValues(imageSize(s), 1));
      const col = heaps.floats(colSize(s));
      heaps.run((k) => k.im2colGeneral(x, ...args(s), col));
      // Lay the fast result out as groups = 1 would (tap-major): it must no longer match.
      heaps.fast.kernels.im2colGeneral(x, s.n, s.h, s.w, s.c, 1, s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.padTop, s.padLeft, s.oh, s.ow, col);
      const c = heaps.both(col, colSize(s));
      expect(firstDifference(c.fast, c.reference)).toBeGreaterThanOrEqual(0);
    });
  });
}

describe("im2colGeneral / col2imGeneral adjointness (reference only)", () => {
  test(`<im2colGeneral(x), y> = <x, col2imGeneral(y)> over ${shapes.length} shapes`, () => {
    const heap = new Heap(createReferenceKernels());
    const k = heap.kernels;
    const failures: string[] = [];
    for (const s of shapes) {
      const mark = heap.mark();
      const xs = seededValues(imageSize(s), s.n * 3 + s.h + s.c), ys = seededValues(colSize(s), s.w * 11 + s.kw + s.sw);
      const x = heap.allocFloats(xs.length), y = heap.allocFloats(ys.length);
      const colX = heap.allocFloats(ys.length), dxY = heap.allocFloats(xs.length);
      heap.f32(x, xs.length).set(xs);
      heap.f32(y, ys.length).set(ys);
      k.im2colGeneral(x, ...args(s), colX);
      k.col2imGeneral(y, ...args(s), dxY);
      const cx = heap.f32(colX, ys.length), dy = heap.f32(dxY, xs.length);
      let left = 0, right = 0, magnitude = 0;
      for (let i = 0; i < ys.length; i++) {
        left += cx[i] * ys[i];
        magnitude += Math.abs(cx[i] * ys[i]);
      }
      for (let i = 0; i < xs.length; i++) right += xs[i] * dy[i];
      if (!(Math.abs(left - right) <= 1e-6 * magnitude + 1e-12)) failures.push(`${describeShape(s)}: ${left} vs ${right}`);
      heap.release(mark);
    }
    expect(failures).toEqual([]);
  });
});
