// Both cores for the GEMMs, which are nearly all of training's time, and for the image-by-image kernels
// around them (im2col, col2im, inference max-pool), split by whole images. The threads build of the kernels
// runs on a shared WebAssembly.Memory; helper threads (gemm-worker.ts) instantiate the same module on the
// same memory, each with its own packing workspace. A GEMM is split by rows of C (by columns when it has
// few rows), so every element of C is still computed by one thread in the same order as with one
// thread: results are bit-identical, not merely close. Small GEMMs, whose wake-up cost (~10–20 µs) would
// exceed the gain, stay on the calling thread.
//
// Requirements: SharedArrayBuffer, the Web Worker API and Atomics.wait on the main thread (Bun, Deno).
// Where any is missing, threaded() reports why and callers fall back to one thread.

import { readFileSync } from "node:fs";
import { OutOfMemoryError, formatBytes } from "./heap";
import type { ActCode, Kernels, Pointer } from "./kernels";
import { Control, PARALLEL_KERNELS, SPIN_LIMIT } from "./thread-protocol";

/** Members of the kernels object defined here rather than taken from the instance's exports. */
const OWN = new Set(["variant", "memory", "heapBase", "setWorkspace", "ensureMemory", "gemm", "im2col", "col2im", "maxPoolForward", "dropoutMask"]);

const opIndex = (name: string) => PARALLEL_KERNELS.findIndex(([n]) => n === name);
const OP_GEMM = opIndex("gemm");
const OP_IM2COL = opIndex("im2col");
const OP_COL2IM = opIndex("col2im");
const OP_MAX_POOL = opIndex("maxPoolForward");
const OP_IM2COL_GENERAL = opIndex("im2colGeneral");
const OP_COL2IM_GENERAL = opIndex("col2imGeneral");
const OP_DEPTHWISE_FORWARD = opIndex("depthwiseConv2dForward");
const OP_DEPTHWISE_INPUT = opIndex("depthwiseConv2dBackwardInput");

/**
 * Below this many multiply-adds a GEMM runs on one thread: measured here, handing work to a helper and
 * packing B twice cost more than half the work saves for the MLP's first GEMM at batch 32 (3.2 M), and
 * less at batch 64 (6.4 M).
 */
const PARALLEL_MIN_MACS = 1 << 22;
const MR = 4;
const NR = 8;
/** How long to wait for a helper to start before giving up on threads. */
const START_TIMEOUT_MS = 10_000;

export interface ThreadedBuild {
  module: WebAssembly.Module;
  variant: string;
  /** How to start a helper thread (the executable and the source tree keep the worker in different places). */
  workerUrl: string | URL;
}

/** Why threads cannot run in this runtime, or undefined if they can. */
export function threadsUnavailableReason(): string | undefined {
  if (typeof SharedArrayBuffer === "undefined") return "this runtime has no SharedArrayBuffer";
  if (typeof Worker === "undefined") return "this runtime has no Web Worker API (Node: use Bun or Deno for threads)";
  return undefined;
}

interface Helper {
  worker: Worker;
  cell: Int32Array;
  args: Pointer;
  sequence: number;
}

/** Stops a model's helper threads once the model (its kernels object) is garbage-collected. */
const helperReaper = new FinalizationRegistry((helpers: Helper[]) => {
  for (const h of helpers) {
    Atomics.store(h.cell, Control.STOP, 1);
    Atomics.add(h.cell, Control.REQUEST, 1);
    Atomics.notify(h.cell, Control.REQUEST);
  }
});

/** Shared memory reserved for a model at first (256 MiB): enough for the built-in models' training. */
const FIRST_RESERVE_PAGES = 4096;
/** What the kernel module declares (4 GiB): no memory can be larger. */
const MAX_PAGES = 65536;
const PAGE_BYTES = 65536;

/**
 * A shared memory of `initial` pages that may grow to `want` pages, or to fewer (down to `least`) where the
 * address space will not hold that much: a shared memory reserves its whole maximum when it is made, and
 * under `ulimit -v 8 GiB` the 4 GiB the module allows cannot be had.
 */
export function reserveSharedMemory(initial: number, least: number, want: number): { memory: WebAssembly.Memory; maximumPages: number } {
  for (let maximum = Math.max(want, least); ; maximum = Math.max(least, maximum >> 1)) {
    try {
      return { memory: new WebAssembly.Memory({ initial, maximum, shared: true }), maximumPages: maximum };
    } catch (error) {
      if (maximum <= least) {
        throw new OutOfMemoryError(`could not reserve ${formatBytes(least * PAGE_BYTES)} of address space for shared WebAssembly memory${addressSpaceLimit()} (${(error as Error).message})`);
      }
    }
  }
}

