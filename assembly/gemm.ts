// f32 GEMM:  C[m×n] = (accumulate ? C : 0) + op(A)[m×k] · op(B)[k×n]   (+ bias[n], then activation)
//
// Transposes are expressed by strides: element A[i][p] lives at a + 4·(i·aRowStride + p·aColStride), so
// A·B, Aᵀ·B and A·Bᵀ (the three products backprop needs) are one routine; packing absorbs the layout.
//
// Structure (Goto/BLIS): for each NC-wide column block of B and KC-deep slice of K, B is packed into
// NR-wide panels; for each MC-tall row block of A, A is packed into MR-tall panels; then a register-blocked
// MR×NR micro-kernel walks the panels. The epilogue (bias + activation) runs on the last K slice while the
// tile is still in registers, so a Dense layer's forward is one pass over C: linear, relu and relu6 as
// vector ops, sigmoid and tanh lane by lane; other activations run after the GEMM.
//
// Napkin math for the 4×8 tile: per k step 2 vector loads of B, 4 splat-loads of A, 8 multiply-adds
// (16 FLOP/lane-op × 4 lanes = 64 FLOP) — 8 accumulators + 2 B + 1 A = 11 of the 16 SIMD registers.

import { MC, KC, NC, packedA, packedB, edgeTile } from "./workspace";
import { ACT_LINEAR, ACT_RELU, ACT_RELU6, activateScalar } from "./activation-codes";

const MR: i32 = 4;
const NR: i32 = 8;

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** Packs rows i0..i0+mc, depth p0..p0+kc of A into MR-row panels: panel[p][ii], zero-padding ragged rows. */
function packPanelsA(a: usize, rowStride: i32, colStride: i32, i0: i32, mc: i32, p0: i32, kc: i32): void {
  let dst = packedA;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const rowBase = a + (<usize>((i0 + ir) * rowStride + p0 * colStride) << 2);
    const rowStep = <usize>rowStride << 2;
    const colStep = <usize>colStride << 2;
    if (rows == MR) {
      let src = rowBase;
      for (let p = 0; p < kc; p++) {
        store<f32>(dst, load<f32>(src));
        store<f32>(dst, load<f32>(src + rowStep), 4);
        store<f32>(dst, load<f32>(src + 2 * rowStep), 8);
        store<f32>(dst, load<f32>(src + 3 * rowStep), 12);
        src += colStep;
        dst += MR << 2;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const src = rowBase + <usize>p * colStep;
        for (let ii = 0; ii < MR; ii++) {
          store<f32>(dst + (<usize>ii << 2), ii < rows ? load<f32>(src + <usize>ii * rowStep) : 0);
        }
        dst += MR << 2;
      }
    }
  }
}

/** Packs depth p0..p0+kc, columns j0..j0+nc of B into NR-column panels: panel[p][jj], zero-padded. */
function packPanelsB(b: usize, rowStride: i32, colStride: i32, p0: i32, kc: i32, j0: i32, nc: i32): void {
  let dst = packedB;
  const rowStep = <usize>rowStride << 2;
  const colStep = <usize>colStride << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    let src = b + (<usize>(p0 * rowStride + (j0 + jr) * colStride) << 2);
    if (cols == NR && colStride == 1) {
      for (let p = 0; p < kc; p++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += rowStep;
        dst += NR << 2;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let jj = 0; jj < NR; jj++) {
          store<f32>(dst + (<usize>jj << 2), jj < cols ? load<f32>(src + <usize>jj * colStep) : 0);
        }
        src += rowStep;
        dst += NR << 2;
      }
    }
  }
}

/**
 * One MR×NR tile of C from packed slivers. `overwrite`: C is replaced rather than added to (first K slice
 * of a non-accumulating product). `epilogue`: last K slice, so add bias and apply the activation.
 */
