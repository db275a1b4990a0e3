// Depthwise convolution over NHWC, the MobileNet building block. Input channel c has `multiplier` (M)
// filters of its own, K[KH, KW, C, M] (Keras' layout), and output channel c·M + m sees input channel c only:
//   y[n, oy, ox, c·M + m] = b[c·M + m]
//       + Σ_{ky, kx} x[n, oy·sh − padTop + ky·dh, ox·sw − padLeft + kx·dw, c] · K[ky, kx, c, m]
// Taps outside the image read as zero (padding on any side; the output size is the caller's).
//
// im2col + a GEMM per channel would be GEMMs one column wide; these kernels are direct and vectorised over
// channels, which NHWC keeps adjacent. K[ky, kx] is a row of C·M floats indexed like one output pixel, so
// with M = 1 four lanes are four channels in x, K, y and dy alike (16 channels in four accumulators, then
// one vector, then a scalar tail). With M > 1 the lanes run over one channel's filters instead (x is
// splatted), with a scalar tail; MobileNets use M = 1.
//   forward          output-stationary: an output pixel's accumulators sum its taps in registers; the
//                    tap range inside the image is clipped once per pixel, so the inner loops test nothing.
//   backward input   gather, not scatter: each input pixel sums the (output pixel, tap) pairs that read it,
//                    so dx is written once, with no zeroing and no read-modify-write. Those taps form a
//                    progression (step s / gcd(s, d)) found once per row and once per column.
//   backward filter  for each output row and tap, a dot product along the row (ow pixels) in registers,
//                    added into dK once; dK (KH·KW·C·M floats) stays in L1 and the x and dy rows are reused
//                    across the taps.
//
// Napkin math, 3×3, C = 64, M = 1, per output pixel: 9 taps × 16 vector multiply-adds (576 FLOP) against
// two vector loads per multiply-add, all from L1 — the three passes are bound by loads, not arithmetic.

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

@inline function horizontalSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

function gcd(a: i32, b: i32): i32 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** First k ≥ 0 with start + k·step ≥ 0 (the first tap, or output pixel, that lands inside). */
@inline function firstInside(start: i32, step: i32): i32 {
  return start >= 0 ? 0 : (step - 1 - start) / step;
}

/** One past the last k < count with start + k·step < size. */
@inline function endInside(start: i32, step: i32, size: i32, count: i32): i32 {
  const room = size - start;
  return room <= 0 ? 0 : min(count, (room + step - 1) / step);
}

/**
 * For input coordinate i (t = i + pad), the first tap k < taps through which some output o reads it:
 * t − k·d = o·s with 0 ≤ o < outSize. Returns taps when there is none.
 */
function firstContributingTap(t: i32, stride: i32, dilation: i32, taps: i32, outSize: i32): i32 {
  const lowest = t - (outSize - 1) * stride;
  // The common case without a division (they cost as much as a tap's arithmetic here).
  if (stride == 1 && dilation == 1) return lowest <= 0 ? 0 : lowest < taps ? lowest : taps;
  const last = min(taps - 1, t / dilation);
  // At most stride / gcd(stride, dilation) candidates before one divides.
  for (let k = lowest <= 0 ? 0 : (lowest + dilation - 1) / dilation; k <= last; k++) {
    if ((t - k * dilation) % stride == 0) return k;
  }
  return taps;
}

// ---- forward ---------------------------------------------------------------------------------------------

export function depthwiseConv2dForward(
  x: usize, n: i32, h: i32, w: i32, c: i32, multiplier: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32,
  kernel: usize, bias: usize, y: usize,
): void {
  const cout = c * multiplier;
  // Byte steps from one tap to the next: down a row and along it, in x and in K.
  const xRowStep = <usize>(dilationH * w * c) << 2, xColStep = <usize>(dilationW * c) << 2;
  const kRowStep = <usize>(kw * cout) << 2, kColStep = <usize>cout << 2;
  let dst = y;
  for (let img = 0; img < n; img++) {
    const image = x + (<usize>(img * h * w * c) << 2);
    for (let oy = 0; oy < oh; oy++) {
      const top = oy * strideH - padTop;
      const ky0 = firstInside(top, dilationH), ky1 = endInside(top, dilationH, h, kh);
      for (let ox = 0; ox < ow; ox++) {
        const left = ox * strideW - padLeft;
        const kx0 = firstInside(left, dilationW), kx1 = endInside(left, dilationW, w, kw);
        const tapsY = max(ky1 - ky0, 0), tapsX = max(kx1 - kx0, 0);
        const src = image + (<usize>(((top + ky0 * dilationH) * w + left + kx0 * dilationW) * c) << 2);
        const wts = kernel + (<usize>((ky0 * kw + kx0) * cout) << 2);
        if (multiplier == 1) forwardPixelByChannels(src, wts, tapsY, tapsX, xRowStep, xColStep, kRowStep, kColStep, c, bias, dst);
        else forwardPixelByFilters(src, wts, tapsY, tapsX, xRowStep, xColStep, kRowStep, kColStep, c, multiplier, bias, dst);
        dst += <usize>cout << 2;
      }
    }
  }
}

