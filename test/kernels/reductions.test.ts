// Reductions and element-wise helpers against the naive reference: columnSums over rows 1/2/3/5/17/64 ×
// cols 1–9/17/33/100; sumOfSquares, axpy and multiply over counts 0–9, 17, 33, 1000, 1001 at aligned and
// misaligned (+4 bytes) addresses, multiply also in place (y = x and y = mask); dropoutMask over counts
// 1, 3, 4, 5, 17, 1000, rates 0 … 0.95 and seeds 0 (the documented default), 1, 12345, 0xDEADBEEF and
// 0xFFFFFFFF. Output buffers start dirty and carry guard floats that must come back unchanged.
//
// Tolerances, and why:
//  - columnSums: (rows + 1)·2⁻²⁴·Σ_r |x[r][j]| per column. wasm adds the rows in f32, one rounding per
//    add (≤ 2⁻²⁴ of the running magnitude each); the reference sums in f64 and rounds once.
//  - sumOfSquares: count·2⁻⁵²·Σx². Both square the f32 inputs exactly in f64; wasm adds them in four f64
//    lanes, the reference in one, so each of the count additions may round differently (≤ 2⁻⁵³ of the
//    running sum, which never exceeds Σx² as every term is positive).
//  - axpy y + α·x: 2⁻²³·(|y'| + |α·x|). α arrives as f32 (one rounding), α·x and the add round once
//    each; the reference rounds once at the end.
//  - multiply: none. The f64 product of two f32 values is exact, so rounding it to f32 once gives the
//    same correctly rounded result as wasm's f32 multiply.
//  - dropoutMask: none, as the brief requires: both run the same xorshift32 stream, so the returned state,
//    which elements are kept, and the kept value must be bit-identical. Independently (no reference), the
//    kept fraction of 200 000 draws must lie within 5 binomial standard deviations of 1 − rate, and the
//    kept value within 2 f32 ulps (2⁻²² relative) of 1/(1 − rate).

import { describe, expect, test } from "bun:test";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 5;
const counts = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 33, 1000, 1001];

/** First element (of the whole region, guard included) where |fast − ref| exceeds bound(i), or null. */
function firstOutside(fast: ArrayLike<number>, reference: ArrayLike<number>, bound: (i: number) => number) {
  for (let i = 0; i < fast.length; i++) {
    if (fast[i] === reference[i]) continue;
    if (!(Math.abs(fast[i] - reference[i]) <= bound(i))) return { at: i, got: fast[i], want: reference[i] };
  }
  return null;
}

/** `count` floats `offset` floats into an allocation filled with junk, with guard floats after them. */
function buffer(heaps: TwinHeaps, count: number, offset: number, values: ArrayLike<number> | null, seed: number) {
  const total = offset + count + GUARD;
  const all = seededValues(total, seed, 50, 60);
  if (values) all.set(values, offset);
  const base = heaps.floats(total, all);
  return { ptr: base + 4 * offset, base, total };
}

const rates = [0, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.6, 0.75, 0.8, 0.9, 0.95];
const seeds = [0, 1, 12345, 0xdeadbeef, 0xffffffff];

