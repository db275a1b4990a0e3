// batchedMatmul (assembly/batched-matmul.ts) against the triple-loop reference, on the six products of
// attention's forward and backward as the layer calls them — heads as strided views of [batch, T, heads·dim],
// two batch levels (sample, head) — and on a general strided layout that takes the plain loop; m, n, k
// around the tiles (1–9, 13; k up to 16), with and without accumulation.
// Tolerance |Δ| ≤ 1e-5·(1 + k + |reference|) per element (operands in ±1): both sum the same k products, in other orders and (the
// reference) in f64; a wrong offset or stride is off by O(1).

import { describe, expect, test } from "bun:test";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const SIZES = [1, 3, 4, 5, 8, 9, 13];

interface Layout {
  name: string;
  /** Strides for operands laid out as heads of [batch, T, heads·dim] tensors. */
  strides: (m: number, n: number, k: number, heads: number) => { a: number[]; b: number[]; c: number[]; ldc: number; sizes: [number, number, number] };
}

// [batch stride, head stride, row stride, column stride] per operand; C's column stride is 1.
const LAYOUTS: Layout[] = [
  { name: "Q·Kᵀ (dot form)", strides: (m, n, k, h) => ({ a: [m * h * k, k, h * k, 1], b: [n * h * k, k, 1, h * k], c: [h * m * n, m * n], ldc: n, sizes: [m * h * k, n * h * k, h * m * n] }) },
  { name: "A·V (row form)", strides: (m, n, k, h) => ({ a: [h * m * k, m * k, k, 1], b: [k * h * n, n, h * n, 1], c: [m * h * n, n], ldc: h * n, sizes: [h * m * k, k * h * n, m * h * n] }) },
  { name: "Aᵀ·dO (row form, A by columns)", strides: (m, n, k, h) => ({ a: [h * k * m, k * m, 1, m], b: [k * h * n, n, h * n, 1], c: [m * h * n, n], ldc: h * n, sizes: [h * k * m, k * h * n, m * h * n] }) },
  { name: "general strides (plain loop)", strides: (m, n, k, h) => ({ a: [h * m * k, m * k, 1, m], b: [h * k * n, k * n, 1, k], c: [h * m * n, m * n], ldc: n, sizes: [h * m * k, h * k * n, h * m * n] }) },
];

for (const variant of wasmVariants()) {
  describe(`batchedMatmul (${variant.name})`, () => {
    for (const layout of LAYOUTS)
      test(layout.name, () => {
        const failures: string[] = [];
        for (const m of SIZES)
          for (const n of SIZES)
            for (const k of [1, 3, 4, 7, 16])
              for (const accumulate of [false, true]) {
                const batch = 2, heads = 3;
                const s = layout.strides(m, n, k, heads);
                const heaps = new TwinHeaps(variant.make());
                const [aSize, bSize, cSize] = s.sizes.map((v) => v * batch);
                const av = seededValues(aSize, m * 31 + k, -1, 1), bv = seededValues(bSize, n * 17 + k, -1, 1);
                const a = heaps.floats(aSize, av), b = heaps.floats(bSize, bv), c = heaps.floats(cSize, seededValues(cSize, 5));
                heaps.run((kern) => kern.batchedMatmul(batch, heads, m, n, k, a, s.a[0], s.a[1], s.a[2], s.a[3], b, s.b[0], s.b[1], s.b[2], s.b[3], c, s.c[0], s.c[1], s.ldc, accumulate));
                const { fast, reference } = heaps.both(c, cSize);
                for (let i = 0; i < cSize; i++) {
                  if (!(Math.abs(fast[i] - reference[i]) <= 1e-5 * (1 + k + Math.abs(reference[i])))) {
                    failures.push(`m${m} n${n} k${k}${accumulate ? " acc" : ""}: [${i}] ${fast[i]} vs ${reference[i]}`);
                    break;
                  }
                }
              }
        expect(failures).toEqual([]);
      });
  });
}
