// Weights re-laid from ONNX's (PyTorch's) layouts into wasmgrad's, as they are read. Each function is a
// pure permutation (with Gemm's alpha as a scale), so the same function turns later values of the same
// initializer — PyTorch's parameters after training, say — into wasmgrad's layout too (ParameterSource).

/** Conv weight [cout, cin, kh, kw] (cin per group) → Conv2D kernel [kh, kw, cin, cout]. */
export function convKernel(w: Float32Array, [cout, cin, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * cin + i) * cout + o] = w[((o * cin + i) * kh + y) * kw + x];
  return out;
}

/**
 * Depthwise Conv weight [c·m, 1, kh, kw] (group = c) → DepthwiseConv2D kernel [kh, kw, c, m]: ONNX's output
 * channel c·m + j comes from input channel c, as DepthwiseConv2D's channel c·M + j does.
 */
export function depthwiseKernel(w: Float32Array, channels: number, multiplier: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let c = 0; c < channels; c++)
    for (let j = 0; j < multiplier; j++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * channels + c) * multiplier + j] = w[((c * multiplier + j) * kh + y) * kw + x];
  return out;
}

/**
 * Gemm/MatMul weight → Dense kernel [inputs, units]: B is [inputs, units], or [units, inputs] with transB;
 * scaled by alpha; rows re-ordered where our flattened input differs from the file's (row r of ours is
 * row fileRow[r] of theirs).
 */
export function denseKernel(b: Float32Array, inputs: number, units: number, transB: boolean, alpha: number, fileRow?: Int32Array): Float32Array {
  const out = new Float32Array(inputs * units);
  for (let r = 0; r < inputs; r++) {
    const theirs = fileRow ? fileRow[r] : r;
    for (let u = 0; u < units; u++) out[r * units + u] = alpha * (transB ? b[u * inputs + theirs] : b[theirs * units + u]);
  }
  return out;
}

export const copyOf = (v: Float32Array): Float32Array => v.slice();
