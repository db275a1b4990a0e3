// Convolution by im2col / col2im, NHWC images and [KH, KW, C, F] filters (the Keras/TF.js layout).
//
// im2col turns a batch into one matrix col[N·OH·OW][KH·KW·C] so that
//   forward         out[N·OH·OW][F]  = col · W
//   backward data   dcol             = dout · Wᵀ, then col2im scatters dcol back into dx
//   backward filter dW[KH·KW·C][F]   = colᵀ · dout
// are all GEMMs. With NHWC each (ky, kx) tap copies C contiguous floats, so rows are built by memory.copy.
//
// The general form (im2colGeneral / col2imGeneral) also takes a stride and a dilation per axis, and channel
// groups: with G groups a row is laid out group-major, [G][KH][KW][C/G], so group g's patch is one
// contiguous run of KH·KW·C/G floats at column g·KH·KW·C/G, and each group's GEMM reads it as a strided
// view of col (row stride KH·KW·C) without a copy. With G = 1 and unit dilation the layout is the one above.
// Output size and padding are the caller's: taps outside the image (padding on any side) read as zero.

export function im2colGeneral(
  x: usize, n: i32, h: i32, w: i32, c: i32, groups: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32,
  col: usize,
): void {
  const groupChannels = c / groups;
  const tapBytes = <usize>groupChannels << 2;
  let dst = col;
  for (let img = 0; img < n; img++) {
    const image = x + (<usize>(img * h * w * c) << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let g = 0; g < groups; g++) {
          const groupImage = image + (<usize>(g * groupChannels) << 2);
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * strideH - padTop + ky * dilationH;
            const rowInside = iy >= 0 && iy < h;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * strideW - padLeft + kx * dilationW;
              if (rowInside && ix >= 0 && ix < w) {
                memory.copy(dst, groupImage + (<usize>((iy * w + ix) * c) << 2), tapBytes);
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
}

/** dx = Σ over taps of dcol (the adjoint of im2colGeneral). dx is overwritten. */
export function col2imGeneral(
  col: usize, n: i32, h: i32, w: i32, c: i32, groups: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32,
  dx: usize,
): void {
  memory.fill(dx, 0, <usize>(n * h * w * c) << 2);
  const groupChannels = c / groups;
  const tapBytes = <usize>groupChannels << 2;
  let src = col;
  for (let img = 0; img < n; img++) {
    const image = dx + (<usize>(img * h * w * c) << 2);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let g = 0; g < groups; g++) {
          const groupImage = image + (<usize>(g * groupChannels) << 2);
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * strideH - padTop + ky * dilationH;
            const rowInside = iy >= 0 && iy < h;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * strideW - padLeft + kx * dilationW;
              if (rowInside && ix >= 0 && ix < w) {
                addInto(groupImage + (<usize>((iy * w + ix) * c) << 2), src, groupChannels);
              }
              src += tapBytes;
            }
          }
        }
      }
    }
  }
}

export function im2col(
  x: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
  col: usize,
): void {
  im2colGeneral(x, n, h, w, c, 1, kh, kw, stride, stride, 1, 1, padTop, padLeft, oh, ow, col);
}

/** dx = Σ over taps of dcol (the adjoint of im2col). dx is overwritten. */
export function col2im(
  col: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, stride: i32, padTop: i32, padLeft: i32, oh: i32, ow: i32,
  dx: usize,
): void {
  col2imGeneral(col, n, h, w, c, 1, kh, kw, stride, stride, 1, 1, padTop, padLeft, oh, ow, dx);
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
