// Loads the AssemblyScript kernel module. Two builds exist (plain SIMD and relaxed SIMD, whose fused
// multiply-add is faster where the engine has it); the relaxed one is used when the engine validates it.
// Every model gets its own instance, so each has a private linear memory that is freed with the model.

import type { Kernels } from "./kernels";

export interface KernelBinaries {
  simd: Uint8Array | ArrayBuffer;
  relaxedSimd?: Uint8Array | ArrayBuffer;
  /** The same kernels built for a shared, imported memory (multi-threaded GEMM). */
  threadsSimd?: Uint8Array | ArrayBuffer;
  threadsRelaxedSimd?: Uint8Array | ArrayBuffer;
}

export class KernelLibrary {
  private constructor(
    readonly module: WebAssembly.Module,
    readonly variant: string,
    /** The shared-memory build matching `variant`, when given and the engine accepts it. */
    readonly threadedModule?: WebAssembly.Module,
  ) {}

  static fromBinaries(binaries: KernelBinaries): KernelLibrary {
    const relaxed = binaries.relaxedSimd && (binaries.relaxedSimd as BufferSource);
    const simd = binaries.simd as BufferSource;
    const threaded = (bytes?: Uint8Array | ArrayBuffer) =>
      bytes && typeof SharedArrayBuffer !== "undefined" && WebAssembly.validate(bytes as BufferSource) ? new WebAssembly.Module(bytes as BufferSource) : undefined;
    if (relaxed && WebAssembly.validate(relaxed)) {
      return new KernelLibrary(new WebAssembly.Module(relaxed), "wasm-relaxed-simd", threaded(binaries.threadsRelaxedSimd));
    }
    if (!WebAssembly.validate(simd)) {
      throw new Error("this JavaScript engine lacks WebAssembly SIMD, which the wasmgrad kernels require");
    }
    return new KernelLibrary(new WebAssembly.Module(simd), "wasm-simd", threaded(binaries.threadsSimd));
  }

  instantiate(): Kernels {
    const instance = new WebAssembly.Instance(this.module, {});
    const exports = instance.exports as unknown as Omit<Kernels, "variant" | "dropoutMask"> & {
      dropoutMask(mask: number, count: number, rate: number, state: number): number;
    };
    return {
      ...exports,
      variant: this.variant,
      memory: exports.memory,
      // wasm returns u32 as a signed i32; keep RNG state unsigned on the JS side.
      dropoutMask: (mask: number, count: number, rate: number, state: number) =>
        exports.dropoutMask(mask, count, rate, state) >>> 0,
    } as Kernels;
  }
}
