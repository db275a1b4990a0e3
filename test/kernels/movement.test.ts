// The data-movement kernels (assembly/movement.ts, assembly/upsampling.ts) against the naive reference:
//   permute — all 24 orders of 4 axes over per-sample shapes with 1s in every position (so axes drop and
//     merge in every pattern), ragged sizes 2/3/5/7/17 and larger 2-D planes (37×70, 33×35) that leave
//     partial 32×32 tiles and partial 4×4 blocks; batches 1 and 3; plus every 2-D transpose R×C for R, C in
//     {1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 65} (the blocked fast path's edges); and the inverse permutation
//     restores the input;
//   zeroPad2d / crop2d — images 1×1, 2×3, 5×5, 7×4, channels 1/3/5/17, batches 1 and 2, margins none,
//     even, and asymmetric ([0, 2, 1, 0], [3, 0, 0, 2], [2, 1, 3, 4], rows only [1, 2, 0, 0] — the
//     contiguous fast path), and crops that leave a 1-pixel sliver;
//   upsampleNearestForward / Backward — factors 1×1, 2×2, 3×2, 1×3, 4×1 on the same images, channels
//     1/3/4/5/17;
//   resizeBilinearForward / Backward — with and without half-pixel centers, whole factors (2×2, 3×2, 1×3)
//     and arbitrary sizes up (2h + 1, w + 3) and down (to 1×1 and ⌈h/2⌉×⌈w/2⌉).
// Every case runs once with 64-byte-aligned buffers and once with input and output 4 bytes off alignment
// (v128 loads and stores straddle lines). Outputs start dirty (kernels must overwrite, zeros included) and
// are followed by guard floats both sides must leave alone.
//
// Tolerance: none — results must be bit-identical. Permutation, padding, cropping and nearest forward only
// copy floats; nearest backward adds each block in the same row-major order in f32 on both sides; bilinear
// computes the same f64 source coordinate and f32 weights, then the same f32 operations in the same order
// (a v128 lane is an IEEE f32 op and no fused multiply-add is used), and its backward pass adds its four
// products to dx in the same output order. A mistake in an index moves a whole value and cannot hide.

import { describe, expect, test } from "bun:test";
import type { Kernels, Pointer } from "../../src/engine/kernels";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 7;

interface Call {
  label: string;
  inputs: Float32Array[];
  outputCount: number;
  run: (k: Kernels, inputs: Pointer[], output: Pointer) => void;
}

/** First index whose bit patterns differ, or −1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Runs the call on both kernel sets; returns a failure line or null. `misaligned` shifts every buffer by 4 bytes. */
function compare(heaps: TwinHeaps, call: Call, misaligned: boolean, tamper?: (k: Kernels) => Kernels): string | null {
  const mark = heaps.fast.mark();
  const shift = misaligned ? 4 : 0;
  const inputs = call.inputs.map((values) => {
    const ptr = heaps.floats(values.length + 1) + shift;
    heaps.fast.f32(ptr, values.length).set(values);
    heaps.reference.f32(ptr, values.length).set(values);
    return ptr;
  });
  const total = call.outputCount + GUARD;
  const output = heaps.floats(total + 1) + shift;
  const dirty = seededValues(total, 77, 50, 60);
  heaps.fast.f32(output, total).set(dirty);
  heaps.reference.f32(output, total).set(dirty);
  call.run(tamper ? tamper(heaps.fast.kernels) : heaps.fast.kernels, inputs, output);
  call.run(heaps.reference.kernels, inputs, output);
  const { fast, reference } = heaps.both(output, total);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const at = firstDifference(fast, reference);
  if (at < 0) return null;
  const where = at >= call.outputCount ? " (guard)" : "";
  return `${call.label}${misaligned ? " misaligned" : ""}: [${at}${where}] got ${fast[at]} want ${reference[at]}`;
}

function compareAll(heaps: TwinHeaps, calls: Call[]): string[] {
  const failures: string[] = [];
  for (const call of calls)
    for (const misaligned of [false, true]) {
      const failure = compare(heaps, call, misaligned);
      if (failure) failures.push(failure);
    }
  return failures;
}

// ---- permute -----------------------------------------------------------------------------------------

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((first, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [first, ...rest]));
}

const PERMUTATIONS = permutations([0, 1, 2, 3]);
const PERMUTE_SHAPES = [
  [1, 1, 1, 1], [2, 3, 4, 5], [1, 5, 1, 3], [3, 1, 7, 1], [5, 17, 1, 2], [1, 1, 37, 70], [1, 33, 2, 35],
  [4, 4, 4, 4], [2, 1, 9, 6], [7, 5, 3, 2], [1, 2, 1, 17],
];