function microKernel4x8(
  kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, rows: i32, cols: i32,
  overwrite: bool, epilogue: bool, bias: usize, act: i32,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    ap += MR << 2;
    bp += NR << 2;
  }

  const rowStep = <usize>ldc << 2;
  if (rows == MR && cols == NR && (act == ACT_LINEAR || act == ACT_RELU || act == ACT_RELU6 || !epilogue)) {
    // Full tile with an in-register epilogue.
    if (!overwrite) {
      c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
      c10 = f32x4.add(c10, v128.load(c + rowStep)); c11 = f32x4.add(c11, v128.load(c + rowStep, 16));
      c20 = f32x4.add(c20, v128.load(c + 2 * rowStep)); c21 = f32x4.add(c21, v128.load(c + 2 * rowStep, 16));
      c30 = f32x4.add(c30, v128.load(c + 3 * rowStep)); c31 = f32x4.add(c31, v128.load(c + 3 * rowStep, 16));
    }
    if (epilogue) {
      if (bias != 0) {
        const bias0 = v128.load(bias), bias1 = v128.load(bias, 16);
        c00 = f32x4.add(c00, bias0); c01 = f32x4.add(c01, bias1);
        c10 = f32x4.add(c10, bias0); c11 = f32x4.add(c11, bias1);
        c20 = f32x4.add(c20, bias0); c21 = f32x4.add(c21, bias1);
        c30 = f32x4.add(c30, bias0); c31 = f32x4.add(c31, bias1);
      }
      if (act == ACT_RELU) {
        const zero = f32x4.splat(0);
        c00 = f32x4.max(c00, zero); c01 = f32x4.max(c01, zero);
        c10 = f32x4.max(c10, zero); c11 = f32x4.max(c11, zero);
        c20 = f32x4.max(c20, zero); c21 = f32x4.max(c21, zero);
        c30 = f32x4.max(c30, zero); c31 = f32x4.max(c31, zero);
      } else if (act == ACT_RELU6) {
        const zero = f32x4.splat(0), six = f32x4.splat(6);
        c00 = f32x4.min(f32x4.max(c00, zero), six); c01 = f32x4.min(f32x4.max(c01, zero), six);
        c10 = f32x4.min(f32x4.max(c10, zero), six); c11 = f32x4.min(f32x4.max(c11, zero), six);
        c20 = f32x4.min(f32x4.max(c20, zero), six); c21 = f32x4.min(f32x4.max(c21, zero), six);
        c30 = f32x4.min(f32x4.max(c30, zero), six); c31 = f32x4.min(f32x4.max(c31, zero), six);
      }
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + rowStep, c10); v128.store(c + rowStep, c11, 16);
    v128.store(c + 2 * rowStep, c20); v128.store(c + 2 * rowStep, c21, 16);
    v128.store(c + 3 * rowStep, c30); v128.store(c + 3 * rowStep, c31, 16);
    return;
  }

  // Ragged edge, or an activation without a vector form: spill the tile and finish it lane by lane.
  const t = edgeTile;
  v128.store(t, c00); v128.store(t, c01, 16);
  v128.store(t, c10, 32); v128.store(t, c11, 48);
  v128.store(t, c20, 64); v128.store(t, c21, 80);
  v128.store(t, c30, 96); v128.store(t, c31, 112);
  for (let i = 0; i < rows; i++) {
    const cRow = c + <usize>i * rowStep;
    const tRow = t + (<usize>(i * NR) << 2);
    for (let j = 0; j < cols; j++) {
      const off = <usize>j << 2;
      let v = load<f32>(tRow + off);
      if (!overwrite) v += load<f32>(cRow + off);
      if (epilogue) {
        if (bias != 0) v += load<f32>(bias + off);
        v = activateScalar(v, act);
      }
      store<f32>(cRow + off, v);
    }
  }
}

/** C = epilogue(C or 0) for k == 0, where no product term exists. */
function epilogueOnly(m: i32, n: i32, c: usize, ldc: i32, accumulate: bool, bias: usize, act: i32): void {
  for (let i = 0; i < m; i++) {
    const row = c + (<usize>(i * ldc) << 2);
    for (let j = 0; j < n; j++) {
      const off = <usize>j << 2;
      let v: f32 = accumulate ? load<f32>(row + off) : 0;
      if (bias != 0) v += load<f32>(bias + off);
      store<f32>(row + off, activateScalar(v, act));
    }
  }
}