for (const variant of wasmVariants()) {
  describe(`reductions and element-wise helpers (${variant.name})`, () => {
    test("columnSums over rows × cols (out starts dirty)", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const rows of [1, 2, 3, 5, 17, 64])
        for (const cols of [1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 33, 100]) {
          const mark = heaps.fast.mark();
          const xs = seededValues(rows * cols, rows * 7 + cols);
          const x = heaps.floats(rows * cols, xs);
          const out = buffer(heaps, cols, 0, null, 3);
          heaps.run((k) => k.columnSums(x, rows, cols, out.ptr));
          const { fast, reference } = heaps.both(out.base, out.total);
          const bad = firstOutside(fast, reference, (j) => {
            if (j >= cols) return 0;
            let magnitude = 0;
            for (let r = 0; r < rows; r++) magnitude += Math.abs(xs[r * cols + j]);
            return (rows + 1) * 2 ** -24 * magnitude;
          });
          if (bad) failures.push(`rows=${rows} cols=${cols}: out[${bad.at}] got ${bad.got} want ${bad.want}`);
          heaps.fast.release(mark);
          heaps.reference.release(mark);
        }
      expect(failures).toEqual([]);
    });

    test("sumOfSquares over ragged counts, misaligned, and for values whose squares overflow f32", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const count of counts)
        for (const offset of [0, 1])
          for (const scale of [1, 1e20]) {
            const x = buffer(heaps, count, offset, seededValues(count, count + offset).map((v) => v * scale), 4);
            const r = heaps.run((k) => k.sumOfSquares(x.ptr, count));
            if (!(Math.abs(r.fast - r.reference) <= count * 2 ** -52 * r.reference) || !Number.isFinite(r.fast))
              failures.push(`count=${count} offset=${offset} scale=${scale}: got ${r.fast} want ${r.reference}`);
          }
      expect(failures).toEqual([]);
    });

    test("axpy over ragged counts, misaligned, several α", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const count of counts)
        for (const offset of [0, 1])
          for (const alpha of [0, 1, -1.3, 0.5, 1e-3]) {
            const mark = heaps.fast.mark();
            const xs = seededValues(count, count * 3 + 1);
            const x = buffer(heaps, count, offset, xs, 5);
            const y = buffer(heaps, count, offset, seededValues(count, count * 3 + 2), 6);
            heaps.run((k) => k.axpy(count, alpha, x.ptr, y.ptr));
            const { fast, reference } = heaps.both(y.base, y.total);
            const bad = firstOutside(fast, reference, (j) => {
              const i = j - offset;
              return i >= 0 && i < count ? 2 ** -23 * (Math.abs(reference[j]) + Math.abs(alpha * xs[i])) : 0;
            });
            if (bad) failures.push(`count=${count} offset=${offset} α=${alpha}: y[${bad.at - offset}] got ${bad.got} want ${bad.want}`);
            heaps.fast.release(mark);
            heaps.reference.release(mark);
          }
      expect(failures).toEqual([]);
    });

    test("multiply is bit-identical over ragged counts, misaligned, out of place, y = x and y = mask", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const count of counts)
        for (const offset of [0, 1])
          for (const alias of ["none", "y=x", "y=mask"] as const) {
            const mark = heaps.fast.mark();
            const x = buffer(heaps, count, offset, seededValues(count, count + 40, -3, 3), 7);
            const mask = buffer(heaps, count, offset, seededValues(count, count + 41).map((v) => (v < 0 ? 0 : 1.25)), 8);
            const y = alias === "y=x" ? x : alias === "y=mask" ? mask : buffer(heaps, count, offset, null, 9);
            heaps.run((k) => k.multiply(x.ptr, mask.ptr, y.ptr, count));
            const { fast, reference } = heaps.both(y.base, y.total);
            const bad = firstOutside(fast, reference, () => 0);
            if (bad) failures.push(`count=${count} offset=${offset} ${alias}: y[${bad.at - offset}] got ${bad.got} want ${bad.want}`);
            heaps.fast.release(mark);
            heaps.reference.release(mark);
          }
      expect(failures).toEqual([]);
    });

    test("dropoutMask: the kept/dropped pattern and the returned state equal the reference's", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const count of [1, 3, 4, 5, 17, 1000])
        for (const rate of rates)
          for (const seed of seeds) {
            const mark = heaps.fast.mark();
            const mask = buffer(heaps, count, 0, null, 10);
            const state = heaps.run((k) => k.dropoutMask(mask.ptr, count, rate, seed));
            const { fast, reference } = heaps.both(mask.base, mask.total);
            const where = `count=${count} rate=${rate} seed=${seed}`;
            if (state.fast !== state.reference) failures.push(`${where}: state got ${state.fast} want ${state.reference}`);
            const bad = firstOutside(fast.map((v, i) => (i < count ? Number(v !== 0) : v)), reference.map((v, i) => (i < count ? Number(v !== 0) : v)), () => 0);
            if (bad) failures.push(`${where}: element ${bad.at} ${bad.at < count ? `kept=${bad.got} want kept=${bad.want}` : `(guard) got ${bad.got} want ${bad.want}`}`);
            heaps.fast.release(mark);
            heaps.reference.release(mark);
          }
      expect(failures).toEqual([]);
    });

    // Bit-identical masks need the kept value to agree too: the reference (like Keras, which scales by a
    // Python-float 1/(1 − rate)) rounds 1/(1 − rate) once, from the f64 rate, so rate 0.9 keeps 10, not 9.999998.
    test("dropoutMask: kept values are exactly the reference's f32(1/(1 − rate)), so masks are bit-identical", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const rate of rates) {
        const mask = heaps.floats(1000);
        heaps.run((k) => k.dropoutMask(mask, 1000, rate, 12345));
        const { fast, reference } = heaps.both(mask, 1000);
        const bad = firstOutside(fast, reference, () => 0);
        if (bad) failures.push(`rate=${rate}: mask[${bad.at}] got ${bad.got} want ${bad.want} (1/(1 − rate) = ${1 / (1 - rate)})`);
      }
      expect(failures).toEqual([]);
    });

    test("dropoutMask alone: kept fraction ≈ 1 − rate, one kept value ≈ 1/(1 − rate), the state chains, 0 means the default seed", () => {
      const k = variant.make();
      const heaps = new TwinHeaps(k);
      const n = 200_000;
      const mask = heaps.floats(n);
      const failures: string[] = [];
      for (const rate of rates) {
        heaps.fast.kernels.dropoutMask(mask, n, rate, 2024);
        const m = heaps.fast.f32(mask, n);
        let kept = 0;
        const values = new Set<number>();
        for (let i = 0; i < n; i++) if (m[i] !== 0) { kept++; values.add(m[i]); }
        const p = 1 - rate;
        if (!(Math.abs(kept / n - p) <= 5 * Math.sqrt((p * (1 - p)) / n))) failures.push(`rate=${rate}: kept fraction ${kept / n}, want ≈ ${p}`);
        const [value] = values;
        if (values.size !== 1 || !(Math.abs(value - 1 / p) <= 2 ** -22 / p))
          failures.push(`rate=${rate}: kept values ${[...values]}, want one value ≈ ${1 / p}`);
      }
      // Two calls chained through the returned state continue one stream: same as one call of twice the length.
      const half = 501;
      const s = heaps.fast.kernels.dropoutMask(mask, half, 0.3, 77);
      const end = heaps.fast.kernels.dropoutMask(mask + 4 * half, half, 0.3, s);
      const chained = heaps.fast.f32(mask, 2 * half).slice();
      const endOnce = heaps.fast.kernels.dropoutMask(mask, 2 * half, 0.3, 77);
      expect(end).toBe(endOnce);
      expect(Array.from(chained)).toEqual(Array.from(heaps.fast.f32(mask, 2 * half)));
      // State 0 (never a valid xorshift state) selects the fixed default seed 0x9E3779B9.
      const fromZero = heaps.fast.kernels.dropoutMask(mask, 10, 0.5, 0);
      expect(fromZero).toBe(heaps.fast.kernels.dropoutMask(mask, 10, 0.5, 0x9e3779b9));
      expect(fromZero).toBeGreaterThan(0);
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: a wrong α, a flipped mask bit and a shifted seed are caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const x = heaps.floats(9, seededValues(9, 1)), y = heaps.floats(9, seededValues(9, 2));
      heaps.fast.kernels.axpy(9, 0.5, x, y);
      heaps.reference.kernels.axpy(9, 0.5001, x, y);
      const a = heaps.both(y, 9);
      expect(firstOutside(a.fast, a.reference, (i) => 2 ** -23 * (Math.abs(a.reference[i]) + 1))).not.toBeNull();
      const mask = heaps.floats(9);
      heaps.fast.kernels.dropoutMask(mask, 9, 0.5, 5);
      heaps.reference.kernels.dropoutMask(mask, 9, 0.5, 6);
      const m = heaps.both(mask, 9);
      expect(firstOutside(m.fast, m.reference, () => 0)).not.toBeNull();
    });
  });
}
