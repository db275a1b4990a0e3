// The one interface between orchestration (src/) and numeric kernels. Two implementations satisfy it:
// the AssemblyScript SIMD module (wasm-kernels.ts) and a plain TypeScript reference made of naive loops
// (reference-kernels.ts), which the tests hold the fast one against.
//
// Every buffer argument is a byte offset ("pointer") into `memory`; every buffer is f32 unless named
// otherwise (argmax and sparse labels are i32). Kernels never allocate: src/engine/heap.ts lays memory out.

export type Pointer = number;

/**
 * Activation codes understood by the kernels (softmax is row-wise and has kernels of its own). The GEMM
 * epilogue applies linear, relu, sigmoid, tanh and relu6; activationForward applies any of them.
 * Formulas (alpha: the kernels' `alpha` argument):
 *   relu6 min(max(x, 0), 6) · leakyRelu x > 0 ? x : alpha·x · elu x > 0 ? x : alpha·(eˣ − 1)
 *   gelu ½x(1 + erf(x/√2)) · geluTanh ½x(1 + tanh(√(2/π)(x + 0.044715x³))) · swish x·σ(x)
 *   hardSigmoid relu6(x + 3)/6 · hardSwish x·relu6(x + 3)/6
 * Backward: gelu, geluTanh, swish and hardSwish through their input (activationBackwardFromInput), every
 * other code through its output (activationBackward).
 */
export const Act = {
  linear: 0, relu: 1, sigmoid: 2, tanh: 3,
  relu6: 4, leakyRelu: 5, elu: 6, gelu: 7, geluTanh: 8, swish: 9, hardSigmoid: 10, hardSwish: 11,
} as const;
export type ActCode = (typeof Act)[keyof typeof Act];

/** Element-wise operation codes (assembly/elementwise.ts mirrors them). */
export const ElementOp = { add: 0, sub: 1, mul: 2, max: 3, min: 4 } as const;
export type ElementOpCode = (typeof ElementOp)[keyof typeof ElementOp];

export interface Kernels {
  /** "wasm-simd", "wasm-relaxed-simd" or "reference". */
  readonly variant: string;
  readonly memory: WebAssembly.Memory;
  heapBase(): number;

  // ---- memory sizing (threads build) -------------------------------------------------------------------
  /**
   * Makes `memory` at least `bytes` long. Present where the memory cannot simply grow past a maximum
   * reserved up front (shared memory must declare one): the kernels move to a larger memory, so `memory`
   * may be a different object afterwards. Absent: the heap calls memory.grow itself.
   */
  ensureMemory?(bytes: number): void;
  /** Bytes of scratch the GEMM wants; the heap reserves it once and calls setWorkspace. */
  workspaceBytes(): number;
  setWorkspace(ptr: Pointer): void;

  /** C[m×n] = (accumulate ? C : 0) + A·B (+ bias[n], then act); A[i][p] at a + 4(i·aRowStride + p·aColStride). */
  gemm(
    m: number, n: number, k: number,
    a: Pointer, aRowStride: number, aColStride: number,
    b: Pointer, bRowStride: number, bColStride: number,
    c: Pointer, ldc: number,
    accumulate: boolean, bias: Pointer, act: ActCode,
  ): void;

  im2col(
    x: Pointer, n: number, h: number, w: number, c: number,
    kh: number, kw: number, stride: number, padTop: number, padLeft: number, oh: number, ow: number,
    col: Pointer,
  ): void;
  /** Adjoint of im2col; dx is overwritten. */
  col2im(
    col: Pointer, n: number, h: number, w: number, c: number,
    kh: number, kw: number, stride: number, padTop: number, padLeft: number, oh: number, ow: number,
    dx: Pointer,
  ): void;

