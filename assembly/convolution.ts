// Convolution by im2col / col2im, NHWC images and [KH, KW, C, F] filters (the Keras/TF.js layout).
//
// im2col turns a batch into one matrix col[N·OH·OW][KH·KW·C] so that
//   forward         out[N·OH·OW][F]  = col · W
//   backward data   dcol             = dout · Wᵀ, then col2im scatters dcol back into dx
//   backward filter dW[KH·KW·C][F]   = colᵀ · dout
// are all GEMMs. With NHWC each (ky, kx) tap copies C contiguous floats, so rows are built by memory.copy.

export function im2col(
  x: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
  col: usize,
): void {
  const tapBytes = <usize>c << 2;
  let dst = col;
  for (let img = 0; img < n; img++) {
    const image = x + (<usize>(img * h * w * c) << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * stride - padTop + ky;
          const rowInside = iy >= 0 && iy < h;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * stride - padLeft + kx;
            if (rowInside && ix >= 0 && ix < w) {
              memory.copy(dst, image + (<usize>((iy * w + ix) * c) << 2), tapBytes);
            } else {
              memory.fill(dst, 0, tapBytes);
            }
            dst += tapBytes;
          }
        }
      }
    }
  }
}

/** dx = Σ over taps of dcol (the adjoint of im2col). dx is overwritten. */
export function col2im(
  col: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
  dx: usize,
): void {
  memory.fill(dx, 0, <usize>(n * h * w * c) << 2);
  let src = col;
  const tapBytes = <usize>c << 2;
  for (let img = 0; img < n; img++) {
    const image = dx + (<usize>(img * h * w * c) << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * stride - padTop + ky;
          const rowInside = iy >= 0 && iy < h;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * stride - padLeft + kx;
            if (rowInside && ix >= 0 && ix < w) {
              addInto(image + (<usize>((iy * w + ix) * c) << 2), src, c);
            }
            src += tapBytes;
          }
        }
      }
    }
  }
}

@inline function addInto(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const off = <usize>i << 2;
    v128.store(dst + off, f32x4.add(v128.load(dst + off), v128.load(src + off)));
  }
  for (; i < count; i++) {
    const off = <usize>i << 2;
    store<f32>(dst + off, load<f32>(dst + off) + load<f32>(src + off));
  }
}
