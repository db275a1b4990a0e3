// Reductions and small element-wise helpers used around the GEMMs.

/** out[j] = Σ_i x[i][j] — the bias gradient of a dense or conv layer. out is overwritten. */
export function columnSums(x: usize, rows: i32, cols: i32, out: usize): void {
  memory.fill(out, 0, <usize>cols << 2);
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>(r * cols) << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const off = <usize>j << 2;
      v128.store(out + off, f32x4.add(v128.load(out + off), v128.load(row + off)));
    }
    for (; j < cols; j++) {
      const off = <usize>j << 2;
      store<f32>(out + off, load<f32>(out + off) + load<f32>(row + off));
    }
  }
}

/** Σ x² (f64 accumulator): gradient norms for clipping and finite-ness checks. */
export function sumOfSquares(x: usize, count: i32): f64 {
  // Four f32 lanes widened to two f64x2 accumulators: squares of large gradients must not overflow f32.
  let low = f64x2.splat(0), high = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const a = f64x2.promote_low_f32x4(v);
    const b = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    low = f64x2.add(low, f64x2.mul(a, a));
    high = f64x2.add(high, f64x2.mul(b, b));
  }
  const sums = f64x2.add(low, high);
  let total = f64x2.extract_lane(sums, 0) + f64x2.extract_lane(sums, 1);
  for (; i < count; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    total += v * v;
  }
  return total;
}

/** y = α·x + y. */
export function axpy(count: i32, alpha: f32, x: usize, y: usize): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, f32x4.add(v128.load(y + off), f32x4.mul(va, v128.load(x + off))));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, load<f32>(y + off) + alpha * load<f32>(x + off));
  }
}

/** y = x ⊙ mask (dropout forward and backward both). y may equal x. */
export function multiply(x: usize, mask: usize, y: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, f32x4.mul(v128.load(x + off), v128.load(mask + off)));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, load<f32>(x + off) * load<f32>(mask + off));
  }
}

/** Inverted-dropout mask: 1/(1−rate) with probability 1−rate, else 0. Returns the advanced RNG state. */
export function dropoutMask(mask: usize, count: i32, rate: f64, state: u32): u32 {
  // 1/(1 − rate) rounded once from the full-precision rate, as Keras computes it.
  const keep = <f32>(1.0 / (1.0 - rate));
  const threshold = <f32>rate;
  let s = state == 0 ? 0x9e3779b9 : state;
  for (let i = 0; i < count; i++) {
    // xorshift32; the top 24 bits give a uniform float in [0, 1).
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    const u = <f32>(s >> 8) * (1.0 / 16777216.0);
    store<f32>(mask + (<usize>i << 2), u >= threshold ? keep : 0);
  }
  return s;
}

/** Σ |x| (f64 accumulator): the L1 penalty. */
export function sumOfAbs(x: usize, count: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < count; i++) total += Math.abs(<f64>load<f32>(x + (<usize>i << 2)));
  return total;
}

/** g += λ·sign(w), with sign(0) = 0: the L1 penalty's (sub)gradient, as Keras and PyTorch take it. */
export function addL1Gradient(w: usize, g: usize, count: i32, lambda: f32): void {
  for (let i = 0; i < count; i++) {
    const off = <usize>i << 2;
    const v = load<f32>(w + off);
    const sign: f32 = v > 0 ? 1 : v < 0 ? -1 : 0;
    store<f32>(g + off, load<f32>(g + off) + lambda * sign);
  }
}
