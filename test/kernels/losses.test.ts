// Losses against the naive reference: the returned batch-mean loss, the gradient and (where the kernel
// writes them) the probabilities. Swept: softmax cross-entropy with sparse i32 labels and with dense
// targets (one-hot, soft rows, label-smoothed rows) over rows 1/2/3/5/8 × cols 1/2/3/4/5/7/10/17/100,
// logits up to ±1000; mean squared error and binary / sigmoid cross-entropy over counts 1, 3, 4, 5, 17,
// 100, 1001 with hard and soft targets; binary cross-entropy at and beyond its clip ε = 1e-7; sigmoid
// cross-entropy on logits up to ±1000 against the closed form max(z,0) − z·t + log(1 + e^−|z|) in f64.
// Gradient buffers carry guard floats that must come back unchanged.
//
// Tolerances, and why (wasm computes per element in f32 and accumulates the loss in f64; the reference
// works in f64 throughout and rounds once when it stores):
//  - probs (softmax): 1e-37 + (1e-6 + cols·2⁻²⁴)·|ref| — Mathf.exp vs Math.exp (≈1e-6 relative allowance
//    for a transcendental implemented differently) plus the f32 running sum of cols terms.
//  - softmax CE grad (p − t)/rows: the probs tolerance divided by rows, as an absolute floor (p − t cancels
//    when p ≈ t), plus 1e-6 relative.
//  - softmax CE loss: (1e-6 + cols·2⁻²⁴) absolute — log Σ of an f32 sum is off by about cols·2⁻²⁴ — plus
//    1e-6 relative for the f32 subtraction z − peak − log Σ when the logits are large.
//  - MSE: 1e-6 relative for loss and grad (d = y − t and d² are rounded to f32; the sum is f64).
//  - BCE: loss 2⁻²³ absolute + 1e-6 relative (Mathf.log vs Math.log; the absolute floor is the f32
//    resolution of 1 − q near 1: for q → ε the term −log(1 − q) ≈ q is only known to ±2⁻²⁴ or so once
//    1 − q is an f32). Grad 1e-6 relative, 1e-12 absolute for a gradient that is exactly 0 when t = q.
//  - sigmoid CE: loss 1e-6 absolute + 1e-6 relative (each term is built from f32 values up to |z| and
//    log(1 + e^−|z|) rounds 1 + e^−|z| to f32, ≈ |z|·2⁻²⁴ per element, averaged); probs as sigmoid
//    (1e-7 + 1e-6·|ref|); grad (p − t)/count with the probs' absolute error divided by count.
// A wrong label lookup, a missed 1/rows or a wrong sign is off by whole percent and fails by far.

import { describe, expect, test } from "bun:test";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Heap } from "../../src/engine/heap";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 5;

/** Largest |a − b| / (atol + rtol·|b|), counting exactly equal values (also infinities) as matches. */
function mismatch(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number) {
  let worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const ratio = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    if (!(ratio <= worst)) { worst = ratio; at = i; }
  }
  return { worst, at, got: a[at], want: b[at] };
}

const within = (a: number, b: number, atol: number, rtol: number) => a === b || Math.abs(a - b) <= atol + rtol * Math.abs(b);

/** An output buffer pre-filled with junk, followed by guard floats; compare `total` floats from `ptr`. */
function output(heaps: TwinHeaps, count: number, seed: number) {
  return { ptr: heaps.floats(count + GUARD, seededValues(count + GUARD, seed, 50, 60)), total: count + GUARD };
}

type TargetKind = "sparse" | "one-hot" | "soft" | "smoothed";

function softmaxTargets(kind: TargetKind, rows: number, cols: number, labels: number[]): Float32Array {
  const t = new Float32Array(rows * cols);
  const soft = seededValues(rows * cols, rows * 5 + cols, 0, 1);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += soft[r * cols + j];
    for (let j = 0; j < cols; j++) {
      const hot = labels[r] === j ? 1 : 0;
      t[r * cols + j] = kind === "soft" ? soft[r * cols + j] / sum : kind === "smoothed" ? hot * 0.9 + 0.1 / cols : hot;
    }
  }
  return t;
}

