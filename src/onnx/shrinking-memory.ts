// onnxruntime-web's Emscripten glue makes its shared memory with the WebAssembly maximum of 4 GiB, and a
// shared memory reserves its whole maximum at once: under `ulimit -v 8 GiB` that fails ("Out of memory")
// before any model is loaded, and with --ep auto a WebGPU build that already holds its 4 GiB leaves no room
// for the WASM build to fall back to. While the runtime starts, a shared memory whose maximum cannot be
// reserved is made with the largest maximum that can (halving, never below its initial size) — a memory
// that may grow less far, which models that fit in it never notice.

type MemoryConstructor = typeof WebAssembly.Memory;

export async function withShrinkingSharedMemory<T>(work: () => Promise<T>): Promise<T> {
  const Original: MemoryConstructor = WebAssembly.Memory;
  if ((Original as { shrinking?: boolean }).shrinking) return work();
  function Shrinking(descriptor: WebAssembly.MemoryDescriptor): WebAssembly.Memory {
    if (!descriptor?.shared || typeof descriptor.maximum !== "number") return new Original(descriptor);
    const least = Math.max(1, descriptor.initial);
    for (let maximum = descriptor.maximum; ; maximum = Math.max(least, maximum >> 1)) {
      try {
        return new Original({ ...descriptor, maximum });
      } catch (error) {
        if (!(error instanceof RangeError) || maximum <= least) throw error;
      }
    }
  }
  Shrinking.prototype = Original.prototype;
  Object.assign(Shrinking, { shrinking: true });
  (WebAssembly as { Memory: unknown }).Memory = Shrinking;
  try {
    return await work();
  } finally {
    (WebAssembly as { Memory: unknown }).Memory = Original;
  }
}
