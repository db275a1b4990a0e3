// GEMM against naive loops over a sweep of shapes: sizes below, at and just past the 4×8 micro-tile and the
// MC/KC/NC cache blocks (64/256/512), all three transposition patterns backprop uses, accumulate on/off,
// with and without the fused bias + activation epilogue (linear, relu, sigmoid, tanh, relu6); and the few-row
// path (m < 4, B walked in place).
//
// Tolerance: |fast − ref| ≤ 1e-6·(k + 1) + 1e-5·|ref|. Inputs are in [−1, 1], so the exact f32 rounding error
// of a k-term dot product is bounded by about k·2⁻²⁴·k; blocking reorders the sum, which moves results by
// that order. An indexing or packing bug misplaces whole terms (errors of order 0.1–10) and fails by far.

import { describe, expect, test } from "bun:test";
import { Act, type ActCode } from "../../src/engine/kernels";
import { TwinHeaps, seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

type Layout = "A·B" | "Aᵀ·B" | "A·Bᵀ";

function runCase(heaps: TwinHeaps, m: number, n: number, k: number, layout: Layout, accumulate: boolean, withBias: boolean, act: ActCode) {
  const mark = heaps.fast.mark();
  // Stored shapes: A is m×k (or k×m when transposed), B is k×n (or n×k).
  const a = heaps.floats(m * k, seededValues(m * k, m * 31 + k));
  const b = heaps.floats(k * n, seededValues(k * n, n * 17 + k + 5));
  const ldc = n + 3; // a padded leading dimension, so row strides are exercised too
  const c = heaps.floats(m * ldc, seededValues(m * ldc, m + n));
  const bias = withBias ? heaps.floats(n, seededValues(n, 99 + n)) : 0;
  const [ars, acs] = layout === "Aᵀ·B" ? [1, m] : [k, 1];
  const [brs, bcs] = layout === "A·Bᵀ" ? [1, k] : [n, 1];
  heaps.run((kernels) => kernels.gemm(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, accumulate, bias, act));
  const { fast, reference } = heaps.both(c, m * ldc);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  return worstMismatch(fast, reference, 1e-6 * (k + 1), 1e-5);
}

for (const variant of wasmVariants()) {
  describe(`gemm (${variant.name})`, () => {
    const sizes = [1, 3, 4, 5, 8, 9, 13, 31, 64, 65];
    test("all layouts over a sweep of small and ragged shapes", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const layout of ["A·B", "Aᵀ·B", "A·Bᵀ"] as Layout[])
        for (const m of sizes)
          for (const n of sizes)
            for (const k of [1, 2, 7, 16, 33]) {
              const r = runCase(heaps, m, n, k, layout, (m + n + k) % 2 === 0, (m * n) % 3 !== 0, Act.linear);
              if (r.worst > 1) failures.push(`${layout} m=${m} n=${n} k=${k}: got ${r.got} want ${r.want} at ${r.at}`);
            }
      expect(failures).toEqual([]);
    });

    test("one to three rows (batch-1 inference walks B in place): long depths, wide and ragged n, every epilogue", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const layout of ["A·B", "Aᵀ·B"] as Layout[])
        for (const m of [1, 2, 3])
          for (const [n, k] of [[10, 784], [128, 784], [130, 300], [17, 1]])
            for (const act of [Act.linear, Act.relu, Act.sigmoid, Act.tanh, Act.relu6] as ActCode[])
              for (const accumulate of [false, true]) {
                const r = runCase(heaps, m, n, k, layout, accumulate, act !== Act.linear, act);
                if (r.worst > 1) failures.push(`${layout} m=${m} n=${n} k=${k} act=${act} acc=${accumulate}: got ${r.got} want ${r.want} at ${r.at}`);
              }
      expect(failures).toEqual([]);
    });

    test("shapes that cross the MC, KC and NC cache blocks", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      const shapes = [[130, 40, 300], [64, 520, 257], [67, 9, 513], [200, 513, 17], [33, 1030, 70]];
      for (const layout of ["A·B", "Aᵀ·B", "A·Bᵀ"] as Layout[])
        for (const [m, n, k] of shapes)
          for (const accumulate of [false, true]) {
            const r = runCase(heaps, m, n, k, layout, accumulate, true, Act.linear);
            if (r.worst > 1) failures.push(`${layout} m=${m} n=${n} k=${k} acc=${accumulate}: got ${r.got} want ${r.want}`);
          }
      expect(failures).toEqual([]);
    });

    test("fused bias + activation epilogue, full and ragged tiles, one and several K blocks", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const act of [Act.linear, Act.relu, Act.sigmoid, Act.tanh, Act.relu6] as ActCode[])
        for (const [m, n, k] of [[8, 16, 10], [7, 13, 5], [12, 24, 300], [5, 3, 0], [66, 70, 257]])
          for (const accumulate of [false, true]) {
            const r = runCase(heaps, m, n, k, "A·B", accumulate, true, act);
            if (r.worst > 1) failures.push(`act=${act} m=${m} n=${n} k=${k} acc=${accumulate}: got ${r.got} want ${r.want}`);
          }
      expect(failures).toEqual([]);
    });

    test("the relu6 epilogue clips at both ends, in full tiles and ragged ones", () => {
      const heaps = new TwinHeaps(variant.make());
      const [m, n, k] = [13, 21, 300]; // k = 300: sums of ±1 products spread past ±6
      const a = heaps.floats(m * k, seededValues(m * k, 5));
      const b = heaps.floats(k * n, seededValues(k * n, 6));
      const c = heaps.floats(m * n);
      heaps.run((kernels) => kernels.gemm(m, n, k, a, k, 1, b, n, 1, c, n, false, 0, Act.relu6));
      const { fast, reference } = heaps.both(c, m * n);
      expect(worstMismatch(fast, reference, 1e-6 * (k + 1), 1e-5).worst).toBeLessThanOrEqual(1);
      const tile = (i: number) => (Math.floor(i / n) < 12 && i % n < 16 ? "full" : "ragged");
      for (const where of ["full", "ragged"]) {
        const values = Array.from(fast).filter((_, i) => tile(i) === where);
        expect({ where, zeros: values.some((v) => v === 0), sixes: values.some((v) => v === 6), inside: values.some((v) => v > 0 && v < 6) })
          .toEqual({ where, zeros: true, sixes: true, inside: true });
      }
    });

    test("the comparison can fail: a corrupted result is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const a = heaps.floats(12, seededValues(12, 1));
      const b = heaps.floats(12, seededValues(12, 2));
      const c = heaps.floats(9);
      heaps.run((kernels) => kernels.gemm(3, 3, 4, a, 4, 1, b, 3, 1, c, 3, false, 0, Act.linear));
      heaps.fast.f32(c, 9)[4] += 0.01;
      const { fast, reference } = heaps.both(c, 9);
      expect(worstMismatch(fast, reference, 1e-6 * 5, 1e-5).worst).toBeGreaterThan(1);
    });
  });
}
