// The element-wise activations and their slopes in plain f64, for the reference kernels: each written in
// the form that is exact to f64 rounding over the whole line, so the f32 kernels can be held to it even in
// the tails (gelu through erfc, geluTanh and swish through σ, which has no 1 + tanh to cancel). Infinite
// inputs give the limits. The formulas are in kernels.ts beside the codes.

import { Act, type ActCode } from "./kernels";

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_TANH_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/**
 * erfc(x) for any x. |x| < 2: from erf's series e^(−x²)·(2/√π)·Σ (2x²)ⁿ·x/(1·3·…·(2n+1)), whose terms are
 * all positive (the alternating Maclaurin series would cancel). x ≥ 2: the continued fraction
 * erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …)))), by Lentz's method, which converges in a
 * few dozen terms there and keeps full relative precision down to erfc(27) ≈ 5e-319.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  if (x > 27.3) return 0; // below the smallest f64 subnormal
  const tiny = 1e-300;
  // Lentz: f = b0 + a1/(b1 + a2/(b2 + …)) with b_n = x and a_n = n/2.
  let f = x, c = x, d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-x * x) * INV_SQRT_PI) / f;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -erf(-x);
  return x < 2 ? erfSeries(x) : 1 - erfc(x);
}

function erfSeries(x: number): number {
  const twoXSquared = 2 * x * x;
  let term = x, sum = x;
  for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
    term *= twoXSquared / (2 * n + 1);
    sum += term;
  }
  return 2 * INV_SQRT_PI * Math.exp(-x * x) * sum;
}

/** σ(x) without overflow or cancellation. */
function sigmoid(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** σ′(x) = e^−|x|/(1 + e^−|x|)², the same for either sign. */
function sigmoidSlope(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return e / ((1 + e) * (1 + e));
}

/** 2u of geluTanh, where ½(1 + tanh u) = σ(2u). */
const geluTanhArgument = (x: number) => 2 * GELU_TANH_SCALE * (x + GELU_CUBIC * x * x * x);

/** f(x). alpha: leakyRelu's negative slope, elu's scale. */
export function activate(x: number, act: ActCode, alpha = NaN): number {
  switch (act) {
    case Act.relu: return x > 0 ? x : 0;
    case Act.sigmoid: return 1 / (1 + Math.exp(-x));
    case Act.tanh: return Math.tanh(x);
    case Act.relu6: return Math.min(Math.max(x, 0), 6);
    case Act.leakyRelu: return x > 0 ? x : alpha * x;
    case Act.elu: return x > 0 ? x : alpha * Math.expm1(x);
    case Act.gelu: return x === -Infinity ? 0 : 0.5 * x * erfc(-x * SQRT_HALF);
    case Act.geluTanh: return x === -Infinity ? 0 : x === Infinity ? x : x * sigmoid(geluTanhArgument(x));
    case Act.swish: return x === -Infinity ? 0 : x * sigmoid(x);
    case Act.hardSigmoid: return Math.min(Math.max(x + 3, 0), 6) / 6;
    case Act.hardSwish: return x <= -3 ? 0 : (x * Math.min(x + 3, 6)) / 6;
    default: return x;
  }
}

/** f′ from the output y = f(x), for the activations whose slope y determines. */
export function slopeFromOutput(y: number, act: ActCode, alpha = NaN): number {
  switch (act) {
    case Act.relu: return y > 0 ? 1 : 0;
    case Act.sigmoid: return y * (1 - y);
    case Act.tanh: return 1 - y * y;
    case Act.relu6: return y > 0 && y < 6 ? 1 : 0;
    case Act.leakyRelu: return y > 0 ? 1 : alpha;
    case Act.elu: return y > 0 ? 1 : y + alpha; // α(eˣ − 1) + α = αeˣ
    case Act.hardSigmoid: return y > 0 && y < 1 ? 1 / 6 : 0;
    case Act.linear: return 1;
    default: throw new Error(`activationBackward: the slope of activation code ${act} is not a function of its output; use activationBackwardFromInput`);
  }
}

/** f′(x), for the activations whose slope needs the input (and linear). */
export function slopeFromInput(x: number, act: ActCode): number {
  if (Number.isNaN(x)) return NaN;
  switch (act) {
    case Act.gelu: return Number.isFinite(x) ? 0.5 * erfc(-x * SQRT_HALF) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI : x > 0 ? 1 : 0;
    case Act.geluTanh: {
      if (!Number.isFinite(x)) return x > 0 ? 1 : 0;
      const w = geluTanhArgument(x);
      return sigmoid(w) + x * sigmoidSlope(w) * 2 * GELU_TANH_SCALE * (1 + 3 * GELU_CUBIC * x * x);
    }
    case Act.swish: return Number.isFinite(x) ? sigmoid(x) + x * sigmoidSlope(x) : x > 0 ? 1 : 0;
    case Act.hardSwish: return x < -3 ? 0 : x > 3 ? 1 : x / 3 + 0.5;
    case Act.linear: return 1;
    default: throw new Error(`activationBackwardFromInput: activation code ${act} takes its slope from its output; use activationBackward`);
  }
}
