// The activations of newer networks, four lanes at a time: relu6, leakyRelu, elu, gelu, geluTanh, swish,
// hardSigmoid and hardSwish (activations.ts dispatches here; vector-math.ts has exp, expm1, erf and σ).
//
// Backward passes come in two forms. relu6, leakyRelu, elu and hardSigmoid are monotonic, so their slope
// is a function of the output y, and a layer keeps only y, as it does for relu/sigmoid/tanh. gelu,
// geluTanh, swish and hardSwish are not (each dips below zero and comes back), so two inputs share an
// output with different slopes: their backward takes the pre-activation x, which the layer keeps for them.
//
// Infinities give the limits (swish(−∞) = 0, gelu(∞) = ∞, …), never NaN: x·gate(x) is evaluated with −∞
// replaced by −FLT_MAX, whose product with a gate of exactly 0 is 0.
// alpha: leakyRelu's negative slope and elu's scale (≥ 0, checked by the host); other activations ignore it.

import {
  ACT_ELU, ACT_GELU, ACT_GELU_TANH, ACT_HARD_SIGMOID, ACT_HARD_SWISH, ACT_LEAKY_RELU, ACT_LINEAR, ACT_RELU6, ACT_SWISH,
} from "./activation-codes";
import { FLT_MAX, erf, expNegativeAbs, expNonPositive, expm1NonPositive, madd, reciprocalOfOnePlus, sigmoid, sigmoidFrom } from "./vector-math";

const SQRT_HALF: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;
/** geluTanh(x) = ½x(1 + tanh u) = x·σ(2u) with 2u = 2√(2/π)·(x + 0.044715x³): the σ form has no 1 + tanh to cancel. */
const TWO_SQRT_2_OVER_PI: f32 = 1.5957691216057308;
const GELU_CUBIC: f32 = 0.044715;
const SIXTH: f32 = 1.0 / 6.0;
const THIRD: f32 = 1.0 / 3.0;

@inline function splat(v: f32): v128 {
  return f32x4.splat(v);
}

/** Replaces ±∞ by ±FLT_MAX (NaN stays NaN). */
@inline function finite(x: v128): v128 {
  return f32x4.min(f32x4.max(x, splat(-FLT_MAX)), splat(FLT_MAX));
}

/** 2u of geluTanh: 2√(2/π)·x·(1 + 0.044715x²). */
@inline function geluTanhArgument(x: v128): v128 {
  return f32x4.mul(f32x4.mul(x, splat(TWO_SQRT_2_OVER_PI)), madd(f32x4.mul(x, x), splat(GELU_CUBIC), splat(1)));
}

@inline function forwardLanes(act: i32, x: v128, alpha: v128): v128 {
  const zero = splat(0);
  if (act == ACT_RELU6) return f32x4.min(f32x4.max(x, zero), splat(6));
  if (act == ACT_LEAKY_RELU) return v128.bitselect(x, f32x4.mul(x, alpha), f32x4.gt(x, zero));
  if (act == ACT_ELU) return v128.bitselect(x, f32x4.mul(alpha, expm1NonPositive(f32x4.min(x, zero))), f32x4.gt(x, zero));
  if (act == ACT_GELU) {
    // ½x(1 + erf(x/√2)). Far left, 1 + erf cancels to an absolute error of ~2⁻²⁴·|x|, as in every f32 gelu.
    const cdf = f32x4.add(splat(1), erf(f32x4.mul(x, splat(SQRT_HALF))));
    return f32x4.mul(f32x4.mul(f32x4.max(x, splat(-FLT_MAX)), splat(0.5)), cdf);
  }
  if (act == ACT_GELU_TANH) return f32x4.mul(f32x4.max(x, splat(-FLT_MAX)), sigmoid(geluTanhArgument(x)));
  if (act == ACT_SWISH) return f32x4.mul(f32x4.max(x, splat(-FLT_MAX)), sigmoid(x));
  // (x + 3)/6 rather than x/6 + ½, which would cancel near x = −3.
  if (act == ACT_HARD_SIGMOID) return f32x4.min(f32x4.max(f32x4.mul(f32x4.add(x, splat(3)), splat(SIXTH)), zero), splat(1));
  if (act == ACT_HARD_SWISH) {
    // x·relu6(x + 3)/6; below −3 the gate is 0, and clamping x there first keeps −∞·0 out.
    const xc = f32x4.max(x, splat(-3));
    return f32x4.mul(xc, f32x4.mul(f32x4.min(f32x4.add(xc, splat(3)), splat(6)), splat(SIXTH)));
  }
  return x;
}

