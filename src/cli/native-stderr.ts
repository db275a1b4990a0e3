// Native code's chatter on stderr, held back. Dawn (WebGPU) prints warnings such as
// "maxDynamicUniformBuffersPerPipelineLayout artificially reduced…" with fprintf(stderr) when it meets a
// software adapter, and onnxruntime's WebAssembly build writes its own coloured "[W:onnxruntime:…]" lines to
// file descriptor 2 — before every result or error, breaking the one-line contract. Around those calls,
// fd 2 is pointed at an anonymous in-memory file (memfd) and restored afterwards; what was written is
// returned so that --verbose can show it. The runtime's own stderr (process.stderr) writes to a duplicate
// of the original descriptor, so wasmgrad's messages are never caught by this.
//
// Needs Bun's FFI and glibc (dup, dup2, memfd_create); elsewhere the chatter simply passes through.

import { readFileSync } from "node:fs";

interface Libc {
  dup(fd: number): number;
  dup2(from: number, to: number): number;
  close(fd: number): number;
  memfd_create(name: unknown, flags: number): number;
}

let libc: Libc | null | undefined;

async function loadLibc(): Promise<Libc | null> {
  if (libc !== undefined) return libc;
  libc = null;
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined" || process.platform !== "linux") return libc;
  try {
    const ffi = await import("bun:ffi");
    const { i32, ptr } = ffi.FFIType;
    const lib = ffi.dlopen("libc.so.6", {
      dup: { args: [i32], returns: i32 },
      dup2: { args: [i32, i32], returns: i32 },
      close: { args: [i32], returns: i32 },
      memfd_create: { args: [ptr, i32], returns: i32 },
    });
    libc = lib.symbols as unknown as Libc;
  } catch {
    libc = null;
  }
  return libc;
}

let depth = 0;
/** The memfd's name; kept alive for the call that reads it. */
const SINK_NAME = new TextEncoder().encode("wasmgrad-native-stderr\0");

/**
 * Runs `f` with native writes to fd 2 held back, unless `verbose` (then everything passes through as it is
 * written). What was held back is shown only under WASMGRAD_DEBUG. Nested calls share the outer capture.
 */
export async function quietNative<T>(f: () => Promise<T>, verbose: boolean): Promise<T> {
  const c = verbose || depth > 0 ? null : await loadLibc();
  if (!c) return f();
  const sink = c.memfd_create(SINK_NAME, 0);
  const saved = sink >= 0 ? c.dup(2) : -1;
  if (sink < 0 || saved < 0 || c.dup2(sink, 2) < 0) {
    if (sink >= 0) c.close(sink);
    if (saved >= 0) c.close(saved);
    return f();
  }
  depth++;
  try {
    return await f();
  } finally {
    depth--;
    c.dup2(saved, 2);
    c.close(saved);
    const held = readHeld(sink);
    c.close(sink);
    if (process.env.WASMGRAD_DEBUG && held) process.stderr.write(held);
  }
}

function readHeld(fd: number): string {
  try {
    return readFileSync(`/proc/self/fd/${fd}`, "utf8");
  } catch {
    return "";
  }
}
