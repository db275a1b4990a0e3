// transformerEncoderBlock / transformerDecoderBlock build pre-norm blocks out of checked layers; this holds
// what the builders add: the wiring. A block is x + MHA(LN(x)) then + FFN(LN(x)) — compared here with the
// same computation written out from the block's own layers' weights — causal blocks do not look ahead (an
// output at step t does not change when later steps do), the decoder attends to its memory, and a small
// causal model trains (loss falls) and round-trips through its JSON config.

import { expect, test } from "bun:test";
import { Input, Model, transformerDecoderBlock, transformerEncoderBlock, type Tensor } from "../../src/index";
import { modelFromConfig } from "../../src/model/model-config";
import { layerFromConfig } from "../../src/layers/registry";
import { seededValues, worstMismatch } from "../support/twin-heaps";

const T = 5, D = 8;

function encoder(causal: boolean): Model {
  const x = Input({ shape: [T, D] });
  return new Model({ inputs: x, outputs: transformerEncoderBlock(x, { numHeads: 2, ffDim: 16, causal, name: "b" }), seed: 3 });
}

test("a block is x + MHA(LN(x)), then + FFN(LN(x)): equal to the same layers run by hand", () => {
  const model = encoder(false);
  expect(model.layers.map((l) => l.type)).toEqual(["LayerNormalization", "MultiHeadAttention", "Add", "LayerNormalization", "Dense", "Dense", "Add"]);
  const x = seededValues(2 * T * D, 1, -1, 1);
  const whole = (model.predict(x) as Tensor).data; // builds the model, so its layers have their weights
  const [norm1, attention, , norm2, inner, outer] = model.layers;
  // A layer belongs to one model: run copies of the block's layers, given the block's weights.
  const piece = (layers: typeof model.layers, input: Float32Array) => {
    const i = Input({ shape: [T, D] });
    let h = i;
    for (const l of layers) h = layerFromConfig(l.getConfig(), "copy").apply(h);
    const m = new Model({ inputs: i, outputs: h });
    m.setWeights(layers.flatMap((l) => l.params.map((p) => model.getWeights()[model.params.indexOf(p)])));
    return (m.predict(input) as Tensor).data;
  };
  const afterAttention = piece([norm1, attention], x).map((v, i) => v + x[i]);
  const out = piece([norm2, inner, outer], afterAttention).map((v, i) => v + afterAttention[i]);
  expect(worstMismatch(whole, out, 1e-6, 1e-6).worst).toBeLessThanOrEqual(1);
});

test("a causal block does not look ahead; a plain one does", () => {
  for (const causal of [true, false]) {
    const model = encoder(causal);
    const x = seededValues(T * D, 2, -1, 1), changed = x.slice();
    changed.fill(3, 3 * D); // steps 3 and 4 only
    const [a, b] = [x, changed].map((v) => (model.predict(v) as Tensor).data);
    const early = worstMismatch(a.subarray(0, 3 * D), b.subarray(0, 3 * D), 1e-6, 0).worst;
    if (causal) expect(early).toBeLessThanOrEqual(1);
    else expect(early).toBeGreaterThan(1);
  }
});

test("a decoder block attends to its memory and trains; the model survives its JSON form", () => {
  const target = Input({ shape: [T, D], name: "target" }), memory = Input({ shape: [7, D], name: "memory" });
  const out = transformerDecoderBlock(target, memory, { numHeads: 2, ffDim: 16, dropout: 0.1 });
  const model = new Model({ inputs: [target, memory], outputs: out, seed: 4 });
  const t = seededValues(4 * T * D, 5, -1, 1), m = seededValues(4 * 7 * D, 6, -1, 1), m2 = seededValues(4 * 7 * D, 7, -1, 1);
  const [p1, p2] = [m, m2].map((mem) => (model.predictAll([t, mem])[0]).data);
  expect(worstMismatch(p1, p2, 1e-6, 0).worst).toBeGreaterThan(1);
  model.compile({ optimizer: "adam", loss: "meanSquaredError" });
  const y = seededValues(4 * T * D, 8, -0.5, 0.5);
  const first = model.trainOnBatch([t, m], y);
  let last = first;
  for (let i = 0; i < 60; i++) last = model.trainOnBatch([t, m], y);
  expect(last).toBeLessThan(first * 0.5);
  const again = modelFromConfig(model.toConfig(), { where: "round trip" });
  again.setWeights(model.getWeights());
  expect(Array.from(again.predictAll([t, m])[0].data)).toEqual(Array.from(model.predictAll([t, m])[0].data));
});
