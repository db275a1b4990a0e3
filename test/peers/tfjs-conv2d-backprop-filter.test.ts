// The Conv2DBackpropFilter kernel we add to tfjs's 'wasm' backend (bench/peers/tfjs-conv2d-backprop-filter.mjs)
// against tfjs-backend-cpu's own Conv2DBackpropFilter, on seeded random data, over a sweep of shapes:
// padding valid / same / explicit, stride 1 / 2 / mixed, channels 1 / 3 / 32 / 64, square and rectangular
// filters, cases where the kernel must crop the input (stride 2 'valid' on an even size) and where it must pad
// the bottom/right ('same' stride 2), plus the three conv layers of the benchmark CNN.
//
// tfjs-backend-wasm loads under bun (its node bundle reads the .wasm with fs; we point setWasmPaths at
// node_modules/@tensorflow/tfjs-backend-wasm/dist/, so nothing is fetched), so no node subprocess is needed.
//
// Tolerance: |wasm − cpu| ≤ 1e-6·(K + 1) + 1e-5·|cpu| per element, K = N·OH·OW terms in each sum, inputs in
// [−1, 1]. The cpu kernel accumulates in float64 and rounds once; XNNPACK accumulates in float32 in a blocked
// order, so honest differences grow with K by about K·2⁻²⁴. A wrong index, padding or crop misplaces whole
// terms (errors of order 0.1–10) and fails by orders of magnitude.

import { beforeAll, describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-layers"; // tfjs-core's node bundle registers no gradients; the tfjs-layers bundle does
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerConv2DBackpropFilterWasm } from "../../bench/peers/tfjs-conv2d-backprop-filter.mjs";

type Pad = "valid" | "same" | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  name: string;
  x: [number, number, number, number]; // N, H, W, C
  filter: [number, number, number, number]; // KH, KW, C, F
  strides: [number, number];
  pad: Pad;
}

