// Four-lane f32 exp, expm1, erf and sigmoid for the activation kernels. Mathf works one lane at a time and
// has no erf; these evaluate a v128 at once with a polynomial after range reduction, to about one f32 ulp
// (the worst seen against a 40-digit reference: exp 0.97 ulp, expm1 0.85 ulp, erf 1.37 ulp). Every one of
// them is written for the arguments the activations give it, which are stated on each function.
//
// Special values: NaN stays NaN; −∞ is handled where a caller can pass it (exp(−∞) = 0, erf(±∞) = ±1).

/** Fused where relaxed SIMD has it (the relaxed build), else multiply then add; the error bounds hold either way. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** The largest finite f32. max(x, −FLT_MAX) turns −∞ into a finite number so that 0·x is 0, not NaN. */
export const FLT_MAX: f32 = 3.4028234664e38;

const LOG2E: f32 = 1.44269504088896341;
// ln 2 split Cody–Waite style: n·LN2_HI is exact for |n| < 2¹⁵ (LN2_HI has 9 significant bits), so
// z − n·ln 2 keeps the low bits a one-constant reduction would round away.
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
/** ln 2⁻¹⁵⁰: below it e^z rounds to 0 in f32. Between it and ln(FLT_MIN) ≈ −87.3, e^z is subnormal. */
const EXP_FLOOR: f32 = -103.97208;
/** Below it e^z − 1 rounds to −1 in f32 (e^z < 2⁻²⁵). */
const EXPM1_FLOOR: f32 = -17.32868;

/** e^r − 1 for |r| ≤ ln2/2, as r + r²·P(r) with Cephes' expf minimax coefficients. */
@inline function expm1Reduced(r: v128): v128 {
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  return madd(p, f32x4.mul(r, r), r);
}

/** 2ⁿ for integral n in [−126, 127], built in the exponent field. */
@inline function powerOfTwo(n: v128): v128 {
  return i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
}

/**
 * e^z for z ≤ 0 (−∞ included), subnormal results included: 2ⁿ for n down to −150 is applied as
 * 2ⁿ⁺⁶⁴ (a normal number) and then 2⁻⁶⁴, so the one rounding into the subnormal range happens last.
 */
@inline export function expNonPositive(z: v128): v128 {
  const zc = f32x4.pmax(z, f32x4.splat(EXP_FLOOR));
  const n = f32x4.nearest(f32x4.mul(zc, f32x4.splat(LOG2E)));
  const r = madd(n, f32x4.splat(-LN2_LO), madd(n, f32x4.splat(-LN2_HI), zc));
  const scaled = f32x4.mul(f32x4.add(expm1Reduced(r), f32x4.splat(1)), powerOfTwo(f32x4.add(n, f32x4.splat(64))));
  const e = f32x4.mul(scaled, f32x4.splat(5.421010862427522e-20)); // 2⁻⁶⁴
  return v128.andnot(e, f32x4.lt(z, f32x4.splat(EXP_FLOOR)));
}

/**
 * e^z − 1 for z ≤ 0 (−∞ included), with full relative precision near 0, where e^z − 1 would cancel:
 * with z = n·ln2 + r, e^z − 1 = 2ⁿ·(e^r − 1) + (2ⁿ − 1), and 2ⁿ − 1 is exact for the n ≥ −25 used here.
 */
@inline export function expm1NonPositive(z: v128): v128 {
  const zc = f32x4.pmax(z, f32x4.splat(EXPM1_FLOOR));
  const n = f32x4.nearest(f32x4.mul(zc, f32x4.splat(LOG2E)));
  const r = madd(n, f32x4.splat(-LN2_LO), madd(n, f32x4.splat(-LN2_HI), zc));
  const s = powerOfTwo(n);
  return madd(expm1Reduced(r), s, f32x4.sub(s, f32x4.splat(1)));
}

/** Where erf switches from its odd polynomial to 1 − e^R. */
const ERF_BREAK: f32 = 0.921875;

/**
 * erf(z) for any z, within 1.4 ulp. Two pieces, both evaluated and one selected per lane:
 *  - |z| ≤ 0.921875: z + z·P(z²), P of degree 6 (z·P is the part of erf(z) beyond z, so it rounds small);
 *  - |z| > 0.921875: ±(1 − e^R(|z|)), R of degree 6 fitted to log erfc on [0.921875, 4]; |z| is clamped to
 *    4, past which erf is 1 in f32. Writing the tail through an exponential keeps erfc's relative shape,
 *    which a polynomial in z cannot follow.
 * Coefficients: weighted minimax fits (Lawson's iteration on Chebyshev nodes, against mpmath's erf at 40
 * digits), rounded to f32; scripts/fit-erf.py reproduces them and the error bound. The rational erf of
 * Eigen and XLA is off by up to 6.6 ulp (4e-7 near 1), which gelu's left tail would show.
 */
@inline export function erf(z: v128): v128 {
  const t = f32x4.abs(z);
  const s = f32x4.mul(z, z);
  let p = f32x4.splat(8.397918281843886e-5);
  p = madd(p, s, f32x4.splat(-8.149840869009495e-4));
  p = madd(p, s, f32x4.splat(5.201719701290131e-3));
  p = madd(p, s, f32x4.splat(-2.685970440506935e-2));
  p = madd(p, s, f32x4.splat(1.1283701658248901e-1));
  p = madd(p, s, f32x4.splat(-3.7612634897232056e-1));
  p = madd(p, s, f32x4.splat(1.2837916612625122e-1));
  const near = madd(z, p, z);

  const tc = f32x4.pmin(t, f32x4.splat(4));
  let q = f32x4.splat(1.947354612639174e-4);
  q = madd(q, tc, f32x4.splat(-3.031610045582056e-3));
  q = madd(q, tc, f32x4.splat(2.218143455684185e-2));
  q = madd(q, tc, f32x4.splat(-1.038389801979065e-1));
  q = madd(q, tc, f32x4.splat(-6.372856497764587e-1));
  q = madd(q, tc, f32x4.splat(-1.1276154518127441));
  q = madd(q, tc, f32x4.splat(-2.0990190387237817e-4));
  const magnitude = f32x4.sub(f32x4.splat(1), expNonPositive(q));
  const far = v128.or(magnitude, v128.and(z, f32x4.splat(-0.0))); // copysign: magnitude ≥ 0

  return v128.bitselect(near, far, f32x4.le(t, f32x4.splat(ERF_BREAK)));
}

/** e^−|x|, the one exponential σ(x) and σ′(x) are built from. */
@inline export function expNegativeAbs(x: v128): v128 {
  return expNonPositive(f32x4.neg(f32x4.abs(x)));
}

/**
 * σ(x) = 1/(1 + e^−x) through e = e^−|x| ∈ (0, 1] and r = 1/(1 + e): σ = r for x ≥ 0 and e·r below, and
 * σ′ = σ(1 − σ) = e·r² for either sign, so no overflow and no cancellation can occur.
 */
@inline export function sigmoidFrom(x: v128, e: v128, r: v128): v128 {
  return v128.bitselect(r, f32x4.mul(e, r), f32x4.ge(x, f32x4.splat(0)));
}

@inline export function reciprocalOfOnePlus(e: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
}

@inline export function sigmoid(x: v128): v128 {
  const e = expNegativeAbs(x);
  return sigmoidFrom(x, e, reciprocalOfOnePlus(e));
}
