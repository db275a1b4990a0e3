// Recurrent cells: one time step of SimpleRNN, LSTM and GRU (both forms) after the GEMMs, for every sample of the batch.
// The layer (src/layers/recurrent.ts) computes all steps' input projections in one GEMM and each step's
// recurrent projection in another; these kernels do what is left in one pass over the step's gates: the
// nonlinearities, the state update, and the mask.
//
// Layout: a step's buffers are [n, width] rows, contiguous (the layer keeps them time-major), except the
// mask and the output gradient, which stay in the model's batch-major tensors and are read with a row
// stride (in floats): row b of step t is at mask + 4·b·maskStride, dOut + 4·b·dOutStride.
//
// Masks (f32, 1 = real step, 0 = padding; mask = 0 means none): on a padded step a sample's state carries
// over unchanged (h = hPrev, c = cPrev), its gates get no gradient, and the gradient of its state passes
// straight to the previous step, as Keras' masked RNN does.
//
// Gate orders are Keras': LSTM [i, f, g, o] (PyTorch's too), GRU [z, r, h]. The recurrent activation is
// the logistic sigmoid and the cell activation tanh (Keras 2's defaults); backward passes read them off
// the stored activations (σ′ = σ(1 − σ), tanh′ = 1 − tanh²).
//
// Cost: O(n·width) each, memory-bound next to the step's recurrent GEMM (O(n·units·width)).

import { ACT_RELU, ACT_SIGMOID, ACT_TANH } from "./activation-codes";
import { expNegativeAbs, expm1NonPositive, reciprocalOfOnePlus, sigmoidFrom } from "./vector-math";

@inline function sigmoid4(x: v128): v128 {
  const e = expNegativeAbs(x);
  return sigmoidFrom(x, e, reciprocalOfOnePlus(e));
}

/** tanh through expm1 (tanh|x| = −m/(2 + m), m = e^−2|x| − 1), so small |x| keeps its digits; sign restored. */
@inline function tanh4(x: v128): v128 {
  const m = expm1NonPositive(f32x4.mul(f32x4.abs(x), f32x4.splat(-2)));
  const magnitude = f32x4.div(f32x4.neg(m), f32x4.add(f32x4.splat(2), m));
  return v128.or(magnitude, v128.and(x, f32x4.splat(-0.0)));
}

@inline function oneMinus(x: v128): v128 {
  return f32x4.sub(f32x4.splat(1), x);
}

/** Whether row b takes this step (no mask: every row does). */
@inline function isReal(mask: usize, maskStride: i32, b: i32): bool {
  return mask == 0 || load<f32>(mask + ((<usize>b * <usize>maskStride) << 2)) != 0;
}

/** The four-lane loop's scalar tail works on one lane: these load and store lane 0 only. */
@inline function load1(p: usize): v128 {
  return f32x4.splat(load<f32>(p));
}

@inline function store1(p: usize, v: v128): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
}

// ---- LSTM ----

/**
 * gates [n, 4u] holds z = x·W + h·U + b; it is replaced by the activations [σ(z_i), σ(z_f), tanh(z_g),
 * σ(z_o)], which backward reads. c = f·cPrev + i·g, h = o·tanh(c); masked rows carry cPrev and hPrev.
 */
export function lstmCellForward(
  gates: usize, n: i32, u: i32, cPrev: usize, hPrev: usize, mask: usize, maskStride: i32, c: usize, h: usize,
): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const g = gates + <usize>b * (rowBytes << 2);
    const state = <usize>b * rowBytes;
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) lstmForwardLanes(g, <usize>j << 2, rowBytes, cPrev + state, hPrev + state, c + state, h + state, real, true);
    for (; j < u; j++) lstmForwardLanes(g, <usize>j << 2, rowBytes, cPrev + state, hPrev + state, c + state, h + state, real, false);
  }
}

