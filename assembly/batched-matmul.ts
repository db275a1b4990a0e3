// Batched small matrix products on strided views — attention's per-head products, all heads of all samples
// in one call, read where they lie (a head of Q [batch, T, heads·dim] is the view at b·T·heads·dim + h·dim
// with row stride heads·dim), so heads are never copied apart and nothing is packed. For each of
// count1 × count2 problems (z1, z2):
//   C[z1,z2] = (accumulate ? C : 0) + A[z1,z2] · B[z1,z2],  A [m × k], B [k × n], C [m × n] (column stride 1)
// with every operand's element (i, j) at base + 4·(z1·s1 + z2·s2 + i·rowStride + j·colStride).
//
// Two register-tiled forms, chosen by B's layout (all six products of attention's forward and backward fall in one):
//   rows    — B's rows are contiguous (colStride 1): a 4×8 tile of C in registers, each step p adding
//             A[i][p] (a splat) times B's row p (two vectors): Q·… , A·V, dS·K, Aᵀ·dO, dSᵀ·Q.
//   columns — B's columns are contiguous (rowStride 1) and A's rows too: C[i][j] is a dot product along p,
//             four lanes at a time, for a 4×2 tile: Q·Kᵀ, dO·Vᵀ.
// Anything else takes a plain loop. Napkin math, 64×64×32 (one head at T 64): 262k multiply-adds in one pass
// over operands of 8–16 KB each, all in L1; the packed GEMM spent as long packing as multiplying there.

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

export function batchedMatmul(
  count1: i32, count2: i32, m: i32, n: i32, k: i32,
  a: usize, a1: i32, a2: i32, aRow: i32, aCol: i32,
  b: usize, b1: i32, b2: i32, bRow: i32, bCol: i32,
  c: usize, c1: i32, c2: i32, ldc: i32, accumulate: bool,
): void {
  for (let z1 = 0; z1 < count1; z1++)
    for (let z2 = 0; z2 < count2; z2++) {
      const ap = a + ((<usize>z1 * <usize>a1 + <usize>z2 * <usize>a2) << 2);
      const bp = b + ((<usize>z1 * <usize>b1 + <usize>z2 * <usize>b2) << 2);
      const cp = c + ((<usize>z1 * <usize>c1 + <usize>z2 * <usize>c2) << 2);
      if (bCol == 1) byRows(m, n, k, ap, aRow, aCol, bp, bRow, cp, ldc, accumulate);
      else if (bRow == 1 && aCol == 1) byColumns(m, n, k, ap, aRow, bp, bCol, cp, ldc, accumulate);
      else plain(m, n, k, ap, aRow, aCol, bp, bRow, bCol, cp, ldc, accumulate);
    }
}

/** C [m × n] += A·B with B's rows contiguous: 4×8 tiles in registers, then the ragged edges. */
function byRows(m: i32, n: i32, k: i32, a: usize, aRow: i32, aCol: i32, b: usize, bRow: i32, c: usize, ldc: i32, accumulate: bool): void {
  const aRowBytes = <usize>aRow << 2, aColBytes = <usize>aCol << 2, bRowBytes = <usize>bRow << 2, cRowBytes = <usize>ldc << 2;
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const ar = a + <usize>i * aRowBytes, cr = c + <usize>i * cRowBytes;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      const cj = cr + (<usize>j << 2);
      let c00 = accumulate ? v128.load(cj) : zero, c01 = accumulate ? v128.load(cj, 16) : zero;
      let c10 = accumulate ? v128.load(cj + cRowBytes) : zero, c11 = accumulate ? v128.load(cj + cRowBytes, 16) : zero;
      let c20 = accumulate ? v128.load(cj + 2 * cRowBytes) : zero, c21 = accumulate ? v128.load(cj + 2 * cRowBytes, 16) : zero;
      let c30 = accumulate ? v128.load(cj + 3 * cRowBytes) : zero, c31 = accumulate ? v128.load(cj + 3 * cRowBytes, 16) : zero;
      let bp = b + (<usize>j << 2), ap = ar;
      for (let p = 0; p < k; p++) {
        const b0 = v128.load(bp), b1 = v128.load(bp, 16);
        const x0 = f32x4.splat(load<f32>(ap)), x1 = f32x4.splat(load<f32>(ap + aRowBytes));
        const x2 = f32x4.splat(load<f32>(ap + 2 * aRowBytes)), x3 = f32x4.splat(load<f32>(ap + 3 * aRowBytes));
        c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
        c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
        c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
        c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
        bp += bRowBytes;
        ap += aColBytes;
      }
      v128.store(cj, c00); v128.store(cj, c01, 16);
      v128.store(cj + cRowBytes, c10); v128.store(cj + cRowBytes, c11, 16);
      v128.store(cj + 2 * cRowBytes, c20); v128.store(cj + 2 * cRowBytes, c21, 16);
      v128.store(cj + 3 * cRowBytes, c30); v128.store(cj + 3 * cRowBytes, c31, 16);
    }
    if (j < n) plain(4, n - j, k, ar, aRow, aCol, b + (<usize>j << 2), bRow, 1, cr + (<usize>j << 2), ldc, accumulate);
  }
  if (i < m) plain(m - i, n, k, a + <usize>i * aRowBytes, aRow, aCol, b, bRow, 1, c + <usize>i * cRowBytes, ldc, accumulate);
}

