// The recurrent cell kernels (assembly/recurrent.ts: LSTM, both GRU forms, SimpleRNN) against the naive reference, over n 1–3 × units 1–9
// and 13 (around the 4-lane split), with no mask and a mask read with a row stride (one masked row), with
// and without an output gradient read with a stride. Gates are drawn in ±4, so σ and tanh are exercised in
// their curved and saturated parts.
//
// Tolerance |Δ| ≤ 1e-6 + 1e-5·|reference|: the kernels compute σ and tanh from their own exp/expm1
// polynomials in f32 (a few ulps), the reference with Math.exp and Math.tanh in f64 rounded once; a wrong
// gate, a swapped operand or a missed mask is off by O(0.1). Masked rows must match exactly (they copy).

import { describe, expect, test } from "bun:test";
import { Act } from "../../src/engine/kernels";
import { TwinHeaps, seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

const ATOL = 1e-6, RTOL = 1e-5;
const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13];

interface Case {
  heaps: TwinHeaps;
  n: number;
  u: number;
  label: string;
  mask: number;
  maskStride: number;
  dOut: number;
  dOutStride: number;
}

/** Every combination of n, u, masked or not and with or without dOut, each with fresh twin heaps. */
function* cases(make: () => import("../../src/engine/kernels").Kernels): Generator<Case> {
  for (const n of [1, 2, 3])
    for (const u of SIZES)
      for (const masked of [false, true])
        for (const withOut of [false, true]) {
          const heaps = new TwinHeaps(make());
          // The mask of step 1 of 3 in a batch-major [n, 3] mask: row b at 3b + 1; row 0 is padding.
          const maskValues = Array.from({ length: 3 * n }, (_, i) => (i === 1 ? 0 : 1));
          const mask = masked ? heaps.floats(3 * n, maskValues) + 4 : 0;
          // A batch-major [n, 2, u] output gradient, step 1's rows: stride 2u.
          const dOut = withOut ? heaps.floats(2 * n * u, seededValues(2 * n * u, 7 * u + n)) + 4 * u : 0;
          yield { heaps, n, u, mask, maskStride: 3, dOut, dOutStride: 2 * u, label: `n=${n} u=${u}${masked ? " masked" : ""}${withOut ? " dOut" : ""}` };
        }
}

function compare(failures: string[], heaps: TwinHeaps, what: string, ptr: number, count: number, label: string): void {
  const { fast, reference } = heaps.both(ptr, count);
  const w = worstMismatch(fast, reference, ATOL, RTOL);
  if (w.worst > 1) failures.push(`${what} ${label}: [${w.at}] ${w.got} vs ${w.want}`);
}

