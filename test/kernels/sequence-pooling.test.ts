// The masked global pooling kernels (assembly/sequence-pooling.ts) against the naive reference, over
// n 1–3 × t 1, 2, 5, 7 × c 1–9 and 13 (around the 4-lane split), without a mask and with seeded masks
// that include a sample with no real step. Tolerance: none (bit-identical): both sides add in step order
// in f32 and divide once; max and its winner are exact.

import { describe, expect, test } from "bun:test";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

function sameBits(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

for (const variant of wasmVariants()) {
  describe(`sequence pooling kernels (${variant.name})`, () => {
    test("mean and max over time, masked and not, forward and backward: bit-identical to the reference", () => {
      const failures: string[] = [];
      for (const n of [1, 2, 3])
        for (const t of [1, 2, 5, 7])
          for (const c of [1, 2, 3, 4, 5, 6, 7, 8, 9, 13])
            for (const masked of [false, true]) {
              const heaps = new TwinHeaps(variant.make());
              const label = `n=${n} t=${t} c=${c}${masked ? " masked" : ""}`;
              const x = heaps.floats(n * t * c, seededValues(n * t * c, n * 100 + t * 10 + c, -2, 2));
              const m = Array.from(seededValues(n * t, t + c), (v) => (v > 0 ? 1 : 0));
              if (n > 1) m.fill(0, t, 2 * t); // sample 1 is all padding
              const mask = masked ? heaps.floats(n * t, m) : 0;
              const y = heaps.floats(n * c), dy = heaps.floats(n * c, seededValues(n * c, 3)), dx = heaps.floats(n * t * c, seededValues(n * t * c, 4));
              const argmax = heaps.floats(n * c);
              heaps.run((k) => k.sequenceMeanForward(x, n, t, c, mask, y));
              let out = heaps.both(y, n * c);
              if (sameBits(out.fast, out.reference) >= 0) failures.push(`mean forward ${label}`);
              heaps.run((k) => k.sequenceMeanBackward(dy, n, t, c, mask, dx));
              out = heaps.both(dx, n * t * c);
              if (sameBits(out.fast, out.reference) >= 0) failures.push(`mean backward ${label}`);
              heaps.run((k) => k.sequenceMaxForward(x, n, t, c, mask, y, argmax));
              out = heaps.both(y, n * c);
              if (sameBits(out.fast, out.reference) >= 0) failures.push(`max forward ${label}`);
              if (heaps.fast.i32(argmax, n * c).join() !== heaps.reference.i32(argmax, n * c).join()) failures.push(`max winners ${label}`);
              heaps.run((k) => k.sequenceMaxBackward(dy, argmax, n, t, c, dx));
              out = heaps.both(dx, n * t * c);
              if (sameBits(out.fast, out.reference) >= 0) failures.push(`max backward ${label}`);
              if (masked && n > 1) {
                const ys = heaps.fast.f32(y, n * c).subarray(c, 2 * c);
                if (ys.some((v) => v !== 0)) failures.push(`${label}: an all-padding sample did not pool to zeros`);
              }
            }
      expect(failures).toEqual([]);
    });
  });
}
