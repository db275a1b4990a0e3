// Activation codes shared with the host (src/engine/kernels.ts mirrors them).
export const ACT_LINEAR: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_SIGMOID: i32 = 2;
export const ACT_TANH: i32 = 3;
// The activations of newer networks (vector-math.ts and modern-activations.ts). Of these, only relu6 is
// applied in the GEMM epilogue; the others run as their own pass over the GEMM's output.
export const ACT_RELU6: i32 = 4;
export const ACT_LEAKY_RELU: i32 = 5;
export const ACT_ELU: i32 = 6;
export const ACT_GELU: i32 = 7;
export const ACT_GELU_TANH: i32 = 8;
export const ACT_SWISH: i32 = 9;
export const ACT_HARD_SIGMOID: i32 = 10;
export const ACT_HARD_SWISH: i32 = 11;

@inline export function activateScalar(x: f32, act: i32): f32 {
  if (act == ACT_RELU) return x > 0 ? x : 0;
  if (act == ACT_SIGMOID) return sigmoidScalar(x);
  if (act == ACT_TANH) return tanhScalar(x);
  if (act == ACT_RELU6) return min<f32>(max<f32>(x, 0), 6);
  return x;
}

// Both written with one exponential of a non-positive argument so that large |x| neither overflows nor loses
// precision: exp(-|x|) is in (0, 1].
@inline export function sigmoidScalar(x: f32): f32 {
  const e = Mathf.exp(-Mathf.abs(x));
  const one: f32 = 1;
  return x >= 0 ? one / (one + e) : e / (one + e);
}

// tanh|x| = (1 − e)/(1 + e) with e = exp(−2|x|), written through expm1 so small |x| keeps its digits.
@inline export function tanhScalar(x: f32): f32 {
  const m = Mathf.expm1(-2 * Mathf.abs(x));
  const two: f32 = 2;
  const t: f32 = -m / (two + m);
  return x >= 0 ? t : -t;
}
