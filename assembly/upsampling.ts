// Upsampling of NHWC images: nearest-neighbour by whole factors, and bilinear resizing to any size, each
// with its adjoint for the backward pass. Channels are adjacent in NHWC, so the SIMD lanes run over four
// channels of one pixel and every lane does exactly what the scalar tail does: the results equal the
// reference's bit for bit (no fused multiply-add, and sums taken in the reference's order).

@inline function addFloats(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = <usize>i << 2;
    v128.store(dst + at, f32x4.add(v128.load(dst + at), v128.load(src + at)));
  }
  for (; i < count; i++) {
    const at = <usize>i << 2;
    store<f32>(dst + at, load<f32>(dst + at) + load<f32>(src + at));
  }
}

/** y [n, h·sh, w·sw, c]: every pixel of x [n, h, w, c] repeated over an sh × sw block. */
export function upsampleNearestForward(x: usize, n: i32, h: i32, w: i32, c: i32, sh: i32, sw: i32, y: usize): void {
  const pixel = <usize>c << 2;
  const rowOut = <usize>(w * sw) * pixel;
  let src = x, dst = y;
  for (let row = 0; row < n * h; row++) {
    // The block's first output row, pixel by pixel; its other sh − 1 rows are copies of that row.
    let out = dst;
    for (let ix = 0; ix < w; ix++) {
      for (let k = 0; k < sw; k++) {
        if (c >= 16) memory.copy(out, src, pixel);
        else for (let ch = 0; ch < c; ch++) store<u32>(out + (<usize>ch << 2), load<u32>(src + (<usize>ch << 2)));
        out += pixel;
      }
      src += pixel;
    }
    for (let a = 1; a < sh; a++) memory.copy(dst + <usize>a * rowOut, dst, rowOut);
    dst += <usize>sh * rowOut;
  }
}

/**
 * Adjoint of upsampleNearestForward: dx [n, h, w, c] (overwritten) is the sum of dy over each sh × sw
 * block, taken row by row of the block (each dx element adds its block's dy in row-major order, from 0).
 */
export function upsampleNearestBackward(dy: usize, n: i32, h: i32, w: i32, c: i32, sh: i32, sw: i32, dx: usize): void {
  const pixel = <usize>c << 2;
  const rowIn = <usize>w * pixel;
  memory.fill(dx, 0, <usize>(n * h) * rowIn);
  let src = dy;
  for (let row = 0; row < n * h; row++) {
    const dst = dx + <usize>row * rowIn;
    for (let a = 0; a < sh; a++) {
      for (let ix = 0; ix < w; ix++) {
        const target = dst + <usize>ix * pixel;
        for (let k = 0; k < sw; k++) {
          addFloats(target, src, c);
          src += pixel;
        }
      }
    }
  }
}

/**
 * Where output index o samples the input, as tf.image.resize_bilinear: with half-pixel centers (TF 2 /
 * Keras 2.x and 3) pixel centers map to pixel centers, (o + ½)·in/out − ½; without (TF 1, and
 * tfjs-layers' UpSampling2D) o·in/out. A coordinate before the first center clamps to it.
 */
@inline function sourceCoordinate(o: i32, ratio: f64, halfPixelCenters: bool): f64 {
  const s = halfPixelCenters ? (<f64>o + 0.5) * ratio - 0.5 : <f64>o * ratio;
  return max(s, 0.0);
}

/**
 * y [n, oh, ow, c] = x [n, h, w, c] resized bilinearly: each output is the lerp across rows of two lerps
 * across columns, top + (bottom − top)·fy with top = tl + (tr − tl)·fx, as TensorFlow computes it.
 */
