// Max pooling over NHWC. The forward pass records, for every output, the flat index of the input that
// won, so the backward pass is a scatter and never recomputes the window. With argmax = 0 (inference,
// where no backward pass follows) the indices are not tracked.

export function maxPoolForward(
  x: usize, n: i32, h: i32, w: i32, c: i32,
  ph: i32, pw: i32, stride: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
  y: usize, argmax: usize,
): void {
  const lanes = i32x4(0, 1, 2, 3);
  let out = 0;
  for (let img = 0; img < n; img++) {
    const imageBase = img * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      // The window clipped to the image once per position, so the channel loops carry no bounds tests.
      const y0 = max(oy * stride - padTop, 0), y1 = min(oy * stride - padTop + ph, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(ox * stride - padLeft, 0), x1 = min(ox * stride - padLeft + pw, w);
        if (y1 <= y0 || x1 <= x0) {
          // A window wholly in the padding (only possible with explicit padding ≥ the pool size).
          for (let ch = 0; ch < c; ch++) {
            store<f32>(y + (<usize>(out + ch) << 2), -Infinity);
            if (argmax != 0) store<i32>(argmax + (<usize>(out + ch) << 2), -1);
          }
          out += c;
          continue;
        }
        const first = imageBase + (y0 * w + x0) * c;
        let ch = 0;
        if (argmax == 0) {
          // Inference: the same comparisons (first maximum wins, NaN wins) without tracking indices.
          for (; ch + 4 <= c; ch += 4) {
            let best = v128.load(x + (<usize>(first + ch) << 2));
            for (let iy = y0; iy < y1; iy++) {
              let src = x + (<usize>(imageBase + (iy * w + x0) * c + ch) << 2);
              for (let ix = x0; ix < x1; ix++) {
                const v = v128.load(src);
                best = v128.bitselect(v, best, v128.not(f32x4.le(v, best)));
                src += <usize>c << 2;
              }
            }
            v128.store(y + (<usize>(out + ch) << 2), best);
          }
          for (; ch < c; ch++) {
            let best = load<f32>(x + (<usize>(first + ch) << 2));
            for (let iy = y0; iy < y1; iy++) {
              for (let ix = x0; ix < x1; ix++) {
                const v = load<f32>(x + (<usize>(imageBase + (iy * w + ix) * c + ch) << 2));
                if (!(v <= best)) best = v;
              }
            }
            store<f32>(y + (<usize>(out + ch) << 2), best);
          }
          out += c;
          continue;
        }
        // Four channels at a time (NHWC keeps them adjacent); the comparison keeps the first maximum on
        // ties and lets NaN win, exactly as the scalar loop below does.
        for (; ch + 4 <= c; ch += 4) {
          let best = v128.load(x + (<usize>(first + ch) << 2));
          let bestIndex = i32x4.add(i32x4.splat(first + ch), lanes);
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) {
              const index = imageBase + (iy * w + ix) * c + ch;
              const v = v128.load(x + (<usize>index << 2));
              const wins = v128.not(f32x4.le(v, best));
              best = v128.bitselect(v, best, wins);
              bestIndex = v128.bitselect(i32x4.add(i32x4.splat(index), lanes), bestIndex, wins);
            }
          }
          v128.store(y + (<usize>(out + ch) << 2), best);
          v128.store(argmax + (<usize>(out + ch) << 2), bestIndex);
        }
        for (; ch < c; ch++) {
          let best = load<f32>(x + (<usize>(first + ch) << 2));
          let bestIndex = first + ch;
          for (let iy = y0; iy < y1; iy++) {
            for (let ix = x0; ix < x1; ix++) {
              const index = imageBase + (iy * w + ix) * c + ch;
              const v = load<f32>(x + (<usize>index << 2));
              if (!(v <= best)) { best = v; bestIndex = index; }
            }
          }
          store<f32>(y + (<usize>(out + ch) << 2), best);
          store<i32>(argmax + (<usize>(out + ch) << 2), bestIndex);
        }
        out += c;
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

/**
 * Average pooling over NHWC. Padding positions are not counted (Keras' and ONNX's default), so each
 * output divides by the number of real inputs in its window.
 */
export function avgPoolForward(
  x: usize, n: i32, h: i32, w: i32, c: i32,
  ph: i32, pw: i32, stride: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
  y: usize,
): void {
  let out = 0;
  for (let img = 0; img < n; img++) {
    const imageBase = img * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(oy * stride - padTop, 0), y1 = min(oy * stride - padTop + ph, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(ox * stride - padLeft, 0), x1 = min(ox * stride - padLeft + pw, w);
        const count = max((y1 - y0) * (x1 - x0), 0);
        const inverse = count > 0 ? <f32>1 / <f32>count : <f32>0;
        const dst = y + (<usize>out << 2);
        memory.fill(dst, 0, <usize>c << 2);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const src = x + (<usize>(imageBase + (iy * w + ix) * c) << 2);
            let ch = 0;
            for (; ch + 4 <= c; ch += 4) {
              const off = <usize>ch << 2;
              v128.store(dst + off, f32x4.add(v128.load(dst + off), v128.load(src + off)));
            }
            for (; ch < c; ch++) store<f32>(dst + (<usize>ch << 2), load<f32>(dst + (<usize>ch << 2)) + load<f32>(src + (<usize>ch << 2)));
          }
        }
        for (let ch = 0; ch < c; ch++) store<f32>(dst + (<usize>ch << 2), load<f32>(dst + (<usize>ch << 2)) * inverse);
        out += c;
      }
    }
  }
}

/** Adjoint of avgPoolForward: every input in a window receives dy / (real inputs in the window). dx is overwritten. */
export function avgPoolBackward(
  dy: usize, n: i32, h: i32, w: i32, c: i32,
  ph: i32, pw: i32, stride: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
  dx: usize,
): void {
  memory.fill(dx, 0, <usize>(n * h * w * c) << 2);
  let out = 0;
  for (let img = 0; img < n; img++) {
    const imageBase = img * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(oy * stride - padTop, 0), y1 = min(oy * stride - padTop + ph, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(ox * stride - padLeft, 0), x1 = min(ox * stride - padLeft + pw, w);
        const count = max((y1 - y0) * (x1 - x0), 0);
        const inverse = count > 0 ? <f32>1 / <f32>count : <f32>0;
        const src = dy + (<usize>out << 2);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const dst = dx + (<usize>(imageBase + (iy * w + ix) * c) << 2);
            for (let ch = 0; ch < c; ch++) {
              const off = <usize>ch << 2;
              store<f32>(dst + off, load<f32>(dst + off) + load<f32>(src + off) * inverse);
            }
          }
        }
        out += c;
      }
    }
  }
}