  // ---- convolution variants (grouped, dilated, per-axis strides; depthwise) ----
  /**
   * im2col with a stride and a dilation per axis and `groups` channel groups; each row is laid out
   * [groups][kh][kw][c / groups], so one group's patch is a contiguous run (groups = 1: im2col's layout).
   */
  im2colGeneral(
    x: Pointer, n: number, h: number, w: number, c: number, groups: number,
    kh: number, kw: number, strideH: number, strideW: number, dilationH: number, dilationW: number,
    padTop: number, padLeft: number, oh: number, ow: number,
    col: Pointer,
  ): void;
  /** Adjoint of im2colGeneral; dx is overwritten. */
  col2imGeneral(
    col: Pointer, n: number, h: number, w: number, c: number, groups: number,
    kh: number, kw: number, strideH: number, strideW: number, dilationH: number, dilationW: number,
    padTop: number, padLeft: number, oh: number, ow: number,
    dx: Pointer,
  ): void;
  /**
   * y[n, oy, ox, c·M + m] = bias[c·M + m] + Σ x[n, oy·sh − padTop + ky·dh, ox·sw − padLeft + kx·dw, c]·K[ky, kx, c, m],
   * K [kh, kw, c, M]; bias 0 means none. Taps outside the image are zero.
   */
  depthwiseConv2dForward(
    x: Pointer, n: number, h: number, w: number, c: number, multiplier: number,
    kh: number, kw: number, strideH: number, strideW: number, dilationH: number, dilationW: number,
    padTop: number, padLeft: number, oh: number, ow: number,
    kernel: Pointer, bias: Pointer, y: Pointer,
  ): void;
  /** ∂/∂x of depthwiseConv2dForward given dy; dx is overwritten. */
  depthwiseConv2dBackwardInput(
    dy: Pointer, n: number, h: number, w: number, c: number, multiplier: number,
    kh: number, kw: number, strideH: number, strideW: number, dilationH: number, dilationW: number,
    padTop: number, padLeft: number, oh: number, ow: number,
    kernel: Pointer, dx: Pointer,
  ): void;
  /** ∂/∂K of depthwiseConv2dForward given x and dy; dkernel [kh, kw, c, M] is overwritten. */
  depthwiseConv2dBackwardFilter(
    x: Pointer, dy: Pointer, n: number, h: number, w: number, c: number, multiplier: number,
    kh: number, kw: number, strideH: number, strideW: number, dilationH: number, dilationW: number,
    padTop: number, padLeft: number, oh: number, ow: number,
    dkernel: Pointer,
  ): void;
  // ---- end of convolution variants ----

  /** argmax (i32, one per output) records each window's winner for the backward pass; 0 skips it. */
  maxPoolForward(
    x: Pointer, n: number, h: number, w: number, c: number,
    ph: number, pw: number, stride: number, padTop: number, padLeft: number, oh: number, ow: number,
    y: Pointer, argmax: Pointer,
  ): void;
  maxPoolBackward(dy: Pointer, argmax: Pointer, outputSize: number, dx: Pointer, inputSize: number): void;
  /** Average pooling; padded positions are not counted in a window's mean. */
  avgPoolForward(
    x: Pointer, n: number, h: number, w: number, c: number,
    ph: number, pw: number, stride: number, padTop: number, padLeft: number, oh: number, ow: number,
    y: Pointer,
  ): void;
  /** Adjoint of avgPoolForward; dx is overwritten. */
  avgPoolBackward(
    dy: Pointer, n: number, h: number, w: number, c: number,
    ph: number, pw: number, stride: number, padTop: number, padLeft: number, oh: number, ow: number,
    dx: Pointer,
  ): void;

  /** Per-channel mean and biased variance of x viewed as rows × channels. */
  batchNormStatistics(x: Pointer, rows: number, channels: number, mean: Pointer, variance: Pointer): void;
  /** y[r][c] = x[r][c]·scale[c] + shift[c] (y may be x). */
  channelScaleShift(x: Pointer, rows: number, channels: number, scale: Pointer, shift: Pointer, y: Pointer): void;
  /** Training-mode batch-norm gradients; dgamma and dbeta are overwritten, dx may be dy. */
  batchNormBackward(
    x: Pointer, dy: Pointer, rows: number, channels: number, mean: Pointer, invStd: Pointer, gamma: Pointer,
    dgamma: Pointer, dbeta: Pointer, dx: Pointer,
  ): void;

