// A bump allocator over one kernel instance's linear memory. Models lay out parameters, gradients and
// optimizer state once (the persistent part), then activations for the largest batch seen (the workspace,
// released and re-laid when a larger batch arrives). Nothing is allocated per step, so a long fit cannot
// leak, and users never call dispose().

import { WasmgradError } from "../errors";
import type { Kernels, Pointer } from "./kernels";

const PAGE_BYTES = 65536;
/** 64-byte alignment: one cache line, and a whole number of v128 lanes. */
const ALIGN = 64;
/** The kernel module declares a 65,536-page maximum (4 GiB); engines may allow less. */
export const MAX_MEMORY_BYTES = 65536 * PAGE_BYTES;

/** A model or batch too large for WebAssembly's 32-bit memory: refused before any kernel runs. */
export class OutOfMemoryError extends WasmgradError {
  override name = "OutOfMemoryError";
}

export class Heap {
  private top: number;

  constructor(readonly kernels: Kernels) {
    this.top = align(kernels.heapBase());
    const scratch = kernels.workspaceBytes();
    if (scratch > 0) kernels.setWorkspace(this.allocBytes(scratch));
  }

  get memory(): WebAssembly.Memory {
    return this.kernels.memory;
  }

  /** Bytes in use, from address 0 up to the allocation top. */
  get bytesInUse(): number {
    return this.top;
  }

  allocFloats(count: number): Pointer {
    return this.allocBytes(count * 4);
  }

  allocBytes(bytes: number): Pointer {
    const ptr = this.top;
    const end = align(ptr + Math.max(bytes, 0));
    if (end > MAX_MEMORY_BYTES) {
      throw new OutOfMemoryError(
        `the model needs ${formatBytes(end)} of WebAssembly memory (parameters, optimizer state and activations for the batch), ` +
          `over the ${formatBytes(MAX_MEMORY_BYTES)} limit: use a smaller batch size or a smaller model`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      if (this.kernels.ensureMemory) this.kernels.ensureMemory(end);
      else {
        try {
          this.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
        } catch {
          throw new OutOfMemoryError(`the engine refused to grow WebAssembly memory to ${formatBytes(end)}`);
        }
      }
    }
    this.top = end;
    return ptr;
  }

  mark(): number {
    return this.top;
  }

  /** Frees everything allocated after `mark` (bump allocators free in stacks). */
  release(mark: number): void {
    this.top = mark;
  }

  // Views are made on demand: growing memory detaches every earlier view of its buffer.
  f32(ptr: Pointer, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, count);
  }

  i32(ptr: Pointer, count: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, count);
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
