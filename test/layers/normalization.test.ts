// The Normalization layer (Keras' preprocessing layer): adapt() learns each feature's population mean and
// variance (checked against float64 sums here), a constant feature is left unscaled as scikit-learn's
// StandardScaler leaves it, forward standardises and backward divides by the standard deviation (finite
// differences), training leaves the statistics alone, a checkpoint carries them through save, load and a
// resumed fit, and ONNX Runtime (onnxruntime-web, WASM) runs the exported Sub + Div to predict()'s values;
// with invert, the inverse (Mul + Add), as a regression's last layer uses it.

import { describe, expect, test } from "bun:test";
import { Dense, Normalization, Sequential, decodeCheckpoint, encodeCheckpoint, layerFromConfig, InputError } from "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { decodeModel } from "../../src/onnx/onnx-proto";
import { OnnxSession } from "../../src/onnx/runtime";
import { Rng } from "../../src/engine/rng";
import { crc32 } from "../../src/model/crc32";
import { Heap } from "../../src/engine/heap";
import { seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";
import { compareGradients, LayerProbe, probeIndices } from "../support/gradient-check";

/** Rows of features on very different scales: thousands, units, below 0.01, and a constant. */
function table(rows: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: rows * 4 }, (_, i) => [1000 + 300 * rng.normal(), 2 + rng.normal(), 0.005 + 0.002 * rng.normal(), 7][i % 4]);
}

