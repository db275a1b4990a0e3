// Element-wise kernels between tensors of one shape (the merge layers: Add, Multiply, Maximum, …), row
// copies into and out of wider rows (Concatenate) and per-row dot products (Dot).

// Operation codes shared with the host (src/engine/kernels.ts mirrors them).
const OP_ADD: i32 = 0;
const OP_SUB: i32 = 1;
const OP_MUL: i32 = 2;
const OP_MAX: i32 = 3;
const OP_MIN: i32 = 4;

@inline function apply4(op: i32, a: v128, b: v128): v128 {
  if (op == OP_ADD) return f32x4.add(a, b);
  if (op == OP_SUB) return f32x4.sub(a, b);
  if (op == OP_MUL) return f32x4.mul(a, b);
  if (op == OP_MAX) return f32x4.max(a, b);
  return f32x4.min(a, b);
}

@inline function apply1(op: i32, a: f32, b: f32): f32 {
  if (op == OP_ADD) return a + b;
  if (op == OP_SUB) return a - b;
  if (op == OP_MUL) return a * b;
  if (op == OP_MAX) return Mathf.max(a, b);
  return Mathf.min(a, b);
}

/** y = a ∘ b element-wise; y may equal a or b. */
export function elementwise(op: i32, a: usize, b: usize, y: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, apply4(op, v128.load(a + off), v128.load(b + off)));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, apply1(op, load<f32>(a + off), load<f32>(b + off)));
  }
}

/** y = alpha·x; y may equal x. */
export function scale(x: usize, alpha: f32, y: usize, count: i32): void {
  const va = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(y + off, f32x4.mul(va, v128.load(x + off)));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, alpha * load<f32>(x + off));
  }
}

/**
 * The backward pass of Maximum/Minimum, one input at a time in input order: where this input equals the
 * result it won, so it takes the gradient (dx = dy) and removes it from dy, so a later input that ties
 * gets none; elsewhere dx = 0. The first input wins ties, as TensorFlow's maximum gradient gives x ≥ y to x.
 */
export function routeToWinner(x: usize, y: usize, dy: usize, dx: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    const won = f32x4.eq(v128.load(x + off), v128.load(y + off));
    const g = v128.load(dy + off);
    v128.store(dx + off, v128.and(g, won));
    v128.store(dy + off, v128.bitselect(zero, g, won));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    const won = load<f32>(x + off) == load<f32>(y + off);
    const g = load<f32>(dy + off);
    store<f32>(dx + off, won ? g : 0);
    if (won) store<f32>(dy + off, 0);
  }
}

/** rows × width floats from src (rows srcStride apart) to dst (rows dstStride apart); strides in floats. */
export function copyRows(src: usize, rows: i32, width: i32, srcStride: i32, dst: usize, dstStride: i32): void {
  const bytes = <usize>width << 2;
  for (let r = 0; r < rows; r++) {
    memory.copy(dst + ((<usize>r * <usize>dstStride) << 2), src + ((<usize>r * <usize>srcStride) << 2), bytes);
  }
}

/** y[r] = Σ_c a[r][c]·b[r][c]. */
export function rowDots(a: usize, b: usize, rows: i32, cols: i32, y: usize): void {
  for (let r = 0; r < rows; r++) {
    const ra = a + ((<usize>r * <usize>cols) << 2), rb = b + ((<usize>r * <usize>cols) << 2);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const off = <usize>c << 2;
      acc = f32x4.add(acc, f32x4.mul(v128.load(ra + off), v128.load(rb + off)));
    }
    let sum: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    for (; c < cols; c++) {
      const off = <usize>c << 2;
      sum += load<f32>(ra + off) * load<f32>(rb + off);
    }
    store<f32>(y + (<usize>r << 2), sum);
  }
}

/** y[r][c] = x[r][c]·s[r]; y may equal x. */
export function scaleRows(x: usize, s: usize, rows: i32, cols: i32, y: usize): void {
  for (let r = 0; r < rows; r++) {
    const base = (<usize>r * <usize>cols) << 2;
    const f = load<f32>(s + (<usize>r << 2));
    const vf = f32x4.splat(f);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const off = base + (<usize>c << 2);
      v128.store(y + off, f32x4.mul(v128.load(x + off), vf));
    }
    for (; c < cols; c++) {
      const off = base + (<usize>c << 2);
      store<f32>(y + off, load<f32>(x + off) * f);
    }
  }
}
