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
//
// The newer activations (relu6, leakyRelu with alpha 0.2/0.01/1.5, elu with alpha 1/0.3, gelu, geluTanh,
// swish, hardSigmoid, hardSwish), swept the same way over x ∈ [−8, 8] (through every kink and into every
// saturation) plus far-out inputs (the list above, the kinks exactly, exp's subnormal and underflow edges,
// subnormal x), forward and backward: through the output for relu6/leakyRelu/elu/hardSigmoid, through the
// input for gelu/geluTanh/swish/hardSwish (activationBackwardFromInput). The reference evaluates each in the
// form that is exact to f64 (gelu via erfc, geluTanh and swish via σ) and rounds once; alpha is the same f32
// value on both sides. Tolerance |fast − ref| ≤ atol + perX·|x| + rtol·|ref|, and why:
//  - relu6, leakyRelu, forward and backward: exact. min/max/select, and one f32 multiply by alpha, which
//    f64 also rounds correctly once.
//  - elu forward: rtol 4e-7 (expm1 to 0.85 ulp, then ×alpha; ≈2 ulp = 2.4e-7 worst). hardSigmoid: 2.5e-7
//    ((x + 3) rounded, ×f32(1/6) whose own error is 2⁻²⁵ relative, rounded: ≤ 2 ulp). hardSwish: 4e-7 (one
//    more rounding). swish: 5e-7 (exp ≤ 0.97 ulp, 1 + e, a divide and two multiplies), atol 2e-43 for
//    subnormal σ(x) (granularity 1.4e-45) times |x| ≤ 104.
//  - gelu and geluTanh forward: rtol 6e-7, perX 6e-8 = 2⁻²⁴. gelu's 1 + erf(x/√2) cancels for x ≪ 0, so an
//    error of an ulp of 1 in erf (≤ 1.4 ulp; 2⁻²⁴ near −1) becomes ½|x|·2⁻²⁴ absolute, as in any f32 gelu
//    (PyTorch's and tfjs' included). geluTanh's 2u = 2√(2/π)(x + 0.044715x³) carries a relative error of
//    a few 2⁻²⁴ into σ(2u) ≈ e^(2u), i.e. a relative error of |2u|·2⁻²³ of tiny outputs; |x|·2⁻²⁴ bounds it.
//    atol 1e-44: subnormal outputs.
//  - elu and hardSigmoid backward: rtol 2.4e-7 = 2 ulp (dy·(y + alpha), dy·f32(1/6): two roundings each).
//  - gelu, geluTanh backward: atol 2e-7 + rtol 6e-7; swish: atol 1.2e-7 + rtol 6e-7; hardSwish: atol 6e-8
//    + rtol 1.2e-7. Each slope is a sum of terms of opposite sign near its zero (gelu′ at x ≈ −0.75,
//    swish′ at −1.28, hardSwish′ at −1.5) whose f32 roundings, a few 2⁻²⁴ of O(1) terms, become an absolute
//    error there; |dy| ≤ 1.
// Worst ratio seen (printed at the end of a run): 0.66 (hardSwish backward); every other ≤ 0.5.
// A wrong index, a missed tail element or a wrong formula is off by 1e-2 or more and fails by far (the
// erf off in its 6th digit fails gelu, too).

import { afterAll, describe, expect, test } from "bun:test";
import { Act, type ActCode } from "../../src/engine/kernels";
import { erf, erfc } from "../../src/engine/reference-activations";
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

// ---- the newer activations: relu6, leakyRelu, elu, gelu, geluTanh, swish, hardSigmoid, hardSwish ----------

interface NewerCase {
  label: string;
  act: ActCode;
  alpha?: number;
}

const newerForward: NewerCase[] = [
  { label: "relu6", act: Act.relu6 },
  { label: "leakyRelu 0.2", act: Act.leakyRelu, alpha: 0.2 },
  { label: "leakyRelu 0.01", act: Act.leakyRelu, alpha: 0.01 },
  { label: "leakyRelu 1.5", act: Act.leakyRelu, alpha: 1.5 },
  { label: "elu 1", act: Act.elu, alpha: 1 },
  { label: "elu 0.3", act: Act.elu, alpha: 0.3 },
  { label: "gelu", act: Act.gelu },
  { label: "geluTanh", act: Act.geluTanh },
  { label: "swish", act: Act.swish },
  { label: "hardSigmoid", act: Act.hardSigmoid },
  { label: "hardSwish", act: Act.hardSwish },
];
const fromOutput = newerForward.filter((c) => [Act.relu6, Act.leakyRelu, Act.elu, Act.hardSigmoid].includes(c.act as never));
const fromInput = newerForward.filter((c) => !fromOutput.includes(c));