function softmaxCrossEntropyCase(heaps: TwinHeaps, kind: TargetKind, rows: number, cols: number, logits: Float32Array): string[] {
  const mark = heaps.fast.mark();
  const count = rows * cols;
  const labelValues = Array.from(seededValues(rows, rows * 3 + cols, 0, cols), Math.floor);
  const z = heaps.floats(count, logits);
  const labels = kind === "sparse" ? heaps.ints(labelValues) : 0;
  const targets = kind === "sparse" ? 0 : heaps.floats(count, softmaxTargets(kind, rows, cols, labelValues));
  const probs = output(heaps, count, 1);
  const grad = output(heaps, count, 2);
  const loss = heaps.run((k) => k.softmaxCrossEntropy(z, rows, cols, labels, targets, probs.ptr, grad.ptr));
  const p = heaps.both(probs.ptr, probs.total), g = heaps.both(grad.ptr, grad.total);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const where = `${kind} rows=${rows} cols=${cols}`;
  const failures: string[] = [];
  const probTolerance = 1e-6 + cols * 2 ** -24;
  if (!Number.isFinite(loss.fast) || !within(loss.fast, loss.reference, 1e-6 + cols * 2 ** -24, 1e-6))
    failures.push(`${where}: loss got ${loss.fast} want ${loss.reference}`);
  const rp = mismatch(p.fast, p.reference, 1e-37, probTolerance);
  if (rp.worst > 1) failures.push(`${where}: probs[${rp.at}] got ${rp.got} want ${rp.want}`);
  const rg = mismatch(g.fast, g.reference, probTolerance / rows, 1e-6);
  if (rg.worst > 1) failures.push(`${where}: grad[${rg.at}] got ${rg.got} want ${rg.want}`);
  return failures;
}

/** Runs an element-wise loss on count elements; returns failures for loss, grad and (optionally) probs. */
function elementwiseCase(
  heaps: TwinHeaps, name: string, count: number, inputs: ArrayLike<number>, targetValues: ArrayLike<number>,
  call: (k: import("../../src/engine/kernels").Kernels, x: number, t: number, probs: number, grad: number) => number,
  tol: { loss: [number, number]; grad: [number, number]; probs?: [number, number] },
): string[] {
  const mark = heaps.fast.mark();
  const x = heaps.floats(count, inputs);
  const t = heaps.floats(count, targetValues);
  const probs = output(heaps, count, 3);
  const grad = output(heaps, count, 4);
  const loss = heaps.run((k) => call(k, x, t, probs.ptr, grad.ptr));
  const p = heaps.both(probs.ptr, probs.total), g = heaps.both(grad.ptr, grad.total);
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  const failures: string[] = [];
  if (!Number.isFinite(loss.fast) || !within(loss.fast, loss.reference, ...tol.loss))
    failures.push(`${name}: loss got ${loss.fast} want ${loss.reference}`);
  const rg = mismatch(g.fast, g.reference, ...tol.grad);
  if (rg.worst > 1) failures.push(`${name}: grad[${rg.at}] got ${rg.got} want ${rg.want} (input ${inputs[rg.at]}, target ${targetValues[rg.at]})`);
  if (tol.probs) {
    const rp = mismatch(p.fast, p.reference, ...tol.probs);
    if (rp.worst > 1) failures.push(`${name}: probs[${rp.at}] got ${rp.got} want ${rp.want}`);
  }
  return failures;
}

const counts = [1, 3, 4, 5, 17, 100, 1001];
const targetKinds = ["hard", "soft"] as const;
const targetsFor = (kind: (typeof targetKinds)[number], count: number, seed: number) => {
  const u = seededValues(count, seed, 0, 1);
  return kind === "hard" ? u.map((v) => (v < 0.5 ? 0 : 1)) : u;
};

