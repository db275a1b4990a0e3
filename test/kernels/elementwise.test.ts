// The merge layers' kernels (assembly/elementwise.ts) against the naive reference. Swept: counts 1–33
// around the 4-lane body/tail split plus 100 and 1001, buffers aligned and misaligned by one float, out of
// place and in place; copyRows over rows 1–5 × widths 1–9 with strides wider than the rows; rowDots and
// scaleRows over rows 1–4 × cols 1–17. Output buffers carry guard floats that must come back unchanged.
//
// Tolerances: none (bit-identical) for add, sub, mul, max, min, scale, routeToWinner, copyRows and
// scaleRows — each output is one correctly rounded f32 operation (or a copy) on both sides. rowDots: the
// kernel sums four lanes then the tail in f32, the reference in f64; |Δ| ≤ cols·2⁻²³·Σ|a·b|, checked as
// 1e-6·(1 + cols)·Σ|a·b|. A wrong index, a lost tail element or a wrong operation fails by far.

import { describe, expect, test } from "bun:test";
import { ElementOp } from "../../src/engine/kernels";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 3;
const counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 31, 33, 100, 1001];
const ops = Object.entries(ElementOp);

function region(heaps: TwinHeaps, count: number, offset: number, values: ArrayLike<number>, seed: number) {
  const all = seededValues(offset + count + GUARD, seed, 50, 60);
  all.set(values, offset);
  const base = heaps.floats(all.length, all);
  return { ptr: base + 4 * offset, base, total: all.length };
}

