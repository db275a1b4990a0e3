// The three depthwise-convolution kernels (forward, input gradient, filter gradient) against the naive
// reference loops, which sum in f64 and round once.
//
// Main sweep (multiplier 1, the MobileNet case): batches 1 and 2; images 1×1, 5×5, 7×4, 6×9, 8×8;
// channels 1, 3, 4, 5, 16, 21 (the 16-channel, 4-channel and scalar paths, alone and together);
// kernels 3×3, 5×5, 1×3 and 2×2; strides [1,1], [2,2], [1,2]; padding 'valid', TF 'same' (the odd pixel at
// the bottom/right), 1 on every side (PyTorch's padding=1, at stride 2 not 'same'), and asymmetric
// [[0,2],[1,0]] and [[2,1],[1,2]]. Second sweep: multipliers 2, 4 and 5 (lanes over the multiplier, scalar
// tail) and dilations [2,2] and [1,3], on fewer images and channel counts. Every other case offsets x, y
// and K by one float (unaligned v128 access), and every output is followed by guard floats.
//
// Tolerance, per element: |fast − reference| ≤ (T + 2)·2⁻²⁴·Σ|terms| + 1e-30, where T is the most terms one
// output sums (taps + bias forward, taps·M for dx, N·OH·OW for dK) and Σ|terms| is that element's sum of
// absolute products — obtained by running the reference on |x|, |K|, |dy|, |bias|. That is the textbook
// bound for f32 recursive summation in any order, plus one rounding of the reference; FMA (relaxed build)
// only tightens it. A misplaced, missing or doubled tap moves an element by a whole term, on average
// Σ|terms|/T, which is over 10³ times the bound for these sizes.

import { describe, expect, test } from "bun:test";
import type { Kernels, Pointer } from "../../src/engine/kernels";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 7;
const U = 2 ** -24;

interface Shape {
  n: number; h: number; w: number; c: number; m: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  padTop: number; padLeft: number; oh: number; ow: number; padding: string;
}

const describeShape = (s: Shape) =>
  `n=${s.n} ${s.h}×${s.w}×${s.c} M=${s.m} k=${s.kh}×${s.kw} s=${s.sh},${s.sw} d=${s.dh},${s.dw} ${s.padding} out=${s.oh}×${s.ow}`;

const geometry = (s: Shape) =>
  [s.n, s.h, s.w, s.c, s.m, s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.padTop, s.padLeft, s.oh, s.ow] as const;

type PadSpec = "valid" | "same" | [number, number, number, number];
const PADDINGS: PadSpec[] = ["valid", "same", [1, 1, 1, 1], [0, 2, 1, 0], [2, 1, 1, 2]];

function shapeOf(n: number, h: number, w: number, c: number, m: number, kh: number, kw: number,
  sh: number, sw: number, dh: number, dw: number, pad: PadSpec): Shape | null {
  const ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
  let top = 0, bottom = 0, left = 0, right = 0;
  if (pad === "same") {
    const th = Math.max((Math.ceil(h / sh) - 1) * sh + ekh - h, 0), tw = Math.max((Math.ceil(w / sw) - 1) * sw + ekw - w, 0);
    [top, bottom, left, right] = [th >> 1, th - (th >> 1), tw >> 1, tw - (tw >> 1)];
  } else if (pad !== "valid") [top, bottom, left, right] = pad;
  const oh = Math.floor((h + top + bottom - ekh) / sh) + 1, ow = Math.floor((w + left + right - ekw) / sw) + 1;
  if (oh < 1 || ow < 1) return null;
  return { n, h, w, c, m, kh, kw, sh, sw, dh, dw, padTop: top, padLeft: left, oh, ow, padding: typeof pad === "string" ? pad : `pads ${pad.join(",")}` };
}

function sweep(): Shape[] {
  const shapes: Shape[] = [];
  for (const n of [1, 2])
    for (const [h, w] of [[1, 1], [5, 5], [7, 4], [6, 9], [8, 8]])
      for (const c of [1, 3, 4, 5, 16, 21])
        for (const [kh, kw] of [[3, 3], [5, 5], [1, 3], [2, 2]])
          for (const [sh, sw] of [[1, 1], [2, 2], [1, 2]])
            for (const pad of PADDINGS) {
              if (n > 1 && c !== 5 && c !== 21) continue;
              const s = shapeOf(n, h, w, c, 1, kh, kw, sh, sw, 1, 1, pad);
              if (s) shapes.push(s);
            }
  for (const [h, w] of [[5, 5], [7, 4], [9, 8]])
    for (const c of [1, 3, 5])
      for (const m of [1, 2, 4, 5])
        for (const [kh, kw] of [[3, 3], [1, 3]])
          for (const [sh, sw, dh, dw] of [[1, 1, 1, 1], [2, 2, 1, 1], [1, 1, 2, 2], [1, 1, 1, 3], [2, 2, 2, 2]])
            for (const pad of PADDINGS) {
              if (m === 1 && dh === 1 && dw === 1) continue; // covered above
              const s = shapeOf(2, h, w, c, m, kh, kw, sh, sw, dh, dw, pad);
              if (s) shapes.push(s);
            }
  return shapes;
}

const sizes = (s: Shape) => ({
  x: s.n * s.h * s.w * s.c, y: s.n * s.oh * s.ow * s.c * s.m, k: s.kh * s.kw * s.c * s.m, b: s.c * s.m,
});

interface Buffers { x: Pointer; k: Pointer; b: Pointer; dy: Pointer; out: Pointer }