@inline function lstmForwardLanes(g: usize, off: usize, gateBytes: usize, cPrev: usize, hPrev: usize, c: usize, h: usize, real: bool, wide: bool): void {
  const pi = g + off, pf = pi + gateBytes, pg = pf + gateBytes, po = pg + gateBytes;
  const i = sigmoid4(wide ? v128.load(pi) : load1(pi));
  const f = sigmoid4(wide ? v128.load(pf) : load1(pf));
  const gg = tanh4(wide ? v128.load(pg) : load1(pg));
  const o = sigmoid4(wide ? v128.load(po) : load1(po));
  const cp = wide ? v128.load(cPrev + off) : load1(cPrev + off);
  let cNew = f32x4.add(f32x4.mul(f, cp), f32x4.mul(i, gg));
  let hNew = f32x4.mul(o, tanh4(cNew));
  if (!real) {
    cNew = cp;
    hNew = wide ? v128.load(hPrev + off) : load1(hPrev + off);
  }
  if (wide) {
    v128.store(pi, i); v128.store(pf, f); v128.store(pg, gg); v128.store(po, o);
    v128.store(c + off, cNew); v128.store(h + off, hNew);
  } else {
    store1(pi, i); store1(pf, f); store1(pg, gg); store1(po, o);
    store1(c + off, cNew); store1(h + off, hNew);
  }
}

/**
 * One step back. In: gates (the activations forward stored), cPrev and c, the running gradient dh of this
 * step's h (from later steps) to which dOut's row is added (dOut = 0: none), and dc of this step's c.
 * Out: gates holds dz [n, 4u] (the pre-activation gradient; zeros on masked rows), dc the gradient of cPrev,
 * and dh what reaches hPrev other than through the recurrent kernel: the whole gradient on masked rows, 0 on
 * the others (the layer then adds dz·Uᵀ).
 */
export function lstmCellBackward(
  gates: usize, n: i32, u: i32, cPrev: usize, c: usize, mask: usize, maskStride: i32,
  dOut: usize, dOutStride: i32, dh: usize, dc: usize,
): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const g = gates + <usize>b * (rowBytes << 2);
    const state = <usize>b * rowBytes;
    const dOutRow: usize = dOut == 0 ? <usize>0 : dOut + ((<usize>b * <usize>dOutStride) << 2);
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) lstmBackwardLanes(g, <usize>j << 2, rowBytes, cPrev + state, c + state, dOutRow, dh + state, dc + state, real, true);
    for (; j < u; j++) lstmBackwardLanes(g, <usize>j << 2, rowBytes, cPrev + state, c + state, dOutRow, dh + state, dc + state, real, false);
  }
}

@inline function lstmBackwardLanes(
  g: usize, off: usize, gateBytes: usize, cPrev: usize, c: usize, dOutRow: usize, dhp: usize, dcp: usize, real: bool, wide: bool,
): void {
  const pi = g + off, pf = pi + gateBytes, pg = pf + gateBytes, po = pg + gateBytes;
  let dh = wide ? v128.load(dhp + off) : load1(dhp + off);
  if (dOutRow != 0) dh = f32x4.add(dh, wide ? v128.load(dOutRow + off) : load1(dOutRow + off));
  const dcNext = wide ? v128.load(dcp + off) : load1(dcp + off);
  const zero = f32x4.splat(0);
  let dzi = zero, dzf = zero, dzg = zero, dzo = zero, dcOut = dcNext, dhOut = dh;
  if (real) {
    const i = wide ? v128.load(pi) : load1(pi);
    const f = wide ? v128.load(pf) : load1(pf);
    const gg = wide ? v128.load(pg) : load1(pg);
    const o = wide ? v128.load(po) : load1(po);
    const tc = tanh4(wide ? v128.load(c + off) : load1(c + off));
    const cp = wide ? v128.load(cPrev + off) : load1(cPrev + off);
    dzo = f32x4.mul(f32x4.mul(dh, tc), f32x4.mul(o, oneMinus(o)));
    const dcTotal = f32x4.add(dcNext, f32x4.mul(f32x4.mul(dh, o), oneMinus(f32x4.mul(tc, tc))));
    dzi = f32x4.mul(f32x4.mul(dcTotal, gg), f32x4.mul(i, oneMinus(i)));
    dzg = f32x4.mul(f32x4.mul(dcTotal, i), oneMinus(f32x4.mul(gg, gg)));
    dzf = f32x4.mul(f32x4.mul(dcTotal, cp), f32x4.mul(f, oneMinus(f)));
    dcOut = f32x4.mul(dcTotal, f);
    dhOut = zero;
  }
  if (wide) {
    v128.store(pi, dzi); v128.store(pf, dzf); v128.store(pg, dzg); v128.store(po, dzo);
    v128.store(dcp + off, dcOut); v128.store(dhp + off, dhOut);
  } else {
    store1(pi, dzi); store1(pf, dzf); store1(pg, dzg); store1(po, dzo);
    store1(dcp + off, dcOut); store1(dhp + off, dhOut);
  }
}

