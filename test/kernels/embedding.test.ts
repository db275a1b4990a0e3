// The embedding kernels (assembly/embedding.ts) against the naive reference. Swept: dims 1–9, 13, 16 and
// 33 (around the 4-lane body/tail split) × index counts 1, 2, 5, 7, 31 × table rows 1, 3 and 11, with
// indices drawn with repeats (so the scatter-add sums several rows into one) and, in a second pass, with
// bad indices planted (−1, rows, 2.5, NaN) that the gather must report and never read. Output buffers
// carry guard floats that must come back unchanged.
//
// Tolerance: none (bit-identical). A gather is a copy; the scatter-add is one f32 add per element in the
// same order on both sides; the mask is a comparison.

import { describe, expect, test } from "bun:test";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 3;
const dims = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 33];
const counts = [1, 2, 5, 7, 31];
const tableRows = [1, 3, 11];

function sameBits(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** Integer indices in [0, rows) with repeats, seeded. */
function indicesFor(count: number, rows: number, seed: number): number[] {
  return Array.from(seededValues(count, seed, 0, rows), (v) => Math.min(rows - 1, Math.floor(v)));
}

for (const variant of wasmVariants()) {
  describe(`embedding kernels (${variant.name})`, () => {
    test("gather and scatter-add: bit-identical to the reference, repeated indices summed, guards intact", () => {
      const failures: string[] = [];
      for (const dim of dims)
        for (const count of counts)
          for (const rows of tableRows) {
            const heaps = new TwinHeaps(variant.make());
            const idx = indicesFor(count, rows, dim * 100 + count * 10 + rows);
            const indices = heaps.floats(count, idx);
            const table = heaps.floats(rows * dim, seededValues(rows * dim, dim + rows, -2, 2));
            const y = heaps.floats(count * dim + GUARD, seededValues(count * dim + GUARD, 7, 50, 60));
            const bad = heaps.run((k) => k.embeddingGather(indices, count, table, rows, dim, y));
            if (bad.fast !== -1 || bad.reference !== -1) failures.push(`gather ${count}×${dim} rows=${rows}: reported ${bad.fast}/${bad.reference} for good indices`);
            const out = heaps.both(y, count * dim + GUARD);
            if (sameBits(out.fast, out.reference) >= 0) failures.push(`gather ${count}×${dim} rows=${rows}: differs from the reference`);
            const t = heaps.fast.f32(table, rows * dim);
            for (let i = 0; i < count; i++) for (let c = 0; c < dim; c++) if (out.fast[i * dim + c] !== t[idx[i] * dim + c]) failures.push(`gather ${count}×${dim} [${i}][${c}] is not table row ${idx[i]}`);

            const dy = heaps.floats(count * dim, seededValues(count * dim, count + dim, -1, 1));
            const dtable = heaps.floats(rows * dim + GUARD, seededValues(rows * dim + GUARD, 9, -1, 1));
            heaps.run((k) => k.embeddingScatterAdd(indices, count, dy, rows, dim, dtable));
            const grad = heaps.both(dtable, rows * dim + GUARD);
            if (sameBits(grad.fast, grad.reference) >= 0) failures.push(`scatterAdd ${count}×${dim} rows=${rows}: differs from the reference`);
            // The same sum in f64 from the starting values: catches a lost or doubled row by far.
            const start = seededValues(rows * dim + GUARD, 9, -1, 1), g = heaps.fast.f32(dy, count * dim);
            const want = Float64Array.from(start);
            for (let i = 0; i < count; i++) for (let c = 0; c < dim; c++) want[idx[i] * dim + c] += g[i * dim + c];
            for (let j = 0; j < want.length; j++) if (Math.abs(grad.fast[j] - want[j]) > 1e-5 * (1 + count)) failures.push(`scatterAdd ${count}×${dim} [${j}]: ${grad.fast[j]} vs ${want[j]}`);
          }
      expect(failures).toEqual([]);
    });

    test("bad indices are reported (the first position), their rows zeroed, nothing read or written outside the table", () => {
      const failures: string[] = [];
      for (const dim of [1, 4, 5, 9])
        for (const planted of [-1, 3, 2.5, Number.NaN, 1e30, -0.5]) {
          const rows = 3, count = 6;
          const heaps = new TwinHeaps(variant.make());
          const idx = [0, 2, 1, planted, 2, planted];
          const indices = heaps.floats(count, idx);
          // Sentinel floats right after the table: a read past its end would copy them into y.
          const table = heaps.floats(rows * dim + 8, [...seededValues(rows * dim, dim), ...new Array(8).fill(777)]);
          const y = heaps.floats(count * dim, seededValues(count * dim, 3, 50, 60));
          const bad = heaps.run((k) => k.embeddingGather(indices, count, table, rows, dim, y));
          if (bad.fast !== 3 || bad.reference !== 3) failures.push(`dim=${dim} index ${planted}: reported ${bad.fast}/${bad.reference}, want 3`);
          const out = heaps.both(y, count * dim);
          if (sameBits(out.fast, out.reference) >= 0) failures.push(`dim=${dim} index ${planted}: differs from the reference`);
          for (const i of [3, 5]) for (let c = 0; c < dim; c++) if (out.fast[i * dim + c] !== 0) failures.push(`dim=${dim} index ${planted}: row ${i} not zeroed`);
          const dy = heaps.floats(count * dim, seededValues(count * dim, 4));
          const dtable = heaps.floats(rows * dim + 8);
          heaps.run((k) => k.embeddingScatterAdd(indices, count, dy, rows, dim, dtable));
          const grad = heaps.both(dtable, rows * dim + 8);
          if (sameBits(grad.fast, grad.reference) >= 0) failures.push(`dim=${dim} index ${planted}: scatter differs from the reference`);
          for (let j = rows * dim; j < rows * dim + 8; j++) if (grad.fast[j] !== 0) failures.push(`dim=${dim} index ${planted}: scatter wrote past the table`);
        }
      expect(failures).toEqual([]);
    });

    test("indexMask: 1 where the index is not 0, over ragged counts", () => {
      const failures: string[] = [];
      for (const count of [1, 2, 3, 4, 5, 7, 8, 9, 17, 33, 100]) {
        const heaps = new TwinHeaps(variant.make());
        const idx = indicesFor(count, 3, count);
        const indices = heaps.floats(count, idx);
        const mask = heaps.floats(count + GUARD, seededValues(count + GUARD, 5, 50, 60));
        heaps.run((k) => k.indexMask(indices, count, mask));
        const out = heaps.both(mask, count + GUARD);
        if (sameBits(out.fast, out.reference) >= 0) failures.push(`count=${count}: differs from the reference`);
        for (let i = 0; i < count; i++) if (out.fast[i] !== (idx[i] !== 0 ? 1 : 0)) failures.push(`count=${count} [${i}]`);
      }
      expect(failures).toEqual([]);
    });
  });
}

test("the checks can fail: a gather that drops the tail column is caught", () => {
  const heaps = new TwinHeaps(wasmVariants()[0].make());
  const dim = 5, count = 2;
  const indices = heaps.floats(count, [1, 0]), table = heaps.floats(2 * dim, seededValues(2 * dim, 1)), y = heaps.floats(count * dim);
  heaps.run((k) => k.embeddingGather(indices, count, table, 2, dim, y));
  heaps.fast.f32(y, count * dim)[dim - 1] = 0; // as if the scalar tail were missing
  const out = heaps.both(y, count * dim);
  expect(sameBits(out.fast, out.reference)).toBe(dim - 1);
});
