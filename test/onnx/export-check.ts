// What the export tests share: a model's ONNX export run in onnxruntime-web's WASM provider against the
// model's own predictAll on the same inputs, as the worst ratio of |Δ| to 1e-5 (≤ 1 passes); `mutate` edits
// the decoded graph first, for tests that show a broken export is caught. And the round trip the import
// tests share: seeded weights, export, import back, the same inputs and outputs.

import { expect } from "bun:test";
import type { Model } from "../../src/model/model";
import { exportOnnx } from "../../src/onnx/export";
import { readOnnx } from "../../src/onnx/import";
import { decodeModel, encodeModel, type ModelProto } from "../../src/onnx/onnx-proto";
import { OnnxSession } from "../../src/onnx/runtime";
import { seededValues, worstMismatch } from "../support/twin-heaps";

export async function worstAgainstOrt(model: Model, xs: Float32Array[], batch: number, options: { mutate?: (proto: ModelProto) => void; opset?: number } = {}): Promise<number> {
  const want = model.predictAll(xs);
  const proto = decodeModel(exportOnnx(model, { opset: options.opset }), "export");
  options.mutate?.(proto);
  const session = await OnnxSession.open(encodeModel(proto), { provider: "wasm", source: "export.onnx" });
  const names = session.inputs.map((i) => i.name);
  const got = await session.runNamed(xs.map((data, i) => ({ name: names[i], data, dims: [batch, ...model.inputShapes[i]] })));
  await session.release();
  expect(got.length).toBe(want.length);
  let worst = 0;
  got.forEach((out, i) => {
    expect(out.dims).toEqual(want[i].shape as number[]);
    worst = Math.max(worst, worstMismatch(out.data, want[i].data, 1e-5, 0).worst);
  });
  return worst;
}

/**
 * Seeded weights in ±0.6, exported (at `opset`) and imported back: the same input shapes, the same parameter
 * count (unless sameParams is false: an import may add frozen helpers) and every output within 1e-5 + 1e-5·|y|.
 */
export function roundTrip(model: Model, xs: Float32Array[], options: { opset?: number; sameParams?: boolean } = {}): ReturnType<typeof readOnnx> {
  model.build();
  model.setWeights(model.params.map((p, i) => seededValues(p.size, 20 + i, -0.6, 0.6)));
  const back = readOnnx(exportOnnx(model, { opset: options.opset }), { source: "roundtrip.onnx" });
  expect(back.model.inputShapes).toEqual(model.inputShapes);
  if (options.sameParams !== false) expect(back.model.countParams()).toBe(model.countParams());
  const want = model.predictAll(xs), got = back.model.predictAll(xs);
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const m = worstMismatch(got[i].data, w.data, 1e-5, 1e-5);
    expect({ output: i, shape: got[i].shape, worst: m.worst <= 1 ? "ok" : m }).toEqual({ output: i, shape: w.shape, worst: "ok" });
  });
  return back;
}
