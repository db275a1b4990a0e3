// layerNormForward and layerNormBackward (assembly/layer-normalization.ts) against the f64 reference, over
// rows 1–5 × cols 1–9, 13, 31, 64 and 127 (whole v128 groups, tails of 1–3, a single column), with γ and β,
// γ only, β only and neither (Keras' scale/center off), ε 1e-3 (Keras) and 1e-5 (PyTorch), on two kinds of
// rows: values in ±2, and 1000 + noise in ±0.5 (a large common offset, where a one-pass E[x²] − E[x]²
// variance cancels). Backward runs on the mean and invStd the reference forward saved (copied to both sides,
// so it is checked on the same inputs), with dx in its own buffer and with dx = dy, and with dx = 0. Guard
// floats after every output must stay untouched.
//
// Tolerances, against f64 arithmetic on the same f32 inputs:
//  - y: |Δ| ≤ 1e-6 + 1e-5·|want|. The kernel's sums are f32 over ≤ 127 terms (relative error ~1e-6 on the
//    variance, half of it on invStd), and its deviations (x − K) − m are exact to an ulp even at offset 1000,
//    thanks to the shift; so y is off by a few ulps. A one-pass f32 variance on the offset rows is off by
//    O(1) in y (the last test shows that this tolerance catches it).
//  - mean: |Δ| ≤ 5e-7 + 1e-6·|want|: it is K + m rounded to f32 once, K (the row's first value) up to 2 here,
//    so half an ulp of 2 (1.2e-7) even where the mean itself is near 0.
//  - invStd: |Δ| ≤ 1e-7 + 1e-6·|want| (the f32 variance sum, as above).
//  - dx: |Δ| ≤ 5e-7·invStd·(1 + Σ|g|/cols) + 1e-5·|want|: dx subtracts two row means from g, so its absolute
//    error scales with invStd and the size of the terms, not of the (possibly small) result.
//  - dγ, dβ: sums over ≤ 5 rows: 1e-6 + 1e-5·|want|.
// Measured on both builds, the worst error is a fifth to a tenth of each tolerance.

import { describe, expect, test } from "bun:test";
import type { Kernels } from "../../src/engine/kernels";
import { TwinHeaps, seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

const ROWS = [1, 2, 3, 4, 5];
const COLS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 31, 64, 127];
const AFFINE = [
  { gamma: true, beta: true },
  { gamma: true, beta: false },
  { gamma: false, beta: true },
  { gamma: false, beta: false },
];
const GUARD = 4;
const SENTINEL = -12345.5;

/** Row values: ±2, or 1000 + noise in ±0.5 (a large common offset). */
function rowValues(count: number, seed: number, offset: boolean): Float32Array {
  return offset ? seededValues(count, seed, 999.5, 1000.5) : seededValues(count, seed, -2, 2);
}

/** count floats plus GUARD sentinel floats after them, in both heaps. */
function guarded(heaps: TwinHeaps, count: number, values?: ArrayLike<number>): number {
  const all = new Float32Array(count + GUARD).fill(SENTINEL);
  if (values) all.set(values);
  return heaps.floats(count + GUARD, all);
}

function compare(failures: string[], heaps: TwinHeaps, what: string, ptr: number, count: number, atol: number, rtol: number): void {
  const { fast, reference } = heaps.both(ptr, count + GUARD);
  const w = worstMismatch(fast.subarray(0, count), reference.subarray(0, count), atol, rtol);
  if (w.worst > 1) failures.push(`${what}: [${w.at}] ${w.got} vs ${w.want}`);
  if (fast.subarray(count).some((v) => v !== SENTINEL)) failures.push(`${what}: wrote past its end`);
}

/** Every case of the sweep: rows × cols (one pair of heaps each) × γ/β on or off × rows near 0 or at 1000. */
function* sweep(make: () => Kernels) {
  for (const rows of ROWS)
    for (const cols of COLS) {
      const heaps = new TwinHeaps(make());
      for (const { gamma, beta } of AFFINE)
        for (const offset of [false, true]) {
          const label = `rows=${rows} cols=${cols}${gamma ? " γ" : ""}${beta ? " β" : ""}${offset ? " offset" : ""}`;
          yield { heaps, rows, cols, gamma, beta, offset, epsilon: offset ? 1e-5 : 1e-3, seed: rows * 1000 + cols * 3 + (offset ? 1 : 0), n: rows * cols, label };
        }
    }
}