for (const variant of wasmVariants()) {
  describe(`recurrent cell kernels (${variant.name})`, () => {
    test("LSTM step forward and backward match the reference", () => {
      const failures: string[] = [];
      for (const { heaps, n, u, mask, maskStride, dOut, dOutStride, label } of cases(variant.make)) {
        const seed = n * 100 + u;
        const gates = heaps.floats(4 * n * u, seededValues(4 * n * u, seed, -4, 4));
        const cPrev = heaps.floats(n * u, seededValues(n * u, seed + 1, -2, 2)), hPrev = heaps.floats(n * u, seededValues(n * u, seed + 2));
        const c = heaps.floats(n * u), h = heaps.floats(n * u);
        heaps.run((k) => k.lstmCellForward(gates, n, u, cPrev, hPrev, mask, maskStride, c, h));
        compare(failures, heaps, "lstm forward gates", gates, 4 * n * u, label);
        compare(failures, heaps, "lstm forward c", c, n * u, label);
        compare(failures, heaps, "lstm forward h", h, n * u, label);
        if (mask !== 0 && heaps.fast.f32(h, u).some((v, j) => v !== heaps.fast.f32(hPrev, u)[j])) failures.push(`lstm ${label}: a masked row did not carry h`);
        const dh = heaps.floats(n * u, seededValues(n * u, seed + 3)), dc = heaps.floats(n * u, seededValues(n * u, seed + 4));
        heaps.run((k) => k.lstmCellBackward(gates, n, u, cPrev, c, mask, maskStride, dOut, dOutStride, dh, dc));
        compare(failures, heaps, "lstm backward dz", gates, 4 * n * u, label);
        compare(failures, heaps, "lstm backward dh", dh, n * u, label);
        compare(failures, heaps, "lstm backward dc", dc, n * u, label);
      }
      expect(failures).toEqual([]);
    });

    test("GRU (reset after) step forward and backward match the reference", () => {
      const failures: string[] = [];
      for (const { heaps, n, u, mask, maskStride, dOut, dOutStride, label } of cases(variant.make)) {
        const seed = n * 100 + u + 50;
        const xg = heaps.floats(3 * n * u, seededValues(3 * n * u, seed, -4, 4)), rg = heaps.floats(3 * n * u, seededValues(3 * n * u, seed + 1, -3, 3));
        const hPrev = heaps.floats(n * u, seededValues(n * u, seed + 2)), h = heaps.floats(n * u);
        heaps.run((k) => k.gruCellForward(xg, rg, n, u, hPrev, mask, maskStride, h));
        compare(failures, heaps, "gru forward gates", xg, 3 * n * u, label);
        compare(failures, heaps, "gru forward h", h, n * u, label);
        const dh = heaps.floats(n * u, seededValues(n * u, seed + 3));
        heaps.run((k) => k.gruCellBackward(xg, rg, n, u, hPrev, mask, maskStride, dOut, dOutStride, dh));
        compare(failures, heaps, "gru backward dx", xg, 3 * n * u, label);
        compare(failures, heaps, "gru backward dr", rg, 3 * n * u, label);
        compare(failures, heaps, "gru backward dh", dh, n * u, label);
      }
      expect(failures).toEqual([]);
    });

    test("GRU (reset before) step forward and backward match the reference", () => {
      // The four kernels in the layer's order, with the GEMMs between them replaced by fixed values added
      // to the gate blocks (forward) and a fixed d(r ⊙ hIn) (backward); hIn differs from hPrev, as it does
      // under recurrent dropout.
      const failures: string[] = [];
      for (const { heaps, n, u, mask, maskStride, dOut, dOutStride, label } of cases(variant.make)) {
        const seed = n * 100 + u + 70;
        const gates = heaps.floats(3 * n * u, seededValues(3 * n * u, seed, -4, 4));
        const hPrev = heaps.floats(n * u, seededValues(n * u, seed + 1)), hIn = heaps.floats(n * u, seededValues(n * u, seed + 2, -1.5, 1.5));
        const rh = heaps.floats(n * u), h = heaps.floats(n * u);
        const ghat = heaps.fast.f32(gates + 8 * u, u)[0];
        heaps.run((k) => k.gruResetBeforeForwardGates(gates, n, u, hIn, rh));
        compare(failures, heaps, "gru-before forward gates", gates, 3 * n * u, label);
        compare(failures, heaps, "gru-before forward r⊙h", rh, n * u, label);
        if (heaps.fast.f32(gates + 8 * u, u)[0] !== ghat) failures.push(`gru-before ${label}: the gates kernel touched the candidate block`);
        heaps.run((k) => k.gruResetBeforeForwardState(gates, n, u, hPrev, mask, maskStride, h));
        compare(failures, heaps, "gru-before forward candidate", gates, 3 * n * u, label);
        compare(failures, heaps, "gru-before forward h", h, n * u, label);
        if (mask !== 0 && heaps.fast.f32(h, u).some((v, j) => v !== heaps.fast.f32(hPrev, u)[j])) failures.push(`gru-before ${label}: a masked row did not carry h`);
        const dh = heaps.floats(n * u, seededValues(n * u, seed + 3));
        heaps.run((k) => k.gruResetBeforeBackwardState(gates, n, u, hPrev, mask, maskStride, dOut, dOutStride, dh));
        compare(failures, heaps, "gru-before backward dz_z, r, dz_h", gates, 3 * n * u, label);
        compare(failures, heaps, "gru-before backward dh", dh, n * u, label);
        const drh = heaps.floats(n * u, seededValues(n * u, seed + 4, -2, 2));
        heaps.run((k) => k.gruResetBeforeBackwardReset(gates, drh, n, u, hIn, mask, maskStride));
        compare(failures, heaps, "gru-before backward dz_r", gates, 3 * n * u, label);
        compare(failures, heaps, "gru-before backward drh·r", drh, n * u, label);
        if (mask !== 0 && heaps.fast.f32(drh, u).some((v) => v !== 0)) failures.push(`gru-before ${label}: a masked row passed a gradient through r ⊙ h`);
      }
      expect(failures).toEqual([]);
    });

    test("GRU (reset before) kernels against the formulas written out, one element", () => {
      // The reference shares the kernels' reading of the blocks; this holds both to the equations with
      // numbers worked here: z and r from 0.3 and −0.2, hIn 0.5, hPrev 0.8, candidate pre-activation 0.1,
      // dh 1, d(r ⊙ hIn) 0.7.
      const heaps = new TwinHeaps(variant.make());
      const gates = heaps.floats(3, [0.3, -0.2, 0]), hIn = heaps.floats(1, [0.5]), hPrev = heaps.floats(1, [0.8]);
      const rh = heaps.floats(1), h = heaps.floats(1), dh = heaps.floats(1, [1]), drh = heaps.floats(1, [0.7]);
      const σ = (x: number) => 1 / (1 + Math.exp(-x));
      const z = σ(0.3), r = σ(-0.2);
      heaps.run((k) => k.gruResetBeforeForwardGates(gates, 1, 1, hIn, rh));
      heaps.fast.f32(gates + 8, 1)[0] += 0.1;
      heaps.reference.f32(gates + 8, 1)[0] += 0.1;
      heaps.run((k) => k.gruResetBeforeForwardState(gates, 1, 1, hPrev, 0, 1, h));
      const cand = Math.tanh(0.1); // 0.1 stands for x_h + (r ⊙ hIn)·U_h, the GEMM's sum
      for (const side of [heaps.fast, heaps.reference]) {
        expect(side.f32(rh, 1)[0]).toBeCloseTo(r * 0.5, 6);
        expect(side.f32(h, 1)[0]).toBeCloseTo(z * 0.8 + (1 - z) * cand, 6);
      }
      heaps.run((k) => k.gruResetBeforeBackwardState(gates, 1, 1, hPrev, 0, 1, 0, 0, dh));
      heaps.run((k) => k.gruResetBeforeBackwardReset(gates, drh, 1, 1, hIn, 0, 1));
      for (const side of [heaps.fast, heaps.reference]) {
        const [dzz, dzr, dzh] = side.f32(gates, 3);
        expect(dzz).toBeCloseTo((0.8 - cand) * z * (1 - z), 6);
        expect(dzh).toBeCloseTo((1 - z) * (1 - cand * cand), 6);
        expect(dzr).toBeCloseTo(0.7 * 0.5 * r * (1 - r), 6);
        expect(side.f32(drh, 1)[0]).toBeCloseTo(0.7 * r, 6);
        expect(side.f32(dh, 1)[0]).toBeCloseTo(z, 6);
      }
    });

    test("SimpleRNN step forward and backward match the reference, for each activation", () => {
      const failures: string[] = [];
      for (const act of [Act.tanh, Act.relu, Act.sigmoid, Act.linear])
        for (const { heaps, n, u, mask, maskStride, dOut, dOutStride, label } of cases(variant.make)) {
          const seed = n * 100 + u + act;
          const z = heaps.floats(n * u, seededValues(n * u, seed, -4, 4));
          const hPrev = heaps.floats(n * u, seededValues(n * u, seed + 2)), h = heaps.floats(n * u);
          heaps.run((k) => k.rnnCellForward(z, n, u, act, hPrev, mask, maskStride, h));
          compare(failures, heaps, `rnn(${act}) forward`, h, n * u, label);
          const dh = heaps.floats(n * u, seededValues(n * u, seed + 3));
          heaps.run((k) => k.rnnCellBackward(h, n, u, act, mask, maskStride, dOut, dOutStride, dh, z));
          compare(failures, heaps, `rnn(${act}) backward dz`, z, n * u, label);
          compare(failures, heaps, `rnn(${act}) backward dh`, dh, n * u, label);
        }
      expect(failures).toEqual([]);
    });
  });
}