  // ---- layer normalisation (assembly/layer-normalization.ts) ----
  // x is viewed as rows × cols and every row is normalised over its cols (a position's normalised axes,
  // flattened). gamma and beta are [cols], or 0 for none (Keras' scale/center false); mean and invStd hold
  // one value per row.
  /**
   * Per row: mean and biased variance over cols, then y = (x − mean)·invStd·γ + β with invStd = 1/√(var + ε);
   * mean and invStd are saved for backward. The variance takes two passes over the row, both on x minus the
   * row's first element, so a large common offset (1000 ± 0.3) neither cancels the variance, as one pass's
   * E[x²] − E[x]² would, nor costs the mean its low digits. y may be x.
   */
  layerNormForward(
    x: Pointer, rows: number, cols: number, gamma: Pointer, beta: Pointer, epsilon: number, y: Pointer, mean: Pointer, invStd: Pointer,
  ): void;
  /**
   * Gradients of layerNormForward from the mean and invStd it saved, with x̂ = (x − mean)·invStd and g = dy·γ
   * (dy when gamma is 0): dx = invStd·(g − mean(g) − x̂·mean(g·x̂)) per row, dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
   * dgamma and dbeta are overwritten, or skipped where 0; dx may be dy, or 0 for the parameter gradients only.
   */
  layerNormBackward(
    x: Pointer, dy: Pointer, rows: number, cols: number, gamma: Pointer, mean: Pointer, invStd: Pointer,
    dx: Pointer, dgamma: Pointer, dbeta: Pointer,
  ): void;

  /** y = f(x), y may be x. alpha is read by leakyRelu (negative slope) and elu (scale) only, and must be ≥ 0. */
  activationForward(act: ActCode, x: Pointer, y: Pointer, count: number, alpha?: number): void;
  /** dx = dy ⊙ f′ through the forward output y (dx may be dy); for every code but the four below. */
  activationBackward(act: ActCode, y: Pointer, dy: Pointer, dx: Pointer, count: number, alpha?: number): void;
  /**
   * dx = dy ⊙ f′(x) through the pre-activation x (dx may be dy), for gelu, geluTanh, swish and hardSwish,
   * whose slope their output does not determine; linear copies; other codes are an error (a trap in wasm).
   */
  activationBackwardFromInput(act: ActCode, x: Pointer, dy: Pointer, dx: Pointer, count: number): void;
  softmaxForward(x: Pointer, y: Pointer, rows: number, cols: number): void;
  softmaxBackward(y: Pointer, dy: Pointer, dx: Pointer, rows: number, cols: number): void;

  /** Returns the batch-mean loss. Pass labels (i32 class indices) for sparse targets, else targets. */
  softmaxCrossEntropy(
    logits: Pointer, rows: number, cols: number, labels: Pointer, targets: Pointer, probs: Pointer, grad: Pointer,
  ): number;
  meanSquaredError(y: Pointer, targets: Pointer, count: number, grad: Pointer): number;
  binaryCrossEntropy(p: Pointer, targets: Pointer, count: number, grad: Pointer): number;
  sigmoidCrossEntropy(z: Pointer, targets: Pointer, count: number, probs: Pointer, grad: Pointer): number;

  sgdUpdate(w: Pointer, g: Pointer, count: number, lr: number): void;
  sgdMomentumUpdate(
    w: Pointer, g: Pointer, velocity: Pointer, count: number, lr: number, momentum: number, nesterov: boolean,
  ): void;
  adamUpdate(
    w: Pointer, g: Pointer, m: Pointer, v: Pointer, count: number,
    lrT: number, beta1: number, beta2: number, epsilon: number,
  ): void;
  rmspropUpdate(w: Pointer, g: Pointer, s: Pointer, count: number, lr: number, rho: number, epsilon: number): void;