const permuteCall = (n: number, d: number[], p: number[]): Call => {
  const size = d.reduce((a, b) => a * b, 1);
  return {
    label: `permute n=${n} [${d}] by [${p}]`,
    inputs: [seededValues(n * size, size * 31 + p[0] * 7 + p[1], -5, 5)],
    outputCount: n * size,
    run: (k, [x], y) => k.permute(x, n, d[0], d[1], d[2], d[3], p[0], p[1], p[2], p[3], y),
  };
};

function permuteCalls(): Call[] {
  const calls: Call[] = [];
  for (const d of PERMUTE_SHAPES)
    for (const p of PERMUTATIONS)
      for (const n of [1, 3]) calls.push(permuteCall(n, d, p));
  return calls;
}

const TRANSPOSE_SIZES = [1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 65];
function transposeCalls(): Call[] {
  const calls: Call[] = [];
  for (const r of TRANSPOSE_SIZES) for (const c of TRANSPOSE_SIZES) calls.push(permuteCall(2, [1, 1, r, c], [0, 1, 3, 2]));
  return calls;
}

// ---- padding and cropping ------------------------------------------------------------------------------

const IMAGES = [[1, 1], [2, 3], [5, 5], [7, 4]];
const MARGINS = [[0, 0, 0, 0], [1, 1, 1, 1], [0, 2, 1, 0], [3, 0, 0, 2], [2, 1, 3, 4], [1, 2, 0, 0]];

function padCropCalls(): Call[] {
  const calls: Call[] = [];
  for (const n of [1, 2])
    for (const [h, w] of IMAGES)
      for (const c of [1, 3, 5, 17])
        for (const [top, bottom, left, right] of MARGINS) {
          const x = seededValues(n * h * w * c, h * 7 + w * 3 + c, -1, 1);
          const ph = h + top + bottom, pw = w + left + right;
          calls.push({
            label: `zeroPad2d n=${n} ${h}×${w}×${c} margins [${top}, ${bottom}, ${left}, ${right}]`,
            inputs: [x], outputCount: n * ph * pw * c,
            run: (k, [xp], y) => k.zeroPad2d(xp, n, h, w, c, top, bottom, left, right, y),
          });
          // Crop the same margins from the padded size (so every margin set fits), and from the image itself where it fits.
          const big = seededValues(n * ph * pw * c, ph * 5 + pw + c, -1, 1);
          calls.push({
            label: `crop2d n=${n} ${ph}×${pw}×${c} margins [${top}, ${bottom}, ${left}, ${right}]`,
            inputs: [big], outputCount: n * h * w * c,
            run: (k, [xp], y) => k.crop2d(xp, n, ph, pw, c, top, bottom, left, right, y),
          });
          if (h - top - bottom >= 1 && w - left - right >= 1) {
            calls.push({
              label: `crop2d n=${n} ${h}×${w}×${c} margins [${top}, ${bottom}, ${left}, ${right}]`,
              inputs: [x], outputCount: n * (h - top - bottom) * (w - left - right) * c,
              run: (k, [xp], y) => k.crop2d(xp, n, h, w, c, top, bottom, left, right, y),
            });
          }
        }
  return calls;
}

// ---- upsampling --------------------------------------------------------------------------------------

const FACTORS = [[1, 1], [2, 2], [3, 2], [1, 3], [4, 1]];

function nearestCalls(): Call[] {
  const calls: Call[] = [];
  for (const n of [1, 2])
    for (const [h, w] of IMAGES)
      for (const c of [1, 3, 4, 5, 17])
        for (const [sh, sw] of FACTORS) {
          const inCount = n * h * w * c, outCount = inCount * sh * sw;
          calls.push({
            label: `upsampleNearestForward n=${n} ${h}×${w}×${c} by ${sh}×${sw}`,
            inputs: [seededValues(inCount, inCount + sh, -1, 1)], outputCount: outCount,
            run: (k, [x], y) => k.upsampleNearestForward(x, n, h, w, c, sh, sw, y),
          });
          calls.push({
            label: `upsampleNearestBackward n=${n} ${h}×${w}×${c} by ${sh}×${sw}`,
            inputs: [seededValues(outCount, outCount + sw, -1, 1)], outputCount: inCount,
            run: (k, [dy], dx) => k.upsampleNearestBackward(dy, n, h, w, c, sh, sw, dx),
          });
        }
  return calls;
}

