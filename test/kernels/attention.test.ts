// The attention softmax (assembly/attention.ts) against the naive reference: batch 1–2 × heads 1–3 × tq 1, 3,
// 8 × tk 1, 3, 4, 5, 9, 17 (around the 4-lane split), with no mask, a key mask (a sample with every key
// masked), causal, and both; scores in ±6 times a scale of 1/√8. Masked weights must be exactly 0 and a row
// with no visible key all zeros; elsewhere |Δ| ≤ 1e-7 + 1e-5·|reference| (f32 exp against f64 exp rounded
// once; a wrong mask or a missing max-subtraction is off by O(0.1) or overflows).

import { describe, expect, test } from "bun:test";
import { TwinHeaps, seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

for (const variant of wasmVariants()) {
  describe(`attention softmax (${variant.name})`, () => {
    test("scaled, masked, causal softmax over keys matches the reference", () => {
      const failures: string[] = [];
      for (const batch of [1, 2])
        for (const heads of [1, 3])
          for (const tq of [1, 3, 8])
            for (const tk of [1, 3, 4, 5, 9, 17])
              for (const masked of [false, true])
                for (const causal of [false, true]) {
                  const heaps = new TwinHeaps(variant.make());
                  const count = batch * heads * tq * tk;
                  const scores = heaps.floats(count, seededValues(count, count + tk, -6, 6));
                  const maskValues = Array.from({ length: batch * tk }, (_, j) => ((j * 7) % 3 === 1 ? 0 : 1));
                  if (batch > 1) maskValues.fill(0, tk, 2 * tk); // sample 1: every key masked
                  const mask = masked ? heaps.floats(batch * tk, maskValues) : 0;
                  const y = heaps.floats(count);
                  heaps.run((k) => k.attentionSoftmaxForward(scores, batch, heads, tq, tk, 1 / Math.sqrt(8), mask, causal, y));
                  const { fast, reference } = heaps.both(y, count);
                  const label = `b${batch} h${heads} tq${tq} tk${tk}${masked ? " masked" : ""}${causal ? " causal" : ""}`;
                  const w = worstMismatch(fast, reference, 1e-7, 1e-5);
                  if (w.worst > 1) failures.push(`${label}: [${w.at}] ${w.got} vs ${w.want}`);
                  for (let r = 0; r < count / tk; r++) {
                    const i = r % tq, b = Math.floor(r / (heads * tq));
                    let sum = 0;
                    for (let j = 0; j < tk; j++) {
                      const hidden = (causal && j > i) || (masked && maskValues[b * tk + j] === 0);
                      if (hidden && fast[r * tk + j] !== 0) failures.push(`${label}: row ${r} key ${j} is masked but weighs ${fast[r * tk + j]}`);
                      sum += fast[r * tk + j];
                    }
                    const anyVisible = Array.from({ length: tk }, (_, j) => !((causal && j > i) || (masked && maskValues[b * tk + j] === 0))).some(Boolean);
                    if (Math.abs(sum - (anyVisible ? 1 : 0)) > 1e-5) failures.push(`${label}: row ${r} sums to ${sum}`);
                  }
                }
      expect(failures).toEqual([]);
    });
  });
}
