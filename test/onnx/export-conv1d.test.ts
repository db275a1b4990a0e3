// ONNX export of Conv1D, MaxPool1D and AveragePool1D, held against onnxruntime-web (WASM provider) as
// export-graphs.test.ts holds the image layers: a sequence goes channels first (NCL) once, runs through
// Conv (1-D kernel_shape, strides, dilations, pads [left, right], group), MaxPool and AveragePool
// (count_include_pad 0, as Keras' 'same' mean), a channel Concatenate of two NCL tensors, and comes back for
// Flatten and Dense. On random weights and inputs ORT's outputs must equal predictAll()'s within 1e-5 (the
// same f32 arithmetic in another order).

import { describe, expect, test } from "bun:test";
import { AveragePool1D, Concatenate, Conv1D, Dense, Flatten, Input, MaxPool1D, Model } from "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { decodeModel } from "../../src/onnx/onnx-proto";
import { OnnxSession } from "../../src/onnx/runtime";
import { seededValues, worstMismatch } from "../support/twin-heaps";

const BATCH = 3;

function sequenceModel(): Model {
  const seq = Input({ shape: [13, 3], name: "sequence" });
  let x = new Conv1D({ filters: 4, kernelSize: 3, padding: "causal", dilationRate: 2, activation: "tanh" }).apply(seq);
  x = new Conv1D({ filters: 6, kernelSize: 4, strides: 2, padding: "same", groups: 2, activation: "relu" }).apply(x);
  const branch = new Conv1D({ filters: 2, kernelSize: 2, padding: [1, 0], useBias: false }).apply(x);
  x = new Concatenate().apply([new Conv1D({ filters: 3, kernelSize: 2, padding: [0, 1] }).apply(x), branch]);
  x = new MaxPool1D({ poolSize: 3, strides: 2, padding: "same" }).apply(x);
  x = new AveragePool1D({ poolSize: 2, strides: 3, padding: "same" }).apply(x);
  return new Model({ inputs: seq, outputs: new Dense({ units: 4, activation: "softmax" }).apply(new Flatten().apply(x)), seed: 6 });
}

describe("ONNX export of Conv1D and the 1-D pools", () => {
  test("ONNX Runtime reproduces predictAll(): causal/dilated, grouped/strided/'same' and explicit-padding convolutions, channel concat, both pools", async () => {
    const model = sequenceModel();
    model.build();
    model.setWeights(model.params.map((p, i) => seededValues(p.size, 10 + i, -1, 1)));
    const x = seededValues(BATCH * 13 * 3, 30, -1, 1);
    const [want] = model.predictAll([x]);
    const session = await OnnxSession.open(exportOnnx(model), { provider: "wasm", source: "sequence.onnx" });
    const [got] = await session.runNamed([{ name: session.inputs[0].name, data: x, dims: [BATCH, 13, 3] }]);
    await session.release();
    expect(got.dims).toEqual(want.shape as number[]);
    const r = worstMismatch(got.data, want.data, 1e-5, 0);
    expect(r.worst <= 1 ? "ok" : r).toBe("ok");
  });

  test("the sequence is transposed to NCL once and back once; the 1-D attributes are written", () => {
    const proto = decodeModel(exportOnnx(sequenceModel()), "sequence");
    expect(proto.graph.nodes.filter((n) => n.opType === "Transpose").length).toBe(2);
    const convs = proto.graph.nodes.filter((n) => n.opType === "Conv");
    const attribute = (name: string) => (convs[0].attributes.find((a) => a.name === name) as { ints?: number[] } | undefined)?.ints;
    expect([attribute("kernel_shape"), attribute("dilations"), attribute("pads"), attribute("strides")]).toEqual([[3], [2], [4, 0], [1]]);
    expect(proto.graph.initializers.find((t) => t.name === convs[0].inputs[1])?.dims).toEqual([4, 3, 3]);
    const pool = proto.graph.nodes.find((n) => n.opType === "AveragePool")!;
    expect((pool.attributes.find((a) => a.name === "count_include_pad") as { i?: number } | undefined)?.i).toBe(0);
  });
});