for (const variant of wasmVariants()) {
  describe(`softmax cross-entropy (${variant.name})`, () => {
    const rowsSweep = [1, 2, 3, 5, 8];
    const colsSweep = [1, 2, 3, 4, 5, 7, 10, 17, 100];

    test("sparse labels and dense one-hot / soft / smoothed targets over rows × cols", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const kind of ["sparse", "one-hot", "soft", "smoothed"] as TargetKind[])
        for (const rows of rowsSweep)
          for (const cols of colsSweep)
            failures.push(...softmaxCrossEntropyCase(heaps, kind, rows, cols, seededValues(rows * cols, rows * 41 + cols, -4, 4)));
      expect(failures).toEqual([]);
    });

    test("large logits (up to ±1000) keep loss, probs and grad finite and equal to the reference", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const kind of ["sparse", "one-hot", "soft"] as TargetKind[])
        for (const [rows, cols, lo, hi] of [[3, 4, -1000, 1000], [2, 17, -1000, 1000], [5, 3, 900, 1000], [4, 10, -1000, -990]]) {
          failures.push(...softmaxCrossEntropyCase(heaps, kind, rows, cols, seededValues(rows * cols, cols + lo, lo, hi)));
        }
      // A label on a class whose probability underflows to 0 must give a large but finite loss (≈ 2000).
      const z = heaps.floats(4, [1000, 999, 0, -1000]);
      const labels = heaps.ints([3]);
      const probs = heaps.floats(4), grad = heaps.floats(4);
      const loss = heaps.run((k) => k.softmaxCrossEntropy(z, 1, 4, labels, 0, probs, grad));
      if (!within(loss.fast, loss.reference, 1e-6, 1e-6)) failures.push(`label on p = 0: loss got ${loss.fast} want ${loss.reference}`);
      expect(loss.fast).toBeCloseTo(2000.3133, 2);
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: a wrong label is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const z = heaps.floats(6, seededValues(6, 1, -2, 2));
      const labels = heaps.ints([1, 2]);
      const probs = heaps.floats(6), grad = heaps.floats(6);
      const loss = heaps.run((k) => k.softmaxCrossEntropy(z, 2, 3, labels, 0, probs, grad));
      expect(within(loss.fast, loss.reference, 1e-6, 1e-6)).toBe(true);
      heaps.fast.i32(labels, 2)[1] = 0;
      const wrong = heaps.run((k) => k.softmaxCrossEntropy(z, 2, 3, labels, 0, probs, grad));
      expect(within(wrong.fast, wrong.reference, 1e-6, 1e-6)).toBe(false);
    });
  });

  describe(`mean squared error (${variant.name})`, () => {
    test("loss and grad over ragged counts", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const count of counts) {
        const y = seededValues(count, count, -2, 2), t = seededValues(count, count + 1, -2, 2);
        failures.push(...elementwiseCase(heaps, `mse count=${count}`, count, y, t,
          (k, x, tp, _p, g) => k.meanSquaredError(x, tp, count, g), { loss: [0, 1e-6], grad: [0, 1e-6] }));
      }
      expect(failures).toEqual([]);
    });
  });

  describe(`binary cross-entropy (${variant.name})`, () => {
    const bce = (count: number) => (k: import("../../src/engine/kernels").Kernels, x: number, t: number, _p: number, g: number) =>
      k.binaryCrossEntropy(x, t, count, g);

    test("inside the clip, hard and soft targets, ragged counts", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const count of counts)
        for (const kind of targetKinds) {
          const p = seededValues(count, count * 3, 0.01, 0.99);
          failures.push(...elementwiseCase(heaps, `bce ${kind} count=${count}`, count, p, targetsFor(kind, count, count + 7),
            bce(count), { loss: [2 ** -23, 1e-6], grad: [1e-12, 1e-6] }));
        }
      expect(failures).toEqual([]);
    });

    test("beyond the clip the gradient is exactly 0 and the loss finite (a property, no reference)", () => {
      const heaps = new TwinHeaps(variant.make());
      const p = [0, -0.5, 1e-9, 1e-30, 1, 1.5, 2, -1e30];
      for (const t of [0, 1, 0.3]) {
        const x = heaps.floats(p.length, p), tp = heaps.floats(p.length, p.map(() => t)), g = heaps.floats(p.length, p.map(() => 7));
        const loss = heaps.fast.kernels.binaryCrossEntropy(x, tp, p.length, g);
        expect(Number.isFinite(loss)).toBe(true);
        expect(Array.from(heaps.fast.f32(g, p.length))).toEqual(p.map(() => 0));
      }
    });

    test("at and beyond the clip ε = 1e-7 (p = 0, 1e-9, ε, 1 − ε, 1, 1.5, …) loss and grad agree with the reference", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      // Both backends must clip at the same bounds. If they disagree on where ε and 1 − ε lie (f64 1e-7 and
      // 0.9999999 versus the f32 1.00000001e-7 and 0.99999988), the loss of any p ≥ 1 − ε moves by ~1% and
      // the gradient at p = ε or p = 1 − ε jumps between 0 and ±1e7.
      // As f32: 1e-7 → 1.00000001e-7; 1 − 1e-7 → 0.99999988 (the largest f32 below 1 − 1e-7 is 1 − 2⁻²³).
      const edges = [0, -0.5, 1e-9, Math.fround(1e-7), 2e-7, 0.9999998, Math.fround(1 - 1e-7), 0.99999994, 1, 1.5];
      for (const p of edges)
        for (const t of [0, 1, 0.3])
          failures.push(...elementwiseCase(heaps, `bce p=${Math.fround(p)} t=${t}`, 1, [p], [t], bce(1),
            { loss: [2 ** -23, 1e-6], grad: [1e-12, 1e-6] }));
      expect(failures).toEqual([]);
    });
  });

  describe(`sigmoid cross-entropy (${variant.name})`, () => {
    const sce = (count: number) => (k: import("../../src/engine/kernels").Kernels, x: number, t: number, p: number, g: number) =>
      k.sigmoidCrossEntropy(x, t, count, p, g);

    test("loss, probs and grad over ragged counts, logits in [−8, 8] and [−30, 30], hard and soft targets", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const count of counts)
        for (const kind of targetKinds)
          for (const range of [8, 30]) {
            const z = seededValues(count, count * 5 + range, -range, range);
            failures.push(...elementwiseCase(heaps, `sce ${kind} |z|≤${range} count=${count}`, count, z, targetsFor(kind, count, count + 9),
              sce(count), { loss: [1e-6, 1e-6], grad: [2e-7 / count, 1e-6], probs: [1e-7, 1e-6] }));
          }
      expect(failures).toEqual([]);
    });

    test("large logits (±36 … ±1000) match the stable closed form max(z,0) − z·t + log(1 + e^−|z|)", () => {
      const heaps = new TwinHeaps(variant.make());
      const failures: string[] = [];
      for (const z of [20, 36, 37, 40, 50, 88, 100, 1000, 1e10].flatMap((m) => [m, -m]))
        for (const t of [0, 1, 0.5]) {
          const zp = heaps.floats(1, [z]), tp = heaps.floats(1, [t]), p = heaps.floats(1), g = heaps.floats(1);
          const loss = heaps.fast.kernels.sigmoidCrossEntropy(zp, tp, 1, p, g);
          const want = Math.max(z, 0) - z * t + Math.log1p(Math.exp(-Math.abs(z)));
          const q = 1 / (1 + Math.exp(-z));
          const [gotP, gotG] = [heaps.fast.f32(p, 1)[0], heaps.fast.f32(g, 1)[0]];
          if (!within(loss, want, 1e-6, 1e-6)) failures.push(`z=${z} t=${t}: loss got ${loss} want ${want}`);
          if (!within(gotP, q, 1e-7, 1e-6)) failures.push(`z=${z} t=${t}: prob got ${gotP} want ${q}`);
          if (!within(gotG, q - t, 1e-7, 1e-6)) failures.push(`z=${z} t=${t}: grad got ${gotG} want ${q - t}`);
        }
      expect(failures).toEqual([]);
    });

    test("the comparison can fail: a flipped target is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      const z = [0.5, -1, 2];
      const failures = elementwiseCase(heaps, "flipped", 3, z, [1, 0, 1], (k, x, t, p, g) => {
        if (k === heaps.fast.kernels) heaps.fast.f32(t, 3)[1] = 1;
        return k.sigmoidCrossEntropy(x, t, 3, p, g);
      }, { loss: [1e-6, 1e-6], grad: [2e-7, 1e-6], probs: [1e-7, 1e-6] });
      expect(failures.length).toBe(2); // the loss and the gradient, not the probabilities
    });
  });
}

describe("reference sigmoid cross-entropy (the yardstick itself)", () => {
  // The reference is also a complete backend (Sequential accepts it), so it must not break on large logits.
  test("large logits (|z| ≥ 37) give the finite closed-form loss, not NaN or Infinity", () => {
    const heap = new Heap(createReferenceKernels());
    const failures: string[] = [];
    const z = heap.allocFloats(1), tp = heap.allocFloats(1), p = heap.allocFloats(1), g = heap.allocFloats(1);
    for (const zv of [37, 40, 100, 800].flatMap((m) => [m, -m]))
      for (const t of [0, 1, 0.5]) {
        heap.f32(z, 1)[0] = zv;
        heap.f32(tp, 1)[0] = t;
        const loss = heap.kernels.sigmoidCrossEntropy(z, tp, 1, p, g);
        const want = Math.max(zv, 0) - zv * t + Math.log1p(Math.exp(-Math.abs(zv)));
        if (!within(loss, want, 1e-6, 1e-6)) failures.push(`z=${zv} t=${t}: loss got ${loss} want ${want}`);
      }
    expect(failures).toEqual([]);
  });
});
