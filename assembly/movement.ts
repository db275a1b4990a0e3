// Data movement: permuting the axes of each sample, zero-padding and cropping NHWC images. These kernels
// only move floats (as 32-bit patterns, so even NaN payloads survive), so their results are exact. Each
// one's backward pass is another's forward pass: a permutation's adjoint is the inverse permutation, a
// zero-padding's is the crop of the gradient, and a crop's is the zero-padding of it.
//
// permute first simplifies the permutation: axes of size 1 are dropped and neighbouring output axes that
// are also neighbours, in the same order, in the input are merged. What remains is either a copy of
// contiguous runs (the innermost output axis is innermost in the input too) or a batch of 2-D transposes
// (between the innermost output axis and the innermost input axis), done in 32×32 cache tiles of 4×4
// SIMD blocks. So NHWC ↔ NCHW, [a, b] → [b, a] and [h, w, c] → [w, h, c] are each one plain loop nest.

/** Cache tile of the blocked transpose: a 32×32 read tile and its 32×32 write tile (8 KiB) sit in L1. */
const TILE: i32 = 32;
/** Runs shorter than this are copied by a loop; memory.copy's call costs more than the copy. */
const SHORT_RUN: i32 = 16;

@inline function pick(i: i32, v0: i32, v1: i32, v2: i32, v3: i32): i32 {
  return i == 0 ? v0 : i == 1 ? v1 : i == 2 ? v2 : v3;
}

@inline function copyFloats(dst: usize, src: usize, count: i32): void {
  if (count >= SHORT_RUN) {
    memory.copy(dst, src, <usize>count << 2);
    return;
  }
  for (let i = 0; i < count; i++) store<u32>(dst + (<usize>i << 2), load<u32>(src + (<usize>i << 2)));
}

/** dst rows 0..3 (byte stride ld) = src columns 0..3 of src rows 0..3 (byte stride ls). */
@inline function transpose4x4(src: usize, ls: usize, dst: usize, ld: usize): void {
  const a = v128.load(src), b = v128.load(src + ls), c = v128.load(src + 2 * ls), d = v128.load(src + 3 * ls);
  const ab01 = f32x4.shuffle(a, b, 0, 4, 1, 5), ab23 = f32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd01 = f32x4.shuffle(c, d, 0, 4, 1, 5), cd23 = f32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(ab01, cd01, 0, 1, 4, 5));
  v128.store(dst + ld, f32x4.shuffle(ab01, cd01, 2, 3, 6, 7));
  v128.store(dst + 2 * ld, f32x4.shuffle(ab23, cd23, 0, 1, 4, 5));
  v128.store(dst + 3 * ld, f32x4.shuffle(ab23, cd23, 2, 3, 6, 7));
}

/**
 * dst[c·ld + r] = src[r·ls + c] for r < rows, c < cols: a rows × cols matrix with row stride ls written
 * as its cols × rows transpose with row stride ld (strides in floats).
 */
function transposeBlocked(src: usize, rows: i32, cols: i32, ls: i32, dst: usize, ld: i32): void {
  const lsBytes = <usize>ls << 2, ldBytes = <usize>ld << 2;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = min(r0 + TILE, rows);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = min(c0 + TILE, cols);
      let r = r0;
      for (; r + 4 <= r1; r += 4) {
        const from = src + <usize>r * lsBytes, to = dst + (<usize>r << 2);
        let c = c0;
        for (; c + 4 <= c1; c += 4) transpose4x4(from + (<usize>c << 2), lsBytes, to + <usize>c * ldBytes, ldBytes);
        for (; c < c1; c++) {
          for (let k = 0; k < 4; k++) {
            store<u32>(to + <usize>c * ldBytes + (<usize>k << 2), load<u32>(from + <usize>k * lsBytes + (<usize>c << 2)));
          }
        }
      }
      for (; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          store<u32>(dst + <usize>c * ldBytes + (<usize>r << 2), load<u32>(src + <usize>r * lsBytes + (<usize>c << 2)));
        }
      }
    }
  }
}

/**
 * y = each of n samples of x, shaped [d0, d1, d2, d3], with its axes permuted: output axis k is input
 * axis p_k (0-based). Fewer axes are given as leading 1s. y must not overlap x.
 */
