// Grouped Conv2D (groups > 1; tfjs has no grouped convolution) against a naive loop that follows the
// definition — no im2col, no GEMM: output channel f belongs to group g = ⌊f / (F/G)⌋ and sees only input
// channels g·C/G … (g + 1)·C/G − 1, through kernel [kh, kw, C/G, F]:
//   y[n, oy, ox, f] = b[f] + Σ_{ky, kx, i} x[n, oy·sh − top + ky·dh, ox·sw − left + kx·dw, g·C/G + i]·K[ky, kx, i, f]
// and the gradients of L = Σ r ⊙ y from the same loop transposed (dx, dK, db), all summed in f64.
// Sweep: groups 2, 3, 4 and C/G = F/G = 1 (depthwise-like) on 6×7 and 5×5 images, batch 2; kernels 3×3,
// 1×1 (the pointwise GEMM path) and 2×3; strides 1, 2 and [2, 1]; padding 'valid', 'same', 1 and
// [[0,2],[1,0]]; dilation 1 and 2; on both wasm builds and the reference kernels.
//
// Tolerance: |ours − naive| ≤ 1e-5 + 1e-5·|naive|. Ours sums in f32 in a blocked order (GEMM); each sum has
// at most 2·6·7·3·3 = 756 terms of products of values in [−1, 1], whose f32 rounding stays below ~1e-6
// relative to the sum of magnitudes; a term from the wrong group or tap is of order 0.1–1.