  columnSums(x: Pointer, rows: number, cols: number, out: Pointer): void;
  sumOfSquares(x: Pointer, count: number): number;
  sumOfAbs(x: Pointer, count: number): number;
  /** g += λ·sign(w), sign(0) = 0. */
  addL1Gradient(w: Pointer, g: Pointer, count: number, lambda: number): void;
  axpy(count: number, alpha: number, x: Pointer, y: Pointer): void;
  multiply(x: Pointer, mask: Pointer, y: Pointer, count: number): void;
  /** Fills an inverted-dropout mask; returns the advanced xorshift32 state (as an unsigned number). */
  dropoutMask(mask: Pointer, count: number, rate: number, state: number): number;

  // ---- merge layers (assembly/elementwise.ts) ----
  /** y = a ∘ b element-wise; y may equal a or b. */
  elementwise(op: ElementOpCode, a: Pointer, b: Pointer, y: Pointer, count: number): void;
  /** y = alpha·x; y may equal x. */
  scale(x: Pointer, alpha: number, y: Pointer, count: number): void;
  /** Where x = y: dx = dy and dy = 0 (x took the gradient); elsewhere dx = 0. */
  routeToWinner(x: Pointer, y: Pointer, dy: Pointer, dx: Pointer, count: number): void;
  /** rows × width floats from rows srcStride apart to rows dstStride apart (strides in floats). */
  copyRows(src: Pointer, rows: number, width: number, srcStride: number, dst: Pointer, dstStride: number): void;
  /** y[r] = Σ_c a[r][c]·b[r][c]. */
  rowDots(a: Pointer, b: Pointer, rows: number, cols: number, y: Pointer): void;
  /** y[r][c] = x[r][c]·s[r]; y may equal x. */
  scaleRows(x: Pointer, s: Pointer, rows: number, cols: number, y: Pointer): void;
  // ---- data movement (assembly/movement.ts, assembly/upsampling.ts) ----------------------------------
  // Outputs must not overlap inputs. Every backward pass here is another kernel's forward pass or a
  // dedicated adjoint; all overwrite their output.

  /**
   * y = each of n samples of x, shaped [d0, d1, d2, d3] (fewer axes as leading 1s), with its axes
   * permuted: output axis k is input axis p_k (0-based). The adjoint is the inverse permutation.
   */
  permute(x: Pointer, n: number, d0: number, d1: number, d2: number, d3: number, p0: number, p1: number, p2: number, p3: number, y: Pointer): void;
  /** y [n, h + top + bottom, w + left + right, c] = x [n, h, w, c] with zeros around; adjoint of crop2d. */
  zeroPad2d(x: Pointer, n: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number, y: Pointer): void;
  /** y [n, h − top − bottom, w − left − right, c] = the interior of x [n, h, w, c]; adjoint of zeroPad2d. */
  crop2d(x: Pointer, n: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number, y: Pointer): void;
  /** y [n, h·sh, w·sw, c]: each pixel of x [n, h, w, c] repeated over an sh × sw block. */
  upsampleNearestForward(x: Pointer, n: number, h: number, w: number, c: number, sh: number, sw: number, y: Pointer): void;
  /** Adjoint of upsampleNearestForward: dx [n, h, w, c] = dy summed over each block (row-major order, f32). */
  upsampleNearestBackward(dy: Pointer, n: number, h: number, w: number, c: number, sh: number, sw: number, dx: Pointer): void;
  /**
   * y [n, oh, ow, c] = x [n, h, w, c] resized bilinearly as tf.image.resize_bilinear (align_corners off):
   * output o samples (o + ½)·in/out − ½ with halfPixelCenters (TF 2, Keras 2.x/3), o·in/out without.
   */
  resizeBilinearForward(x: Pointer, n: number, h: number, w: number, c: number, oh: number, ow: number, halfPixelCenters: boolean, y: Pointer): void;
  /** Adjoint of resizeBilinearForward; dx [n, h, w, c] is overwritten. */
  resizeBilinearBackward(dy: Pointer, n: number, h: number, w: number, c: number, oh: number, ow: number, halfPixelCenters: boolean, dx: Pointer): void;

