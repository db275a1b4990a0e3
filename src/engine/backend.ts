// Where models get their kernels from. Entry points register a provider: src/index.ts loads the
// binaries from the build folder; the standalone executable uses the copies embedded in it.

import type { Kernels } from "./kernels";
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

/** A fresh kernel instance with its own linear memory (one per model). */
export function newKernels(): Kernels {
  return kernelLibrary().instantiate();
}
