// What the export tests share: a model's ONNX export run in onnxruntime-web's WASM provider against the
// model's own predictAll on the same inputs, as the worst ratio of |Δ| to 1e-5 (≤ 1 passes). `mutate` edits
// the decoded graph first, for tests that show a broken export is caught.

import { expect } from "bun:test";
import type { Model } from "../../src/model/model";
import { exportOnnx } from "../../src/onnx/export";
import { decodeModel, encodeModel, type ModelProto } from "../../src/onnx/onnx-proto";
import { OnnxSession } from "../../src/onnx/runtime";
import { worstMismatch } from "../support/twin-heaps";

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