function bilinearCalls(): Call[] {
  const calls: Call[] = [];
  for (const halfPixelCenters of [true, false])
    for (const n of [1, 2])
      for (const [h, w] of IMAGES)
        for (const c of [1, 3, 4, 5, 17]) {
          const sizes = [
            ...[[2, 2], [3, 2], [1, 3]].map(([sh, sw]) => [h * sh, w * sw]),
            [2 * h + 1, w + 3], [1, 1], [Math.ceil(h / 2), Math.ceil(w / 2)],
          ];
          for (const [oh, ow] of sizes) {
            const inCount = n * h * w * c, outCount = n * oh * ow * c;
            const mode = halfPixelCenters ? "half-pixel" : "asymmetric";
            calls.push({
              label: `resizeBilinearForward ${mode} n=${n} ${h}×${w}×${c} → ${oh}×${ow}`,
              inputs: [seededValues(inCount, inCount + oh * 3 + ow, -1, 1)], outputCount: outCount,
              run: (k, [x], y) => k.resizeBilinearForward(x, n, h, w, c, oh, ow, halfPixelCenters, y),
            });
            calls.push({
              label: `resizeBilinearBackward ${mode} n=${n} ${h}×${w}×${c} → ${oh}×${ow}`,
              inputs: [seededValues(outCount, outCount + oh + ow * 5, -1, 1)], outputCount: inCount,
              run: (k, [dy], dx) => k.resizeBilinearBackward(dy, n, h, w, c, oh, ow, halfPixelCenters, dx),
            });
          }
        }
  return calls;
}

// ---- tests ---------------------------------------------------------------------------------------------

const permutes = permuteCalls(), transposes = transposeCalls(), padCrops = padCropCalls();
const nearest = nearestCalls(), bilinear = bilinearCalls();

for (const variant of wasmVariants()) {
  describe(`data-movement kernels (${variant.name})`, () => {
    test(`permute equals the reference bit for bit: ${permutes.length} permutations × shapes × batches`, () => {
      expect(compareAll(new TwinHeaps(variant.make()), permutes)).toEqual([]);
    });

    test(`permute's blocked 2-D transpose equals the reference over ${transposes.length} R×C sizes`, () => {
      expect(compareAll(new TwinHeaps(variant.make()), transposes)).toEqual([]);
    });

    test("permuting by the inverse permutation restores the input exactly", () => {
      const heaps = new TwinHeaps(variant.make());
      const k = heaps.fast.kernels;
      const failures: string[] = [];
      for (const d of PERMUTE_SHAPES)
        for (const p of PERMUTATIONS) {
          const mark = heaps.fast.mark();
          const size = 2 * d.reduce((a, b) => a * b, 1);
          const values = seededValues(size, size + p[2]);
          const x = heaps.fast.allocFloats(size), y = heaps.fast.allocFloats(size), back = heaps.fast.allocFloats(size);
          heaps.fast.f32(x, size).set(values);
          const inverse = [0, 1, 2, 3].map((axis) => p.indexOf(axis));
          const o = p.map((axis) => d[axis]);
          k.permute(x, 2, d[0], d[1], d[2], d[3], p[0], p[1], p[2], p[3], y);
          k.permute(y, 2, o[0], o[1], o[2], o[3], inverse[0], inverse[1], inverse[2], inverse[3], back);
          if (firstDifference(heaps.fast.f32(back, size).slice(), values) >= 0) failures.push(`[${d}] by [${p}]`);
          heaps.fast.release(mark);
        }
      expect(failures).toEqual([]);
    });

    test(`zeroPad2d and crop2d equal the reference bit for bit over ${padCrops.length} cases`, () => {
      expect(compareAll(new TwinHeaps(variant.make()), padCrops)).toEqual([]);
    });

    test(`nearest upsampling and its adjoint equal the reference bit for bit over ${nearest.length} cases`, () => {
      expect(compareAll(new TwinHeaps(variant.make()), nearest)).toEqual([]);
    });

    test(`bilinear resizing and its adjoint equal the reference bit for bit over ${bilinear.length} cases`, () => {
      expect(compareAll(new TwinHeaps(variant.make()), bilinear)).toEqual([]);
    });

    test("the comparison can fail: a swapped axis, a shifted margin, a lost half-pixel offset are caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const swapAxes = (k: Kernels): Kernels => ({ ...k, permute: (x, n, d0, d1, d2, d3, p0, p1, p2, p3, y) => k.permute(x, n, d0, d1, d2, d3, p0, p1, p3, p2, y) });
      const shiftMargin = (k: Kernels): Kernels => ({ ...k, zeroPad2d: (x, n, h, w, c, t, b, l, r, y) => k.zeroPad2d(x, n, h, w, c, t, b, r, l, y) });
      const noHalfPixel = (k: Kernels): Kernels => ({ ...k, resizeBilinearForward: (x, n, h, w, c, oh, ow, _hp, y) => k.resizeBilinearForward(x, n, h, w, c, oh, ow, false, y) });
      expect(compare(heaps, permuteCall(1, [2, 3, 4, 5], [0, 2, 1, 3]), false, swapAxes)).not.toBeNull();
      expect(compare(heaps, padCrops.find((c) => c.label === "zeroPad2d n=1 5×5×3 margins [2, 1, 3, 4]")!, false, shiftMargin)).not.toBeNull();
      expect(compare(heaps, bilinear.find((c) => c.label === "resizeBilinearForward half-pixel n=1 5×5×3 → 10×10")!, false, noHalfPixel)).not.toBeNull();
    });
  });
}