/** dx = dy·f′ for the monotonic activations, read off the output y. */
@inline function backwardFromOutputLanes(act: i32, y: v128, dy: v128, alpha: v128): v128 {
  const zero = splat(0);
  if (act == ACT_RELU6) return v128.and(dy, v128.and(f32x4.gt(y, zero), f32x4.lt(y, splat(6))));
  if (act == ACT_LEAKY_RELU) return v128.bitselect(dy, f32x4.mul(dy, alpha), f32x4.gt(y, zero));
  // Below 0, y = α(eˣ − 1), so f′ = αeˣ = y + α.
  if (act == ACT_ELU) return v128.bitselect(dy, f32x4.mul(dy, f32x4.add(y, alpha)), f32x4.gt(y, zero));
  if (act == ACT_HARD_SIGMOID) return v128.and(f32x4.mul(dy, splat(SIXTH)), v128.and(f32x4.gt(y, zero), f32x4.lt(y, splat(1))));
  return dy;
}

/** dx = dy·f′(x) for the activations whose slope the output does not determine. */
@inline function backwardFromInputLanes(act: i32, x: v128, dy: v128): v128 {
  if (act == ACT_GELU) {
    // Φ(x) + x·φ(x). For |x| = FLT_MAX, x² overflows and φ = 0 exactly, so x·φ is 0.
    const xf = finite(x);
    const cdf = madd(erf(f32x4.mul(xf, splat(SQRT_HALF))), splat(0.5), splat(0.5));
    const pdf = f32x4.mul(expNonPositive(f32x4.mul(f32x4.mul(xf, xf), splat(-0.5))), splat(INV_SQRT_2PI));
    return f32x4.mul(dy, madd(xf, pdf, cdf));
  }
  if (act == ACT_GELU_TANH) {
    // σ(w) + x·σ′(w)·w′ with w = 2u. Past |x| = 20, σ′(w) is 0 in f32 already; clamping there keeps
    // x·w′ from overflowing into ∞·0.
    const xc = f32x4.min(f32x4.max(x, splat(-20)), splat(20));
    const w = geluTanhArgument(xc);
    const e = expNegativeAbs(w);
    const r = reciprocalOfOnePlus(e);
    const slopeW = f32x4.mul(splat(TWO_SQRT_2_OVER_PI), madd(f32x4.mul(xc, xc), splat(3 * GELU_CUBIC), splat(1)));
    const sigmoidSlope = f32x4.mul(e, f32x4.mul(r, r));
    return f32x4.mul(dy, madd(f32x4.mul(xc, sigmoidSlope), slopeW, sigmoidFrom(w, e, r)));
  }
  if (act == ACT_SWISH) {
    // σ(x) + x·σ′(x).
    const xf = finite(x);
    const e = expNegativeAbs(xf);
    const r = reciprocalOfOnePlus(e);
    return f32x4.mul(dy, madd(xf, f32x4.mul(e, f32x4.mul(r, r)), sigmoidFrom(xf, e, r)));
  }
  if (act == ACT_HARD_SWISH) {
    // 0 below −3, 1 above 3, x/3 + ½ between (both ends included, as PyTorch's hardswish_backward).
    let slope = madd(x, splat(THIRD), splat(0.5));
    slope = v128.bitselect(splat(1), slope, f32x4.gt(x, splat(3)));
    return f32x4.mul(dy, v128.andnot(slope, f32x4.lt(x, splat(-3))));
  }
  return dy;
}

// The loops are inlined into the dispatchers below with a constant `act`, so each activation gets a loop
// of its own with no per-vector branching. Tails run the same lane code on a splat: an element's result
// never depends on where it sits in the buffer.

