// The layout of the shared control block between the main thread and a GEMM helper thread: Int32 cells
// in the model's shared memory, used with Atomics.wait/notify.

export const Control = {
  /** Incremented by the main thread for each request. */
  REQUEST: 0,
  /** Set to the request number when the helper has finished it. */
  DONE: 1,
  /** 1 once the helper has instantiated the kernels. */
  READY: 2,
  /** 1 asks the helper to exit. */
  STOP: 3,
  /** Set by a helper whose GEMM threw (it then reports done anyway, so nobody waits forever). */
  ERROR: 30,
  /** Which kernel to run: an index into PARALLEL_KERNELS. */
  OP: 4,
  /** Its arguments, as i32s (pointers, sizes, flags). */
  ARGS: 5,
  WORDS: 32,
} as const;

/** Kernels a helper thread can run on its share of the work: names of kernel exports, and argument counts. */
export const PARALLEL_KERNELS = [
  ["gemm", 14],
  ["im2col", 13],
  ["col2im", 13],
  ["maxPoolForward", 14],
  // Convolution variants.
  ["im2colGeneral", 17],
  ["col2imGeneral", 17],
  ["depthwiseConv2dForward", 19],
  ["depthwiseConv2dBackwardInput", 18],
] as const;

/** Atomic loads a thread spins through (tens of microseconds) before it sleeps on a futex. */
export const SPIN_LIMIT = 20_000;