/** C [m × n] += A·B with A's rows and B's columns contiguous along p: 4×2 tiles of dot products. */
function byColumns(m: i32, n: i32, k: i32, a: usize, aRow: i32, b: usize, bCol: i32, c: usize, ldc: i32, accumulate: bool): void {
  const aRowBytes = <usize>aRow << 2, bColBytes = <usize>bCol << 2, cRowBytes = <usize>ldc << 2;
  const k4 = k & ~3;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>i * aRowBytes, a1 = a0 + aRowBytes, a2 = a1 + aRowBytes, a3 = a2 + aRowBytes;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const b0 = b + <usize>j * bColBytes, b1 = b0 + bColBytes;
      let s00 = f32x4.splat(0), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
      for (let p = 0; p < k4; p += 4) {
        const off = <usize>p << 2;
        const v0 = v128.load(b0 + off), v1 = v128.load(b1 + off);
        const x0 = v128.load(a0 + off), x1 = v128.load(a1 + off), x2 = v128.load(a2 + off), x3 = v128.load(a3 + off);
        s00 = madd(x0, v0, s00); s01 = madd(x0, v1, s01);
        s10 = madd(x1, v0, s10); s11 = madd(x1, v1, s11);
        s20 = madd(x2, v0, s20); s21 = madd(x2, v1, s21);
        s30 = madd(x3, v0, s30); s31 = madd(x3, v1, s31);
      }
      const cj = c + <usize>i * cRowBytes + (<usize>j << 2);
      storeDot(cj, s00, a0, b0, k4, k, accumulate); storeDot(cj + 4, s01, a0, b1, k4, k, accumulate);
      storeDot(cj + cRowBytes, s10, a1, b0, k4, k, accumulate); storeDot(cj + cRowBytes + 4, s11, a1, b1, k4, k, accumulate);
      storeDot(cj + 2 * cRowBytes, s20, a2, b0, k4, k, accumulate); storeDot(cj + 2 * cRowBytes + 4, s21, a2, b1, k4, k, accumulate);
      storeDot(cj + 3 * cRowBytes, s30, a3, b0, k4, k, accumulate); storeDot(cj + 3 * cRowBytes + 4, s31, a3, b1, k4, k, accumulate);
    }
    if (j < n) plain(4, n - j, k, a0, aRow, 1, b + <usize>j * bColBytes, 1, bCol, c + <usize>i * cRowBytes + (<usize>j << 2), ldc, accumulate);
  }
  if (i < m) plain(m - i, n, k, a + <usize>i * aRowBytes, aRow, 1, b, 1, bCol, c + <usize>i * cRowBytes, ldc, accumulate);
}

/** Finishes one dot product: the four lanes' sum, the ragged tail of p, then into C. */
@inline function storeDot(cp: usize, lanes: v128, a: usize, b: usize, from: i32, k: i32, accumulate: bool): void {
  let sum = f32x4.extract_lane(lanes, 0) + f32x4.extract_lane(lanes, 1) + f32x4.extract_lane(lanes, 2) + f32x4.extract_lane(lanes, 3);
  for (let p = from; p < k; p++) sum += load<f32>(a + (<usize>p << 2)) * load<f32>(b + (<usize>p << 2));
  store<f32>(cp, accumulate ? load<f32>(cp) + sum : sum);
}

/** The plain triple loop, for edges and layouts the tiles do not take. */
function plain(m: i32, n: i32, k: i32, a: usize, aRow: i32, aCol: i32, b: usize, bRow: i32, bCol: i32, c: usize, ldc: i32, accumulate: bool): void {
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum: f32 = 0;
      for (let p = 0; p < k; p++) {
        sum += load<f32>(a + ((<usize>i * <usize>aRow + <usize>p * <usize>aCol) << 2)) * load<f32>(b + ((<usize>p * <usize>bRow + <usize>j * <usize>bCol) << 2));
      }
      const cp = c + ((<usize>i * <usize>ldc + <usize>j) << 2);
      store<f32>(cp, accumulate ? load<f32>(cp) + sum : sum);
    }
}
