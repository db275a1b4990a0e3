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
  /** The GEMM's arguments (see Kernels.gemm), as i32s. */
  ARGS: 4,
  WORDS: 32,
} as const;

export const GEMM_ARGS = 14;
