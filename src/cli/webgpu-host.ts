// WebGPU for the Bun/Node executable: these runtimes have no navigator.gpu, so it comes from Dawn's
// dawn.node (the npm package `webgpu`). A hardware adapter is tried first (Vulkan); failing that, Mesa's
// software OpenGL ES adapter (llvmpipe), which Dawn offers only at WebGPU's "compatibility" feature
// level and only with EGL_PLATFORM=surfaceless when there is no display. ORT asks for a core-level
// adapter itself, so for the software one we hand it a device we created.
//
// Deno and browsers have navigator.gpu already; src/onnx/runtime.ts uses theirs directly.

import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import type * as Ort from "onnxruntime-web";

export interface WebGpuSetup {
  /** A short description of the adapter, e.g. "llvmpipe (opengles, compatibility)". */
  adapter: string;
  /** Pass as an execution provider; a device when we made it, plain "webgpu" otherwise. */
  provider: Ort.InferenceSession.ExecutionProviderConfig;
}

type Gpu = { requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapter | null> };
type GpuAdapter = { info?: { description?: string; device?: string; vendor?: string }; limits: Record<string, number>; requestDevice(d?: unknown): Promise<unknown> };

let setup: Promise<WebGpuSetup | { unavailable: string }> | undefined;

/** Installs navigator.gpu from Dawn (once) and finds an adapter; or says why there is none. */
export function setUpWebGpu(dawnNodePath: string, ort: typeof Ort): Promise<WebGpuSetup | { unavailable: string }> {
  setup ??= findAdapter(dawnNodePath, ort);
  return setup;
}

async function findAdapter(dawnNodePath: string, ort: typeof Ort): Promise<WebGpuSetup | { unavailable: string }> {
  let dawn: { create(flags: string[]): Gpu; globals: Record<string, unknown> };
  try {
    dawn = createRequire(import.meta.url)(dawnNodePath);
  } catch (error) {
    return { unavailable: `Dawn (WebGPU) could not load: ${(error as Error).message.split("\n")[0]}` };
  }
  // ORT checks `instanceof GPUDevice` and names GPU error classes; Dawn supplies them.
  for (const [key, value] of Object.entries(dawn.globals)) (globalThis as Record<string, unknown>)[key] ??= value;
  const g = globalThis as { navigator?: { gpu?: Gpu } };
  g.navigator ??= {} as { gpu?: Gpu };

  // Only a machine with a GPU device node can have a hardware adapter; elsewhere Dawn's Vulkan probe
  // would just print warnings.
  if (hasGpuDevice()) {
    const vulkan = dawn.create(["backend=vulkan"]);
    const hardware = await quietly(() => vulkan.requestAdapter());
    if (hardware) {
      Object.defineProperty(g.navigator, "gpu", { value: vulkan, configurable: true });
      return { adapter: describeAdapter(hardware, "vulkan"), provider: "webgpu" };
    }
  }
  // Without a display, EGL works only with EGL_PLATFORM=surfaceless; where that cannot reach Dawn (no FFI:
  // the engine runs without its JIT under a tight `ulimit -v`), probing would only print EGL's warnings.
  if (!(await setNativeEnvironment("EGL_PLATFORM", "surfaceless")) && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { unavailable: "no WebGPU adapter: Vulkan found none, and Mesa's OpenGL ES needs EGL_PLATFORM=surfaceless, which could not be set here (set it yourself)" };
  }
  const gles = dawn.create(["backend=opengles"]);
  const software = await quietly(() => gles.requestAdapter({ featureLevel: "compatibility" }));
  if (!software) return { unavailable: "no WebGPU adapter: Vulkan found none and Mesa's OpenGL ES (EGL) is missing or failed" };
  Object.defineProperty(g.navigator, "gpu", { value: gles, configurable: true });
  // A compatibility device defaults to small limits (128 invocations per workgroup); ask for all.
  const requiredLimits: Record<string, number> = {};
  for (const key in software.limits) requiredLimits[key] = software.limits[key];
  const device = await software.requestDevice({ requiredLimits });
  (ort.env.webgpu as { adapter?: unknown }).adapter = software;
  return { adapter: describeAdapter(software, "opengles, compatibility"), provider: { name: "webgpu", device } as Ort.InferenceSession.ExecutionProviderConfig };
}

function hasGpuDevice(): boolean {
  try {
    return readdirSync("/dev").some((name) => name.startsWith("nvidia")) || readdirSync("/dev/dri").some((name) => name.startsWith("renderD"));
  } catch {
    return false;
  }
}

/**
 * Dawn reads EGL_PLATFORM with getenv(); Node's process.env writes reach it, Bun's do not, so under Bun
 * call libc's setenv. A value the user set is kept. Returns whether native code will see the value.
 */
async function setNativeEnvironment(name: string, value: string): Promise<boolean> {
  if (process.env[name] !== undefined) return true;
  process.env[name] = value;
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return true;
  try {
    const ffi = await import("bun:ffi");
    const libc = ffi.dlopen("libc.so.6", { setenv: { args: [ffi.FFIType.cstring, ffi.FFIType.cstring, ffi.FFIType.i32], returns: ffi.FFIType.i32 } });
    const cstring = (s: string) => ffi.ptr(new TextEncoder().encode(`${s}\0`));
    libc.symbols.setenv(cstring(name), cstring(value), 0);
    return true;
  } catch {
    // Not glibc, or no FFI: the software adapter will then need EGL_PLATFORM=surfaceless set by the user.
    delete process.env[name];
    return false;
  }
}

async function quietly<T>(f: () => Promise<T>): Promise<T | null> {
  try {
    return await f();
  } catch {
    return null;
  }
}

function describeAdapter(adapter: GpuAdapter, backend: string): string {
  const info = adapter.info ?? {};
  return `${info.description || info.device || info.vendor || "unknown adapter"} (${backend})`;
}