export function permute(
  x: usize, n: i32, d0: i32, d1: i32, d2: i32, d3: i32, p0: i32, p1: i32, p2: i32, p3: i32, y: usize,
): void {
  const s0 = d1 * d2 * d3, s1 = d2 * d3, s2 = d3, s3 = 1;
  const size = d0 * s0;
  // The simplified output axes, innermost first: (a0, b0) is the innermost's extent and input stride.
  // Axes arrive outermost first and each is pushed in at the front, or merged into the front axis when
  // the two are contiguous in the input; unused slots stay extent 1.
  let a0 = 1, b0 = 0, a1 = 1, b1 = 0, a2 = 1, b2 = 0, a3 = 1, b3 = 0;
  let axes = 0;
  for (let k = 0; k < 4; k++) {
    const axis = pick(k, p0, p1, p2, p3);
    const extent = pick(axis, d0, d1, d2, d3), stride = pick(axis, s0, s1, s2, s3);
    if (extent == 1) continue;
    if (axes > 0 && b0 == stride * extent) {
      a0 *= extent;
      b0 = stride;
      continue;
    }
    a3 = a2; b3 = b2; a2 = a1; b2 = b1; a1 = a0; b1 = b0; a0 = extent; b0 = stride;
    axes++;
  }
  const sampleBytes = <usize>size << 2;
  if (axes <= 1) {
    // The data order is unchanged.
    memory.copy(y, x, <usize>n * sampleBytes);
    return;
  }
  // Output strides of the simplified axes (the output is contiguous).
  const w1 = a0, w2 = a0 * a1, w3 = a0 * a1 * a2;
  for (let img = 0; img < n; img++) {
    const xs = x + <usize>img * sampleBytes, ys = y + <usize>img * sampleBytes;
    if (b0 == 1) {
      // The innermost output axis is contiguous in the input: copy runs of a0 floats.
      for (let i3 = 0; i3 < a3; i3++)
        for (let i2 = 0; i2 < a2; i2++)
          for (let i1 = 0; i1 < a1; i1++) {
            copyFloats(ys + (<usize>(i1 * w1 + i2 * w2 + i3 * w3) << 2), xs + (<usize>(i1 * b1 + i2 * b2 + i3 * b3) << 2), a0);
          }
      continue;
    }
    // Axis j is the input's innermost (stride 1); transpose it with output axis 0 for every index of
    // the two remaining axes e and f.
    const j = b1 == 1 ? 1 : b2 == 1 ? 2 : 3;
    const cols = pick(j, a0, a1, a2, a3), ld = pick(j, 1, w1, w2, w3);
    const ea = j == 1 ? a2 : a1, eb = j == 1 ? b2 : b1, ew = j == 1 ? w2 : w1;
    const fa = j == 3 ? a2 : a3, fb = j == 3 ? b2 : b3, fw = j == 3 ? w2 : w3;
    for (let f = 0; f < fa; f++)
      for (let e = 0; e < ea; e++) {
        transposeBlocked(xs + (<usize>(e * eb + f * fb) << 2), a0, cols, b0, ys + (<usize>(e * ew + f * fw) << 2), ld);
      }
  }
}

/**
 * y [n, h + top + bottom, w + left + right, c] = x [n, h, w, c] surrounded by zeros. Also the adjoint of
 * crop2d with the same margins. y must not overlap x.
 */
export function zeroPad2d(
  x: usize, n: i32, h: i32, w: i32, c: i32, top: i32, bottom: i32, left: i32, right: i32, y: usize,
): void {
  const ow = w + left + right;
  const rowIn = <usize>(w * c) << 2, rowOut = <usize>(ow * c) << 2;
  const leftBytes = <usize>(left * c) << 2, rightBytes = <usize>(right * c) << 2;
  let src = x, dst = y;
  for (let img = 0; img < n; img++) {
    memory.fill(dst, 0, <usize>top * rowOut);
    dst += <usize>top * rowOut;
    if (left == 0 && right == 0) {
      memory.copy(dst, src, <usize>h * rowIn);
      dst += <usize>h * rowIn;
      src += <usize>h * rowIn;
    } else {
      for (let iy = 0; iy < h; iy++) {
        memory.fill(dst, 0, leftBytes);
        memory.copy(dst + leftBytes, src, rowIn);
        memory.fill(dst + leftBytes + rowIn, 0, rightBytes);
        dst += rowOut;
        src += rowIn;
      }
    }
    memory.fill(dst, 0, <usize>bottom * rowOut);
    dst += <usize>bottom * rowOut;
  }
}

/**
 * y [n, h − top − bottom, w − left − right, c] = the interior of x [n, h, w, c]. Also the adjoint of
 * zeroPad2d with the same margins. y must not overlap x.
 */
export function crop2d(
  x: usize, n: i32, h: i32, w: i32, c: i32, top: i32, bottom: i32, left: i32, right: i32, y: usize,
): void {
  const oh = h - top - bottom, ow = w - left - right;
  const rowIn = <usize>(w * c) << 2, rowOut = <usize>(ow * c) << 2;
  let dst = y;
  for (let img = 0; img < n; img++) {
    const first = x + (<usize>img * <usize>h + <usize>top) * rowIn + (<usize>(left * c) << 2);
    if (left == 0 && right == 0) {
      memory.copy(dst, first, <usize>oh * rowOut);
      dst += <usize>oh * rowOut;
      continue;
    }
    for (let oy = 0; oy < oh; oy++) {
      memory.copy(dst, first + <usize>oy * rowIn, rowOut);
      dst += rowOut;
    }
  }
}