// ---- GRU, reset gate after the recurrent projection (Keras' resetAfter = true, PyTorch, cuDNN) ----

/**
 * xg [n, 3u] holds x·W + b_input and rg [n, 3u] holds hPrev·U + b_recurrent. z = σ(x_z + r_z),
 * r = σ(x_r + r_r), ĥ = tanh(x_h + r ⊙ r_h), h = z ⊙ hPrev + (1 − z) ⊙ ĥ. xg is replaced by [z, r, ĥ];
 * rg is kept (backward reads r_h). Masked rows carry hPrev.
 */
export function gruCellForward(xg: usize, rg: usize, n: i32, u: i32, hPrev: usize, mask: usize, maskStride: i32, h: usize): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const gateRow = <usize>b * rowBytes * 3;
    const state = <usize>b * rowBytes;
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) gruForwardLanes(xg + gateRow, rg + gateRow, <usize>j << 2, rowBytes, hPrev + state, h + state, real, true);
    for (; j < u; j++) gruForwardLanes(xg + gateRow, rg + gateRow, <usize>j << 2, rowBytes, hPrev + state, h + state, real, false);
  }
}

@inline function gruForwardLanes(x: usize, r: usize, off: usize, gateBytes: usize, hPrev: usize, h: usize, real: bool, wide: bool): void {
  const xz = x + off, xr = xz + gateBytes, xh = xr + gateBytes;
  const rz = r + off, rr = rz + gateBytes, rh = rr + gateBytes;
  const z = sigmoid4(f32x4.add(wide ? v128.load(xz) : load1(xz), wide ? v128.load(rz) : load1(rz)));
  const reset = sigmoid4(f32x4.add(wide ? v128.load(xr) : load1(xr), wide ? v128.load(rr) : load1(rr)));
  const candidate = tanh4(f32x4.add(wide ? v128.load(xh) : load1(xh), f32x4.mul(reset, wide ? v128.load(rh) : load1(rh))));
  const hp = wide ? v128.load(hPrev + off) : load1(hPrev + off);
  // z·hPrev + (1 − z)·ĥ written as ĥ + z·(hPrev − ĥ): one product fewer, the same value to an ulp.
  const hNew = real ? f32x4.add(candidate, f32x4.mul(z, f32x4.sub(hp, candidate))) : hp;
  if (wide) {
    v128.store(xz, z); v128.store(xr, reset); v128.store(xh, candidate); v128.store(h + off, hNew);
  } else {
    store1(xz, z); store1(xr, reset); store1(xh, candidate); store1(h + off, hNew);
  }
}

/**
 * One step back. In: xg = [z, r, ĥ] (forward's activations), rg = hPrev·U + b_recurrent, hPrev, dh (+ dOut's
 * row). Out: xg holds the gradient of x·W + b_input, rg that of hPrev·U + b_recurrent (zeros on masked rows),
 * and dh what reaches hPrev other than through U: dh·z, or all of dh on masked rows.
 */