  // ---- embeddings (assembly/embedding.ts) ----
  // Indices are f32 values (the model input) that must be integers in [0, rows).
  /**
   * y[i] = table[indices[i]] (dim floats per row, table [rows, dim]) for i < count. Returns −1 when every
   * index is valid, else the position of the first bad one (NaN, a fraction, < 0 or ≥ rows), whose output
   * row, like every bad one's, is zeros: the table is never read outside its rows.
   */
  embeddingGather(indices: Pointer, count: number, table: Pointer, rows: number, dim: number, y: Pointer): number;
  /** dtable[indices[i]] += dy[i] in order i = 0…count − 1 (a fixed summation order); bad indices are skipped. */
  embeddingScatterAdd(indices: Pointer, count: number, dy: Pointer, rows: number, dim: number, dtable: Pointer): void;
  /** mask[i] = indices[i] ≠ 0 ? 1 : 0 (Embedding with maskZero). */
  indexMask(indices: Pointer, count: number, mask: Pointer): void;

  // ---- global pooling over time (assembly/sequence-pooling.ts) ----
  // x [n, t, c]; mask f32 [n, t] (1 = real step, 0 = padding) or 0 for none. Padded steps count for
  // nothing; a sample without a real step pools to zeros (and passes no gradient).
  /** y[b, c] = mean of x[b, s, c] over real steps s (summed in step order, then divided by the count). */
  sequenceMeanForward(x: Pointer, n: number, t: number, c: number, mask: Pointer, y: Pointer): void;
  /** Adjoint of sequenceMeanForward; dx is overwritten. */
  sequenceMeanBackward(dy: Pointer, n: number, t: number, c: number, mask: Pointer, dx: Pointer): void;
  /** y[b, c] = max of x[b, s, c] over real steps; argmax (i32 [n, c], 0 = skip) keeps the step, first on ties, −1 for none. */
  sequenceMaxForward(x: Pointer, n: number, t: number, c: number, mask: Pointer, y: Pointer, argmax: Pointer): void;
  /** Adjoint of sequenceMaxForward: dy to each winner, zeros elsewhere; dx is overwritten. */
  sequenceMaxBackward(dy: Pointer, argmax: Pointer, n: number, t: number, c: number, dx: Pointer): void;

  /** The Masking layer: mask[r] = 1 if any x[r][f] ≠ maskValue (x rows × features), else 0 (NaN ≠ everything). */
  maskWhereNotValue(x: Pointer, rows: number, features: number, maskValue: number, mask: Pointer): void;

