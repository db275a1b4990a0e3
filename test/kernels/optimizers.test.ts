// Fused optimizer updates (SGD, SGD with momentum with Nesterov off and on, Adam, RMSprop) against the
// naive reference. Swept: counts 1, 2, 3, 4, 5, 7, 8, 9, 17, 33 and 1000 (the 4-lane v128 body plus every
// tail length), buffers at aligned and misaligned (+4 bytes) addresses, two hyperparameter sets each, and
// four consecutive steps from zero optimizer state with a fresh gradient per step (every 7th gradient
// exactly 0, which exercises √0 + ε). Every buffer carries guard floats that must come back unchanged.
//
// After each step the wasm results (weights and state) are compared with the reference, then the wasm
// state is re-synchronised to the reference's, so every step is judged from identical inputs and the
// tolerance does not have to grow with the step count (momentum would otherwise amplify a one-ulp drift
// by up to 1/(1 − μ)). The steps still exercise reading back non-zero velocity / m / v / s.
//
// Tolerances, per element, derived from f32 arithmetic (the reference computes in f64 and rounds once):
//  - every result x: 2⁻²³·|x| for the final f32 rounding on each side, plus 1e-30 for subnormals;
//  - plus 1e-6 × the magnitude of the terms that were summed, for the f32 rounding of the hyperparameters
//    (lr, μ, β, ρ, ε all arrive as f32) and of each product (a few 2⁻²⁴ each). Terms are summed in
//    magnitude because μ·v − lr·g or β1·m + (1 − β1)·g can cancel;
//  - plus, for β1, β2 and ρ, |f32(β) − β| / (1 − β) relative on the (1 − β) term: the kernel forms 1 − β
//    from the f32 β, so 1 − 0.999 becomes 0.00099998713 (1.3e-5 off) where the reference uses 0.001
//    — the same thing Keras does with f32 hyperparameters, not an error of the kernel;
//  - the weight step of Adam and RMSprop carries the relative error of m and of √v (half that of v).
// A dropped tail element, a state not written back or a wrong formula is off by ~lr·|g| and fails by far.

import { describe, expect, test } from "bun:test";
import type { Kernels } from "../../src/engine/kernels";
import { TwinHeaps, seededValues, wasmVariants } from "../support/twin-heaps";

const GUARD = 5;
const STEPS = 4;
const counts = [1, 2, 3, 4, 5, 7, 8, 9, 17, 33, 1000];
const ULP = 2 ** -23;

/** Relative error a hyperparameter β brings to the (1 − β) the kernel computes from f32(β). */
const oneMinusError = (beta: number) => Math.abs(Math.fround(beta) - beta) / (1 - beta);

type Buffers = Record<string, { ptr: number; base: number; total: number }>;

interface Optimizer {
  name: string;
  /** State buffers besides w and g, zero at the start. */
  state: string[];
  step(k: Kernels, b: Buffers, count: number, t: number): void;
  /** Allowed |fast − ref| for each result buffer at element i, from the pre-step values and the results. */
  bounds(before: Record<string, Float32Array>, after: Record<string, Float32Array>, i: number, t: number): Record<string, number>;
}

function sgd(lr: number): Optimizer {
  return {
    name: `sgd lr=${lr}`,
    state: [],
    step: (k, b, count) => k.sgdUpdate(b.w.ptr, b.g.ptr, count, lr),
    bounds: (before, after, i) => ({ w: ULP * Math.abs(after.w[i]) + 1e-6 * lr * Math.abs(before.g[i]) + 1e-30 }),
  };
}

function momentum(lr: number, mu: number, nesterov: boolean): Optimizer {
  return {
    name: `momentum lr=${lr} μ=${mu} nesterov=${nesterov}`,
    state: ["velocity"],
    step: (k, b, count) => k.sgdMomentumUpdate(b.w.ptr, b.g.ptr, b.velocity.ptr, count, lr, mu, nesterov),
    bounds: (before, after, i) => {
      const terms = mu * Math.abs(before.velocity[i]) + lr * Math.abs(before.g[i]);
      const v = ULP * Math.abs(after.velocity[i]) + 1e-6 * terms + 1e-30;
      return { velocity: v, w: ULP * Math.abs(after.w[i]) + 2 * v + 1e-6 * mu * Math.abs(after.velocity[i]) };
    },
  };
}