export function gruCellBackward(
  xg: usize, rg: usize, n: i32, u: i32, hPrev: usize, mask: usize, maskStride: i32, dOut: usize, dOutStride: i32, dh: usize,
): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const gateRow = <usize>b * rowBytes * 3;
    const state = <usize>b * rowBytes;
    const dOutRow: usize = dOut == 0 ? <usize>0 : dOut + ((<usize>b * <usize>dOutStride) << 2);
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) gruBackwardLanes(xg + gateRow, rg + gateRow, <usize>j << 2, rowBytes, hPrev + state, dOutRow, dh + state, real, true);
    for (; j < u; j++) gruBackwardLanes(xg + gateRow, rg + gateRow, <usize>j << 2, rowBytes, hPrev + state, dOutRow, dh + state, real, false);
  }
}

@inline function gruBackwardLanes(x: usize, r: usize, off: usize, gateBytes: usize, hPrev: usize, dOutRow: usize, dhp: usize, real: bool, wide: bool): void {
  const xz = x + off, xr = xz + gateBytes, xh = xr + gateBytes;
  const rz = r + off, rr = rz + gateBytes, rh = rr + gateBytes;
  let dh = wide ? v128.load(dhp + off) : load1(dhp + off);
  if (dOutRow != 0) dh = f32x4.add(dh, wide ? v128.load(dOutRow + off) : load1(dOutRow + off));
  const zero = f32x4.splat(0);
  let dxz = zero, dxr = zero, dxh = zero, drh = zero, dhOut = dh;
  if (real) {
    const z = wide ? v128.load(xz) : load1(xz);
    const reset = wide ? v128.load(xr) : load1(xr);
    const candidate = wide ? v128.load(xh) : load1(xh);
    const recurrentH = wide ? v128.load(rh) : load1(rh);
    const hp = wide ? v128.load(hPrev + off) : load1(hPrev + off);
    dxz = f32x4.mul(f32x4.mul(dh, f32x4.sub(hp, candidate)), f32x4.mul(z, oneMinus(z)));
    dxh = f32x4.mul(f32x4.mul(dh, oneMinus(z)), oneMinus(f32x4.mul(candidate, candidate)));
    drh = f32x4.mul(dxh, reset);
    dxr = f32x4.mul(f32x4.mul(dxh, recurrentH), f32x4.mul(reset, oneMinus(reset)));
    dhOut = f32x4.mul(dh, z);
  }
  if (wide) {
    v128.store(xz, dxz); v128.store(xr, dxr); v128.store(xh, dxh);
    v128.store(rz, dxz); v128.store(rr, dxr); v128.store(rh, drh);
    v128.store(dhp + off, dhOut);
  } else {
    store1(xz, dxz); store1(xr, dxr); store1(xh, dxh);
    store1(rz, dxz); store1(rr, dxr); store1(rh, drh);
    store1(dhp + off, dhOut);
  }
}

// ---- GRU, reset gate before the recurrent projection (Keras' resetAfter = false, Keras 1, tfjs) ----
//
// z = σ(x_z + h·U_z), r = σ(x_r + h·U_r), ĥ = tanh(x_h + (r ⊙ h)·U_h), h ← z ⊙ hPrev + (1 − z) ⊙ ĥ, with
// x = x·W + b (one bias). r enters before U_h, so a step takes two GEMMs with a kernel after each: the layer
// adds h·U[:, 0:2u] into the z and r blocks, gruResetBeforeForwardGates applies σ and forms r ⊙ h, the
// layer adds (r ⊙ h)·U_h into the ĥ block, gruResetBeforeForwardState finishes the step. Backward mirrors
// it: gruResetBeforeBackwardState gives dz_z and dz_h, the layer forms d(r ⊙ h) = dz_h·U_hᵀ, and
// gruResetBeforeBackwardReset gives dz_r and the part of dh that flows through r ⊙ h.
// "h" in the products is what enters U (hIn: the state, or its recurrent-dropout copy); the update reads
// the state itself (hPrev).

