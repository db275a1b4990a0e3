// Batch normalisation over the last axis: x is viewed as rows × channels (NHWC images or dense
// activations), and each channel is normalised by its statistics over all rows. Channels sit adjacent
// in memory, so every loop runs four channels per v128 lane group with a scalar tail.

/** mean[c] and (biased) variance[c] over the rows, two passes so the variance does not cancel. */
export function batchNormStatistics(x: usize, rows: i32, channels: i32, mean: usize, variance: usize): void {
  const bytes = <usize>channels << 2;
  memory.fill(mean, 0, bytes);
  memory.fill(variance, 0, bytes);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * bytes;
    let ch = 0;
    for (; ch + 4 <= channels; ch += 4) {
      const off = <usize>ch << 2;
      v128.store(mean + off, f32x4.add(v128.load(mean + off), v128.load(row + off)));
    }
    for (; ch < channels; ch++) {
      const off = <usize>ch << 2;
      store<f32>(mean + off, load<f32>(mean + off) + load<f32>(row + off));
    }
  }
  const inverseRows = <f32>1 / <f32>rows;
  for (let ch = 0; ch < channels; ch++) store<f32>(mean + (<usize>ch << 2), load<f32>(mean + (<usize>ch << 2)) * inverseRows);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * bytes;
    let ch = 0;
    for (; ch + 4 <= channels; ch += 4) {
      const off = <usize>ch << 2;
      const d = f32x4.sub(v128.load(row + off), v128.load(mean + off));
      v128.store(variance + off, f32x4.add(v128.load(variance + off), f32x4.mul(d, d)));
    }
    for (; ch < channels; ch++) {
      const off = <usize>ch << 2;
      const d = load<f32>(row + off) - load<f32>(mean + off);
      store<f32>(variance + off, load<f32>(variance + off) + d * d);
    }
  }
  for (let ch = 0; ch < channels; ch++) store<f32>(variance + (<usize>ch << 2), load<f32>(variance + (<usize>ch << 2)) * inverseRows);
}

/** y = x·scale[c] + shift[c]: the whole normalisation once scale and shift fold in mean, variance, γ, β. */
export function channelScaleShift(x: usize, rows: i32, channels: i32, scale: usize, shift: usize, y: usize): void {
  const bytes = <usize>channels << 2;
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * bytes, dst = y + <usize>r * bytes;
    let ch = 0;
    for (; ch + 4 <= channels; ch += 4) {
      const off = <usize>ch << 2;
      v128.store(dst + off, f32x4.add(f32x4.mul(v128.load(src + off), v128.load(scale + off)), v128.load(shift + off)));
    }
    for (; ch < channels; ch++) {
      const off = <usize>ch << 2;
      store<f32>(dst + off, load<f32>(src + off) * load<f32>(scale + off) + load<f32>(shift + off));
    }
  }
}

/**
 * Gradients of training-mode batch norm. With x̂ = (x − mean)·invStd:
 * dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·invStd·(dy − dβ/m − x̂·dγ/m). dx may be dy (it is written row by row
 * after both sums are complete).
 */
export function batchNormBackward(
  x: usize, dy: usize, rows: i32, channels: i32, mean: usize, invStd: usize, gamma: usize,
  dgamma: usize, dbeta: usize, dx: usize,
): void {
  const bytes = <usize>channels << 2;
  memory.fill(dgamma, 0, bytes);
  memory.fill(dbeta, 0, bytes);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * bytes, gr = dy + <usize>r * bytes;
    let ch = 0;
    for (; ch + 4 <= channels; ch += 4) {
      const off = <usize>ch << 2;
      const g = v128.load(gr + off);
      const xhat = f32x4.mul(f32x4.sub(v128.load(xr + off), v128.load(mean + off)), v128.load(invStd + off));
      v128.store(dbeta + off, f32x4.add(v128.load(dbeta + off), g));
      v128.store(dgamma + off, f32x4.add(v128.load(dgamma + off), f32x4.mul(g, xhat)));
    }
    for (; ch < channels; ch++) {
      const off = <usize>ch << 2;
      const g = load<f32>(gr + off);
      const xhat = (load<f32>(xr + off) - load<f32>(mean + off)) * load<f32>(invStd + off);
      store<f32>(dbeta + off, load<f32>(dbeta + off) + g);
      store<f32>(dgamma + off, load<f32>(dgamma + off) + g * xhat);
    }
  }
  const inverseRows = <f32>1 / <f32>rows;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * bytes, gr = dy + <usize>r * bytes, out = dx + <usize>r * bytes;
    for (let ch = 0; ch < channels; ch++) {
      const off = <usize>ch << 2;
      const s = load<f32>(invStd + off);
      const xhat = (load<f32>(xr + off) - load<f32>(mean + off)) * s;
      const g = load<f32>(gr + off) - load<f32>(dbeta + off) * inverseRows - xhat * load<f32>(dgamma + off) * inverseRows;
      store<f32>(out + off, load<f32>(gamma + off) * s * g);
    }
  }
}