for (const variant of wasmVariants()) {
  describe(`layer normalisation kernels (${variant.name})`, () => {
    test("forward matches the reference: y, mean, invStd", () => {
      const failures: string[] = [];
      for (const { heaps, rows, cols, gamma, beta, offset, epsilon, seed, n, label } of sweep(variant.make)) {
        const x = guarded(heaps, n, rowValues(n, seed, offset));
        const g = gamma ? heaps.floats(cols, seededValues(cols, seed + 1, -1.5, 1.5)) : 0;
        const b = beta ? heaps.floats(cols, seededValues(cols, seed + 2)) : 0;
        const y = guarded(heaps, n), mean = guarded(heaps, rows), invStd = guarded(heaps, rows);
        heaps.run((k) => k.layerNormForward(x, rows, cols, g, b, epsilon, y, mean, invStd));
        compare(failures, heaps, `y ${label}`, y, n, 1e-6, 1e-5);
        compare(failures, heaps, `mean ${label}`, mean, rows, 5e-7, 1e-6);
        compare(failures, heaps, `invStd ${label}`, invStd, rows, 1e-7, 1e-6);
        // In place (y = x) gives the same.
        const inPlace = guarded(heaps, n, rowValues(n, seed, offset));
        heaps.run((k) => k.layerNormForward(inPlace, rows, cols, g, b, epsilon, inPlace, mean, invStd));
        const same = heaps.fast.f32(inPlace, n).every((v, i) => v === heaps.fast.f32(y, n)[i]);
        if (!same) failures.push(`y ${label}: in place differs`);
      }
      expect(failures).toEqual([]);
    });

    test("backward matches the reference: dx (own buffer, dx = dy, none), dγ, dβ", () => {
      const failures: string[] = [];
      for (const { heaps, rows, cols, gamma, beta, offset, epsilon, seed, n, label } of sweep(variant.make)) {
        const x = heaps.floats(n, rowValues(n, seed, offset));
        const gammaValues = seededValues(cols, seed + 1, -1.5, 1.5);
        const g = gamma ? heaps.floats(cols, gammaValues) : 0;
        const b = beta ? heaps.floats(cols, seededValues(cols, seed + 2)) : 0;
        const y = heaps.floats(n), mean = heaps.floats(rows), invStd = heaps.floats(rows);
        heaps.run((k) => k.layerNormForward(x, rows, cols, g, b, epsilon, y, mean, invStd));
        // Backward on the same statistics on both sides: the reference's.
        heaps.fast.f32(mean, rows).set(heaps.reference.f32(mean, rows));
        heaps.fast.f32(invStd, rows).set(heaps.reference.f32(invStd, rows));
        const dyValues = seededValues(n, seed + 3, -1, 1);
        const dy = heaps.floats(n, dyValues);
        const dx = guarded(heaps, n);
        // dγ, dβ start as garbage: they must be overwritten.
        const dgamma = gamma ? guarded(heaps, cols, seededValues(cols, 5)) : 0;
        const dbeta = beta ? guarded(heaps, cols, seededValues(cols, 6)) : 0;
        heaps.run((k) => k.layerNormBackward(x, dy, rows, cols, g, mean, invStd, dx, dgamma, dbeta));
        // dx's scale: invStd·(1 + mean |g|) per row; the loosest row sets the absolute tolerance.
        let scale = 0;
        const s = heaps.reference.f32(invStd, rows);
        for (let r = 0; r < rows; r++) {
          let sumAbs = 0;
          for (let c = 0; c < cols; c++) sumAbs += Math.abs(dyValues[r * cols + c] * (gamma ? gammaValues[c] : 1));
          scale = Math.max(scale, s[r] * (1 + sumAbs / cols));
        }
        compare(failures, heaps, `dx ${label}`, dx, n, 5e-7 * scale, 1e-5);
        if (gamma) compare(failures, heaps, `dγ ${label}`, dgamma, cols, 1e-6, 1e-5);
        if (beta) compare(failures, heaps, `dβ ${label}`, dbeta, cols, 1e-6, 1e-5);
        // dx = dy (in place) and dx = 0 (parameter gradients only) on the fast kernels.
        const k: Kernels = heaps.fast.kernels;
        const separate = heaps.fast.f32(dx, n).slice();
        const dgammaSeparate = gamma ? heaps.fast.f32(dgamma, cols).slice() : undefined;
        k.layerNormBackward(x, dy, rows, cols, g, mean, invStd, dy, 0, 0);
        if (heaps.fast.f32(dy, n).some((v, i) => v !== separate[i])) failures.push(`dx ${label}: dx = dy differs`);
        heaps.fast.f32(dy, n).set(dyValues);
        if (gamma) {
          heaps.fast.f32(dgamma, cols).fill(7);
          k.layerNormBackward(x, dy, rows, cols, g, mean, invStd, 0, dgamma, 0);
          if (heaps.fast.f32(dgamma, cols).some((v, i) => v !== dgammaSeparate![i])) failures.push(`dγ ${label}: without dx differs`);
          if (heaps.fast.f32(dy, n).some((v, i) => v !== dyValues[i])) failures.push(`dγ ${label}: dx = 0 wrote into dy`);
        }
      }
      expect(failures).toEqual([]);
    });
  });
}

test("the tolerance can fail: a one-pass f32 variance, E[x²] − E[x]², misses y on the offset rows", () => {
  // Forward as the kernels would compute it with a one-pass variance, every operation rounded to f32,
  // against the reference; the same rows on a two-pass f32 computation pass.
  const f = Math.fround;
  const [rows, cols] = [3, 31];
  const x = rowValues(rows * cols, 7, true);
  const heaps = new TwinHeaps(wasmVariants()[0].make());
  const xp = heaps.floats(rows * cols, x), y = heaps.floats(rows * cols), mean = heaps.floats(rows), invStd = heaps.floats(rows);
  heaps.reference.kernels.layerNormForward(xp, rows, cols, 0, 0, 1e-5, y, mean, invStd);
  const want = heaps.reference.f32(y, rows * cols);
  const onePass = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let sum = 0, sumSq = 0;
    for (let c = 0; c < cols; c++) {
      sum = f(sum + x[r * cols + c]);
      sumSq = f(sumSq + f(x[r * cols + c] * x[r * cols + c]));
    }
    const mu = f(sum / cols);
    const variance = Math.max(0, f(f(sumSq / cols) - f(mu * mu)));
    const s = f(1 / f(Math.sqrt(f(variance + f(1e-5)))));
    for (let c = 0; c < cols; c++) onePass[r * cols + c] = f(f(x[r * cols + c] - mu) * s);
  }
  expect(worstMismatch(onePass, want, 1e-6, 1e-5).worst).toBeGreaterThan(100);
});