/**
 * gates [n, 3u]: the z and r blocks hold x_z + hIn·U_z and x_r + hIn·U_r and are replaced by σ of them
 * (the ĥ block is not touched); rh [n, u] = r ⊙ hIn, the input of U_h. No mask: a masked row's values
 * are not used.
 */
export function gruResetBeforeForwardGates(gates: usize, n: i32, u: i32, hIn: usize, rh: usize): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const gateRow = gates + <usize>b * rowBytes * 3;
    const state = <usize>b * rowBytes;
    let j = 0;
    for (; j + 4 <= u; j += 4) gruBeforeGatesLanes(gateRow, <usize>j << 2, rowBytes, hIn + state, rh + state, true);
    for (; j < u; j++) gruBeforeGatesLanes(gateRow, <usize>j << 2, rowBytes, hIn + state, rh + state, false);
  }
}

@inline function gruBeforeGatesLanes(g: usize, off: usize, gateBytes: usize, hIn: usize, rh: usize, wide: bool): void {
  const pz = g + off, pr = pz + gateBytes;
  const z = sigmoid4(wide ? v128.load(pz) : load1(pz));
  const reset = sigmoid4(wide ? v128.load(pr) : load1(pr));
  const product = f32x4.mul(reset, wide ? v128.load(hIn + off) : load1(hIn + off));
  if (wide) {
    v128.store(pz, z); v128.store(pr, reset); v128.store(rh + off, product);
  } else {
    store1(pz, z); store1(pr, reset); store1(rh + off, product);
  }
}

/**
 * gates [n, 3u] = [z, r, x_h + (r ⊙ hIn)·U_h]: the ĥ block is replaced by ĥ = tanh of it, and
 * h = z ⊙ hPrev + (1 − z) ⊙ ĥ; masked rows carry hPrev.
 */
export function gruResetBeforeForwardState(gates: usize, n: i32, u: i32, hPrev: usize, mask: usize, maskStride: i32, h: usize): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const gateRow = gates + <usize>b * rowBytes * 3;
    const state = <usize>b * rowBytes;
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) gruBeforeStateLanes(gateRow, <usize>j << 2, rowBytes, hPrev + state, h + state, real, true);
    for (; j < u; j++) gruBeforeStateLanes(gateRow, <usize>j << 2, rowBytes, hPrev + state, h + state, real, false);
  }
}

@inline function gruBeforeStateLanes(g: usize, off: usize, gateBytes: usize, hPrev: usize, h: usize, real: bool, wide: bool): void {
  const pz = g + off, ph = pz + (gateBytes << 1);
  const z = wide ? v128.load(pz) : load1(pz);
  const candidate = tanh4(wide ? v128.load(ph) : load1(ph));
  const hp = wide ? v128.load(hPrev + off) : load1(hPrev + off);
  // z·hPrev + (1 − z)·ĥ as ĥ + z·(hPrev − ĥ), as gruCellForward.
  const hNew = real ? f32x4.add(candidate, f32x4.mul(z, f32x4.sub(hp, candidate))) : hp;
  if (wide) {
    v128.store(ph, candidate); v128.store(h + off, hNew);
  } else {
    store1(ph, candidate); store1(h + off, hNew);
  }
}

/**
 * One step back, first part. In: gates = [z, r, ĥ] (forward's activations), hPrev, dh (+ dOut's row).
 * Out: the z block holds dz_z = dh·(hPrev − ĥ)·z(1 − z) and the ĥ block dz_h = dh·(1 − z)(1 − ĥ²), the
 * pre-activation gradients (zeros on masked rows); the r block still holds r, for
 * gruResetBeforeBackwardReset. dh holds what reaches hPrev other than through U: dh·z, or all of dh on
 * masked rows.
 */