/** M = 1: out[ch] = bias[ch] + Σ_taps x[tap][ch] · K[tap][ch], lanes over channels. */
@inline function forwardPixelByChannels(
  src: usize, wts: usize, tapsY: i32, tapsX: i32,
  xRowStep: usize, xColStep: usize, kRowStep: usize, kColStep: usize,
  c: i32, bias: usize, out: usize,
): void {
  let ch = 0;
  for (; ch + 16 <= c; ch += 16) {
    const off = <usize>ch << 2;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    if (bias != 0) {
      a0 = v128.load(bias + off);
      a1 = v128.load(bias + off, 16);
      a2 = v128.load(bias + off, 32);
      a3 = v128.load(bias + off, 48);
    }
    let rowX = src + off, rowK = wts + off;
    for (let ty = 0; ty < tapsY; ty++) {
      let px = rowX, pk = rowK;
      for (let tx = 0; tx < tapsX; tx++) {
        a0 = madd(v128.load(px), v128.load(pk), a0);
        a1 = madd(v128.load(px, 16), v128.load(pk, 16), a1);
        a2 = madd(v128.load(px, 32), v128.load(pk, 32), a2);
        a3 = madd(v128.load(px, 48), v128.load(pk, 48), a3);
        px += xColStep;
        pk += kColStep;
      }
      rowX += xRowStep;
      rowK += kRowStep;
    }
    v128.store(out + off, a0);
    v128.store(out + off, a1, 16);
    v128.store(out + off, a2, 32);
    v128.store(out + off, a3, 48);
  }
  for (; ch + 4 <= c; ch += 4) {
    const off = <usize>ch << 2;
    let a = bias != 0 ? v128.load(bias + off) : f32x4.splat(0);
    let rowX = src + off, rowK = wts + off;
    for (let ty = 0; ty < tapsY; ty++) {
      let px = rowX, pk = rowK;
      for (let tx = 0; tx < tapsX; tx++) {
        a = madd(v128.load(px), v128.load(pk), a);
        px += xColStep;
        pk += kColStep;
      }
      rowX += xRowStep;
      rowK += kRowStep;
    }
    v128.store(out + off, a);
  }
  for (; ch < c; ch++) {
    const off = <usize>ch << 2;
    let a: f32 = bias != 0 ? load<f32>(bias + off) : 0;
    let rowX = src + off, rowK = wts + off;
    for (let ty = 0; ty < tapsY; ty++) {
      let px = rowX, pk = rowK;
      for (let tx = 0; tx < tapsX; tx++) {
        a += load<f32>(px) * load<f32>(pk);
        px += xColStep;
        pk += kColStep;
      }
      rowX += xRowStep;
      rowK += kRowStep;
    }
    store<f32>(out + off, a);
  }
}

