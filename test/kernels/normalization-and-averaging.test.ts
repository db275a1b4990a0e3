// Average pooling, batch-norm statistics/scale-shift/backward and the L1 kernels against the naive
// reference. Average pooling sweeps batches 1–2, ragged images (1×1 … 7×5), channels 1/3/4/5/9 (SIMD
// groups plus tails), windows 2×2/3×3/2×3, strides 1–3 and paddings 0–1 (windows partly in the padding,
// where only real inputs count). Batch norm sweeps rows 1…67 and channels 1…13.
//
// Tolerances: sums of up to 9 (pooling) or 67 (batch-norm) f32 terms against an f64 reference:
// |Δ| ≤ 1e-5 + 1e-5·|want| for pooling, 1e-4 + 1e-4·|want| for batch norm, whose backward subtracts
// nearly equal sums. L1 is exact apart from the f64 accumulation of Σ|x| (relative 1e-6).
// Guard floats after every output must stay untouched.

import { describe, expect, test } from "bun:test";
import { TwinHeaps, seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

const GUARD = 5;

function compare(heaps: TwinHeaps, ptr: number, count: number, atol: number, rtol: number, label: string): string[] {
  const { fast, reference } = heaps.both(ptr, count + GUARD);
  const { worst, at } = worstMismatch(fast, reference, atol, rtol);
  return worst > 1 ? [`${label}: [${at}${at >= count ? " (guard)" : ""}] got ${fast[at]} want ${reference[at]}`] : [];
}

interface PoolShape { n: number; h: number; w: number; c: number; ph: number; pw: number; stride: number; pad: number; oh: number; ow: number }

function poolShapes(): PoolShape[] {
  const shapes: PoolShape[] = [];
  for (const n of [1, 2])
    for (const [h, w] of [[1, 1], [2, 2], [4, 4], [7, 5]])
      for (const c of [1, 3, 4, 5, 9])
        for (const [ph, pw] of [[2, 2], [3, 3], [2, 3]])
          for (const stride of [1, 2, 3])
            for (const pad of [0, 1]) {
              if (pad >= Math.min(ph, pw)) continue;
              const oh = Math.floor((h + 2 * pad - ph) / stride) + 1, ow = Math.floor((w + 2 * pad - pw) / stride) + 1;
              if (oh >= 1 && ow >= 1) shapes.push({ n, h, w, c, ph, pw, stride, pad, oh, ow });
            }
  return shapes;
}

for (const variant of wasmVariants()) {
  describe(`average pooling (${variant.name})`, () => {
    const shapes = poolShapes();
    test(`forward and backward match the reference over ${shapes.length} shapes`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const s of shapes) {
        const mark = heaps.fast.mark();
        const inSize = s.n * s.h * s.w * s.c, outSize = s.n * s.oh * s.ow * s.c;
        const label = `n=${s.n} ${s.h}×${s.w}×${s.c} pool=${s.ph}×${s.pw} s=${s.stride} pad=${s.pad}`;
        const x = heaps.floats(inSize, seededValues(inSize, inSize + s.c));
        const y = heaps.floats(outSize + GUARD, seededValues(outSize + GUARD, 9, 50, 60));
        heaps.run((k) => k.avgPoolForward(x, s.n, s.h, s.w, s.c, s.ph, s.pw, s.stride, s.pad, s.pad, s.oh, s.ow, y));
        failures.push(...compare(heaps, y, outSize, 1e-5, 1e-5, `forward ${label}`));
        const dy = heaps.floats(outSize, seededValues(outSize, outSize + 1));
        const dx = heaps.floats(inSize + GUARD, seededValues(inSize + GUARD, 10, 50, 60));
        heaps.run((k) => k.avgPoolBackward(dy, s.n, s.h, s.w, s.c, s.ph, s.pw, s.stride, s.pad, s.pad, s.oh, s.ow, dx));
        failures.push(...compare(heaps, dx, inSize, 1e-5, 1e-5, `backward ${label}`));
        heaps.fast.release(mark);
        heaps.reference.release(mark);
      }
      expect(failures).toEqual([]);
    });

    test("padding is excluded from the mean: a 3×3 window at a corner of a padded 3×3 image averages 4 inputs", () => {
      const heaps = new TwinHeaps(variant.make());
      const x = heaps.floats(9, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const y = heaps.floats(9);
      heaps.fast.kernels.avgPoolForward(x, 1, 3, 3, 1, 3, 3, 1, 1, 1, 3, 3, y);
      expect(heaps.fast.f32(y, 1)[0]).toBeCloseTo((1 + 2 + 4 + 5) / 4, 6);
    });
  });

  describe(`batch normalisation (${variant.name})`, () => {
    const cases: [number, number][] = [];
    for (const rows of [1, 2, 7, 16, 67]) for (const channels of [1, 3, 4, 5, 8, 13]) cases.push([rows, channels]);

    test(`statistics, scale-shift and backward match the reference over ${cases.length} shapes`, () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const [rows, channels] of cases) {
        const mark = heaps.fast.mark();
        const n = rows * channels;
        const label = `rows=${rows} channels=${channels}`;
        // An offset mean makes a one-pass variance visibly wrong.
        const x = heaps.floats(n, seededValues(n, n + 7, 3, 5));
        const mean = heaps.floats(channels + GUARD, seededValues(channels + GUARD, 1, 50, 60));
        const variance = heaps.floats(channels + GUARD, seededValues(channels + GUARD, 2, 50, 60));
        heaps.run((k) => k.batchNormStatistics(x, rows, channels, mean, variance));
        failures.push(...compare(heaps, mean, channels, 1e-5, 1e-5, `mean ${label}`));
        failures.push(...compare(heaps, variance, channels, 1e-5, 1e-4, `variance ${label}`));
        // Feed both sides the reference statistics so backward is tested on its own.
        heaps.fast.f32(mean, channels).set(heaps.reference.f32(mean, channels));
        heaps.fast.f32(variance, channels).set(heaps.reference.f32(variance, channels));
        const invStd = heaps.floats(channels, Array.from(heaps.reference.f32(variance, channels), (v) => 1 / Math.sqrt(v + 1e-3)));
        const gamma = heaps.floats(channels, seededValues(channels, 3, 0.5, 1.5));
        const shift = heaps.floats(channels, seededValues(channels, 4));
        const y = heaps.floats(n + GUARD, seededValues(n + GUARD, 5, 50, 60));
        heaps.run((k) => k.channelScaleShift(x, rows, channels, gamma, shift, y));
        failures.push(...compare(heaps, y, n, 1e-5, 1e-5, `scale-shift ${label}`));
        const dy = heaps.floats(n, seededValues(n, 6));
        const dgamma = heaps.floats(channels + GUARD, seededValues(channels + GUARD, 7, 50, 60));
        const dbeta = heaps.floats(channels + GUARD, seededValues(channels + GUARD, 8, 50, 60));
        const dx = heaps.floats(n + GUARD, seededValues(n + GUARD, 9, 50, 60));
        heaps.run((k) => k.batchNormBackward(x, dy, rows, channels, mean, invStd, gamma, dgamma, dbeta, dx));
        failures.push(...compare(heaps, dgamma, channels, 1e-4, 1e-4, `dgamma ${label}`));
        failures.push(...compare(heaps, dbeta, channels, 1e-4, 1e-4, `dbeta ${label}`));
        failures.push(...compare(heaps, dx, n, 1e-4, 1e-4, `dx ${label}`));
        heaps.fast.release(mark);
        heaps.reference.release(mark);
      }
      expect(failures).toEqual([]);
    });

    test("backward may write dx over dy", () => {
      const heaps = new TwinHeaps(variant.make());
      const rows = 9, channels = 6, n = rows * channels;
      const x = heaps.floats(n, seededValues(n, 1));
      const mean = heaps.floats(channels), variance = heaps.floats(channels);
      heaps.reference.kernels.batchNormStatistics(x, rows, channels, mean, variance);
      heaps.fast.f32(mean, channels).set(heaps.reference.f32(mean, channels));
      const invStd = heaps.floats(channels, Array.from(heaps.reference.f32(variance, channels), (v) => 1 / Math.sqrt(v + 1e-3)));
      const gamma = heaps.floats(channels, seededValues(channels, 3, 0.5, 1.5));
      const dy = heaps.floats(n, seededValues(n, 6));
      const separate = heaps.floats(n);
      const dgamma = heaps.floats(channels), dbeta = heaps.floats(channels);
      heaps.fast.kernels.batchNormBackward(x, dy, rows, channels, mean, invStd, gamma, dgamma, dbeta, separate);
      heaps.fast.kernels.batchNormBackward(x, dy, rows, channels, mean, invStd, gamma, dgamma, dbeta, dy);
      expect(Array.from(heaps.fast.f32(dy, n))).toEqual(Array.from(heaps.fast.f32(separate, n)));
    });
  });

  describe(`L1 penalty (${variant.name})`, () => {
    test("Σ|w| and g += λ·sign(w) match the reference, sign(0) = 0", () => {
      const heaps = new TwinHeaps(variant.make());
      for (const count of [1, 3, 4, 5, 17, 1000]) {
        const values = seededValues(count, count);
        values[0] = 0;
        const w = heaps.floats(count, values);
        const g = heaps.floats(count + GUARD, seededValues(count + GUARD, 2));
        const sums = heaps.run((k) => k.sumOfAbs(w, count));
        expect(Math.abs(sums.fast - sums.reference)).toBeLessThanOrEqual(1e-6 * sums.reference);
        heaps.run((k) => k.addL1Gradient(w, g, count, 0.01));
        expect(compare(heaps, g, count, 0, 0, `l1 count=${count}`)).toEqual([]);
      }
    });
  });
}
