// Global pooling over the time axis of x [n, t, c], with an optional mask [n, t] (1 = a real step,
// 0 = padding; pointer 0 = no mask, every step real). Padded steps count for nothing: they are left out
// of the mean's sum and count and can never win the max. A sample with no real step pools to zeros.
// Channels run four lanes at a time; sums go over steps in order, so the result is the same bytes each run.

@inline function stepIsReal(mask: usize, b: i32, t: i32, s: i32): bool {
  return mask == 0 || load<f32>(mask + ((<usize>b * <usize>t + <usize>s) << 2)) != 0;
}

@inline function realSteps(mask: usize, b: i32, t: i32): i32 {
  if (mask == 0) return t;
  let count = 0;
  for (let s = 0; s < t; s++) if (stepIsReal(mask, b, t, s)) count++;
  return count;
}

/** y[b, c] = Σ_{real s} x[b, s, c] / (number of real steps), or 0 when there is none. */
export function sequenceMeanForward(x: usize, n: i32, t: i32, c: i32, mask: usize, y: usize): void {
  for (let b = 0; b < n; b++) {
    const out = y + ((<usize>b * <usize>c) << 2);
    memory.fill(out, 0, <usize>c << 2);
    const count = realSteps(mask, b, t);
    if (count == 0) continue;
    for (let s = 0; s < t; s++) {
      if (!stepIsReal(mask, b, t, s)) continue;
      const row = x + (((<usize>b * <usize>t + <usize>s) * <usize>c) << 2);
      let ch = 0;
      for (; ch + 4 <= c; ch += 4) {
        const off = <usize>ch << 2;
        v128.store(out + off, f32x4.add(v128.load(out + off), v128.load(row + off)));
      }
      for (; ch < c; ch++) {
        const off = <usize>ch << 2;
        store<f32>(out + off, load<f32>(out + off) + load<f32>(row + off));
      }
    }
    const vc = f32x4.splat(<f32>count);
    let ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const off = <usize>ch << 2;
      v128.store(out + off, f32x4.div(v128.load(out + off), vc));
    }
    for (; ch < c; ch++) {
      const off = <usize>ch << 2;
      store<f32>(out + off, load<f32>(out + off) / <f32>count);
    }
  }
}

/** Adjoint of sequenceMeanForward: dx[b, s, c] = dy[b, c] / count on real steps, 0 on padded ones. */
export function sequenceMeanBackward(dy: usize, n: i32, t: i32, c: i32, mask: usize, dx: usize): void {
  for (let b = 0; b < n; b++) {
    const g = dy + ((<usize>b * <usize>c) << 2);
    const count = realSteps(mask, b, t);
    const vc = f32x4.splat(<f32>count);
    for (let s = 0; s < t; s++) {
      const row = dx + (((<usize>b * <usize>t + <usize>s) * <usize>c) << 2);
      if (count == 0 || !stepIsReal(mask, b, t, s)) {
        memory.fill(row, 0, <usize>c << 2);
        continue;
      }
      let ch = 0;
      for (; ch + 4 <= c; ch += 4) {
        const off = <usize>ch << 2;
        v128.store(row + off, f32x4.div(v128.load(g + off), vc));
      }
      for (; ch < c; ch++) {
        const off = <usize>ch << 2;
        store<f32>(row + off, load<f32>(g + off) / <f32>count);
      }
    }
  }
}

/**
 * y[b, c] = max over real steps of x[b, s, c] (0 when there is none); argmax (i32 [n, c]) records the
 * winning step, the first on a tie, −1 when there is none; argmax 0 skips recording.
 */
export function sequenceMaxForward(x: usize, n: i32, t: i32, c: i32, mask: usize, y: usize, argmax: usize): void {
  for (let b = 0; b < n; b++) {
    const out = y + ((<usize>b * <usize>c) << 2);
    for (let ch = 0; ch < c; ch++) {
      let best: f32 = 0;
      let at: i32 = -1;
      for (let s = 0; s < t; s++) {
        if (!stepIsReal(mask, b, t, s)) continue;
        const v = load<f32>(x + (((<usize>b * <usize>t + <usize>s) * <usize>c + <usize>ch) << 2));
        if (at < 0 || v > best) {
          best = v;
          at = s;
        }
      }
      store<f32>(out + (<usize>ch << 2), at < 0 ? 0 : best);
      if (argmax != 0) store<i32>(argmax + ((<usize>b * <usize>c + <usize>ch) << 2), at);
    }
  }
}

/** Adjoint of sequenceMaxForward: dx[b, argmax[b, c], c] = dy[b, c], every other element 0. */
export function sequenceMaxBackward(dy: usize, argmax: usize, n: i32, t: i32, c: i32, dx: usize): void {
  memory.fill(dx, 0, (<usize>n * <usize>t * <usize>c) << 2);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const s = load<i32>(argmax + ((<usize>b * <usize>c + <usize>ch) << 2));
      if (s < 0) continue;
      store<f32>(dx + (((<usize>b * <usize>t + <usize>s) * <usize>c + <usize>ch) << 2), load<f32>(dy + ((<usize>b * <usize>c + <usize>ch) << 2)));
    }
}
