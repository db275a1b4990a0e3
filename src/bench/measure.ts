// Throughput measurements shared by `wasmgrad bench` and bench/ scripts. Warm-up work runs first and is
// excluded; rates are medians over timed chunks, because these machines are shared and noisy.

import { Heap } from "../engine/heap";
import { Act } from "../engine/kernels";
import { newKernels } from "../engine/backend";
import type { Model } from "../model/model";

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface TrainingRate {
  samplesPerSec: number;
  chunks: number;
  warmupSteps: number;
}

/**
 * Trains one epoch over x/y at `batchSize` and reports the median samples/s over chunks of steps,
 * excluding the first `warmupSteps` steps (JIT tiering, first-touch of memory).
 */
export async function measureTraining(
  model: Model, x: Float32Array, y: Uint8Array | Int32Array, batchSize: number, warmupSteps = 10, onFirstStep?: () => void,
): Promise<TrainingRate> {
  const steps = Math.floor(y.length / batchSize);
  const chunkSteps = Math.max(1, Math.floor((steps - warmupSteps) / 12));
  const rates: number[] = [];
  let chunkStart = 0;
  await model.fit(x.subarray(0, steps * batchSize * (x.length / y.length)), y.subarray(0, steps * batchSize), {
    epochs: 1, batchSize, shuffle: false,
    callbacks: [{
      onBatchEnd: (batch) => {
        if (batch === 0) onFirstStep?.();
        const done = batch + 1;
        if (done === warmupSteps) chunkStart = performance.now();
        else if (done > warmupSteps && (done - warmupSteps) % chunkSteps === 0) {
          const now = performance.now();
          rates.push((chunkSteps * batchSize) / ((now - chunkStart) / 1000));
          chunkStart = now;
        }
      },
    }],
  });
  return { samplesPerSec: median(rates), chunks: rates.length, warmupSteps };
}

/** Inference samples/s at `batchSize`: one untimed pass, then the median of three timed passes. */
export function measureInference(model: Model, x: Float32Array, count: number, batchSize: number): number {
  const samples = Math.min(count, batchSize * 16);
  const input = x.subarray(0, samples * (x.length / count));
  model.predict(input, { batchSize });
  const rates: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    model.predict(input, { batchSize });
    rates.push(samples / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

export interface GemmShape {
  name: string;
  m: number;
  n: number;
  k: number;
  /** Which operand is read transposed (backprop's Aᵀ·B and A·Bᵀ). */
  transpose?: "A" | "B";
}

/** GFLOPS (2mnk per call) of the kernel GEMM, median of timed runs of ~`millis` ms each after warm-up. */
export function measureGemm(shape: GemmShape, millis = 300): number {
  const heap = new Heap(newKernels());
  const { m, n, k } = shape;
  const a = heap.allocFloats(m * k), b = heap.allocFloats(k * n), c = heap.allocFloats(m * n);
  heap.f32(a, m * k).fill(0.5);
  heap.f32(b, k * n).fill(0.25);
  const [ars, acs] = shape.transpose === "A" ? [1, m] : [k, 1];
  const [brs, bcs] = shape.transpose === "B" ? [1, k] : [n, 1];
  const call = () => heap.kernels.gemm(m, n, k, a, ars, acs, b, brs, bcs, c, n, false, 0, Act.linear);
  const warm = performance.now();
  let calls = 0;
  while (performance.now() - warm < millis / 3 || calls < 2) {
    call();
    calls++;
  }
  const perCall = (performance.now() - warm) / calls;
  const reps = Math.max(1, Math.round(millis / 5 / perCall));
  const rates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) call();
    rates.push((2 * m * n * k * reps) / ((performance.now() - t) / 1000) / 1e9);
  }
  return median(rates);
}

/** Square yardsticks, then the GEMMs of the MLP (batch 64, 784-128-10) and of the CNN's second conv. */
export const GEMM_SHAPES: GemmShape[] = [
  { name: "256³", m: 256, n: 256, k: 256 },
  { name: "512³", m: 512, n: 512, k: 512 },
  { name: "1024³", m: 1024, n: 1024, k: 1024 },
  { name: "mlp fwd 64×784·784×128", m: 64, n: 128, k: 784 },
  { name: "mlp fwd 64×128·128×10", m: 64, n: 10, k: 128 },
  { name: "mlp dW1 784×64ᵀ·64×128", m: 784, n: 128, k: 64, transpose: "A" },
  { name: "mlp dX2 64×10·(128×10)ᵀ", m: 64, n: 128, k: 10, transpose: "B" },
  { name: "cnn conv2 fwd 7744×288·288×64", m: 7744, n: 64, k: 288 },
  { name: "cnn conv2 dW 288×7744ᵀ·7744×64", m: 288, n: 64, k: 7744, transpose: "A" },
];