/** |fast − ref| ≤ atol + perX·|x| + rtol·|ref|, per element: see the header for each value. */
type Tol = { atol: number; perX: number; rtol: number };
const NEWER_FORWARD_TOL: Record<number, Tol> = {
  [Act.relu6]: { atol: 0, perX: 0, rtol: 0 },
  [Act.leakyRelu]: { atol: 0, perX: 0, rtol: 0 },
  [Act.elu]: { atol: 1e-44, perX: 0, rtol: 4e-7 },
  [Act.gelu]: { atol: 1e-44, perX: 6e-8, rtol: 6e-7 },
  [Act.geluTanh]: { atol: 1e-44, perX: 6e-8, rtol: 6e-7 },
  [Act.swish]: { atol: 2e-43, perX: 0, rtol: 5e-7 },
  [Act.hardSigmoid]: { atol: 0, perX: 0, rtol: 2.5e-7 },
  [Act.hardSwish]: { atol: 0, perX: 0, rtol: 4e-7 },
};
const NEWER_BACKWARD_TOL: Record<number, Tol> = {
  [Act.relu6]: { atol: 0, perX: 0, rtol: 0 },
  [Act.leakyRelu]: { atol: 0, perX: 0, rtol: 0 },
  [Act.elu]: { atol: 1e-44, perX: 0, rtol: 2.4e-7 },
  [Act.hardSigmoid]: { atol: 0, perX: 0, rtol: 2.4e-7 },
  [Act.gelu]: { atol: 2e-7, perX: 0, rtol: 6e-7 },
  [Act.geluTanh]: { atol: 2e-7, perX: 0, rtol: 6e-7 },
  [Act.swish]: { atol: 1.2e-7, perX: 0, rtol: 6e-7 },
  [Act.hardSwish]: { atol: 6e-8, perX: 0, rtol: 1.2e-7 },
};

/** The worst |a − b| / tolerance over a buffer, where x (if given) holds the input each element came from. */
function worstAgainst(a: ArrayLike<number>, b: ArrayLike<number>, tol: Tol, x?: ArrayLike<number>) {
  let worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || (a[i] !== a[i] && b[i] !== b[i])) continue;
    const bound = tol.atol + tol.perX * Math.abs(x ? x[i] : 0) + tol.rtol * Math.abs(b[i]);
    const ratio = Math.abs(a[i] - b[i]) / bound;
    if (!(ratio <= worst)) { worst = ratio; at = i; }
  }
  return { worst, at, got: a[at], want: b[at] };
}

/** Worst tolerance ratio seen per activation and pass, printed once at the end (for the report and the header). */
const seen = new Map<string, number>();
const note = (key: string, ratio: number) => seen.set(key, Math.max(seen.get(key) ?? 0, ratio));

/** Inputs over [−8, 8], through every kink (0, ±3, 6) and into both saturations of relu6 and the hard ones. */
const spread = (count: number, seed: number) => seededValues(count, seed, -8, 8);

/** Beyond the sweep: kinks exactly, the subnormal and overflow edges of exp, and the infinities. */
function farInputs(): number[] {
  return [...largeInputs(), 3, -3, 6, -6, 2.9999998, -2.9999998, 6.0000005, 10, -10, 17.3, -17.4, 87.3, -87.4, 103, -103, 1e-30, -1e-30, 1e-39, -1e-39];
}