export function gruResetBeforeBackwardState(
  gates: usize, n: i32, u: i32, hPrev: usize, mask: usize, maskStride: i32, dOut: usize, dOutStride: i32, dh: usize,
): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const gateRow = gates + <usize>b * rowBytes * 3;
    const state = <usize>b * rowBytes;
    const dOutRow: usize = dOut == 0 ? <usize>0 : dOut + ((<usize>b * <usize>dOutStride) << 2);
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) gruBeforeBackwardStateLanes(gateRow, <usize>j << 2, rowBytes, hPrev + state, dOutRow, dh + state, real, true);
    for (; j < u; j++) gruBeforeBackwardStateLanes(gateRow, <usize>j << 2, rowBytes, hPrev + state, dOutRow, dh + state, real, false);
  }
}

@inline function gruBeforeBackwardStateLanes(g: usize, off: usize, gateBytes: usize, hPrev: usize, dOutRow: usize, dhp: usize, real: bool, wide: bool): void {
  const pz = g + off, ph = pz + (gateBytes << 1);
  let dh = wide ? v128.load(dhp + off) : load1(dhp + off);
  if (dOutRow != 0) dh = f32x4.add(dh, wide ? v128.load(dOutRow + off) : load1(dOutRow + off));
  const zero = f32x4.splat(0);
  let dzz = zero, dzh = zero, dhOut = dh;
  if (real) {
    const z = wide ? v128.load(pz) : load1(pz);
    const candidate = wide ? v128.load(ph) : load1(ph);
    const hp = wide ? v128.load(hPrev + off) : load1(hPrev + off);
    dzz = f32x4.mul(f32x4.mul(dh, f32x4.sub(hp, candidate)), f32x4.mul(z, oneMinus(z)));
    dzh = f32x4.mul(f32x4.mul(dh, oneMinus(z)), oneMinus(f32x4.mul(candidate, candidate)));
    dhOut = f32x4.mul(dh, z);
  }
  if (wide) {
    v128.store(pz, dzz); v128.store(ph, dzh); v128.store(dhp + off, dhOut);
  } else {
    store1(pz, dzz); store1(ph, dzh); store1(dhp + off, dhOut);
  }
}

/**
 * One step back, second part, after the layer's d(r ⊙ hIn) = dz_h·U_hᵀ into drh [n, u]. In: the r block of
 * gates holds r, hIn what entered U. Out: the r block holds dz_r = drh·hIn·r(1 − r), and drh holds drh·r,
 * the gradient reaching hIn through r ⊙ hIn (the layer adds it to dz_zr·U_zrᵀ). Masked rows: both zero.
 */
export function gruResetBeforeBackwardReset(gates: usize, drh: usize, n: i32, u: i32, hIn: usize, mask: usize, maskStride: i32): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const gateRow = gates + <usize>b * rowBytes * 3;
    const state = <usize>b * rowBytes;
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) gruBeforeBackwardResetLanes(gateRow + rowBytes, <usize>j << 2, drh + state, hIn + state, real, true);
    for (; j < u; j++) gruBeforeBackwardResetLanes(gateRow + rowBytes, <usize>j << 2, drh + state, hIn + state, real, false);
  }
}

@inline function gruBeforeBackwardResetLanes(rBlock: usize, off: usize, drh: usize, hIn: usize, real: bool, wide: bool): void {
  const pr = rBlock + off;
  const zero = f32x4.splat(0);
  let dzr = zero, dIn = zero;
  if (real) {
    const reset = wide ? v128.load(pr) : load1(pr);
    const d = wide ? v128.load(drh + off) : load1(drh + off);
    dzr = f32x4.mul(f32x4.mul(d, wide ? v128.load(hIn + off) : load1(hIn + off)), f32x4.mul(reset, oneMinus(reset)));
    dIn = f32x4.mul(d, reset);
  }
  if (wide) {
    v128.store(pr, dzr); v128.store(drh + off, dIn);
  } else {
    store1(pr, dzr); store1(drh + off, dIn);
  }
}