/** M > 1: out[ch·M + m] = bias + Σ_taps x[tap][ch] · K[tap][ch·M + m], lanes over m. */
@inline function forwardPixelByFilters(
  src: usize, wts: usize, tapsY: i32, tapsX: i32,
  xRowStep: usize, xColStep: usize, kRowStep: usize, kColStep: usize,
  c: i32, multiplier: i32, bias: usize, out: usize,
): void {
  for (let ch = 0; ch < c; ch++) {
    const xOff = <usize>ch << 2;
    let m = 0;
    for (; m + 4 <= multiplier; m += 4) {
      const off = <usize>(ch * multiplier + m) << 2;
      let a = bias != 0 ? v128.load(bias + off) : f32x4.splat(0);
      let rowX = src + xOff, rowK = wts + off;
      for (let ty = 0; ty < tapsY; ty++) {
        let px = rowX, pk = rowK;
        for (let tx = 0; tx < tapsX; tx++) {
          a = madd(v128.load32_splat(px), v128.load(pk), a);
          px += xColStep;
          pk += kColStep;
        }
        rowX += xRowStep;
        rowK += kRowStep;
      }
      v128.store(out + off, a);
    }
    for (; m < multiplier; m++) {
      const off = <usize>(ch * multiplier + m) << 2;
      let a: f32 = bias != 0 ? load<f32>(bias + off) : 0;
      let rowX = src + xOff, rowK = wts + off;
      for (let ty = 0; ty < tapsY; ty++) {
        let px = rowX, pk = rowK;
        for (let tx = 0; tx < tapsX; tx++) {
          a += load<f32>(px) * load<f32>(pk);
          px += xColStep;
          pk += kColStep;
        }
        rowX += xRowStep;
        rowK += kRowStep;
      }
      store<f32>(out + off, a);
    }
  }
}

// ---- backward: input gradient ------------------------------------------------------------------------------

/** dx[n, iy, ix, c] = Σ over the (output pixel, tap) pairs that read x[n, iy, ix, c] of dy · K. dx is overwritten. */
export function depthwiseConv2dBackwardInput(
  dy: usize, n: i32, h: i32, w: i32, c: i32, multiplier: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32,
  kernel: usize, dx: usize,
): void {
  const cout = c * multiplier;
  const gy = gcd(strideH, dilationH), gx = gcd(strideW, dilationW);
  // Consecutive contributing taps are stepY apart; each step moves the output pixel back by dilation/gcd.
  const stepY = strideH / gy, stepX = strideW / gx;
  const dyRowStep = <usize>(-(dilationH / gy) * ow * cout) << 2, dyColStep = <usize>(-(dilationW / gx) * cout) << 2;
  const kRowStep = <usize>(stepY * kw * cout) << 2, kColStep = <usize>(stepX * cout) << 2;
  let dst = dx;
  for (let img = 0; img < n; img++) {
    const grads = dy + (<usize>(img * oh * ow * cout) << 2);
    for (let iy = 0; iy < h; iy++) {
      const ty = iy + padTop;
      const ky0 = firstContributingTap(ty, strideH, dilationH, kh, oh);
      const ky1 = min(kh, (dilationH == 1 ? ty : ty / dilationH) + 1);
      const tapsY = ky0 < ky1 ? (ky1 - ky0 + stepY - 1) / stepY : 0;
      const oy0 = tapsY > 0 ? (strideH == 1 ? ty - ky0 * dilationH : (ty - ky0 * dilationH) / strideH) : 0;
      for (let ix = 0; ix < w; ix++) {
        const tx = ix + padLeft;
        const kx0 = firstContributingTap(tx, strideW, dilationW, kw, ow);
        const kx1 = min(kw, (dilationW == 1 ? tx : tx / dilationW) + 1);
        const tapsX = kx0 < kx1 ? (stepX == 1 ? kx1 - kx0 : (kx1 - kx0 + stepX - 1) / stepX) : 0;
        const ox0 = tapsX > 0 ? (strideW == 1 ? tx - kx0 * dilationW : (tx - kx0 * dilationW) / strideW) : 0;
        const src = grads + (<usize>((oy0 * ow + ox0) * cout) << 2);
        const wts = kernel + (<usize>((ky0 * kw + kx0) * cout) << 2);
        if (multiplier == 1) gatherPixelByChannels(src, wts, tapsY, tapsX, dyRowStep, dyColStep, kRowStep, kColStep, c, dst);
        else gatherPixelByFilters(src, wts, tapsY, tapsX, dyRowStep, dyColStep, kRowStep, kColStep, c, multiplier, dst);
        dst += <usize>c << 2;
      }
    }
  }
}

