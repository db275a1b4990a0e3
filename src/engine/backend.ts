// Where models get their kernels from. Entry points register a provider: src/index.ts loads the
// binaries from the build folder; the standalone executable uses the copies embedded in it.

import type { Kernels } from "./kernels";
import { threadedKernels, threadsUnavailableReason } from "./threaded-kernels";
import type { KernelLibrary } from "./wasm-kernels";

let library: KernelLibrary | undefined;
let provider: (() => KernelLibrary) | undefined;

export function setKernelLibrary(lib: KernelLibrary): void {
  library = lib;
}

export function setKernelLibraryProvider(load: () => KernelLibrary): void {
  provider = load;
}

export function kernelLibrary(): KernelLibrary {
  library ??= provider?.();
  if (!library) throw new Error("no kernel library registered: import wasmgrad from its entry point (src/index.ts)");
  return library;
}

let threads = 1;
let workerUrl: string | URL = new URL("./gemm-worker.ts", import.meta.url);

/**
 * Threads for the GEMMs of models built from now on (1 = none). Returns why fewer threads will run,
 * if so: no threads build, or a runtime without SharedArrayBuffer or Web Workers (Node).
 */
export function setThreads(count: number): string | undefined {
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new RangeError(`threads must be an integer from 1 to 64, got ${count}`);
  threads = 1;
  if (count === 1) return undefined;
  const reason = threadsUnavailableReason() ?? (kernelLibrary().threadedModule ? undefined : "the kernel library has no threads build");
  if (reason) return reason;
  threads = count;
  return undefined;
}

export function threadCount(): number {
  return threads;
}

/** Where helper threads load their script from (the executable embeds it elsewhere than the sources). */
export function setThreadWorkerUrl(url: string | URL): void {
  workerUrl = url;
}

let fallback: string | undefined;
let report: (note: string) => void = (note) => console.warn(`wasmgrad: ${note}`);

/** Why the kernels run on fewer threads than were asked for, if they do (for `info` and notes). */
export function threadFallbackReason(): string | undefined {
  return fallback;
}

/** Where the one-line note goes when threads could not start (default: console.warn). */
export function setThreadNoteReporter(reporter: (note: string) => void): void {
  report = reporter;
}

/** A fresh kernel instance with its own linear memory (one per model). */
export function newKernels(): Kernels {
  const library = kernelLibrary();
  if (threads > 1 && library.threadedModule) {
    try {
      return threadedKernels({ module: library.threadedModule, variant: library.variant, workerUrl }, threads);
    } catch (error) {
      // Helpers that cannot start (a sandbox without threads, say, or no address space left for shared
      // memory) cost speed, never the run. Said once, through the host's reporter.
      fallback = `running on 1 thread instead of ${threads}: ${(error as Error).message}`;
      threads = 1;
      report(fallback);
    }
  }
  return library.instantiate();
}