export function resizeBilinearForward(
  x: usize, n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32, halfPixelCenters: bool, y: usize,
): void {
  const rowRatio = <f64>h / <f64>oh, colRatio = <f64>w / <f64>ow;
  const pixel = <usize>c << 2, rowIn = <usize>w * pixel;
  let out = y;
  for (let img = 0; img < n; img++) {
    const image = x + <usize>(img * h) * rowIn;
    for (let oy = 0; oy < oh; oy++) {
      const sy = sourceCoordinate(oy, rowRatio, halfPixelCenters);
      const y0 = <i32>Math.floor(sy), y1 = min(<i32>Math.ceil(sy), h - 1);
      const fy = <f32>(sy - <f64>y0);
      const fyv = f32x4.splat(fy);
      const top = image + <usize>y0 * rowIn, bottom = image + <usize>y1 * rowIn;
      for (let ox = 0; ox < ow; ox++) {
        const sx = sourceCoordinate(ox, colRatio, halfPixelCenters);
        const x0 = <i32>Math.floor(sx), x1 = min(<i32>Math.ceil(sx), w - 1);
        const fx = <f32>(sx - <f64>x0);
        const fxv = f32x4.splat(fx);
        const tl = top + <usize>x0 * pixel, tr = top + <usize>x1 * pixel;
        const bl = bottom + <usize>x0 * pixel, br = bottom + <usize>x1 * pixel;
        let ch = 0;
        for (; ch + 4 <= c; ch += 4) {
          const at = <usize>ch << 2;
          const a = v128.load(tl + at), b = v128.load(bl + at);
          const t = f32x4.add(a, f32x4.mul(f32x4.sub(v128.load(tr + at), a), fxv));
          const u = f32x4.add(b, f32x4.mul(f32x4.sub(v128.load(br + at), b), fxv));
          v128.store(out + at, f32x4.add(t, f32x4.mul(f32x4.sub(u, t), fyv)));
        }
        for (; ch < c; ch++) {
          const at = <usize>ch << 2;
          const a = load<f32>(tl + at), b = load<f32>(bl + at);
          const t = a + (load<f32>(tr + at) - a) * fx;
          const u = b + (load<f32>(br + at) - b) * fx;
          store<f32>(out + at, t + (u - t) * fy);
        }
        out += pixel;
      }
    }
  }
}

/**
 * Adjoint of resizeBilinearForward: dx [n, h, w, c] (overwritten) gathers each dy·(1 − fy) and dy·fy,
 * times (1 − fx) and fx, at the four inputs that output read, in output order (tl, tr, bl, br).
 */
export function resizeBilinearBackward(
  dy: usize, n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32, halfPixelCenters: bool, dx: usize,
): void {
  const rowRatio = <f64>h / <f64>oh, colRatio = <f64>w / <f64>ow;
  const pixel = <usize>c << 2, rowIn = <usize>w * pixel;
  memory.fill(dx, 0, <usize>(n * h) * rowIn);
  let src = dy;
  for (let img = 0; img < n; img++) {
    const image = dx + <usize>(img * h) * rowIn;
    for (let oy = 0; oy < oh; oy++) {
      const sy = sourceCoordinate(oy, rowRatio, halfPixelCenters);
      const y0 = <i32>Math.floor(sy), y1 = min(<i32>Math.ceil(sy), h - 1);
      const fy = <f32>(sy - <f64>y0), gy = <f32>1 - fy;
      const fyv = f32x4.splat(fy), gyv = f32x4.splat(gy);
      const top = image + <usize>y0 * rowIn, bottom = image + <usize>y1 * rowIn;
      for (let ox = 0; ox < ow; ox++) {
        const sx = sourceCoordinate(ox, colRatio, halfPixelCenters);
        const x0 = <i32>Math.floor(sx), x1 = min(<i32>Math.ceil(sx), w - 1);
        const fx = <f32>(sx - <f64>x0), gx = <f32>1 - fx;
        const fxv = f32x4.splat(fx), gxv = f32x4.splat(gx);
        const tl = top + <usize>x0 * pixel, tr = top + <usize>x1 * pixel;
        const bl = bottom + <usize>x0 * pixel, br = bottom + <usize>x1 * pixel;
        let ch = 0;
        // The four targets may coincide (x0 = x1 or y0 = y1 at the edges): each add reads what the
        // previous one stored, so every add happens, in order, as in the scalar loop.
        for (; ch + 4 <= c; ch += 4) {
          const at = <usize>ch << 2;
          const g = v128.load(src + at);
          const upper = f32x4.mul(g, gyv), lower = f32x4.mul(g, fyv);
          v128.store(tl + at, f32x4.add(v128.load(tl + at), f32x4.mul(upper, gxv)));
          v128.store(tr + at, f32x4.add(v128.load(tr + at), f32x4.mul(upper, fxv)));
          v128.store(bl + at, f32x4.add(v128.load(bl + at), f32x4.mul(lower, gxv)));
          v128.store(br + at, f32x4.add(v128.load(br + at), f32x4.mul(lower, fxv)));
        }
        for (; ch < c; ch++) {
          const at = <usize>ch << 2;
          const g = load<f32>(src + at);
          const upper = g * gy, lower = g * fy;
          store<f32>(tl + at, load<f32>(tl + at) + upper * gx);
          store<f32>(tr + at, load<f32>(tr + at) + upper * fx);
          store<f32>(bl + at, load<f32>(bl + at) + lower * gx);
          store<f32>(br + at, load<f32>(br + at) + lower * fx);
        }
        src += pixel;
      }
    }
  }
}
