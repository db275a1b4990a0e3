// maskWhereNotValue (assembly/masking.ts) against the reference over rows 1–4 × features 1–9, 13 and 33,
// with rows planted all equal to maskValue, rows differing in only one feature (first, last, a tail
// one), and maskValue 0 and −1. Tolerance: none (a comparison per element).

import { describe, expect, test } from "bun:test";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

for (const variant of wasmVariants()) {
  describe(`Masking kernel (${variant.name})`, () => {
    test("a row is masked exactly when every feature equals maskValue", () => {
      const failures: string[] = [];
      for (const maskValue of [0, -1])
        for (const features of [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 33]) {
          const rows = 5;
          const x = Array.from(seededValues(rows * features, features, -2, 2));
          const want = [1, 0, 1, 1, 1];
          x.fill(maskValue, features, 2 * features); // row 1: all padding
          x.fill(maskValue, 2 * features, 3 * features); // row 2: padding but the first feature
          x[2 * features] = maskValue + 1;
          x.fill(maskValue, 3 * features, 4 * features); // row 3: padding but the last (a tail lane)
          x[4 * features - 1] = maskValue + 0.5;
          if (features === 1) want[2] = want[3] = 1;
          const heaps = new TwinHeaps(variant.make());
          const xp = heaps.floats(x.length, x), mask = heaps.floats(rows + 2, [9, 9, 9, 9, 9, 9, 9]);
          heaps.run((k) => k.maskWhereNotValue(xp, rows, features, maskValue, mask));
          const out = heaps.both(mask, rows + 2);
          if (out.fast.join() !== out.reference.join()) failures.push(`features=${features} value=${maskValue}: ${out.fast} vs ${out.reference}`);
          if (Array.from(out.fast.subarray(0, rows)).join() !== want.join()) failures.push(`features=${features} value=${maskValue}: ${out.fast} want ${want}`);
        }
      expect(failures).toEqual([]);
    });
  });
}