/**
 * C = epilogue(C or 0 + A·B) for a few rows (batch-1 inference), with B's rows contiguous: packing B would
 * copy the whole weight matrix to use it once, so this walks B in place, 16 columns at a time held in
 * registers across the depth (each B row read once per row of A).
 */
function gemmFewRows(
  m: i32, n: i32, k: i32, a: usize, aRowStride: i32, aColStride: i32, b: usize, bRowStride: i32,
  c: usize, ldc: i32, accumulate: bool, bias: usize, act: i32,
): void {
  const bStep = <usize>bRowStride << 2;
  const aStep = <usize>aColStride << 2;
  for (let i = 0; i < m; i++) {
    const aRow = a + (<usize>(i * aRowStride) << 2);
    const cRow = c + (<usize>(i * ldc) << 2);
    let j = 0;
    for (; j + 16 <= n; j += 16) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let bp = b + (<usize>j << 2), ap = aRow;
      for (let p = 0; p < k; p++) {
        const av = f32x4.splat(load<f32>(ap));
        c0 = madd(av, v128.load(bp), c0);
        c1 = madd(av, v128.load(bp, 16), c1);
        c2 = madd(av, v128.load(bp, 32), c2);
        c3 = madd(av, v128.load(bp, 48), c3);
        bp += bStep;
        ap += aStep;
      }
      const out = cRow + (<usize>j << 2);
      if (accumulate) {
        c0 = f32x4.add(c0, v128.load(out)); c1 = f32x4.add(c1, v128.load(out, 16));
        c2 = f32x4.add(c2, v128.load(out, 32)); c3 = f32x4.add(c3, v128.load(out, 48));
      }
      v128.store(out, c0); v128.store(out, c1, 16); v128.store(out, c2, 32); v128.store(out, c3, 48);
    }
    for (; j < n; j++) {
      let sum: f32 = 0;
      let bp = b + (<usize>j << 2), ap = aRow;
      for (let p = 0; p < k; p++) {
        sum += load<f32>(ap) * load<f32>(bp);
        bp += bStep;
        ap += aStep;
      }
      const out = cRow + (<usize>j << 2);
      store<f32>(out, accumulate ? load<f32>(out) + sum : sum);
    }
    if (bias != 0 || act != ACT_LINEAR) {
      for (let jj = 0; jj < n; jj++) {
        const off = <usize>jj << 2;
        let v = load<f32>(cRow + off);
        if (bias != 0) v += load<f32>(bias + off);
        store<f32>(cRow + off, activateScalar(v, act));
      }
    }
  }
}

export function gemm(
  m: i32, n: i32, k: i32,
  a: usize, aRowStride: i32, aColStride: i32,
  b: usize, bRowStride: i32, bColStride: i32,
  c: usize, ldc: i32,
  accumulate: bool, bias: usize, act: i32,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    epilogueOnly(m, n, c, ldc, accumulate, bias, act);
    return;
  }
  if (m < MR && bColStride == 1) {
    gemmFewRows(m, n, k, a, aRowStride, aColStride, b, bRowStride, c, ldc, accumulate, bias, act);
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    // Depth blocks of equal size (a multiple of 4) rather than full KC blocks and a short tail: a tail of
    // a few dozen would pay a full pass of C loads and stores for little work (k = 288 → 2 × 144).
    const kBlocks = (k + KC - 1) / KC;
    const kStep = (((k + kBlocks - 1) / kBlocks) + 3) & ~3;
    for (let pc = 0; pc < k; pc += kStep) {
      const kc = min(kStep, k - pc);
      const overwrite = pc == 0 && !accumulate;
      const epilogue = pc + kc >= k;
      packPanelsB(b, bRowStride, bColStride, pc, kc, jc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packPanelsA(a, aRowStride, aColStride, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const bp = packedB + (<usize>(jr * kc) << 2);
          const cols = min(NR, nc - jr);
          const tileBias: usize = bias == 0 ? 0 : bias + (<usize>(jc + jr) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const ap = packedA + (<usize>(ir * kc) << 2);
            const cTile = c + (<usize>((ic + ir) * ldc + jc + jr) << 2);
            microKernel4x8(kc, ap, bp, cTile, ldc, min(MR, mc - ir), cols, overwrite, epilogue, tileBias, act);
          }
        }
      }
    }
  }
}