// ---- SimpleRNN ----

/** h = act(z) for z [n, u] = x·W + hPrev·U + b (act: linear, relu, sigmoid or tanh); masked rows carry hPrev. */
export function rnnCellForward(z: usize, n: i32, u: i32, act: i32, hPrev: usize, mask: usize, maskStride: i32, h: usize): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const state = <usize>b * rowBytes;
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) rnnForwardLanes(z + state, <usize>j << 2, act, hPrev + state, h + state, real, true);
    for (; j < u; j++) rnnForwardLanes(z + state, <usize>j << 2, act, hPrev + state, h + state, real, false);
  }
}

@inline function activate4(act: i32, x: v128): v128 {
  if (act == ACT_TANH) return tanh4(x);
  if (act == ACT_SIGMOID) return sigmoid4(x);
  if (act == ACT_RELU) return f32x4.max(x, f32x4.splat(0));
  return x;
}

/** f′ read off the output y. */
@inline function slope4(act: i32, y: v128): v128 {
  if (act == ACT_TANH) return oneMinus(f32x4.mul(y, y));
  if (act == ACT_SIGMOID) return f32x4.mul(y, oneMinus(y));
  if (act == ACT_RELU) return v128.and(f32x4.splat(1), f32x4.gt(y, f32x4.splat(0)));
  return f32x4.splat(1);
}

@inline function rnnForwardLanes(z: usize, off: usize, act: i32, hPrev: usize, h: usize, real: bool, wide: bool): void {
  const value = real ? activate4(act, wide ? v128.load(z + off) : load1(z + off)) : (wide ? v128.load(hPrev + off) : load1(hPrev + off));
  if (wide) v128.store(h + off, value);
  else store1(h + off, value);
}

/**
 * One step back: dz [n, u] = (dh + dOut's row)·act′ read off h (zeros on masked rows); dh then holds what
 * reaches hPrev other than through U: the whole gradient on masked rows, 0 on the others. dz may be the
 * buffer forward read z from.
 */
export function rnnCellBackward(h: usize, n: i32, u: i32, act: i32, mask: usize, maskStride: i32, dOut: usize, dOutStride: i32, dh: usize, dz: usize): void {
  const rowBytes = <usize>u << 2;
  for (let b = 0; b < n; b++) {
    const state = <usize>b * rowBytes;
    const dOutRow: usize = dOut == 0 ? <usize>0 : dOut + ((<usize>b * <usize>dOutStride) << 2);
    const real = isReal(mask, maskStride, b);
    let j = 0;
    for (; j + 4 <= u; j += 4) rnnBackwardLanes(h + state, <usize>j << 2, act, dOutRow, dh + state, dz + state, real, true);
    for (; j < u; j++) rnnBackwardLanes(h + state, <usize>j << 2, act, dOutRow, dh + state, dz + state, real, false);
  }
}

@inline function rnnBackwardLanes(h: usize, off: usize, act: i32, dOutRow: usize, dhp: usize, dzp: usize, real: bool, wide: bool): void {
  let dh = wide ? v128.load(dhp + off) : load1(dhp + off);
  if (dOutRow != 0) dh = f32x4.add(dh, wide ? v128.load(dOutRow + off) : load1(dOutRow + off));
  const zero = f32x4.splat(0);
  const dz = real ? f32x4.mul(dh, slope4(act, wide ? v128.load(h + off) : load1(h + off))) : zero;
  const carried = real ? zero : dh;
  if (wide) {
    v128.store(dzp + off, dz); v128.store(dhp + off, carried);
  } else {
    store1(dzp + off, dz); store1(dhp + off, carried);
  }
}