/** M = 1: out[ch] = Σ_pairs dy[pair][ch] · K[pair][ch]. */
@inline function gatherPixelByChannels(
  src: usize, wts: usize, tapsY: i32, tapsX: i32,
  dRowStep: usize, dColStep: usize, kRowStep: usize, kColStep: usize,
  c: i32, out: usize,
): void {
  let ch = 0;
  for (; ch + 16 <= c; ch += 16) {
    const off = <usize>ch << 2;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let rowD = src + off, rowK = wts + off;
    for (let ty = 0; ty < tapsY; ty++) {
      let pd = rowD, pk = rowK;
      for (let tx = 0; tx < tapsX; tx++) {
        a0 = madd(v128.load(pd), v128.load(pk), a0);
        a1 = madd(v128.load(pd, 16), v128.load(pk, 16), a1);
        a2 = madd(v128.load(pd, 32), v128.load(pk, 32), a2);
        a3 = madd(v128.load(pd, 48), v128.load(pk, 48), a3);
        pd += dColStep;
        pk += kColStep;
      }
      rowD += dRowStep;
      rowK += kRowStep;
    }
    v128.store(out + off, a0);
    v128.store(out + off, a1, 16);
    v128.store(out + off, a2, 32);
    v128.store(out + off, a3, 48);
  }
  for (; ch + 4 <= c; ch += 4) {
    const off = <usize>ch << 2;
    let a = f32x4.splat(0);
    let rowD = src + off, rowK = wts + off;
    for (let ty = 0; ty < tapsY; ty++) {
      let pd = rowD, pk = rowK;
      for (let tx = 0; tx < tapsX; tx++) {
        a = madd(v128.load(pd), v128.load(pk), a);
        pd += dColStep;
        pk += kColStep;
      }
      rowD += dRowStep;
      rowK += kRowStep;
    }
    v128.store(out + off, a);
  }
  for (; ch < c; ch++) {
    const off = <usize>ch << 2;
    let a: f32 = 0;
    let rowD = src + off, rowK = wts + off;
    for (let ty = 0; ty < tapsY; ty++) {
      let pd = rowD, pk = rowK;
      for (let tx = 0; tx < tapsX; tx++) {
        a += load<f32>(pd) * load<f32>(pk);
        pd += dColStep;
        pk += kColStep;
      }
      rowD += dRowStep;
      rowK += kRowStep;
    }
    store<f32>(out + off, a);
  }
}

/** M > 1: out[ch] = Σ_pairs Σ_m dy[pair][ch·M + m] · K[pair][ch·M + m], lanes over m, summed across at the end. */
@inline function gatherPixelByFilters(
  src: usize, wts: usize, tapsY: i32, tapsX: i32,
  dRowStep: usize, dColStep: usize, kRowStep: usize, kColStep: usize,
  c: i32, multiplier: i32, out: usize,
): void {
  for (let ch = 0; ch < c; ch++) {
    const off = <usize>(ch * multiplier) << 2;
    let a = f32x4.splat(0);
    let tail: f32 = 0;
    let rowD = src + off, rowK = wts + off;
    for (let ty = 0; ty < tapsY; ty++) {
      let pd = rowD, pk = rowK;
      for (let tx = 0; tx < tapsX; tx++) {
        let m = 0;
        for (; m + 4 <= multiplier; m += 4) {
          const mo = <usize>m << 2;
          a = madd(v128.load(pd + mo), v128.load(pk + mo), a);
        }
        for (; m < multiplier; m++) {
          const mo = <usize>m << 2;
          tail += load<f32>(pd + mo) * load<f32>(pk + mo);
        }
        pd += dColStep;
        pk += kColStep;
      }
      rowD += dRowStep;
      rowK += kRowStep;
    }
    store<f32>(out + (<usize>ch << 2), horizontalSum(a) + tail);
  }
}

// ---- backward: filter gradient -----------------------------------------------------------------------------

