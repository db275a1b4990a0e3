// Runs the same kernel call on the WebAssembly kernels and on the plain reference, with identical buffers
// at identical addresses, so results can be compared element by element.

import { Heap } from "../../src/engine/heap";
import type { Kernels, Pointer } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { loadKernelLibraryFromDisk, loadSimdOnlyKernelLibrary } from "../../src/engine/kernel-files";

export function wasmVariants(): { name: string; make: () => Kernels }[] {
  const variants = [{ name: "simd", make: () => loadSimdOnlyKernelLibrary().instantiate() }];
  const best = loadKernelLibraryFromDisk();
  if (best.variant === "wasm-relaxed-simd") variants.push({ name: "relaxed-simd", make: () => best.instantiate() });
  return variants;
}

export class TwinHeaps {
  readonly fast: Heap;
  readonly reference: Heap;
  constructor(fast: Kernels) {
    this.fast = new Heap(fast);
    this.reference = new Heap(createReferenceKernels());
    // Both heaps must hand out the same addresses; start them at the same top.
    const top = Math.max(this.fast.mark(), this.reference.mark());
    this.fast.release(top);
    this.reference.release(top);
  }

  /** Allocates count floats in both heaps at one address, optionally filled with `values`. */
  floats(count: number, values?: ArrayLike<number>): Pointer {
    const ptr = this.fast.allocFloats(count);
    const same = this.reference.allocFloats(count);
    if (ptr !== same) throw new Error("twin heaps diverged");
    if (values) {
      this.fast.f32(ptr, count).set(values);
      this.reference.f32(ptr, count).set(values);
    }
    return ptr;
  }

  ints(values: ArrayLike<number>): Pointer {
    const ptr = this.floats(values.length);
    this.fast.i32(ptr, values.length).set(values);
    this.reference.i32(ptr, values.length).set(values);
    return ptr;
  }

  run<T>(call: (k: Kernels) => T): { fast: T; reference: T } {
    return { fast: call(this.fast.kernels), reference: call(this.reference.kernels) };
  }

  both(ptr: Pointer, count: number): { fast: Float32Array; reference: Float32Array } {
    return { fast: this.fast.f32(ptr, count).slice(), reference: this.reference.f32(ptr, count).slice() };
  }
}

/** Largest |a − b| / (atol + rtol·|b|); ≤ 1 means within tolerance. Also returns where. */
export function worstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number) {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const ratio = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    if (!(ratio <= worst)) {
      worst = ratio;
      at = i;
    }
  }
  return { worst, at, got: a[at], want: b[at] };
}

export function seededValues(count: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
