// Layer normalisation (Keras' LayerNormalization, PyTorch's nn.LayerNorm): x is viewed as rows × cols, every
// row (one position of one sample) is normalised by its own mean and biased variance over its cols (the
// normalised axes, flattened), then scaled and shifted per column:
//   y = (x − mean)·invStd·γ + β,  invStd = 1/√(var + ε).
// γ and β are [cols]; either may be 0 (Keras' scale/center false, PyTorch's elementwise_affine false).
//
// Statistics: two passes over the row (the textbook two-pass variance), not Welford and not the one-pass
// E[x²] − E[x]². A row is contiguous and short enough to stay in L1 between passes, so the second pass
// costs little; Welford's update divides per element and runs serially, which four lanes do not suit.
// One pass cancels catastrophically in f32: a row at 1000 ± 0.3 has E[x²] ≈ 1e6, whose ulp (0.06) is
// comparable to the variance itself. Both passes also work on x − K with K the row's first element (a
// shift, exact by Sterbenz' lemma when x and K are within a factor of 2): the sums then add small numbers
// rather than large ones, so the mean does not lose the digits the deviations live in, and forward uses the
// deviation (x − K) − m directly rather than x minus a rounded mean. The mean is rounded to f32 once, when
// saved (mean = K + m) for backward.
//
// Backward, per row, with x̂ = (x − mean)·invStd and g = dy·γ (dy when there is no γ):
//   dx = invStd·(g − mean(g) − x̂·mean(g·x̂)),  dγ = Σ_rows dy·x̂,  dβ = Σ_rows dy.
// Pass 1 sums g and g·x̂ over the row and adds the row into dγ and dβ; pass 2 writes dx. Each element of
// dy is read in pass 2 before dx's element at the same place is written, so dx may be dy.
//
// Every pass runs four columns per v128 with a scalar tail: the sums' tails are plain f32 code, the passes
// that write (forward's third, backward's second) run their tails through the same lane code on lane 0.
// Cost: O(rows·cols) each, three (forward) and two (backward) reads of the row.

@inline function sum4(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 2)) + (f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 3));
}

/** The tails work on one lane: these load and store lane 0 only. */
@inline function load1(p: usize): v128 {
  return f32x4.splat(load<f32>(p));
}

@inline function store1(p: usize, v: v128): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
}

@inline function loadLanes(p: usize, wide: bool): v128 {
  return wide ? v128.load(p) : load1(p);
}

@inline function storeLanes(p: usize, v: v128, wide: bool): void {
  if (wide) v128.store(p, v);
  else store1(p, v);
}

/**
 * Per row: mean and biased variance over cols (two passes on the row shifted by its first element), then
 * y = (x − mean)·invStd·γ + β with invStd = 1/√(var + ε). mean[r] and invStd[r] are saved for backward.
 * gamma, beta: [cols] or 0 for none. y may be x.
 */
export function layerNormForward(
  x: usize, rows: i32, cols: i32, gamma: usize, beta: usize, epsilon: f32, y: usize, mean: usize, invStd: usize,
): void {
  const rowBytes = <usize>cols << 2;
  const n = <f32>cols;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    const shift = load<f32>(xr);
    const k = f32x4.splat(shift);
    // Pass 1: the shifted mean m = Σ (x − K) / n.
    let acc = f32x4.splat(0);
    let tail: f32 = 0;
    let c = 0;
    for (; c + 4 <= cols; c += 4) acc = f32x4.add(acc, f32x4.sub(v128.load(xr + (<usize>c << 2)), k));
    for (; c < cols; c++) tail += load<f32>(xr + (<usize>c << 2)) - shift;
    const m = (sum4(acc) + tail) / n;
    // Pass 2: the biased variance Σ ((x − K) − m)² / n.
    const mv = f32x4.splat(m);
    acc = f32x4.splat(0);
    tail = 0;
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const d = f32x4.sub(f32x4.sub(v128.load(xr + (<usize>c << 2)), k), mv);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    for (; c < cols; c++) {
      const d = (load<f32>(xr + (<usize>c << 2)) - shift) - m;
      tail += d * d;
    }
    const s = <f32>1 / Mathf.sqrt((sum4(acc) + tail) / n + epsilon);
    store<f32>(mean + (<usize>r << 2), shift + m);
    store<f32>(invStd + (<usize>r << 2), s);
    // Pass 3: y = ((x − K) − m)·invStd·γ + β.
    const sv = f32x4.splat(s);
    c = 0;
    for (; c + 4 <= cols; c += 4) normalizeLanes(xr, yr, <usize>c << 2, k, mv, sv, gamma, beta, true);
    for (; c < cols; c++) normalizeLanes(xr, yr, <usize>c << 2, k, mv, sv, gamma, beta, false);
  }
}