@inline function forwardLoop(act: i32, x: usize, y: usize, count: i32, alpha: f32): void {
  const a = splat(alpha);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, forwardLanes(act, v128.load(x + off), a));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, f32x4.extract_lane(forwardLanes(act, splat(load<f32>(x + off)), a), 0));
  }
}

@inline function backwardFromOutputLoop(act: i32, y: usize, dy: usize, dx: usize, count: i32, alpha: f32): void {
  const a = splat(alpha);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(dx + off, backwardFromOutputLanes(act, v128.load(y + off), v128.load(dy + off), a));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    const lanes = backwardFromOutputLanes(act, splat(load<f32>(y + off)), splat(load<f32>(dy + off)), a);
    store<f32>(dx + off, f32x4.extract_lane(lanes, 0));
  }
}

@inline function backwardFromInputLoop(act: i32, x: usize, dy: usize, dx: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(dx + off, backwardFromInputLanes(act, v128.load(x + off), v128.load(dy + off)));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    const lanes = backwardFromInputLanes(act, splat(load<f32>(x + off)), splat(load<f32>(dy + off)));
    store<f32>(dx + off, f32x4.extract_lane(lanes, 0));
  }
}

/** y = f(x) for the activations above; y may equal x. */
export function vectorActivationForward(act: i32, x: usize, y: usize, count: i32, alpha: f32): void {
  if (act == ACT_RELU6) forwardLoop(ACT_RELU6, x, y, count, alpha);
  else if (act == ACT_LEAKY_RELU) forwardLoop(ACT_LEAKY_RELU, x, y, count, alpha);
  else if (act == ACT_ELU) forwardLoop(ACT_ELU, x, y, count, alpha);
  else if (act == ACT_GELU) forwardLoop(ACT_GELU, x, y, count, alpha);
  else if (act == ACT_GELU_TANH) forwardLoop(ACT_GELU_TANH, x, y, count, alpha);
  else if (act == ACT_SWISH) forwardLoop(ACT_SWISH, x, y, count, alpha);
  else if (act == ACT_HARD_SIGMOID) forwardLoop(ACT_HARD_SIGMOID, x, y, count, alpha);
  else if (act == ACT_HARD_SWISH) forwardLoop(ACT_HARD_SWISH, x, y, count, alpha);
}

/** dx = dy ⊙ f′ through the output y, for relu6, leakyRelu, elu and hardSigmoid; dx may equal dy. */
export function vectorActivationBackward(act: i32, y: usize, dy: usize, dx: usize, count: i32, alpha: f32): void {
  if (act == ACT_RELU6) backwardFromOutputLoop(ACT_RELU6, y, dy, dx, count, alpha);
  else if (act == ACT_LEAKY_RELU) backwardFromOutputLoop(ACT_LEAKY_RELU, y, dy, dx, count, alpha);
  else if (act == ACT_ELU) backwardFromOutputLoop(ACT_ELU, y, dy, dx, count, alpha);
  else if (act == ACT_HARD_SIGMOID) backwardFromOutputLoop(ACT_HARD_SIGMOID, y, dy, dx, count, alpha);
  else unreachable(); // the slope of this activation is not a function of its output
}

/**
 * dx = dy ⊙ f′(x) through the pre-activation x, for gelu, geluTanh, swish and hardSwish (and linear,
 * which copies); dx may equal dy. Any other code traps: its layer keeps y, not x, and must use
 * activationBackward.
 */
export function activationBackwardFromInput(act: i32, x: usize, dy: usize, dx: usize, count: i32): void {
  if (act == ACT_GELU) backwardFromInputLoop(ACT_GELU, x, dy, dx, count);
  else if (act == ACT_GELU_TANH) backwardFromInputLoop(ACT_GELU_TANH, x, dy, dx, count);
  else if (act == ACT_SWISH) backwardFromInputLoop(ACT_SWISH, x, dy, dx, count);
  else if (act == ACT_HARD_SWISH) backwardFromInputLoop(ACT_HARD_SWISH, x, dy, dx, count);
  else if (act == ACT_LINEAR) {
    if (dx != dy) memory.copy(dx, dy, <usize>count << 2);
  } else unreachable();
}
