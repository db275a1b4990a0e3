// A helper thread for the parallel kernels (see threaded-kernels.ts). It instantiates the threads build
// of the kernels on the model's shared memory with a workspace of its own, then sleeps on a futex cell
// until the main thread posts work — a GEMM's share of rows, or some images' im2col, col2im or max-pool —
// runs it, and signals completion. Web Worker API only (Bun, Deno, browsers).

import { Control, PARALLEL_KERNELS, SPIN_LIMIT } from "./thread-protocol";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(message: unknown): void; close(): void };

self.onmessage = (event: MessageEvent) => {
  const { module, memory, workspace, control } = event.data as { module: WebAssembly.Module; memory: WebAssembly.Memory; workspace: number; control: number };
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Record<string, (...args: number[]) => void> & {
    setWorkspace(ptr: number): void;
  };
  kernels.setWorkspace(workspace);
  const cell = new Int32Array(memory.buffer, control, Control.WORDS);
  Atomics.store(cell, Control.READY, 1);
  Atomics.notify(cell, Control.READY);
  let seen = 0;
  for (;;) {
    // Wake-ups can be spurious (the main thread re-notifies when one may have been lost): only a new
    // request number means new work.
    // Spin briefly first: the next request usually follows within microseconds (a layer's next GEMM),
    // sooner than the kernel could wake a sleeping thread.
    for (let spin = 0; spin < SPIN_LIMIT && Atomics.load(cell, Control.REQUEST) === seen; spin++);
    while (Atomics.load(cell, Control.REQUEST) === seen) Atomics.wait(cell, Control.REQUEST, seen);
    seen = Atomics.load(cell, Control.REQUEST);
    if (Atomics.load(cell, Control.STOP)) break;
    const [name, count] = PARALLEL_KERNELS[Atomics.load(cell, Control.OP)];
    const args = Array.from(cell.subarray(Control.ARGS, Control.ARGS + count));
    try {
      kernels[name](...args);
    } catch {
      Atomics.store(cell, Control.ERROR, 1);
    }
    Atomics.store(cell, Control.DONE, seen);
    Atomics.notify(cell, Control.DONE);
  }
  self.close();
};