@inline function normalizeLanes(xr: usize, yr: usize, off: usize, k: v128, m: v128, s: v128, gamma: usize, beta: usize, wide: bool): void {
  let v = f32x4.mul(f32x4.sub(f32x4.sub(loadLanes(xr + off, wide), k), m), s);
  if (gamma != 0) v = f32x4.mul(v, loadLanes(gamma + off, wide));
  if (beta != 0) v = f32x4.add(v, loadLanes(beta + off, wide));
  storeLanes(yr + off, v, wide);
}

/**
 * Gradients of layerNormForward from dy, with the mean and invStd forward saved: per row
 * dx = invStd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ (dy when gamma is 0), x̂ = (x − mean)·invStd; and
 * dγ = Σ_rows dy·x̂, dβ = Σ_rows dy. dgamma and dbeta are overwritten; either may be 0 (not wanted), and dx
 * may be 0 (only the parameter gradients). dx may be dy.
 */
export function layerNormBackward(
  x: usize, dy: usize, rows: i32, cols: i32, gamma: usize, mean: usize, invStd: usize, dx: usize, dgamma: usize, dbeta: usize,
): void {
  const rowBytes = <usize>cols << 2;
  if (dgamma != 0) memory.fill(dgamma, 0, rowBytes);
  if (dbeta != 0) memory.fill(dbeta, 0, rowBytes);
  const inverseCols = <f32>1 / <f32>cols;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, gr = dy + <usize>r * rowBytes;
    const mv = f32x4.splat(load<f32>(mean + (<usize>r << 2)));
    const s = load<f32>(invStd + (<usize>r << 2));
    const sv = f32x4.splat(s);
    // Pass 1: Σ g and Σ g·x̂ over the row; the row's share of dγ and dβ.
    let sumG = f32x4.splat(0), sumGX = f32x4.splat(0);
    let tailG: f32 = 0, tailGX: f32 = 0;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const off = <usize>c << 2;
      const d = v128.load(gr + off);
      const xhat = f32x4.mul(f32x4.sub(v128.load(xr + off), mv), sv);
      const g = gamma != 0 ? f32x4.mul(d, v128.load(gamma + off)) : d;
      sumG = f32x4.add(sumG, g);
      sumGX = f32x4.add(sumGX, f32x4.mul(g, xhat));
      if (dgamma != 0) v128.store(dgamma + off, f32x4.add(v128.load(dgamma + off), f32x4.mul(d, xhat)));
      if (dbeta != 0) v128.store(dbeta + off, f32x4.add(v128.load(dbeta + off), d));
    }
    for (; c < cols; c++) {
      const off = <usize>c << 2;
      const d = load<f32>(gr + off);
      const xhat = (load<f32>(xr + off) - f32x4.extract_lane(mv, 0)) * s;
      const g = gamma != 0 ? d * load<f32>(gamma + off) : d;
      tailG += g;
      tailGX += g * xhat;
      if (dgamma != 0) store<f32>(dgamma + off, load<f32>(dgamma + off) + d * xhat);
      if (dbeta != 0) store<f32>(dbeta + off, load<f32>(dbeta + off) + d);
    }
    if (dx == 0) continue;
    // Pass 2: dx = invStd·(g − mean(g) − x̂·mean(g·x̂)).
    const meanG = f32x4.splat((sum4(sumG) + tailG) * inverseCols);
    const meanGX = f32x4.splat((sum4(sumGX) + tailGX) * inverseCols);
    const dxr = dx + <usize>r * rowBytes;
    c = 0;
    for (; c + 4 <= cols; c += 4) inputGradientLanes(xr, gr, dxr, <usize>c << 2, gamma, mv, sv, meanG, meanGX, true);
    for (; c < cols; c++) inputGradientLanes(xr, gr, dxr, <usize>c << 2, gamma, mv, sv, meanG, meanGX, false);
  }
}

@inline function inputGradientLanes(
  xr: usize, gr: usize, dxr: usize, off: usize, gamma: usize, m: v128, s: v128, meanG: v128, meanGX: v128, wide: bool,
): void {
  const xhat = f32x4.mul(f32x4.sub(loadLanes(xr + off, wide), m), s);
  const d = loadLanes(gr + off, wide);
  const g = gamma != 0 ? f32x4.mul(d, loadLanes(gamma + off, wide)) : d;
  storeLanes(dxr + off, f32x4.mul(s, f32x4.sub(f32x4.sub(g, meanG), f32x4.mul(xhat, meanGX))), wide);
}