for (const variant of wasmVariants()) {
  describe(`newer activations (${variant.name})`, () => {
    test("forward, every activation and alpha, ragged counts, aligned and misaligned, out of place and in place", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const c of newerForward)
        for (const count of counts)
          for (const offset of [0, 1])
            for (const inPlace of [false, true]) {
              const mark = heaps.fast.mark();
              const xs = spread(count, count * 7 + c.act);
              const x = buffer(heaps, count, offset, xs, 1);
              const y = inPlace ? x : buffer(heaps, count, offset, [], 2);
              heaps.run((k) => k.activationForward(c.act, x.ptr, y.ptr, count, c.alpha));
              const region = heaps.both(y.base, y.total);
              const inputs = new Float32Array(y.total);
              inputs.set(xs, offset);
              const r = worstAgainst(region.fast, region.reference, NEWER_FORWARD_TOL[c.act], inputs);
              note(`${c.label} forward`, r.worst);
              if (r.worst > 1)
                failures.push(`${c.label} count=${count} offset=${offset}${inPlace ? " in place" : ""}: y[${r.at - offset}] got ${r.got} want ${r.want}`);
              heaps.fast.release(mark);
              heaps.reference.release(mark);
            }
      expect(failures).toEqual([]);
    });

    test("far-out inputs (±1e30, ±∞, exp's edges, the kinks exactly) match the reference and give the limits, never NaN", () => {
      const heaps = new TwinHeaps(variant.make());
      const xs = farInputs();
      const failures: string[] = [];
      for (const c of newerForward) {
        const x = heaps.floats(xs.length, xs);
        const y = heaps.floats(xs.length);
        heaps.run((k) => k.activationForward(c.act, x, y, xs.length, c.alpha));
        const { fast, reference } = heaps.both(y, xs.length);
        for (let i = 0; i < xs.length; i++) {
          const r = worstAgainst([fast[i]], [reference[i]], NEWER_FORWARD_TOL[c.act], [xs[i]]);
          note(`${c.label} forward`, r.worst);
          if (Number.isNaN(fast[i]) || r.worst > 1) failures.push(`${c.label}(${xs[i]}): got ${fast[i]} want ${reference[i]}`);
        }
        const at = (v: number) => fast[xs.indexOf(v)];
        const limits: Record<string, [number, number]> = {
          relu6: [0, 6], hardSigmoid: [0, 1], hardSwish: [0, Infinity], swish: [0, Infinity], gelu: [0, Infinity], geluTanh: [0, Infinity],
          "elu 1": [-1, Infinity], "leakyRelu 0.2": [-Infinity, Infinity],
        };
        if (limits[c.label]) expect({ label: c.label, limits: [at(-Infinity) + 0, at(Infinity) + 0] }).toEqual({ label: c.label, limits: limits[c.label] });
      }
      expect(failures).toEqual([]);
    });

    test("backward through the output (relu6, leakyRelu, elu, hardSigmoid), ragged counts, misaligned, dx = dy", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const c of fromOutput)
        for (const count of counts)
          for (const offset of [0, 1])
            for (const inPlace of [false, true]) {
              const mark = heaps.fast.mark();
              // y is a genuine forward output (exact 0 and 6 for relu6, values near −alpha for elu).
              const ys = heaps.floats(count, spread(count, count * 3 + c.act));
              heaps.reference.kernels.activationForward(c.act, ys, ys, count, c.alpha);
              heaps.fast.f32(ys, count).set(heaps.reference.f32(ys, count));
              const dy = buffer(heaps, count, offset, seededValues(count, count + 11), 3);
              const dx = inPlace ? dy : buffer(heaps, count, offset, [], 4);
              heaps.run((k) => k.activationBackward(c.act, ys, dy.ptr, dx.ptr, count, c.alpha));
              const region = heaps.both(dx.base, dx.total);
              const r = worstAgainst(region.fast, region.reference, NEWER_BACKWARD_TOL[c.act]);
              note(`${c.label} backward`, r.worst);
              if (r.worst > 1)
                failures.push(`${c.label} count=${count} offset=${offset}${inPlace ? " dx=dy" : ""}: dx[${r.at - offset}] got ${r.got} want ${r.want}`);
              heaps.fast.release(mark);
              heaps.reference.release(mark);
            }
      expect(failures).toEqual([]);
    });

    test("backward through the input (gelu, geluTanh, swish, hardSwish), ragged counts, misaligned, dx = dy, far-out x", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      const far = farInputs();
      for (const c of fromInput)
        for (const count of [...counts, far.length])
          for (const offset of [0, 1])
            for (const inPlace of [false, true]) {
              const mark = heaps.fast.mark();
              const xs = heaps.floats(count, count === far.length ? far : spread(count, count * 5 + c.act));
              const dy = buffer(heaps, count, offset, seededValues(count, count + 13), 5);
              const dx = inPlace ? dy : buffer(heaps, count, offset, [], 6);
              heaps.run((k) => k.activationBackwardFromInput(c.act, xs, dy.ptr, dx.ptr, count));
              const region = heaps.both(dx.base, dx.total);
              const r = worstAgainst(region.fast, region.reference, NEWER_BACKWARD_TOL[c.act]);
              note(`${c.label} backward`, r.worst);
              const nan = Array.from(region.fast).some(Number.isNaN);
              if (r.worst > 1 || nan)
                failures.push(`${c.label} count=${count} offset=${offset}${inPlace ? " dx=dy" : ""}: dx[${r.at - offset}] got ${r.got} want ${r.want}${nan ? " (NaN)" : ""}`);
              heaps.fast.release(mark);
              heaps.reference.release(mark);
            }
      expect(failures).toEqual([]);
    });

    test("backward through the input passes dy through for linear and refuses an activation that keeps its output", () => {
      const heaps = new TwinHeaps(variant.make());
      const x = heaps.floats(9, seededValues(9, 2));
      const dy = heaps.floats(9, seededValues(9, 3));
      const dx = heaps.floats(9);
      heaps.run((k) => k.activationBackwardFromInput(Act.linear, x, dy, dx, 9));
      expect(Array.from(heaps.both(dx, 9).fast)).toEqual(Array.from(heaps.both(dy, 9).fast));
      expect(() => heaps.fast.kernels.activationBackwardFromInput(Act.relu6, x, dy, dx, 9)).toThrow();
      expect(() => heaps.reference.kernels.activationBackwardFromInput(Act.relu6, x, dy, dx, 9)).toThrow(/from its output/);
      expect(() => heaps.fast.kernels.activationBackward(Act.gelu, x, dy, dx, 9)).toThrow();
      expect(() => heaps.reference.kernels.activationBackward(Act.gelu, x, dy, dx, 9)).toThrow(/not a function of its output/);
    });

    test("the comparison can fail: gelu off by its tolerance's width, a relu6 slope at the cap, a wrong elu alpha", () => {
      const heaps = new TwinHeaps(variant.make());
      const xs = seededValues(9, 4, -3, 3);
      const x = heaps.floats(9, xs);
      const y = heaps.floats(9);
      heaps.run((k) => k.activationForward(Act.gelu, x, y, 9));
      const t = NEWER_FORWARD_TOL[Act.gelu];
      const f = heaps.fast.f32(y, 9);
      f[8] += 2 * (t.perX * Math.abs(xs[8]) + t.rtol * Math.abs(f[8]));
      const g = heaps.both(y, 9);
      expect(worstAgainst(g.fast, g.reference, t, xs).worst).toBeGreaterThan(1);
      heaps.run((k) => k.activationForward(Act.elu, x, y, 9, 1));
      const eluOne = heaps.both(y, 9).fast;
      heaps.run((k) => k.activationForward(Act.elu, x, y, 9, 1.001));
      expect(worstAgainst(eluOne, heaps.both(y, 9).reference, NEWER_FORWARD_TOL[Act.elu]).worst).toBeGreaterThan(1);
      // A slope of 1 at y = 6 (x clipped) would be a relu in disguise.
      const capped = heaps.floats(4, [6, 6, 6, 6]);
      const dy = heaps.floats(4, [1, 1, 1, 1]);
      const dx = heaps.floats(4);
      heaps.run((k) => k.activationBackward(Act.relu6, capped, dy, dx, 4));
      expect(Array.from(heaps.both(dx, 4).fast)).toEqual([0, 0, 0, 0]);
    });
  });
}

