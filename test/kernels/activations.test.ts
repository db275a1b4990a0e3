// Element-wise activations (linear, relu, sigmoid, tanh) and row-wise softmax, forward and backward,
// against the naive reference. Swept: counts 1–33 around the 4-lane v128 body/tail split plus 100 and
// 1001, buffers at 16-byte-aligned and misaligned (+4 bytes) addresses, out-of-place and in place (y = x
// forward, dx = dy backward), softmax over rows 1/2/3/5 × cols 1–17/100, and inputs far from the origin
// (±20, ±50, ±88.7, ±100, ±1000, ±1e30, ±Infinity; softmax logits up to ±1000). Output buffers carry
// guard floats that must come back unchanged.
//
// Tolerances, and why:
//  - linear and relu, forward and backward: none (bit-identical). They copy, take max(x, 0) or mask dy,
//    which involves no rounding.
//  - sigmoid / tanh forward: |fast − ref| ≤ 1e-7 + 1e-6·|ref|. wasm evaluates in f32 with Mathf.exp (musl
//    expf, < 1 ulp) and two or three more f32 roundings; the reference uses f64 Math.exp and rounds once,
//    so the outputs differ by a few f32 ulps (≈2e-7 relative) — 1e-6 is the usual allowance for a
//    transcendental implemented differently. The 1e-7 absolute floor is needed by tanh near 0: the
//    kernel's (1 − e^−2|x|)/(1 + e^−2|x|) cancels, giving an absolute error of about 2⁻²⁴ ≈ 6e-8 however
//    small x is (tanh(1e-4) is off by 3e-5 relative, tanh(1e-8) returns 0). It also absorbs subnormal
//    quantization: sigmoid(−100) ≈ 3.7e-44 is a subnormal f32.
//  - sigmoid backward dy·y(1−y): 1e-6 relative (three f32 roundings; 1 − y is exact for y ≥ ½).
//  - tanh backward dy·(1 − y²): 2e-7 absolute + 1e-6 relative. 1 − y² cancels when |y| → 1, so the f32
//    rounding of y² (≤ 2⁻²⁴) becomes an absolute error of up to |dy|·2⁻²³ with |dy| ≤ 1.
//  - softmax forward: 1e-37 + (1e-6 + cols·2⁻²⁴)·|ref|. Each output is exp / Σ exp; wasm sums cols terms
//    in f32 (relative error ≤ cols·2⁻²⁴), the reference in f64. 1e-37 covers subnormal results.
//  - softmax backward y·(dy − Σ dy·y): (cols + 2)·2⁻²⁴ absolute + 1e-6 relative; the f32 dot product is
//    off by ≤ cols·2⁻²⁴·Σ|dy·y| ≤ cols·2⁻²⁴ (Σy = 1, |dy| ≤ 1), and dy − dot may cancel.
// A wrong index, a missed tail element or a wrong formula is off by 1e-2 or more and fails by far.

import { describe, expect, test } from "bun:test";
import { Act, type ActCode } from "../../src/engine/kernels";
import { TwinHeaps, seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

const GUARD = 5;
const counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 31, 33, 100, 1001];
const acts: [string, ActCode][] = [["linear", Act.linear], ["relu", Act.relu], ["sigmoid", Act.sigmoid], ["tanh", Act.tanh]];

const forwardTolerance: Record<number, [number, number]> = {
  [Act.linear]: [0, 0], [Act.relu]: [0, 0], [Act.sigmoid]: [1e-7, 1e-6], [Act.tanh]: [1e-7, 1e-6],
};
const backwardTolerance: Record<number, [number, number]> = {
  [Act.linear]: [0, 0], [Act.relu]: [0, 0], [Act.sigmoid]: [0, 1e-6], [Act.tanh]: [2e-7, 1e-6],
};

/** Like worstMismatch, but equal values (also equal infinities, NaN with NaN) always count as a match. */
function mismatch(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number) {
  let worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || (a[i] !== a[i] && b[i] !== b[i])) continue;
    const ratio = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    if (!(ratio <= worst)) { worst = ratio; at = i; }
  }
  return { worst, at, got: a[at], want: b[at] };
}

/** A buffer of `count` floats starting `offset` floats into an allocation, with guard floats after it. */
function buffer(heaps: TwinHeaps, count: number, offset: number, values: ArrayLike<number>, seed: number) {
  const total = offset + count + GUARD;
  const all = seededValues(total, seed, 50, 60);
  all.set(values, offset);
  const base = heaps.floats(total, all);
  return { ptr: base + 4 * offset, base, total };
}

