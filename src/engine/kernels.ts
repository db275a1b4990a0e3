// The one interface between orchestration (src/) and numeric kernels. Two implementations satisfy it:
// the AssemblyScript SIMD module (wasm-kernels.ts) and a plain TypeScript reference made of naive loops
// (reference-kernels.ts), which the tests hold the fast one against.
//
// Every buffer argument is a byte offset ("pointer") into `memory`; every buffer is f32 unless named
// otherwise (argmax and sparse labels are i32). Kernels never allocate: src/engine/heap.ts lays memory out.

export type Pointer = number;

/** Activation codes understood by the kernels (softmax is row-wise and has kernels of its own). */
export const Act = { linear: 0, relu: 1, sigmoid: 2, tanh: 3 } as const;
export type ActCode = (typeof Act)[keyof typeof Act];

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

  activationForward(act: ActCode, x: Pointer, y: Pointer, count: number): void;
  activationBackward(act: ActCode, y: Pointer, dy: Pointer, dx: Pointer, count: number): void;
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
}