/** dK[ky, kx, c, m] = Σ_{n, oy, ox} x[n, iy, ix, c] · dy[n, oy, ox, c·M + m] over taps inside the image. dK is overwritten. */
export function depthwiseConv2dBackwardFilter(
  x: usize, dy: usize, n: i32, h: i32, w: i32, c: i32, multiplier: i32,
  kh: i32, kw: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  padTop: i32, padLeft: i32, oh: i32, ow: i32,
  dkernel: usize,
): void {
  const cout = c * multiplier;
  memory.fill(dkernel, 0, <usize>(kh * kw * cout) << 2);
  const xStep = <usize>(strideW * c) << 2, dStep = <usize>cout << 2;
  for (let img = 0; img < n; img++) {
    const image = x + (<usize>(img * h * w * c) << 2);
    const grads = dy + (<usize>(img * oh * ow * cout) << 2);
    for (let oy = 0; oy < oh; oy++) {
      const dyRow = grads + (<usize>(oy * ow * cout) << 2);
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * strideH - padTop + ky * dilationH;
        if (iy < 0 || iy >= h) continue;
        const xRow = image + (<usize>(iy * w * c) << 2);
        for (let kx = 0; kx < kw; kx++) {
          // Along the row, output pixel ox reads input column ox·sw + shift.
          const shift = kx * dilationW - padLeft;
          const ox0 = firstInside(shift, strideW), ox1 = endInside(shift, strideW, w, ow);
          const count = ox1 - ox0;
          if (count <= 0) continue;
          const px = xRow + (<usize>((ox0 * strideW + shift) * c) << 2);
          const pd = dyRow + (<usize>(ox0 * cout) << 2);
          const dk = dkernel + (<usize>((ky * kw + kx) * cout) << 2);
          if (multiplier == 1) rowDotByChannels(px, pd, count, xStep, dStep, c, dk);
          else rowDotByFilters(px, pd, count, xStep, dStep, c, multiplier, dk);
        }
      }
    }
  }
}

/** M = 1: dk[ch] += Σ_{i < count} x[i][ch] · dy[i][ch]. */
@inline function rowDotByChannels(px: usize, pd: usize, count: i32, xStep: usize, dStep: usize, c: i32, dk: usize): void {
  let ch = 0;
  for (; ch + 16 <= c; ch += 16) {
    const off = <usize>ch << 2;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = px + off, q = pd + off;
    for (let i = 0; i < count; i++) {
      a0 = madd(v128.load(p), v128.load(q), a0);
      a1 = madd(v128.load(p, 16), v128.load(q, 16), a1);
      a2 = madd(v128.load(p, 32), v128.load(q, 32), a2);
      a3 = madd(v128.load(p, 48), v128.load(q, 48), a3);
      p += xStep;
      q += dStep;
    }
    const at = dk + off;
    v128.store(at, f32x4.add(v128.load(at), a0));
    v128.store(at, f32x4.add(v128.load(at, 16), a1), 16);
    v128.store(at, f32x4.add(v128.load(at, 32), a2), 32);
    v128.store(at, f32x4.add(v128.load(at, 48), a3), 48);
  }
  for (; ch + 4 <= c; ch += 4) {
    const off = <usize>ch << 2;
    let a = f32x4.splat(0);
    let p = px + off, q = pd + off;
    for (let i = 0; i < count; i++) {
      a = madd(v128.load(p), v128.load(q), a);
      p += xStep;
      q += dStep;
    }
    v128.store(dk + off, f32x4.add(v128.load(dk + off), a));
  }
  for (; ch < c; ch++) {
    const off = <usize>ch << 2;
    let a: f32 = 0;
    let p = px + off, q = pd + off;
    for (let i = 0; i < count; i++) {
      a += load<f32>(p) * load<f32>(q);
      p += xStep;
      q += dStep;
    }
    store<f32>(dk + off, load<f32>(dk + off) + a);
  }
}

/** M > 1: dk[ch·M + m] += Σ_{i < count} x[i][ch] · dy[i][ch·M + m], lanes over m. */
@inline function rowDotByFilters(px: usize, pd: usize, count: i32, xStep: usize, dStep: usize, c: i32, multiplier: i32, dk: usize): void {
  for (let ch = 0; ch < c; ch++) {
    const xOff = <usize>ch << 2;
    let m = 0;
    for (; m + 4 <= multiplier; m += 4) {
      const off = <usize>(ch * multiplier + m) << 2;
      let a = f32x4.splat(0);
      let p = px + xOff, q = pd + off;
      for (let i = 0; i < count; i++) {
        a = madd(v128.load32_splat(p), v128.load(q), a);
        p += xStep;
        q += dStep;
      }
      v128.store(dk + off, f32x4.add(v128.load(dk + off), a));
    }
    for (; m < multiplier; m++) {
      const off = <usize>(ch * multiplier + m) << 2;
      let a: f32 = 0;
      let p = px + xOff, q = pd + off;
      for (let i = 0; i < count; i++) {
        a += load<f32>(p) * load<f32>(q);
        p += xStep;
        q += dStep;
      }
      store<f32>(dk + off, load<f32>(dk + off) + a);
    }
  }
}
