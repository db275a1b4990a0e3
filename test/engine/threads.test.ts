// Multi-threaded GEMM (shared memory + helper threads) against the one-thread kernels. The split is by
// rows of C (columns when C has few rows), so each element is computed by one thread in the same order:
// results must be bit-identical, not just close. Shapes: tall, wide, ragged (not multiples of the 4×8
// tile), transposed operands (backprop's Aᵀ·B and A·Bᵀ), accumulate, bias + ReLU epilogue, and GEMMs
// below the size where threads are used. Then whole training runs: 1 and 2 threads give the same weights.

import { afterAll, describe, expect, test } from "bun:test";
import "../../src/index";
import { setThreads, threadCount } from "../../src/engine/backend";
import { Heap } from "../../src/engine/heap";
import { Act } from "../../src/engine/kernels";
import { newKernels } from "../../src/engine/backend";
import { reserveSharedMemory, threadsUnavailableReason } from "../../src/engine/threaded-kernels";
import { AveragePool2D, Conv2D, Conv2DTranspose, Dense, DepthwiseConv2D, Flatten, MaxPool2D, Sequential } from "../../src/index";
import { seededValues } from "../support/twin-heaps";

const reason = threadsUnavailableReason();
afterAll(() => setThreads(1));

interface Shape { m: number; n: number; k: number; transpose?: "A" | "B"; accumulate?: boolean; epilogue?: boolean }

const SHAPES: Shape[] = [
  { m: 512, n: 512, k: 512 }, { m: 257, n: 131, k: 300 }, { m: 6, n: 700, k: 200 }, { m: 1001, n: 3, k: 129 },
  { m: 64, n: 128, k: 784 }, { m: 784, n: 128, k: 64, transpose: "A" }, { m: 64, n: 784, k: 128, transpose: "B" },
  { m: 333, n: 77, k: 91, accumulate: true }, { m: 150, n: 33, k: 250, epilogue: true }, { m: 4, n: 8, k: 16 }, { m: 9, n: 17, k: 1 },
];

function run(threads: number, s: Shape): Float32Array {
  setThreads(threads);
  const heap = new Heap(newKernels());
  const { m, n, k } = s;
  const a = heap.allocFloats(m * k), b = heap.allocFloats(k * n), c = heap.allocFloats(m * n), bias = heap.allocFloats(n);
  heap.f32(a, m * k).set(seededValues(m * k, m + k));
  heap.f32(b, k * n).set(seededValues(k * n, n + 3 * k));
  heap.f32(c, m * n).set(seededValues(m * n, 5));
  heap.f32(bias, n).set(seededValues(n, 6));
  const [ars, acs] = s.transpose === "A" ? [1, m] : [k, 1];
  const [brs, bcs] = s.transpose === "B" ? [1, k] : [n, 1];
  heap.kernels.gemm(m, n, k, a, ars, acs, b, brs, bcs, c, n, s.accumulate ?? false, s.epilogue ? bias : 0, s.epilogue ? Act.relu : Act.linear);
  return heap.f32(c, m * n).slice();
}

