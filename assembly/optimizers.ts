// Fused parameter updates: one pass reads w, g and the optimizer state and writes them back, instead of the
// four or five element-wise passes an op-by-op implementation makes. Formulations follow Keras.

/** v = μ·v − lr·g;  w += v  (Nesterov: w += μ·v − lr·g). */
export function sgdMomentumUpdate(
  w: usize, g: usize, velocity: usize, count: i32, lr: f32, momentum: f32, nesterov: bool,
): void {
  const vlr = f32x4.splat(lr), vmu = f32x4.splat(momentum);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    const step = f32x4.mul(vlr, v128.load(g + off));
    const v = f32x4.sub(f32x4.mul(vmu, v128.load(velocity + off)), step);
    v128.store(velocity + off, v);
    const delta = nesterov ? f32x4.sub(f32x4.mul(vmu, v), step) : v;
    v128.store(w + off, f32x4.add(v128.load(w + off), delta));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    const step = lr * load<f32>(g + off);
    const v = momentum * load<f32>(velocity + off) - step;
    store<f32>(velocity + off, v);
    store<f32>(w + off, load<f32>(w + off) + (nesterov ? momentum * v - step : v));
  }
}

/** Plain SGD: w −= lr·g. */
export function sgdUpdate(w: usize, g: usize, count: i32, lr: f32): void {
  const vlr = f32x4.splat(lr);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(w + off, f32x4.sub(v128.load(w + off), f32x4.mul(vlr, v128.load(g + off))));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(w + off, load<f32>(w + off) - lr * load<f32>(g + off));
  }
}

/**
 * Adam with the bias correction folded into the step size (as Keras and the Adam paper's §2 do):
 * m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w −= lrT · m / (√v + ε), lrT = lr·√(1−β2ᵗ)/(1−β1ᵗ).
 */
export function adamUpdate(
  w: usize, g: usize, m: usize, v: usize, count: i32, lrT: f32, beta1: f32, beta2: f32, epsilon: f32,
): void {
  const b1 = f32x4.splat(beta1), b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(1 - beta1), c2 = f32x4.splat(1 - beta2);
  const vlr = f32x4.splat(lrT), veps = f32x4.splat(epsilon);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    const grad = v128.load(g + off);
    const mNew = f32x4.add(f32x4.mul(b1, v128.load(m + off)), f32x4.mul(c1, grad));
    const vNew = f32x4.add(f32x4.mul(b2, v128.load(v + off)), f32x4.mul(c2, f32x4.mul(grad, grad)));
    v128.store(m + off, mNew);
    v128.store(v + off, vNew);
    const step = f32x4.div(f32x4.mul(vlr, mNew), f32x4.add(f32x4.sqrt(vNew), veps));
    v128.store(w + off, f32x4.sub(v128.load(w + off), step));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    const grad = load<f32>(g + off);
    const mNew = beta1 * load<f32>(m + off) + (1 - beta1) * grad;
    const vNew = beta2 * load<f32>(v + off) + (1 - beta2) * grad * grad;
    store<f32>(m + off, mNew);
    store<f32>(v + off, vNew);
    store<f32>(w + off, load<f32>(w + off) - (lrT * mNew) / (Mathf.sqrt(vNew) + epsilon));
  }
}

/** RMSprop: s = ρ·s + (1−ρ)·g²;  w −= lr·g / (√s + ε). */
export function rmspropUpdate(w: usize, g: usize, s: usize, count: i32, lr: f32, rho: f32, epsilon: f32): void {
  const vrho = f32x4.splat(rho), c = f32x4.splat(1 - rho);
  const vlr = f32x4.splat(lr), veps = f32x4.splat(epsilon);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    const grad = v128.load(g + off);
    const sNew = f32x4.add(f32x4.mul(vrho, v128.load(s + off)), f32x4.mul(c, f32x4.mul(grad, grad)));
    v128.store(s + off, sNew);
    const step = f32x4.div(f32x4.mul(vlr, grad), f32x4.add(f32x4.sqrt(sNew), veps));
    v128.store(w + off, f32x4.sub(v128.load(w + off), step));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    const grad = load<f32>(g + off);
    const sNew = rho * load<f32>(s + off) + (1 - rho) * grad * grad;
    store<f32>(s + off, sNew);
    store<f32>(w + off, load<f32>(w + off) - (lr * grad) / (Mathf.sqrt(sNew) + epsilon));
  }
}
