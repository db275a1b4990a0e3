// Max pooling over NHWC. The forward pass records, for every output, the flat index of the input that
// won, so the backward pass is a scatter and never recomputes the window.

export function maxPoolForward(
  x: usize, n: i32, h: i32, w: i32, c: i32,
  ph: i32, pw: i32, stride: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
  y: usize, argmax: usize,
): void {
  let out = 0;
  for (let img = 0; img < n; img++) {
    const imageBase = img * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let best: f32 = -Infinity;
          let bestIndex = -1;
          for (let ky = 0; ky < ph; ky++) {
            const iy = oy * stride - padTop + ky;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < pw; kx++) {
              const ix = ox * stride - padLeft + kx;
              if (ix < 0 || ix >= w) continue;
              const index = imageBase + (iy * w + ix) * c + ch;
              const v = load<f32>(x + (<usize>index << 2));
              // `!(v <= best)` also lets a NaN win, so NaNs propagate instead of vanishing.
              if (bestIndex < 0 || !(v <= best)) { best = v; bestIndex = index; }
            }
          }
          store<f32>(y + (<usize>out << 2), best);
          store<i32>(argmax + (<usize>out << 2), bestIndex);
          out++;
        }
      }
    }
  }
}

/** dx (size inputSize, overwritten) receives dy at each recorded argmax. */
export function maxPoolBackward(dy: usize, argmax: usize, outputSize: i32, dx: usize, inputSize: i32): void {
  memory.fill(dx, 0, <usize>inputSize << 2);
  for (let i = 0; i < outputSize; i++) {
    const index = load<i32>(argmax + (<usize>i << 2));
    if (index < 0) continue;
    const target = dx + (<usize>index << 2);
    store<f32>(target, load<f32>(target) + load<f32>(dy + (<usize>i << 2)));
  }
}