describe.skipIf(reason !== undefined)(`threaded GEMM${reason ? ` — SKIPPED: ${reason}` : ""}`, () => {
  test(`2 and 3 threads are bit-identical to 1 over ${SHAPES.length} shapes`, () => {
    for (const s of SHAPES) {
      const one = run(1, s);
      for (const threads of [2, 3]) {
        const many = run(threads, s);
        expect(threadCount()).toBe(threads);
        let at = -1;
        for (let i = 0; i < one.length; i++) if (!Object.is(one[i], many[i])) { at = i; break; }
        expect({ shape: s, threads, firstDifference: at }).toEqual({ shape: s, threads, firstDifference: -1 });
      }
    }
  });

  test("training an MLP and a CNN with 2 threads gives exactly the weights of 1 thread", async () => {
    const x = seededValues(96 * 144, 1, 0, 1);
    const y = Int32Array.from({ length: 96 }, (_, i) => i % 5);
    const train = async (threads: number) => {
      setThreads(threads);
      const weights = [];
      for (const layers of [
        [new Flatten(), new Dense({ units: 200, activation: "relu" }), new Dense({ units: 5, activation: "softmax" })],
        [new Conv2D({ filters: 16, kernelSize: 3, activation: "relu" }), new MaxPool2D(), new Conv2D({ filters: 32, kernelSize: 3, activation: "relu" }), new Flatten(), new Dense({ units: 5, activation: "softmax" })],
      ]) {
        const model = new Sequential({ inputShape: [12, 12, 1], seed: 3, layers });
        model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy" });
        await model.fit(x, y, { epochs: 2, batchSize: 32 });
        weights.push(...model.getWeights().map((w) => Array.from(w.data)));
      }
      return weights;
    };
    const one = await train(1), two = await train(2);
    expect(two).toEqual(one);
  });

  test("the convolution variants (depthwise, grouped and dilated, transposed) train to the same weights on 1 and 2 threads", async () => {
    const x = seededValues(64 * 12 * 12 * 4, 2, 0, 1);
    const y = Int32Array.from({ length: 64 }, (_, i) => i % 3);
    const train = async (threads: number) => {
      setThreads(threads);
      const model = new Sequential({
        inputShape: [12, 12, 4], seed: 4,
        layers: [
          new DepthwiseConv2D({ kernelSize: 3, strides: 2, padding: 1, depthMultiplier: 2, activation: "relu" }),
          new Conv2D({ filters: 8, kernelSize: 3, groups: 4, dilationRate: 2, padding: "same", activation: "tanh" }),
          new Conv2DTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: "same" }),
          new AveragePool2D({ poolSize: 3, strides: 2, padding: 1, countIncludePad: true }),
          new Flatten(), new Dense({ units: 3, activation: "softmax" }),
        ],
      });
      model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy" });
      await model.fit(x, y, { epochs: 2, batchSize: 16 });
      return model.getWeights().map((w) => Array.from(w.data));
    };
    const one = await train(1), two = await train(2);
    expect(two).toEqual(one);
  });

  // A request lost or run twice would change this sum. (JavaScriptCore's occasional lost wake-ups, which
  // once made a helper re-run a request, could not be provoked on demand here; the executable's
  // resume test, whose checkpoints must match byte for byte, caught that one.)
  test("3,000 accumulating GEMMs in a row after memory growth: no request is lost or run twice", () => {
    const sums: Float32Array[] = [];
    for (const threads of [1, 2]) {
      setThreads(threads);
      const heap = new Heap(newKernels());
      const m = 64, n = 64, k = 64;
      // Memory grown after the helpers started, as when a model meets a larger batch.
      heap.allocFloats(16 << 20);
      const a = heap.allocFloats(m * k), b = heap.allocFloats(k * n), c = heap.allocFloats(m * n);
      heap.f32(a, m * k).set(seededValues(m * k, 1));
      heap.f32(b, k * n).set(seededValues(k * n, 2));
      heap.f32(c, m * n).fill(0);
      for (let i = 0; i < 3000; i++) heap.kernels.gemm(m, n, k, a, k, 1, b, n, 1, c, n, true, 0, Act.linear);
      sums.push(heap.f32(c, m * n).slice());
    }
    expect(Array.from(sums[1])).toEqual(Array.from(sums[0]));
  });

  test("im2col, col2im and inference max-pool split by images give the very bytes of one thread", () => {
    const results: Float32Array[][] = [];
    for (const threads of [1, 3]) {
      setThreads(threads);
      const heap = new Heap(newKernels());
      const out: Float32Array[] = [];
      for (const [n, h, w, c, k, stride, pad] of [[5, 9, 8, 3, 3, 1, 1], [2, 7, 7, 2, 2, 2, 0], [1, 6, 6, 4, 3, 1, 0], [7, 5, 5, 1, 3, 2, 1]]) {
        const oh = Math.floor((h + 2 * pad - k) / stride) + 1, ow = Math.floor((w + 2 * pad - k) / stride) + 1;
        const x = heap.allocFloats(n * h * w * c), col = heap.allocFloats(n * oh * ow * k * k * c), dx = heap.allocFloats(n * h * w * c);
        const y = heap.allocFloats(n * oh * ow * c);
        heap.f32(x, n * h * w * c).set(seededValues(n * h * w * c, n + h));
        heap.kernels.im2col(x, n, h, w, c, k, k, stride, pad, pad, oh, ow, col);
        out.push(heap.f32(col, n * oh * ow * k * k * c).slice());
        heap.kernels.col2im(col, n, h, w, c, k, k, stride, pad, pad, oh, ow, dx);
        out.push(heap.f32(dx, n * h * w * c).slice());
        heap.kernels.maxPoolForward(x, n, h, w, c, k, k, stride, pad, pad, oh, ow, y, 0);
        out.push(heap.f32(y, n * oh * ow * c).slice());
      }
      results.push(out);
    }
    results[0].forEach((a, i) => expect(Array.from(results[1][i])).toEqual(Array.from(a)));
  });

  test("im2colGeneral, col2imGeneral and the depthwise forward and input-gradient kernels split by images give the very bytes of one thread", () => {
    const results: Float32Array[][] = [];
    for (const threads of [1, 3]) {
      setThreads(threads);
      const heap = new Heap(newKernels());
      const out: Float32Array[] = [];
      // n, h, w, c, groups (im2col) / multiplier (depthwise), k, strides, dilation, padTop/Left
      for (const [n, h, w, c, g, k, sh, sw, d, pad] of [[5, 9, 8, 4, 2, 3, 1, 2, 1, 1], [2, 7, 7, 6, 3, 2, 2, 2, 2, 0], [7, 6, 5, 5, 1, 3, 2, 1, 1, 2]]) {
        const span = (k - 1) * d + 1;
        const oh = Math.floor((h + 2 * pad - span) / sh) + 1, ow = Math.floor((w + 2 * pad - span) / sw) + 1;
        const geometry = [n, h, w, c, g, k, k, sh, sw, d, d, pad, pad, oh, ow] as const;
        const x = heap.allocFloats(n * h * w * c), col = heap.allocFloats(n * oh * ow * k * k * c), dx = heap.allocFloats(n * h * w * c);
        const kernel = heap.allocFloats(k * k * c * g), bias = heap.allocFloats(c * g), y = heap.allocFloats(n * oh * ow * c * g);
        heap.f32(x, n * h * w * c).set(seededValues(n * h * w * c, n + h));
        heap.f32(kernel, k * k * c * g).set(seededValues(k * k * c * g, 3));
        heap.f32(bias, c * g).set(seededValues(c * g, 4));
        heap.kernels.im2colGeneral(x, ...geometry, col);
        out.push(heap.f32(col, n * oh * ow * k * k * c).slice());
        heap.kernels.col2imGeneral(col, ...geometry, dx);
        out.push(heap.f32(dx, n * h * w * c).slice());
        heap.kernels.depthwiseConv2dForward(x, ...geometry, kernel, bias, y);
        out.push(heap.f32(y, n * oh * ow * c * g).slice());
        heap.kernels.depthwiseConv2dBackwardInput(y, ...geometry, kernel, dx);
        out.push(heap.f32(dx, n * h * w * c).slice());
      }
      results.push(out);
    }
    results[0].forEach((a, i) => expect(Array.from(results[1][i])).toEqual(Array.from(a)));
  });

  test("past the first 256 MiB reserved, the kernels move to a larger shared memory: contents kept, helpers restarted, results bit-identical", () => {
    const shape = { m: 257, n: 131, k: 300 };
    const one = run(1, shape);
    setThreads(2);
    const heap = new Heap(newKernels());
    const { m, n, k } = shape;
    const a = heap.allocFloats(m * k), b = heap.allocFloats(k * n), c = heap.allocFloats(m * n);
    heap.f32(a, m * k).set(seededValues(m * k, m + k));
    heap.f32(b, k * n).set(seededValues(k * n, n + 3 * k));
    const before = heap.memory;
    // 300 MiB more than the first reservation holds: the memory must move.
    const big = heap.allocBytes(300 << 20);
    heap.f32(big + (300 << 20) - 4, 1)[0] = 42;
    expect(heap.memory).not.toBe(before);
    expect(heap.memory.buffer.byteLength).toBeGreaterThan(300 << 20);
    heap.kernels.gemm(m, n, k, a, k, 1, b, n, 1, c, n, false, 0, Act.linear);
    const many = heap.f32(c, m * n).slice();
    let at = -1;
    for (let i = 0; i < one.length; i++) if (!Object.is(one[i], many[i])) { at = i; break; }
    expect(at).toBe(-1);
    expect(heap.f32(big + (300 << 20) - 4, 1)[0]).toBe(42);
    expect(heap.kernels.variant).toContain("2 threads");
  });

  test("a shared memory that cannot be reserved is an OutOfMemoryError that says how much, never a bare RangeError", () => {
    // 70,000 pages is past what any engine allows (65,536), so every attempt fails, as under a tight ulimit -v.
    expect(() => reserveSharedMemory(1, 70_000, 70_000)).toThrow(/could not reserve 4\.27 GiB of address space for shared WebAssembly memory/);
    expect(reserveSharedMemory(1, 16, 1 << 20).maximumPages).toBeGreaterThanOrEqual(16);
  });

  test("the check can fail: a one-ulp change is a difference", () => {
    const one = run(1, SHAPES[1]);
    const changed = one.slice();
    changed[7] = Math.fround(changed[7] * (1 + 2 ** -22));
    expect(Object.is(one[7], changed[7])).toBe(false);
  });
});

test("setThreads refuses nonsense and reports why threads cannot run", () => {
  expect(() => setThreads(0)).toThrow(RangeError);
  expect(setThreads(1)).toBeUndefined();
});