/** ", with the address space limited to 8.00 GiB (ulimit -v)" where a limit is set; "" otherwise. */
export function addressSpaceLimit(): string {
  try {
    const line = /^Max address space\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
    return line && line !== "unlimited" ? `, with the address space limited to ${formatBytes(Number(line))} (ulimit -v)` : "";
  } catch {
    return "";
  }
}

/**
 * Kernels whose GEMM uses `threads` threads (the caller plus threads − 1 helpers). Their shared memory is
 * reserved for what the model needs rather than the module's 4 GiB: 256 MiB at first, and when the heap
 * needs more than was reserved (ensureMemory), the kernels move to a larger memory — contents copied, the
 * module instantiated on it, the helpers restarted — so the model never notices.
 */
export function threadedKernels(build: ThreadedBuild, threads: number): Kernels {
  let { memory, maximumPages } = reserveSharedMemory(32, 32, FIRST_RESERVE_PAGES);
  type Exports = Kernels & { dropoutMask(mask: number, count: number, rate: number, state: number): number };
  const instantiate = () => new WebAssembly.Instance(build.module, { env: { memory } }).exports as unknown as Exports;
  let exports = instantiate();
  const helpers: Helper[] = [];
  // Each helper's workspace and control block sit at the start of the heap, before the model's own
  // (the Heap starts allocating at heapBase(), which we move past them).
  const align = (n: number) => Math.ceil(n / 64) * 64;
  let top = align(exports.heapBase());
  const reserve = (bytes: number) => {
    const at = top;
    top = align(top + bytes);
    if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / PAGE_BYTES));
    return at;
  };
  const slots = Array.from({ length: threads - 1 }, () => ({ workspace: reserve(exports.workspaceBytes()), control: reserve(Control.WORDS * 4) }));
  startHelpers();
  const heapStart = top;
  /** The main instance's GEMM workspace, set again on the new instance after a move. */
  let mainWorkspace: number | undefined;

  function startHelpers(): void {
    for (const { workspace, control } of slots) {
      const cell = new Int32Array(memory.buffer, control, Control.WORDS);
      cell.fill(0); // a moved memory carries the old helpers' counters
      const worker = new Worker(build.workerUrl);
      (worker as unknown as { unref?: () => void }).unref?.();
      worker.postMessage({ module: build.module, memory, workspace, control });
      helpers.push({ worker, cell, args: control, sequence: 0 });
    }
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (const h of helpers) {
      while (Atomics.load(h.cell, Control.READY) !== 1) {
        Atomics.wait(h.cell, Control.READY, 0, 10);
        if (performance.now() > deadline) {
          for (const other of helpers) other.worker.terminate();
          throw new Error(`a GEMM helper thread did not start within ${START_TIMEOUT_MS / 1000} s`);
        }
      }
    }
  }

  function stopHelpers(): void {
    for (const h of helpers) {
      Atomics.store(h.cell, Control.STOP, 1);
      Atomics.add(h.cell, Control.REQUEST, 1);
      Atomics.notify(h.cell, Control.REQUEST);
      h.worker.terminate();
    }
    helpers.length = 0;
  }

  /** Grows the memory to `bytes`, moving to a larger reservation when the current one is too small. */
  function ensureMemory(bytes: number): void {
    const need = Math.ceil(bytes / PAGE_BYTES);
    const have = memory.buffer.byteLength / PAGE_BYTES;
    if (need <= have) return;
    if (need > MAX_PAGES) throw new OutOfMemoryError(`the model needs ${formatBytes(bytes)} of WebAssembly memory, over the ${formatBytes(MAX_PAGES * PAGE_BYTES)} limit`);
    if (need <= maximumPages) {
      try {
        memory.grow(need - have);
        return;
      } catch {
        throw new OutOfMemoryError(`the engine refused to grow WebAssembly memory to ${formatBytes(bytes)}${addressSpaceLimit()}`);
      }
    }
    // Half again what is needed, or twice the old reservation: a few moves however the model grows.
    const next = reserveSharedMemory(need, need, Math.min(MAX_PAGES, Math.max(need + (need >> 1), maximumPages * 2)));
    new Uint8Array(next.memory.buffer).set(new Uint8Array(memory.buffer));
    stopHelpers();
    memory = next.memory;
    maximumPages = next.maximumPages;
    exports = instantiate();
    if (mainWorkspace !== undefined) exports.setWorkspace(mainWorkspace);
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value === "function" && !OWN.has(name)) (kernels as unknown as Record<string, unknown>)[name] = value;
    }
    startHelpers();
  }

  /** Runs each helper's share (op and arguments, or null for none) and the caller's own, then waits. */
  function runShares(op: number, shares: (number[] | null)[], own: () => void): void {
    helpers.forEach((h, i) => {
      const args = shares[i];
      if (!args) return;
      Atomics.store(h.cell, Control.OP, op);
      h.cell.set(args, Control.ARGS);
      h.sequence++;
      Atomics.store(h.cell, Control.REQUEST, h.sequence);
      Atomics.notify(h.cell, Control.REQUEST);
    });
    own();
    helpers.forEach((h, i) => {
      if (!shares[i]) return;
      for (let spin = 0; spin < SPIN_LIMIT && Atomics.load(h.cell, Control.DONE) !== h.sequence; spin++);
      const started = performance.now();
      while (Atomics.load(h.cell, Control.DONE) !== h.sequence) {
        // JavaScriptCore occasionally loses an Atomics.notify (about one in a thousand here, on either
        // side), so never sleep long: after 1 ms, wake the helper again in case its wake-up was lost.
        if (Atomics.wait(h.cell, Control.DONE, Atomics.load(h.cell, Control.DONE), 1) === "timed-out") Atomics.notify(h.cell, Control.REQUEST);
        if (performance.now() - started > 30_000) {
          throw new Error(`helper thread ${i + 1} stopped answering (request ${h.sequence}, done ${Atomics.load(h.cell, Control.DONE)}, error ${Atomics.load(h.cell, Control.ERROR)})`);
        }
      }
      if (Atomics.load(h.cell, Control.ERROR)) throw new Error(`helper thread ${i + 1} failed in ${PARALLEL_KERNELS[op][0]}`);
    });
  }

  /** Images [from, to) of a batch of n, for part `part` of `parts` (whole images only). */
  function imageRange(n: number, part: number, parts: number): [number, number] {
    const share = Math.ceil(n / parts);
    return [Math.min(part * share, n), Math.min((part + 1) * share, n)];
  }

  function gemm(
    m: number, n: number, k: number, a: Pointer, aRowStride: number, aColStride: number,
    b: Pointer, bRowStride: number, bColStride: number, c: Pointer, ldc: number, accumulate: boolean, bias: Pointer, act: ActCode,
  ): void {
    const parts = helpers.length + 1;
    if (m * n * k < PARALLEL_MIN_MACS || (m < 2 * MR && n < 2 * NR)) {
      exports.gemm(m, n, k, a, aRowStride, aColStride, b, bRowStride, bColStride, c, ldc, accumulate, bias, act);
      return;
    }
    const byRows = m >= 2 * MR * parts || n < 2 * NR;
    const total = byRows ? m : n, unit = byRows ? MR : NR;
    const share = Math.ceil(total / parts / unit) * unit;
    const slice = (part: number): number[] | null => {
      const from = Math.min(part * share, total), size = Math.min(share, total - from);
      if (size === 0) return null;
      return byRows
        ? [size, n, k, a + 4 * from * aRowStride, aRowStride, aColStride, b, bRowStride, bColStride, c + 4 * from * ldc, ldc, accumulate ? 1 : 0, bias, act]
        : [m, size, k, a, aRowStride, aColStride, b + 4 * from * bColStride, bRowStride, bColStride, c + 4 * from, ldc, accumulate ? 1 : 0, bias ? bias + 4 * from : 0, act];
    };
    const own = slice(0)!;
    runShares(OP_GEMM, helpers.map((_, i) => slice(i + 1)), () =>
      exports.gemm(own[0], own[1], own[2], own[3], own[4], own[5], own[6], own[7], own[8], own[9], own[10], accumulate, own[12], act));
  }

  /**
   * im2col, col2im and max-pool work image by image, so a batch splits into runs of whole images: each
   * thread reads and writes only its images' rows, and the results are the same bytes as one thread's.
   * `perImage` gives, for each pointer argument, the bytes one image advances it by.
   */
  function byImages(op: number, args: number[], nIndex: number, perImage: Map<number, number>, minImages = 2): void {
    const n = args[nIndex];
    const parts = Math.min(helpers.length + 1, n);
    const share = (part: number): number[] | null => {
      const [from, to] = imageRange(n, part, parts);
      if (to <= from) return null;
      return args.map((v, i) => (i === nIndex ? to - from : perImage.has(i) ? (v === 0 ? 0 : v + from * perImage.get(i)!) : v));
    };
    const name = PARALLEL_KERNELS[op][0] as Exclude<(typeof PARALLEL_KERNELS)[number][0], "gemm">;
    const call = (a: number[]) => (exports[name] as unknown as (...x: number[]) => void)(...a);
    if (n < minImages || parts < 2) {
      call(args);
      return;
    }
    const own = share(0)!;
    runShares(op, helpers.map((_, i) => (i + 1 < parts ? share(i + 1) : null)), () => call(own));
  }

  function im2col(x: Pointer, n: number, h: number, w: number, c: number, kh: number, kw: number, stride: number, padTop: number, padLeft: number, oh: number, ow: number, col: Pointer): void {
    byImages(OP_IM2COL, [x, n, h, w, c, kh, kw, stride, padTop, padLeft, oh, ow, col], 1, new Map([[0, 4 * h * w * c], [12, 4 * oh * ow * kh * kw * c]]));
  }

  function col2im(col: Pointer, n: number, h: number, w: number, c: number, kh: number, kw: number, stride: number, padTop: number, padLeft: number, oh: number, ow: number, dx: Pointer): void {
    byImages(OP_COL2IM, [col, n, h, w, c, kh, kw, stride, padTop, padLeft, oh, ow, dx], 1, new Map([[0, 4 * oh * ow * kh * kw * c], [12, 4 * h * w * c]]));
  }

  // With argmax (training), the recorded indices are flat over the whole batch, so that case stays whole.
  function maxPoolForward(x: Pointer, n: number, h: number, w: number, c: number, ph: number, pw: number, stride: number, padTop: number, padLeft: number, oh: number, ow: number, y: Pointer, argmax: Pointer): void {
    if (argmax !== 0) {
      exports.maxPoolForward(x, n, h, w, c, ph, pw, stride, padTop, padLeft, oh, ow, y, argmax);
      return;
    }
    byImages(OP_MAX_POOL, [x, n, h, w, c, ph, pw, stride, padTop, padLeft, oh, ow, y, 0], 1, new Map([[0, 4 * h * w * c], [12, 4 * oh * ow * c]]));
  }

  // ---- convolution variants: image by image, as above. (The depthwise filter gradient sums over the
  // whole batch, so splitting it would change its summation order; it stays on one thread.)
  type Geometry = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
  const patchBytes = (g: Geometry) => {
    const [, h, w, c, , kh, kw, , , , , , , oh, ow] = g;
    return { image: 4 * h * w * c, patches: 4 * oh * ow * kh * kw * c, output: 4 * oh * ow * c };
  };

  function im2colGeneral(x: Pointer, ...rest: [...Geometry, Pointer]): void {
    const b = patchBytes(rest.slice(0, 15) as Geometry);
    byImages(OP_IM2COL_GENERAL, [x, ...rest], 1, new Map([[0, b.image], [16, b.patches]]));
  }

  function col2imGeneral(col: Pointer, ...rest: [...Geometry, Pointer]): void {
    const b = patchBytes(rest.slice(0, 15) as Geometry);
    byImages(OP_COL2IM_GENERAL, [col, ...rest], 1, new Map([[0, b.patches], [16, b.image]]));
  }

  // Geometry here: n, h, w, c, multiplier, … — output pixels carry c·multiplier channels.
  function depthwiseConv2dForward(x: Pointer, ...rest: [...Geometry, Pointer, Pointer, Pointer]): void {
    const [, h, w, c, m, , , , , , , , , oh, ow] = rest;
    byImages(OP_DEPTHWISE_FORWARD, [x, ...rest], 1, new Map([[0, 4 * h * w * c], [18, 4 * oh * ow * c * m]]));
  }

  function depthwiseConv2dBackwardInput(dy: Pointer, ...rest: [...Geometry, Pointer, Pointer]): void {
    const [, h, w, c, m, , , , , , , , , oh, ow] = rest;
    byImages(OP_DEPTHWISE_INPUT, [dy, ...rest], 1, new Map([[0, 4 * oh * ow * c * m], [17, 4 * h * w * c]]));
  }

  const kernels = {
    ...exports,
    variant: `${build.variant}, ${threads} threads`,
    heapBase: () => heapStart,
    setWorkspace: (ptr: Pointer) => {
      mainWorkspace = ptr;
      exports.setWorkspace(ptr);
    },
    ensureMemory,
    gemm,
    im2col,
    col2im,
    maxPoolForward,
    im2colGeneral,
    col2imGeneral,
    depthwiseConv2dForward,
    depthwiseConv2dBackwardInput,
    dropoutMask: (mask: number, count: number, rate: number, state: number) => exports.dropoutMask(mask, count, rate, state) >>> 0,
  } as unknown as Kernels;
  // The memory a move replaces: read it through the kernels object, never keep it.
  Object.defineProperty(kernels, "memory", { get: () => memory, enumerable: true });
  helperReaper.register(kernels, helpers);
  return kernels;
}
