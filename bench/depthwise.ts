// Micro-benchmark of the depthwise kernels on one thread: a MobileNet-sized 3×3 layer, [8, 56, 56, 64],
// stride 1, 'same' padding, multiplier 1; forward, input gradient and filter gradient, best of several runs.
// Usage: bun bench/depthwise.ts   (after npm run build:kernels)
//
// Napkin math: 8·56·56·64 outputs × 9 taps = 14.5 M multiply-adds per pass.

import { Heap } from "../src/engine/heap";
import { loadKernelLibraryFromDisk } from "../src/engine/kernel-files";

const kernels = loadKernelLibraryFromDisk().instantiate();
const heap = new Heap(kernels);
const [n, h, w, c, k] = [8, 56, 56, 64, 3];
const geometry = [n, h, w, c, 1, k, k, 1, 1, 1, 1, 1, 1, h, w] as const;
const count = n * h * w * c;
const x = heap.allocFloats(count), y = heap.allocFloats(count), dy = heap.allocFloats(count), dx = heap.allocFloats(count);
const kernel = heap.allocFloats(k * k * c), bias = heap.allocFloats(c), dk = heap.allocFloats(k * k * c);
for (const [p, size] of [[x, count], [dy, count], [kernel, k * k * c], [bias, c]] as const) {
  heap.f32(p, size).set(Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37)));
}

function best(run: () => void, repeats = 15): number {
  run();
  let fastest = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    run();
    fastest = Math.min(fastest, performance.now() - t0);
  }
  return fastest;
}

const forward = best(() => kernels.depthwiseConv2dForward(x, ...geometry, kernel, bias, y));
const input = best(() => kernels.depthwiseConv2dBackwardInput(dy, ...geometry, kernel, dx));
const filter = best(() => kernels.depthwiseConv2dBackwardFilter(x, dy, ...geometry, dk));
const gmacs = (ms: number) => ((count * k * k) / ms / 1e6).toFixed(2);
console.log(`${kernels.variant}, depthwise 3×3 [${n}, ${h}, ${w}, ${c}], one thread (best of 15):`);
console.log(`  forward ${forward.toFixed(2)} ms (${gmacs(forward)} GMAC/s), input gradient ${input.toFixed(2)} ms (${gmacs(input)}), filter gradient ${filter.toFixed(2)} ms (${gmacs(filter)})`);
console.log(`  forward + backward ${(forward + input + filter).toFixed(2)} ms`);