function adam(lr: number, beta1: number, beta2: number, epsilon: number): Optimizer {
  const lrT = (t: number) => (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
  return {
    name: `adam lr=${lr} β1=${beta1} β2=${beta2} ε=${epsilon}`,
    state: ["m", "v"],
    step: (k, b, count, t) => k.adamUpdate(b.w.ptr, b.g.ptr, b.m.ptr, b.v.ptr, count, lrT(t), beta1, beta2, epsilon),
    bounds: (before, after, i, t) => {
      const g = before.g[i];
      const m = ULP * Math.abs(after.m[i]) + (1e-6 + oneMinusError(beta1)) * (beta1 * Math.abs(before.m[i]) + (1 - beta1) * Math.abs(g)) + 1e-30;
      const vRel = ULP + 1e-6 + oneMinusError(beta2);
      const v = vRel * Math.abs(after.v[i]) + 1e-30;
      const denominator = Math.sqrt(after.v[i]) + epsilon;
      const step = (lrT(t) * Math.abs(after.m[i])) / denominator;
      const stepError = (lrT(t) * m) / denominator + step * (1e-6 + vRel / 2);
      return { m, v, w: ULP * Math.abs(after.w[i]) + stepError + 1e-30 };
    },
  };
}

function rmsprop(lr: number, rho: number, epsilon: number): Optimizer {
  return {
    name: `rmsprop lr=${lr} ρ=${rho} ε=${epsilon}`,
    state: ["s"],
    step: (k, b, count) => k.rmspropUpdate(b.w.ptr, b.g.ptr, b.s.ptr, count, lr, rho, epsilon),
    bounds: (before, after, i) => {
      const sRel = ULP + 1e-6 + oneMinusError(rho);
      const step = (lr * Math.abs(before.g[i])) / (Math.sqrt(after.s[i]) + epsilon);
      return { s: sRel * Math.abs(after.s[i]) + 1e-30, w: ULP * Math.abs(after.w[i]) + step * (1e-6 + sRel / 2) + 1e-30 };
    },
  };
}

const optimizers: Optimizer[] = [
  sgd(0.01), sgd(0.3),
  momentum(0.01, 0.9, false), momentum(0.01, 0.9, true), momentum(0.1, 0.5, false), momentum(0.1, 0.5, true),
  adam(0.001, 0.9, 0.999, 1e-7), adam(0.01, 0.8, 0.99, 1e-3),
  rmsprop(0.001, 0.9, 1e-7), rmsprop(0.01, 0.99, 1e-6),
];

/** Runs STEPS steps on both backends; returns the first out-of-tolerance element per step and buffer. */
function runOptimizer(heaps: TwinHeaps, opt: Optimizer, count: number, offset: number, corrupt = false): string[] {
  const mark = heaps.fast.mark();
  const failures: string[] = [];
  const buffers: Buffers = {};
  const names = ["w", "g", ...opt.state];
  for (const [n, name] of names.entries()) {
    const total = offset + count + GUARD;
    const init = seededValues(total, 900 + n, 50, 60);
    if (name === "w") init.set(seededValues(count, count * 13 + offset), offset);
    else init.fill(0, offset, offset + count);
    const base = heaps.floats(total, init);
    buffers[name] = { ptr: base + 4 * offset, base, total };
  }
  const where = `${opt.name} count=${count} offset=${offset}`;
  for (let t = 1; t <= STEPS; t++) {
    const g = seededValues(count, t * 1000 + count, -2, 2);
    for (let i = 0; i < count; i += 7) g[i] = 0;
    heaps.fast.f32(buffers.g.ptr, count).set(g);
    heaps.reference.f32(buffers.g.ptr, count).set(g);
    const before: Record<string, Float32Array> = {};
    for (const name of names) before[name] = heaps.reference.f32(buffers[name].ptr, count).slice();
    heaps.run((k) => opt.step(k, buffers, count, t));
    if (corrupt && t === 2) heaps.fast.f32(buffers.w.ptr, count)[count - 1] += 1e-3;
    const after: Record<string, Float32Array> = {};
    for (const name of names) after[name] = heaps.reference.f32(buffers[name].ptr, count).slice();
    for (const name of names) {
      const { base, total } = buffers[name];
      const { fast, reference } = heaps.both(base, total);
      for (let j = 0; j < total; j++) {
        const i = j - offset;
        const inside = i >= 0 && i < count;
        const bound = inside && name !== "g" ? opt.bounds(before, after, i, t)[name] : 0;
        const diff = Math.abs(fast[j] - reference[j]);
        if (!(diff <= bound)) {
          failures.push(`${where} step ${t}: ${name}[${i}]${inside ? "" : " (outside the buffer)"} got ${fast[j]} want ${reference[j]} (allowed ±${bound.toExponential(2)})`);
          break;
        }
      }
      // Re-synchronise, so the next step starts from identical inputs.
      heaps.fast.f32(base, total).set(reference);
    }
  }
  heaps.fast.release(mark);
  heaps.reference.release(mark);
  return failures;
}

for (const variant of wasmVariants()) {
  describe(`optimizers (${variant.name})`, () => {
    for (const opt of optimizers) {
      test(`${opt.name}: ${STEPS} steps over ragged counts, aligned and misaligned`, () => {
        const heaps = new TwinHeaps(variant.make());
        const failures: string[] = [];
        for (const count of counts) for (const offset of [0, 1]) failures.push(...runOptimizer(heaps, opt, count, offset));
        expect(failures).toEqual([]);
      });
    }

    test("the comparison can fail: a weight nudged by 1e-3 after a step is caught", () => {
      const heaps = new TwinHeaps(variant.make());
      for (const opt of [sgd(0.01), adam(0.001, 0.9, 0.999, 1e-7)]) {
        const failures = runOptimizer(heaps, opt, 5, 0, true);
        expect(failures.length).toBe(1);
        expect(failures[0]).toContain("step 2: w[4]");
      }
    });
  });
}