const cases: Case[] = [
  { name: "cnn conv1 28×28×1 → 32, valid s1", x: [8, 28, 28, 1], filter: [3, 3, 1, 32], strides: [1, 1], pad: "valid" },
  { name: "cnn conv2 13×13×32 → 64, valid s1", x: [4, 13, 13, 32], filter: [3, 3, 32, 64], strides: [1, 1], pad: "valid" },
  { name: "cnn conv3 5×5×64 → 64, valid s1", x: [8, 5, 5, 64], filter: [3, 3, 64, 64], strides: [1, 1], pad: "valid" },
  { name: "batch 1, C 1, F 1, valid s1", x: [1, 6, 6, 1], filter: [3, 3, 1, 1], strides: [1, 1], pad: "valid" },
  { name: "C 3, same s1", x: [4, 9, 9, 3], filter: [3, 3, 3, 8], strides: [1, 1], pad: "same" },
  { name: "C 32, same s1", x: [2, 8, 8, 32], filter: [3, 3, 32, 16], strides: [1, 1], pad: "same" },
  { name: "C 3, valid s2, odd size (no crop)", x: [4, 9, 9, 3], filter: [3, 3, 3, 8], strides: [2, 2], pad: "valid" },
  { name: "C 3, valid s2, even size (crops last row/col)", x: [4, 10, 10, 3], filter: [3, 3, 3, 8], strides: [2, 2], pad: "valid" },
  { name: "C 1, valid s2, even size", x: [3, 28, 28, 1], filter: [3, 3, 1, 32], strides: [2, 2], pad: "valid" },
  { name: "C 3, same s2, even size (bottom pad)", x: [4, 10, 10, 3], filter: [3, 3, 3, 8], strides: [2, 2], pad: "same" },
  { name: "C 3, same s2, odd size (top+bottom pad)", x: [4, 11, 11, 3], filter: [3, 3, 3, 8], strides: [2, 2], pad: "same" },
  { name: "C 32, same s2", x: [2, 12, 12, 32], filter: [3, 3, 32, 32], strides: [2, 2], pad: "same" },
  { name: "rectangular 5×3 filter, strides [2,1], same", x: [3, 11, 8, 3], filter: [5, 3, 3, 4], strides: [2, 1], pad: "same" },
  { name: "rectangular input, strides [1,2], valid", x: [2, 7, 12, 32], filter: [2, 3, 32, 5], strides: [1, 2], pad: "valid" },
  { name: "explicit pad [[1,0],[2,1]], s1", x: [2, 6, 7, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: [[0, 0], [1, 0], [2, 1], [0, 0]] },
  { name: "1×1 filter, s2", x: [2, 8, 8, 32], filter: [1, 1, 32, 16], strides: [2, 2], pad: "valid" },
];

function seededValues(count: number, seed: number): Float32Array {
  // mulberry32, mapped to [−1, 1)
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs Conv2DBackpropFilter directly on one backend's kernel (no global backend switching). */
function runOn(backendName: "cpu" | "wasm", c: Case, xVals: Float32Array, dyShape: number[], dyVals: Float32Array) {
  const backend = tf.findBackend(backendName) as tf.KernelBackend & { disposeData(id: object, force?: boolean): boolean };
  const kernel = tf.getKernel("Conv2DBackpropFilter", backendName);
  if (kernel == null) throw new Error(`no Conv2DBackpropFilter for ${backendName}`);
  const x = { dataId: backend.write(xVals, c.x, "float32"), shape: c.x, dtype: "float32" as const };
  const dy = { dataId: backend.write(dyVals, dyShape, "float32"), shape: dyShape, dtype: "float32" as const };
  const before = backend.numDataIds();
  const out = kernel.kernelFunc({
    inputs: { x, dy } as unknown as tf.NamedTensorInfoMap,
    backend,
    attrs: { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined, filterShape: c.filter } as unknown as tf.NamedAttrMap,
  }) as tf.TensorInfo;
  const leaked = backend.numDataIds() - before - 1; // only the output should remain
  const values = Float32Array.from(backend.readSync(out.dataId) as Float32Array);
  const shape = out.shape.slice();
  for (const t of [x, dy, out]) backend.disposeData(t.dataId, true);
  return { values, shape, leaked };
}

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  setWasmPaths(join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/");
  expect(await tf.setBackend("wasm")).toBe(true);
  registerConv2DBackpropFilterWasm(tf);
  tf.findBackend("cpu"); // initialise the reference backend too
});

describe("tfjs wasm Conv2DBackpropFilter vs tfjs-backend-cpu", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad as never, undefined, false, "channelsLast");
    const dyShape = info.outShape as number[];
    const xVals = seededValues(size(c.x), size(c.x) * 7 + c.filter[0]);
    const dyVals = seededValues(size(dyShape), size(dyShape) * 13 + c.strides[0]);
    const ref = runOn("cpu", c, xVals, dyShape, dyVals);
    const got = runOn("wasm", c, xVals, dyShape, dyVals);
    expect(got.shape).toEqual(c.filter);
    expect(ref.shape).toEqual(c.filter);
    expect(got.leaked).toBe(0);
    const K = dyShape[0] * dyShape[1] * dyShape[2];
    let worst = 0; // worst |diff| / tolerance; must stay ≤ 1
    for (let i = 0; i < ref.values.length; i++) {
      const tol = 1e-6 * (K + 1) + 1e-5 * Math.abs(ref.values[i]);
      worst = Math.max(worst, Math.abs(got.values[i] - ref.values[i]) / tol);
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  test("end to end: tf.grad of conv2d w.r.t. the filter on 'wasm' matches 'cpu'", async () => {
    const c = cases[4];
    const xVals = seededValues(size(c.x), 11);
    const fVals = seededValues(size(c.filter), 12);
    const gradOn = async (name: string) => {
      await tf.setBackend(name);
      return tf.tidy(() => {
        const x = tf.tensor4d(xVals, c.x);
        const f = tf.tensor4d(fVals, c.filter);
        // loss = Σ conv(x, f)², so dy = 2·conv(x, f): a non-trivial upstream gradient
        const g = tf.grad((filter: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, filter as tf.Tensor4D, c.strides, "same"))))(f);
        return g.dataSync().slice();
      });
    };
    const ref = await gradOn("cpu");
    const got = await gradOn("wasm");
    expect(tf.getBackend()).toBe("wasm");
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / (1e-4 * (1 + Math.abs(ref[i]))));
    expect(worst).toBeLessThanOrEqual(1);
  });
});
