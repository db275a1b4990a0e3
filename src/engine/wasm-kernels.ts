// Loads the AssemblyScript kernel module. Two builds exist (plain SIMD and relaxed SIMD, whose fused
// multiply-add is faster where the engine has it); the relaxed one is used when the engine validates it.
// Every model gets its own instance, so each has a private linear memory that is freed with the model.

import type { Kernels } from "./kernels";

export interface KernelBinaries {
  simd: BufferSource;
  relaxedSimd?: BufferSource;
}

export class KernelLibrary {
  private constructor(readonly module: WebAssembly.Module, readonly variant: string) {}

  static fromBinaries(binaries: KernelBinaries): KernelLibrary {
    if (binaries.relaxedSimd && WebAssembly.validate(binaries.relaxedSimd)) {
      return new KernelLibrary(new WebAssembly.Module(binaries.relaxedSimd), "wasm-relaxed-simd");
    }
    if (!WebAssembly.validate(binaries.simd)) {
      throw new Error("this JavaScript engine lacks WebAssembly SIMD, which the wasmgrad kernels require");
    }
    return new KernelLibrary(new WebAssembly.Module(binaries.simd), "wasm-simd");
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