function sameBits(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

for (const variant of wasmVariants()) {
  describe(`element-wise merge kernels (${variant.name})`, () => {
    test("elementwise add/sub/mul/max/min and scale: bit-identical to the reference, in place too", () => {
      const failures: string[] = [];
      for (const [name, op] of ops)
        for (const count of counts)
          for (const offset of [0, 1])
            for (const inPlace of [false, true]) {
              const heaps = new TwinHeaps(variant.make());
              const a = region(heaps, count, offset, seededValues(count, count + 1, -3, 3), 1);
              const b = region(heaps, count, offset, seededValues(count, count + 2, -3, 3), 2);
              const y = inPlace ? a : region(heaps, count, offset, [], 3);
              heaps.run((k) => k.elementwise(op, a.ptr, b.ptr, y.ptr, count));
              const out = heaps.both(y.base, y.total);
              const at = sameBits(out.fast, out.reference);
              if (at >= 0) failures.push(`${name} count=${count} offset=${offset}${inPlace ? " in place" : ""}: [${at}] ${out.fast[at]} vs ${out.reference[at]}`);
              heaps.run((k) => k.scale(b.ptr, -0.37, y.ptr, count));
              const scaled = heaps.both(y.base, y.total);
              if (sameBits(scaled.fast, scaled.reference) >= 0) failures.push(`scale count=${count} offset=${offset}`);
            }
      expect(failures).toEqual([]);
    });

    test("routeToWinner hands each element's gradient to the first input equal to the result", () => {
      const failures: string[] = [];
      for (const count of counts) {
        const heaps = new TwinHeaps(variant.make());
        // Ties on purpose: a and b agree on every third element.
        const av = seededValues(count, count, -1, 1), bv = seededValues(count, count + 9, -1, 1);
        for (let i = 0; i < count; i += 3) bv[i] = av[i];
        const a = heaps.floats(count, av), b = heaps.floats(count, bv);
        const y = heaps.floats(count), dy = heaps.floats(count, seededValues(count, 5, -1, 1));
        const da = region(heaps, count, 0, [], 6), db = region(heaps, count, 0, [], 7);
        const dyBefore = heaps.fast.f32(dy, count).slice();
        heaps.run((k) => {
          k.elementwise(ElementOp.max, a, b, y, count);
          k.routeToWinner(a, y, dy, da.ptr, count);
          k.routeToWinner(b, y, dy, db.ptr, count);
        });
        for (const r of [da, db]) {
          const out = heaps.both(r.base, r.total);
          if (sameBits(out.fast, out.reference) >= 0) failures.push(`count=${count}: differs from the reference`);
        }
        const gotA = heaps.fast.f32(da.ptr, count), gotB = heaps.fast.f32(db.ptr, count);
        for (let i = 0; i < count; i++) {
          const want = av[i] >= bv[i] ? [dyBefore[i], 0] : [0, dyBefore[i]];
          if (gotA[i] !== want[0] || gotB[i] !== want[1]) failures.push(`count=${count} [${i}]: got ${gotA[i]}, ${gotB[i]} want ${want}`);
        }
      }
      expect(failures).toEqual([]);
    });

    test("copyRows between strided rows, and rowDots / scaleRows over ragged rows", () => {
      const failures: string[] = [];
      for (let rows = 1; rows <= 5; rows++)
        for (let width = 1; width <= 9; width++) {
          const heaps = new TwinHeaps(variant.make());
          const srcStride = width + (rows % 3), dstStride = width + 2;
          const src = heaps.floats(rows * srcStride, seededValues(rows * srcStride, rows * 10 + width));
          const dst = region(heaps, rows * dstStride, 1, [], 4);
          heaps.run((k) => k.copyRows(src, rows, width, srcStride, dst.ptr, dstStride));
          const out = heaps.both(dst.base, dst.total);
          if (sameBits(out.fast, out.reference) >= 0) failures.push(`copyRows ${rows}×${width}`);
          const s = heaps.fast.f32(src, rows * srcStride), d = heaps.fast.f32(dst.ptr, rows * dstStride);
          for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) if (d[r * dstStride + c] !== s[r * srcStride + c]) failures.push(`copyRows ${rows}×${width} [${r}][${c}]`);
        }
      for (let rows = 1; rows <= 4; rows++)
        for (let cols = 1; cols <= 17; cols++) {
          const heaps = new TwinHeaps(variant.make());
          const av = seededValues(rows * cols, cols, -2, 2), bv = seededValues(rows * cols, cols + 50, -2, 2);
          const a = heaps.floats(rows * cols, av), b = heaps.floats(rows * cols, bv);
          const y = region(heaps, rows, 0, [], 8);
          const z = region(heaps, rows * cols, 1, [], 9);
          heaps.run((k) => {
            k.rowDots(a, b, rows, cols, y.ptr);
            k.scaleRows(a, y.ptr, rows, cols, z.ptr);
          });
          const dots = heaps.both(y.base, y.total);
          for (let r = 0; r < rows; r++) {
            let magnitude = 0;
            for (let c = 0; c < cols; c++) magnitude += Math.abs(av[r * cols + c] * bv[r * cols + c]);
            if (Math.abs(dots.fast[r] - dots.reference[r]) > 1e-6 * (1 + cols) * magnitude) failures.push(`rowDots ${rows}×${cols} row ${r}: ${dots.fast[r]} vs ${dots.reference[r]}`);
          }
          for (let g = rows; g < y.total; g++) if (dots.fast[g] !== dots.reference[g]) failures.push(`rowDots ${rows}×${cols}: guard ${g} changed`);
          // scaleRows reads each side's own dots; give both the fast ones so the products can be compared bit for bit.
          heaps.reference.f32(y.ptr, rows).set(dots.fast.subarray(0, rows));
          heaps.reference.kernels.scaleRows(a, y.ptr, rows, cols, z.ptr);
          const scaled = heaps.both(z.base, z.total);
          if (sameBits(scaled.fast, scaled.reference) >= 0) failures.push(`scaleRows ${rows}×${cols}`);
        }
      expect(failures).toEqual([]);
    });
  });
}

test("the checks can fail: a kernel that drops the tail element is caught", () => {
  const heaps = new TwinHeaps(wasmVariants()[0].make());
  const count = 7;
  const a = heaps.floats(count, seededValues(count, 1)), b = heaps.floats(count, seededValues(count, 2)), y = heaps.floats(count);
  heaps.run((k) => k.elementwise(ElementOp.add, a, b, y, count));
  heaps.fast.f32(y, count)[count - 1] = 0; // as if the scalar tail loop were missing
  const out = heaps.both(y, count);
  expect(sameBits(out.fast, out.reference)).toBe(count - 1);
});