describe("the reference's f64 erf and erfc", () => {
  // Known values (40-digit mpmath), relative error ≤ 1e-14: the series and the continued fraction are
  // accurate to a few f64 ulps; 1 − erf(x) for x just below 2 loses two digits to cancellation.
  const known: [string, (x: number) => number, number, number][] = [
    ["erf", erf, 1e-5, 1.128379167057899935e-5], ["erf", erf, 0.1, 0.1124629160182848922], ["erf", erf, 0.5, 0.52049987781304653768],
    ["erf", erf, 1, 0.84270079294971486934], ["erf", erf, 2, 0.99532226501895273416], ["erf", erf, 3.5, 0.99999925690162765859],
    ["erf", erf, -1, -0.84270079294971486934], ["erf", erf, 0, 0],
    ["erfc", erfc, 0.5, 0.47950012218695346232], ["erfc", erfc, 2, 0.0046777349810472658379], ["erfc", erfc, 3, 2.2090496998585441373e-5],
    ["erfc", erfc, 5, 1.5374597944280348502e-12], ["erfc", erfc, 10, 2.088487583762544757e-45], ["erfc", erfc, 27, 5.237048923789255685e-319],
    ["erfc", erfc, -2, 1.9953222650189527342],
  ];
  test("matches known values across the series, the continued fraction and the far tail", () => {
    const failures = known.filter(([, f, x, want]) => !(Math.abs(f(x) - want) <= 1e-14 * Math.abs(want) + (want < 1e-300 ? 1e-321 : 0)))
      .map(([name, f, x, want]) => `${name}(${x}) = ${f(x)}, want ${want}`);
    expect(failures).toEqual([]);
  });
  test("erf is odd, erf + erfc = 1, and the limits hold", () => {
    for (const x of [0.3, 1.7, 1.99, 2.01, 4.2]) {
      expect(erf(-x)).toBe(-erf(x));
      expect(Math.abs(erf(x) + erfc(x) - 1)).toBeLessThan(2e-16);
    }
    expect([erf(Infinity), erf(-Infinity), erfc(Infinity), erfc(-Infinity), erfc(40)]).toEqual([1, -1, 0, 2, 0]);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });
  test("the check can fail: the Abramowitz–Stegun 7.1.26 erf (error 1.5e-7) is caught", () => {
    const as = (x: number) => {
      const t = 1 / (1 + 0.3275911 * x);
      return 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
    };
    expect(known.some(([name, , x, want]) => name === "erf" && x > 0 && !(Math.abs(as(x) - want) <= 1e-14 * want))).toBe(true);
  });
});

afterAll(() => {
  const lines = [...seen].map(([k, v]) => `  ${k}: ${v.toFixed(3)}`);
  if (lines.length) console.log(`worst |fast − reference| / tolerance:\n${lines.join("\n")}`);
});