/** Allocates inputs (values, or their absolute values) and an output of outCount floats + guards, skewed by `skew` bytes. */
function buffers(heaps: TwinHeaps, s: Shape, outCount: number, skew: number, abs: boolean): Buffers {
  const z = sizes(s);
  const seed = s.h * 131 + s.w * 7 + s.c * 3 + s.m + s.kh;
  const values = (count: number, k: number) => {
    const v = seededValues(count + 1, seed + k);
    return abs ? v.map(Math.abs) : v;
  };
  return {
    x: heaps.floats(z.x + 1, values(z.x, 1)) + skew,
    k: heaps.floats(z.k + 1, values(z.k, 2)) + skew,
    b: heaps.floats(z.b + 1, values(z.b, 3)) + skew,
    dy: heaps.floats(z.y + 1, values(z.y, 4)) + skew,
    out: heaps.floats(outCount + GUARD + 1, seededValues(outCount + GUARD + 1, 4242, 50, 60)) + skew,
  };
}

type Pass = "forward" | "input" | "filter";

function call(k: Kernels, pass: Pass, s: Shape, b: Buffers, withBias: boolean): void {
  if (pass === "forward") k.depthwiseConv2dForward(b.x, ...geometry(s), b.k, withBias ? b.b : 0, b.out);
  else if (pass === "input") k.depthwiseConv2dBackwardInput(b.dy, ...geometry(s), b.k, b.out);
  else k.depthwiseConv2dBackwardFilter(b.x, b.dy, ...geometry(s), b.out);
}

function outCount(s: Shape, pass: Pass): number {
  const z = sizes(s);
  return pass === "forward" ? z.y : pass === "input" ? z.x : z.k;
}

function termCount(s: Shape, pass: Pass): number {
  return pass === "forward" ? s.kh * s.kw + 1 : pass === "input" ? s.kh * s.kw * s.m : s.n * s.oh * s.ow;
}

/** Failure line or null; `tamper` edits the fast result before comparing (to show the check can fail). */
function checkCase(heaps: TwinHeaps, s: Shape, pass: Pass, misalign: boolean, withBias = true, tamper?: (out: Float32Array) => void): string | null {
  const mark = heaps.fast.mark();
  const count = outCount(s, pass), skew = misalign ? 4 : 0;
  const real = buffers(heaps, s, count, skew, false);
  heaps.run((k) => call(k, pass, s, real, withBias));
  const { fast, reference } = heaps.both(real.out, count + GUARD);
  tamper?.(fast);
  const magnitudes = buffers(heaps, s, count, skew, true);
  call(heaps.reference.kernels, pass, s, magnitudes, withBias);
  const mag = heaps.reference.f32(magnitudes.out, count).slice();
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const slack = (termCount(s, pass) + 2) * U;
  for (let i = 0; i < count + GUARD; i++) {
    const bound = i < count ? slack * mag[i] + 1e-30 : 0;
    if (!(Math.abs(fast[i] - reference[i]) <= bound)) {
      return `${pass} ${describeShape(s)}: [${i}${i >= count ? " (guard)" : ""}] got ${fast[i]} want ${reference[i]} (bound ${bound.toExponential(2)})`;
    }
  }
  return null;
}

/** Worst |fast − reference| / bound over a sweep, for the header's claim that the bound is not loose by accident. */
function worstRatio(heaps: TwinHeaps, shapes: Shape[], pass: Pass): number {
  let worst = 0;
  for (const s of shapes.filter((_, i) => i % 20 === 0)) {
    const mark = heaps.fast.mark();
    const count = outCount(s, pass);
    const real = buffers(heaps, s, count, 0, false);
    heaps.run((k) => call(k, pass, s, real, true));
    const { fast, reference } = heaps.both(real.out, count);
    const magnitudes = buffers(heaps, s, count, 0, true);
    call(heaps.reference.kernels, pass, s, magnitudes, true);
    const mag = heaps.reference.f32(magnitudes.out, count);
    const slack = (termCount(s, pass) + 2) * U;
    for (let i = 0; i < count; i++) if (mag[i] > 0) worst = Math.max(worst, Math.abs(fast[i] - reference[i]) / (slack * mag[i]));
    heaps.fast.release(mark);
    heaps.reference.release(mark);
  }
  return worst;
}

const shapes = sweep();

for (const variant of wasmVariants()) {
  describe(`depthwise convolution kernels (${variant.name})`, () => {
    for (const pass of ["forward", "input", "filter"] as const) {
      test(`${pass === "forward" ? "forward" : pass === "input" ? "input gradient" : "filter gradient"} matches the reference over ${shapes.length} shapes`, () => {
        const heaps = new TwinHeaps(variant.make());
        const failures = shapes.map((s, i) => checkCase(heaps, s, pass, i % 2 === 1)).filter((f) => f !== null);
        expect(failures).toEqual([]);
        const worst = worstRatio(heaps, shapes, pass);
        if (process.env.WASMGRAD_REPORT) console.log(`${variant.name} ${pass}: worst error / bound ${worst.toFixed(3)}`);
        expect(worst).toBeLessThan(1);
      });
    }

    test("forward without a bias (pointer 0) matches too", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures = shapes.filter((_, i) => i % 7 === 0).map((s) => checkCase(heaps, s, "forward", false, false)).filter((f) => f !== null);
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: an error the size of one small term, in any pass, is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const s = shapeOf(1, 6, 6, 5, 1, 3, 3, 2, 2, 1, 1, [1, 1, 1, 1])!;
      expect(checkCase(heaps, s, "forward", false)).toBeNull();
      // 0.02 is about one term's size here (|x|, |K|, |dy| ≤ 1): what a misplaced tap would cost.
      for (const pass of ["forward", "input", "filter"] as const) {
        expect(checkCase(heaps, s, pass, false, true, (out) => { out[7] += 0.02; })).not.toBeNull();
      }
    });
  });
}