import { afterAll, describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Rng } from "../../src/engine/rng";
import { Conv2D } from "../../src/layers/conv2d";
import type { Padding } from "../../src/layers/spatial";
import { seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

interface Case { h: number; w: number; c: number; f: number; groups: number; k: [number, number]; s: [number, number]; d: [number, number]; padding: Padding }

function cases(): Case[] {
  const out: Case[] = [];
  for (const [c, f, groups] of [[4, 6, 2], [6, 3, 3], [8, 8, 4], [3, 3, 3]])
    for (const [h, w] of [[6, 7], [5, 5]])
      for (const k of [[3, 3], [1, 1], [2, 3]] as [number, number][])
        for (const s of [[1, 1], [2, 2], [2, 1]] as [number, number][])
          for (const padding of ["valid", "same", 1, [[0, 2], [1, 0]]] as Padding[])
            for (const d of [[1, 1], [2, 2]] as [number, number][]) {
              if (d[0] > 1 && (k[0] === 1 || s[0] > 1)) continue;
              if (h === 5 && (s[1] !== s[0] || groups === 4)) continue; // fewer on the second image
              out.push({ h, w, c, f, groups, k, s, d, padding });
            }
  return out;
}

/** Top/left padding and output size, independently of src/layers/spatial.ts. */
function geometry(t: Case) {
  const span = [0, 1].map((a) => (t.k[a] - 1) * t.d[a] + 1);
  const size = [t.h, t.w];
  return [0, 1].map((a) => {
    if (t.padding === "same") {
      const out = Math.ceil(size[a] / t.s[a]);
      const total = Math.max((out - 1) * t.s[a] + span[a] - size[a], 0);
      return { before: Math.floor(total / 2), out };
    }
    const [before, after] = t.padding === "valid" ? [0, 0] : typeof t.padding === "number" ? [t.padding, t.padding] : (t.padding as number[][])[a];
    return { before, out: Math.floor((size[a] + before + after - span[a]) / t.s[a]) + 1 };
  });
}

function naive(t: Case, n: number, x: Float32Array, kernel: Float32Array, bias: Float32Array, r: Float32Array) {
  const [gy, gx] = geometry(t);
  const cg = t.c / t.groups, fg = t.f / t.groups;
  const y = new Float64Array(n * gy.out * gx.out * t.f);
  const dx = new Float64Array(x.length), dk = new Float64Array(kernel.length), db = new Float64Array(t.f);
  for (let img = 0; img < n; img++)
    for (let oy = 0; oy < gy.out; oy++)
      for (let ox = 0; ox < gx.out; ox++)
        for (let f = 0; f < t.f; f++) {
          const g = Math.floor(f / fg), o = ((img * gy.out + oy) * gx.out + ox) * t.f + f;
          let sum = bias[f];
          db[f] += r[o];
          for (let ky = 0; ky < t.k[0]; ky++)
            for (let kx = 0; kx < t.k[1]; kx++) {
              const iy = oy * t.s[0] - gy.before + ky * t.d[0], ix = ox * t.s[1] - gx.before + kx * t.d[1];
              if (iy < 0 || iy >= t.h || ix < 0 || ix >= t.w) continue;
              for (let i = 0; i < cg; i++) {
                const xi = ((img * t.h + iy) * t.w + ix) * t.c + g * cg + i, ki = ((ky * t.k[1] + kx) * cg + i) * t.f + f;
                sum += x[xi] * kernel[ki];
                dx[xi] += r[o] * kernel[ki];
                dk[ki] += r[o] * x[xi];
              }
            }
          y[o] = sum;
        }
  return { y, dx, dk, db };
}

const describeCase = (t: Case) => `${t.h}×${t.w}×${t.c}→${t.f} groups=${t.groups} k=${t.k} s=${t.s} d=${t.d} pad=${JSON.stringify(t.padding)}`;

const BACKENDS = [...wasmVariants(), { name: "reference", make: () => createReferenceKernels() }];
const all = cases();
const N = 2;

function inputsFor(t: Case, outputSize: number, kernelSize: number) {
  return {
    x: seededValues(N * t.h * t.w * t.c, t.c * 31 + t.h), kernel: seededValues(kernelSize, t.f * 7 + t.k[1]),
    bias: seededValues(t.f, 3, -0.5, 0.5), r: seededValues(N * outputSize, 11 + t.s[1]),
  };
}

/** The layer's forward and backward on the given values; returns y, dx, dK, db. */
function runLayer(heap: Heap, t: Case, values: (outputSize: number, kernelSize: number) => ReturnType<typeof inputsFor>) {
  const mark = heap.mark();
  try {
    const layer = new Conv2D({ filters: t.f, kernelSize: t.k, strides: t.s, dilationRate: t.d, padding: t.padding, groups: t.groups, name: "g" });
    layer.build([[t.h, t.w, t.c]], heap, new Rng(1));
    layer.allocate(N);
    const { x, kernel, bias, r } = values(layer.outputSize, layer.kernel.size);
    heap.f32(layer.kernel.value, kernel.length).set(kernel);
    heap.f32(layer.bias!.value, t.f).set(bias);
    const input = heap.allocFloats(x.length), dy = heap.allocFloats(r.length);
    heap.f32(input, x.length).set(x);
    const y = heap.f32(layer.forward(input, N, { training: false, backwardFollows: true, logits: false }), r.length).slice();
    heap.f32(dy, r.length).set(r);
    const dx = heap.f32(layer.backward(dy, N, true), x.length).slice();
    return { y, dx, dk: heap.f32(layer.kernel.grad, kernel.length).slice(), db: heap.f32(layer.bias!.grad, t.f).slice() };
  } finally {
    heap.release(mark);
  }
}

/** Worst |ours − naive| / tolerance over the sweep, printed with WASMGRAD_REPORT=1. */
let worstRatio = 0;

function compare(t: Case, got: ReturnType<typeof runLayer>, want: ReturnType<typeof naive>, record = true): string[] {
  const failures: string[] = [];
  if (got.y.length !== want.y.length) return [`${describeCase(t)}: ${got.y.length} outputs, want ${want.y.length}`];
  for (const key of ["y", "dx", "dk", "db"] as const) {
    const m = worstMismatch(got[key], want[key], 1e-5, 1e-5);
    if (record) worstRatio = Math.max(worstRatio, m.worst);
    if (!(m.worst <= 1)) failures.push(`${describeCase(t)} ${key}[${m.at}]: ${m.got} vs ${m.want}`);
  }
  return failures;
}

for (const backend of BACKENDS) {
  describe(`grouped Conv2D vs a naive loop (${backend.name})`, () => {
    test(`outputs and input, kernel and bias gradients over ${all.length} configurations`, () => {
      const heap = new Heap(backend.make());
      const failures = all.flatMap((t) => {
        let used: ReturnType<typeof inputsFor> | undefined;
        const got = runLayer(heap, t, (o, k) => (used = inputsFor(t, o, k)));
        return compare(t, got, naive(t, N, used!.x, used!.kernel, used!.bias, used!.r));
      });
      expect(failures).toEqual([]);
    });
  });
}

test("the comparison can fail: the naive loop given the two groups' input channels swapped disagrees with the layer", () => {
  const t: Case = { h: 6, w: 7, c: 4, f: 6, groups: 2, k: [3, 3], s: [1, 1], d: [1, 1], padding: 1 };
  let used: ReturnType<typeof inputsFor> | undefined;
  const got = runLayer(new Heap(BACKENDS[0].make()), t, (o, k) => (used = inputsFor(t, o, k)));
  const { x, kernel, bias, r } = used!;
  expect(compare(t, got, naive(t, N, x, kernel, bias, r))).toEqual([]);
  // Channels [0, 1 | 2, 3] → [2, 3 | 0, 1]: what a layer that mixed up its groups would compute.
  const swapped = x.map((_, i) => x[i - (i % 4) + ((i % 4) + 2) % 4]);
  expect(compare(t, got, naive(t, N, swapped, kernel, bias, r), false).length).toBeGreaterThan(0);
});

afterAll(() => {
  if (process.env.WASMGRAD_REPORT) console.log(`grouped Conv2D: worst |ours − naive| / tolerance ${worstRatio.toFixed(3)}`);
});