describe("Normalization", () => {
  test("adapt learns the population mean and variance; a constant feature keeps variance 1", () => {
    const x = table(200);
    const layer = new Normalization();
    layer.adapt(x, 4);
    const model = new Sequential({ inputShape: [4], layers: [layer] });
    model.build();
    for (let c = 0; c < 4; c++) {
      let mean = 0;
      for (let r = 0; r < 200; r++) mean += x[r * 4 + c] / 200;
      let variance = 0;
      for (let r = 0; r < 200; r++) variance += (x[r * 4 + c] - mean) ** 2 / 200;
      expect(layer.mean[c]).toBeCloseTo(mean, c === 0 ? 2 : 6);
      expect(layer.variance[c] / (c === 3 ? 1 : variance)).toBeCloseTo(1, 5);
    }
    expect(layer.variance[3]).toBe(1);
    const y = model.predict(x).data;
    // Standardised: mean 0 and variance 1 per feature (the constant feature 7 − 7 = 0).
    for (let c = 0; c < 3; c++) {
      let m = 0, v = 0;
      for (let r = 0; r < 200; r++) m += y[r * 4 + c] / 200;
      for (let r = 0; r < 200; r++) v += (y[r * 4 + c] - m) ** 2 / 200;
      expect(Math.abs(m)).toBeLessThan(1e-4);
      expect(v).toBeCloseTo(1, 3);
    }
    for (let r = 0; r < 200; r++) expect(y[r * 4 + 3]).toBe(0);
    expect(model.countParams()).toBe(0);
  });

  test("before adapt it is the identity; adapt on a built layer replaces the statistics", () => {
    const layer = new Normalization();
    const model = new Sequential({ inputShape: [3], layers: [layer] });
    const x = Float32Array.of(1, -2, 3, 4, 5, -6);
    expect(Array.from(model.predict(x).data)).toEqual(Array.from(x));
    layer.adapt(x);
    expect(Array.from(layer.mean)).toEqual([2.5, 1.5, -1.5]);
    expect(Array.from(layer.variance)).toEqual([2.25, 12.25, 20.25]);
    expect(Array.from(model.predict(x).data, (v) => Math.round(v * 1e6) / 1e6)).toEqual([-1, -1, 1, 1, 1, -1]);
  });

  test("backward is dy / √variance (finite differences), on feature vectors and on sequences", () => {
    const failures: string[] = [];
    for (const shape of [[5], [3, 4]]) {
      const layer = new Normalization();
      const heap = new Heap(wasmVariants()[0].make());
      const probe = new LayerProbe(layer, heap, shape, 3);
      const c = shape[shape.length - 1];
      layer.setStatistics(seededValues(c, 4, -2, 2), seededValues(c, 5, 0.2, 3));
      heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, 6, -1, 1));
      const analytic = probe.analytic();
      const indices = probeIndices(probe.inputCount, 60, 1);
      failures.push(...compareGradients(`Normalization [${shape}]`, analytic.input, probe.numeric(probe.input, probe.inputCount, indices, 1e-2), indices, { atol: 2e-4, rtol: 2e-3 }));
      expect(layer.params).toEqual([]);
    }
    expect(failures).toEqual([]);
  });

  test("fit leaves the statistics alone; a checkpoint carries them through load and a resumed fit", async () => {
    const x = table(64, 2);
    const y = Float32Array.from({ length: 64 }, (_, r) => (x[r * 4] > 1000 ? 1 : 0));
    const norm = new Normalization();
    const model = new Sequential({ inputShape: [4], seed: 3, layers: [norm, new Dense({ units: 1, activation: "sigmoid" })] });
    model.build();
    norm.adapt(x);
    const before = [...norm.getState()];
    model.compile({ optimizer: { type: "adam", learningRate: 0.05 }, loss: "binaryCrossentropy", metrics: ["accuracy"] });
    await model.fit(x, y, { epochs: 2, batchSize: 16 });
    expect(norm.getState()).toEqual(before);
    const loaded = decodeCheckpoint(encodeCheckpoint(model), "norm.wgd").model;
    const again = loaded.layers[0] as Normalization;
    expect(Array.from(again.mean)).toEqual(Array.from(norm.mean));
    expect(Array.from(again.variance)).toEqual(Array.from(norm.variance));
    expect(Array.from(loaded.predictAll(x)[0].data)).toEqual(Array.from(model.predict(x).data));
    // Resumed training continues from the same state in both copies, bit for bit.
    await model.fit(x, y, { epochs: 3, batchSize: 16, initialEpoch: 2 });
    await loaded.fit(x, y, { epochs: 3, batchSize: 16, initialEpoch: 2 });
    expect(Array.from(loaded.predictAll(x)[0].data)).toEqual(Array.from(model.predict(x).data));
    expect(again.getState()).toEqual(before);
  });

  test("a checkpoint whose saved variance is not positive is refused", () => {
    const model = new Sequential({ inputShape: [2], layers: [new Normalization({ name: "norm" }), new Dense({ units: 1 })] });
    model.build();
    const patched = encodeCheckpoint(model);
    // The state [mean, mean, variance, variance] in the JSON header, with the last variance set to 0 (same length).
    const at = Buffer.from(patched).indexOf('"norm":[0,0,1,1]');
    expect(at).toBeGreaterThan(0);
    patched[at + '"norm":[0,0,1,'.length] = "0".charCodeAt(0);
    // Recompute the trailing CRC-32 so the check that fails is the variance's, not the checksum's.
    new DataView(patched.buffer).setUint32(patched.length - 4, crc32(patched.subarray(0, patched.length - 4)), true);
    expect(() => decodeCheckpoint(patched, "bad.wgd")).toThrow(/layer 'norm' \(Normalization\) has a variance that is not positive/);
  });

  test("ONNX: a Sub and a Div that ONNX Runtime runs to predict()'s outputs", async () => {
    const x = table(9, 4);
    const norm = new Normalization();
    const model = new Sequential({ inputShape: [4], seed: 5, layers: [norm, new Dense({ units: 3, activation: "softmax" })] });
    model.build();
    norm.adapt(table(100, 5));
    const bytes = exportOnnx(model);
    const ops = decodeModel(bytes).graph.nodes.map((n) => n.opType);
    expect(ops.slice(0, 2)).toEqual(["Sub", "Div"]);
    const session = await OnnxSession.open(bytes, { provider: "wasm", source: "norm.onnx" });
    const [out] = await session.run(x, [9, 4]);
    await session.release();
    const r = worstMismatch(out.data, model.predict(x).data, 1e-5, 0);
    expect(r.worst).toBeLessThanOrEqual(1);
  });

  test("invert (Keras' invert=True): x·√variance + mean, its gradient dy·√variance, the inverse of the plain layer; ONNX Mul + Add", async () => {
    const stats = { mean: Float32Array.of(150, -2), variance: Float32Array.of(5929, 0.25) };
    const forward = new Normalization(), inverse = new Normalization({ invert: true });
    const model = new Sequential({ inputShape: [2], layers: [forward, inverse] });
    model.build();
    for (const layer of [forward, inverse]) layer.setStatistics(stats.mean, stats.variance);
    const x = Float32Array.of(151, -3, 77, 0.5, 300, -2);
    expect(worstMismatch(model.predictAll(x)[0].data, x, 1e-4, 1e-6).worst).toBeLessThanOrEqual(1);
    const heap = new Heap(wasmVariants()[0].make());
    const layer = new Normalization({ invert: true });
    const probe = new LayerProbe(layer, heap, [2], 3);
    layer.setStatistics(stats.mean, stats.variance);
    heap.f32(probe.input, probe.inputCount).set(seededValues(probe.inputCount, 7, -1, 1));
    const indices = probeIndices(probe.inputCount, 6, 1);
    expect(compareGradients("Normalization invert", probe.analytic().input, probe.numeric(probe.input, probe.inputCount, indices, 1e-2), indices, { atol: 1e-2, rtol: 2e-3 })).toEqual([]);
    expect(layerFromConfig({ type: "Normalization", invert: true }, "layers[0]").getConfig()).toMatchObject({ invert: true });
    expect(new Normalization().getConfig()).not.toHaveProperty("invert");
    const onnx = new Sequential({ inputShape: [2], layers: [new Normalization({ invert: true })] });
    onnx.build();
    (onnx.layers[0] as Normalization).setStatistics(stats.mean, stats.variance);
    const bytes = exportOnnx(onnx);
    expect(decodeModel(bytes).graph.nodes.map((n) => n.opType)).toEqual(["Mul", "Add"]);
    const session = await OnnxSession.open(bytes, { provider: "wasm", source: "inverse.onnx" });
    const [out] = await session.run(x, [3, 2]);
    await session.release();
    expect(worstMismatch(out.data, onnx.predictAll(x)[0].data, 1e-5, 1e-6).worst).toBeLessThanOrEqual(1);
  });

  test("model files: {\"type\": \"Normalization\"} builds; another axis is refused", () => {
    expect(layerFromConfig({ type: "Normalization", axis: -1 }, "layers[0]")).toBeInstanceOf(Normalization);
    expect(() => layerFromConfig({ type: "Normalization", axis: 1 }, "layers[0]")).toThrow(/'axis' must be -1/);
    expect(() => layerFromConfig({ type: "Normalization", mean: 3 }, "layers[0]")).toThrow(InputError);
    expect(() => new Normalization().adapt(Float32Array.of(1, 2, 3))).toThrow(/needs the number of features/);
    expect(() => new Normalization().setStatistics([0], [0])).toThrow(/variance positive/);
  });
});