  // ---- recurrent cells (assembly/recurrent.ts) ----
  // One time step after its GEMMs, for n samples: a step's gates and states are contiguous [n, width] rows;
  // the mask (f32, 1 = real step, 0 = padding; 0 = none) and the output gradient (0 = none) are read with a
  // row stride in floats. A masked row carries its state over, gets no gate gradient, and passes its state
  // gradient straight back. Gate orders: LSTM [i, f, g, o], GRU [z, r, h]; σ and tanh as in Keras 2.
  /** gates [n, 4u]: z in, activations out; c = f·cPrev + i·g, h = o·tanh(c). */
  lstmCellForward(gates: Pointer, n: number, u: number, cPrev: Pointer, hPrev: Pointer, mask: Pointer, maskStride: number, c: Pointer, h: Pointer): void;
  /**
   * gates: activations in, dz out; dh: this step's h gradient in (plus dOut's row), what reaches hPrev besides
   * U out (all of it on masked rows, else 0); dc: this step's c gradient in, cPrev's out.
   */
  lstmCellBackward(gates: Pointer, n: number, u: number, cPrev: Pointer, c: Pointer, mask: Pointer, maskStride: number, dOut: Pointer, dOutStride: number, dh: Pointer, dc: Pointer): void;
  /** xg [n, 3u] = x·W + b_in (replaced by [z, r, ĥ]), rg = hPrev·U + b_rec (kept); h = z·hPrev + (1 − z)·ĥ, ĥ = tanh(x_h + r·r_h). */
  gruCellForward(xg: Pointer, rg: Pointer, n: number, u: number, hPrev: Pointer, mask: Pointer, maskStride: number, h: Pointer): void;
  /** xg, rg: forward's in, the gradients of x·W + b_in and hPrev·U + b_rec out; dh as lstmCellBackward's (dh·z where real). */
  gruCellBackward(xg: Pointer, rg: Pointer, n: number, u: number, hPrev: Pointer, mask: Pointer, maskStride: number, dOut: Pointer, dOutStride: number, dh: Pointer): void;
  // GRU with the reset gate before U (resetAfter false): per step the layer adds hIn·U[:, 0:2u] into the z
  // and r blocks, calls gruResetBeforeForwardGates, adds rh·U_h into the ĥ block, calls gruResetBeforeForwardState.
  /** gates [n, 3u]: z, r blocks σ'd in place (ĥ block untouched); rh [n, u] = r ⊙ hIn. No mask (masked rows' values go unused). */
  gruResetBeforeForwardGates(gates: Pointer, n: number, u: number, hIn: Pointer, rh: Pointer): void;
  /** gates: ĥ block tanh'd in place; h = z·hPrev + (1 − z)·ĥ, masked rows carry hPrev. */
  gruResetBeforeForwardState(gates: Pointer, n: number, u: number, hPrev: Pointer, mask: Pointer, maskStride: number, h: Pointer): void;
  /** gates [z, r, ĥ] in → [dz_z, r, dz_h] out (r kept for the next kernel; zeros on masked rows); dh as lstmCellBackward's (dh·z where real). */
  gruResetBeforeBackwardState(gates: Pointer, n: number, u: number, hPrev: Pointer, mask: Pointer, maskStride: number, dOut: Pointer, dOutStride: number, dh: Pointer): void;
  /** drh = d(r ⊙ hIn) in (dz_h·U_hᵀ): the r block becomes dz_r = drh·hIn·r(1 − r), drh becomes drh·r (both 0 on masked rows). */
  gruResetBeforeBackwardReset(gates: Pointer, drh: Pointer, n: number, u: number, hIn: Pointer, mask: Pointer, maskStride: number): void;
  /** h = act(z), act linear, relu, sigmoid or tanh. */
  rnnCellForward(z: Pointer, n: number, u: number, act: ActCode, hPrev: Pointer, mask: Pointer, maskStride: number, h: Pointer): void;
  /** dz = (dh + dOut)·act′(h), 0 on masked rows (dz may be z's buffer); dh as lstmCellBackward's. */
  rnnCellBackward(h: Pointer, n: number, u: number, act: ActCode, mask: Pointer, maskStride: number, dOut: Pointer, dOutStride: number, dh: Pointer, dz: Pointer): void;

  // ---- attention (assembly/attention.ts) ----
  /**
   * y[b, h, i, j] = softmax over visible keys of scale·scores[b, h, i, j]: keys with keyMask[b, j] = 0
   * (f32 [batch, tk]; 0 = none) and, with causal, keys j > i are out and get exactly 0; a row with no
   * visible key is all zeros. y may be scores. Backward: softmaxBackward, then the scale.
   */
  attentionSoftmaxForward(scores: Pointer, batch: number, heads: number, tq: number, tk: number, scale: number, keyMask: Pointer, causal: boolean, y: Pointer): void;

  // ---- batched small products (assembly/batched-matmul.ts) ----
  /**
   * For z1 < count1, z2 < count2: C[z1,z2] = (accumulate ? C : 0) + A[z1,z2]·B[z1,z2], A [m × k], B [k × n],
   * element (i, j) of each at base + 4·(z1·s1 + z2·s2 + i·rowStride + j·colStride) (C's column stride is 1,
   * its row stride ldc). Unpacked and register-tiled: for many small products (attention's heads).
   */
  batchedMatmul(
    count1: number, count2: number, m: number, n: number, k: number,
    a: Pointer, a1: number, a2: number, aRow: number, aCol: number,
    b: Pointer, b1: number, b2: number, bRow: number, bCol: number,
    c: Pointer, c1: number, c2: number, ldc: number, accumulate: boolean,
  ): void;
}