function largeInputs(): number[] {
  const magnitudes = [0, 1e-8, 1e-4, 0.5, 20, 50, 88.7, 89, 100, 1000, 1e30, Infinity];
  return magnitudes.flatMap((m) => [m, -m]);
}

for (const variant of wasmVariants()) {
  describe(`activations (${variant.name})`, () => {
    test("forward, every activation, ragged counts, aligned and misaligned, out of place and in place", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const [name, act] of acts)
        for (const count of counts)
          for (const offset of [0, 1])
            for (const inPlace of [false, true]) {
              const mark = heaps.fast.mark();
              const xs = seededValues(count, count * 7 + act, -6, 6);
              const x = buffer(heaps, count, offset, xs, 1);
              const y = inPlace ? x : buffer(heaps, count, offset, [], 2);
              heaps.run((k) => k.activationForward(act, x.ptr, y.ptr, count));
              const [atol, rtol] = forwardTolerance[act];
              const region = heaps.both(y.base, y.total);
              const r = mismatch(region.fast, region.reference, atol, rtol);
              if (r.worst > 1)
                failures.push(`${name} count=${count} offset=${offset}${inPlace ? " in place" : ""}: y[${r.at - offset}] got ${r.got} want ${r.want}`);
              heaps.fast.release(mark);
              heaps.reference.release(mark);
            }
      expect(failures).toEqual([]);
    });

    test("sigmoid and tanh of large-magnitude inputs stay finite and match the reference", () => {
      const heaps = new TwinHeaps(variant.make());
      const xs = largeInputs();
      const failures: string[] = [];
      for (const [name, act] of acts) {
        const x = heaps.floats(xs.length, xs);
        const y = heaps.floats(xs.length);
        heaps.run((k) => k.activationForward(act, x, y, xs.length));
        const { fast, reference } = heaps.both(y, xs.length);
        const [atol, rtol] = forwardTolerance[act];
        for (let i = 0; i < xs.length; i++) {
          const bad = Number.isNaN(fast[i]) || mismatch([fast[i]], [reference[i]], atol, rtol).worst > 1;
          if (bad) failures.push(`${name}(${xs[i]}): got ${fast[i]} want ${reference[i]}`);
        }
        const at = (v: number) => fast[xs.indexOf(v)];
        if (act === Act.sigmoid) {
          expect([at(100), at(1000), at(Infinity), at(-Infinity)]).toEqual([1, 1, 1, 0]);
          expect(at(-100) >= 0 && at(-100) < 1e-40).toBe(true); // ≈ 3.7e-44, a subnormal f32
        }
        if (act === Act.tanh) expect([at(50), at(-50), at(1e30), at(-Infinity)]).toEqual([1, -1, 1, -1]);
      }
      expect(failures).toEqual([]);
    });

    test("backward, every activation, ragged counts, aligned and misaligned, out of place and dx = dy", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const [name, act] of acts)
        for (const count of counts)
          for (const offset of [0, 1])
            for (const inPlace of [false, true]) {
              const mark = heaps.fast.mark();
              // y is a genuine forward output (relu gives exact zeros, tanh values near ±1).
              const ys = heaps.floats(count, seededValues(count, count * 3 + act, -4, 4));
              heaps.reference.kernels.activationForward(act, ys, ys, count);
              heaps.fast.f32(ys, count).set(heaps.reference.f32(ys, count));
              const dy = buffer(heaps, count, offset, seededValues(count, count + 11), 3);
              const dx = inPlace ? dy : buffer(heaps, count, offset, [], 4);
              heaps.run((k) => k.activationBackward(act, ys, dy.ptr, dx.ptr, count));
              const [atol, rtol] = backwardTolerance[act];
              const region = heaps.both(dx.base, dx.total);
              const r = mismatch(region.fast, region.reference, atol, rtol);
              if (r.worst > 1)
                failures.push(`${name} count=${count} offset=${offset}${inPlace ? " dx=dy" : ""}: dx[${r.at - offset}] got ${r.got} want ${r.want}`);
              heaps.fast.release(mark);
              heaps.reference.release(mark);
            }
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: a one-ulp-scale error beyond the tolerance is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const x = heaps.floats(9, seededValues(9, 1, -3, 3));
      const y = heaps.floats(9);
      heaps.run((k) => k.activationForward(Act.sigmoid, x, y, 9));
      heaps.fast.f32(y, 9)[8] += 3e-6;
      const { fast, reference } = heaps.both(y, 9);
      expect(mismatch(fast, reference, 1e-7, 1e-6).worst).toBeGreaterThan(1);
      heaps.run((k) => k.activationForward(Act.relu, x, y, 9));
      heaps.fast.f32(y, 9)[6] = -heaps.fast.f32(y, 9)[6] || 1e-30;
      const r = heaps.both(y, 9);
      expect(mismatch(r.fast, r.reference, 0, 0).worst).toBeGreaterThan(1);
    });
  });

  describe(`softmax (${variant.name})`, () => {
    const rowsSweep = [1, 2, 3, 5];
    const colsSweep = [1, 2, 3, 4, 5, 7, 8, 10, 17, 100];

    test("forward over rows × cols, out of place and y = x, rows sum to 1", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const rows of rowsSweep)
        for (const cols of colsSweep)
          for (const inPlace of [false, true]) {
            const mark = heaps.fast.mark();
            const count = rows * cols;
            const x = buffer(heaps, count, 0, seededValues(count, rows * 100 + cols, -5, 5), 5);
            const y = inPlace ? x : buffer(heaps, count, 0, [], 6);
            heaps.run((k) => k.softmaxForward(x.ptr, y.ptr, rows, cols));
            const region = heaps.both(y.base, y.total);
            const r = mismatch(region.fast, region.reference, 1e-37, 1e-6 + cols * 2 ** -24);
            if (r.worst > 1) failures.push(`rows=${rows} cols=${cols}${inPlace ? " in place" : ""}: y[${r.at}] got ${r.got} want ${r.want}`);
            for (let row = 0; row < rows; row++) {
              let sum = 0;
              for (let j = 0; j < cols; j++) sum += region.fast[row * cols + j];
              if (!(Math.abs(sum - 1) <= 1e-6 + cols * 2 ** -23)) failures.push(`rows=${rows} cols=${cols}: row ${row} sums to ${sum}`);
            }
            heaps.fast.release(mark);
            heaps.reference.release(mark);
          }
      expect(failures).toEqual([]);
    });

    test("large logits (±1000 and spread over [−1000, 1000]) stay finite and match the reference", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      const rowsOf: number[][] = [
        [1000, 999, 0, -1000],
        [1000, 1000, 1000],
        [-1000, -1000, -999.5, -1000, -1000],
        Array.from(seededValues(17, 8, -1000, 1000)),
        Array.from(seededValues(9, 9, 900, 1000)),
        [88, 89, 100, -100, 0, 50, -50],
      ];
      for (const row of rowsOf) {
        const cols = row.length;
        const x = heaps.floats(cols, row);
        const y = heaps.floats(cols);
        heaps.run((k) => k.softmaxForward(x, y, 1, cols));
        const { fast, reference } = heaps.both(y, cols);
        const r = mismatch(fast, reference, 1e-37, 1e-6 + cols * 2 ** -24);
        const finite = Array.from(fast).every(Number.isFinite);
        if (!finite || r.worst > 1) failures.push(`[${row.slice(0, 5).join(", ")}…]: y[${r.at}] got ${r.got} want ${r.want}; fast = ${Array.from(fast)}`);
      }
      expect(failures).toEqual([]);
    });

    test("backward over rows × cols, out of place and dx = dy", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const rows of rowsSweep)
        for (const cols of colsSweep)
          for (const inPlace of [false, true]) {
            const mark = heaps.fast.mark();
            const count = rows * cols;
            const y = heaps.floats(count, seededValues(count, rows + cols * 13, -3, 3));
            heaps.reference.kernels.softmaxForward(y, y, rows, cols);
            heaps.fast.f32(y, count).set(heaps.reference.f32(y, count));
            const dy = buffer(heaps, count, 0, seededValues(count, count + 21), 7);
            const dx = inPlace ? dy : buffer(heaps, count, 0, [], 8);
            heaps.run((k) => k.softmaxBackward(y, dy.ptr, dx.ptr, rows, cols));
            const region = heaps.both(dx.base, dx.total);
            const r = mismatch(region.fast, region.reference, (cols + 2) * 2 ** -24, 1e-6);
            if (r.worst > 1) failures.push(`rows=${rows} cols=${cols}${inPlace ? " dx=dy" : ""}: dx[${r.at}] got ${r.got} want ${r.want}`);
            heaps.fast.release(mark);
            heaps.reference.release(mark);
          }
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: a softmax row with one perturbed element is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const x = heaps.floats(10, seededValues(10, 3, -5, 5));
      const y = heaps.floats(10);
      heaps.run((k) => k.softmaxForward(x, y, 2, 5));
      heaps.fast.f32(y, 10)[7] *= 1 + 1e-5;
      const { fast, reference } = heaps.both(y, 10);
      expect(worstMismatch(fast, reference, 1e-37, 1e-6 + 5 * 2 ** -24).worst).toBeGreaterThan(1);
    });
  });
}
