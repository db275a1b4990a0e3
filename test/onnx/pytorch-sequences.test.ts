// Sequence models exported by PyTorch itself (torch.onnx.export, opsets 11, 13 and 14), generated once by
// fixtures/make-sequence-models.py into a temporary folder: nn.Embedding (int64 ids) into nn.LSTM, a two-layer
// bidirectional nn.GRU, a time-major two-layer ReLU nn.RNN (batch_first=False), a time-major bidirectional
// nn.LSTM read through h_n, and a bidirectional nn.RNN with a GRU beside it (two outputs).
//   outputs   — wasmgrad's import must give PyTorch's eval-mode outputs, and native ONNX Runtime
//               (onnxruntime-node) the same;
//   gradients — the imported model's loss (cross-entropy from logits on fixed labels) and the gradient of
//               every parameter must be PyTorch's, each PyTorch parameter re-laid here independently of the
//               importer (W = weight_ihᵀ, U = weight_hhᵀ, GRU gates r, z, n → z, r, h and its two biases as
//               our two rows; the LSTM's and RNN's b_ih + b_hh are one bias here, whose gradient is each of
//               theirs); then one SGD step (lr 0.1) must move every parameter by −lr times that gradient.
// Tolerances: outputs |Δ| ≤ 1e-4·(1 + |want|), loss 1e-5·(1 + loss), gradients |Δ| ≤ 1e-5 + 1e-3·|g| (f32 on
// both sides with the steps' sums in different orders, as test/layers/recurrent-pytorch.test.ts).
// Torch is Debian's python3-torch for /usr/bin/python3: without it these tests skip with the reason, except
// under CI=true, where they fail.

import { afterAll, describe, expect, test } from "bun:test";
import { toleranceReport } from "../support/tolerance-report";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../../src/index";
import { Bidirectional } from "../../src/layers/bidirectional";
import { readOnnx } from "../../src/onnx/import";
import { worstMismatch } from "../support/twin-heaps";
import { ORT_NAME as ortName, runOrt } from "./ort-reference";
import { gruGateOrder, runPython, torchAvailable, torchRequired, transposed, TORCH_MISSING } from "./torch-support";

interface Flat {
  shape: number[];
  data: number[];
}
interface Cell {
  prefix: string;
  kind: "lstm" | "gru" | "rnn";
  layers: number;
  bidirectional: boolean;
}
interface Reference {
  inputs: (Flat & { name: string; int64: boolean })[];
  outputs: (Flat & { name: string })[];
  labels: number[][];
  loss: number;
  params: Record<string, Flat>;
  grads: Record<string, Flat>;
  cells: Cell[];
}

const hasTorch = torchAvailable();
const dir = mkdtempSync(join(tmpdir(), "wasmgrad-torch-sequences-"));
const generated = hasTorch ? await runPython([join(import.meta.dir, "fixtures", "make-sequence-models.py"), dir]) : undefined;
const load = (name: string) => ({ bytes: readFileSync(join(dir, `${name}.onnx`)), reference: JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as Reference });

const MODELS: [string, string, string[]][] = [
  ["lstm_last", "opset 13: int64 ids → nn.Embedding → nn.LSTM (batch_first) → Linear on out[:, -1]", ["Embedding", "LSTM", "Dense"]],
  ["gru_stack", "opset 14: ids → nn.Embedding → two-layer bidirectional nn.GRU (batch_first) → mean over steps → Linear", ["Embedding", "Bidirectional(GRU)", "Bidirectional(GRU)", "Dense"]],
  ["rnn_time_major", "opset 13: features → x.transpose(0, 1) → two-layer ReLU nn.RNN (batch_first=False) → Linear on out[-1]", ["SimpleRNN", "SimpleRNN", "Dense"]],
  ["lstm_states", "opset 11: ids → nn.Embedding → time-major bidirectional nn.LSTM → Linear on cat(h_n[0], h_n[1])", ["Embedding", "Bidirectional(LSTM)", "Dense"]],
  ["rnn_max", "opset 13: features → bidirectional tanh nn.RNN → amax over steps → Linear; a GRU's out[:, -1] → Linear (two outputs)", ["Bidirectional(SimpleRNN)", "Dense", "GRU", "Dense"]],
];

/**
 * PyTorch's parameters (or their gradients) in our layers' order and layouts, from the names alone: the
 * embedding, each cell's layers (forward then reverse), then the Linear heads — the order the importer's
 * layers have them (asserted separately by their types).
 */
function ours(reference: Reference, from: Record<string, Flat>, gradients: boolean, order: string[]): Map<string, Float32Array[]> {
  const out = new Map<string, Float32Array[]>();
  const data = (name: string) => Float32Array.from(from[name].data);
  for (const cell of reference.cells) {
    const units = from[`${cell.prefix}weight_hh_l0`].shape[1];
    const gates = cell.kind === "gru" ? (v: Float32Array) => gruGateOrder(v, units) : (v: Float32Array) => v;
    for (let l = 0; l < cell.layers; l++) {
      const params: Float32Array[] = [];
      for (const suffix of cell.bidirectional ? [`l${l}`, `l${l}_reverse`] : [`l${l}`]) {
        const [bih, bhh] = [data(`${cell.prefix}bias_ih_${suffix}`), data(`${cell.prefix}bias_hh_${suffix}`)];
        const bias = cell.kind === "gru" ? Float32Array.from([...gates(bih), ...gates(bhh)]) : gradients ? bih : bih.map((v, i) => v + bhh[i]);
        params.push(gates(transposed(from[`${cell.prefix}weight_ih_${suffix}`])), gates(transposed(from[`${cell.prefix}weight_hh_${suffix}`])), bias);
      }
      out.set(`${cell.prefix}l${l}`, params);
    }
  }
  for (const name of order) {
    if (out.has(name)) continue;
    out.set(name, name === "emb." ? [data("emb.weight")] : [transposed(from[`${name}weight`]), data(`${name}bias`)]);
  }
  return out;
}

/** The owners of our parameter-bearing layers, in their order: "emb.", "<cell prefix>l<k>", "<head>.". */
function owners(reference: Reference, heads: string[]): string[] {
  const cells = reference.cells.flatMap((c) => Array.from({ length: c.layers }, (_, l) => `${c.prefix}l${l}`));
  return ["emb.weight" in reference.params ? ["emb."] : [], cells, heads].flat();
}

const { worst, expectClose } = toleranceReport();

if (torchRequired && !hasTorch) {
  test("PyTorch is installed for /usr/bin/python3 (CI=true requires it)", () => {
    throw new Error(`${TORCH_MISSING}; under CI=true the PyTorch comparison tests must run`);
  });
}

describe.skipIf(!hasTorch)(`sequence models exported by PyTorch${hasTorch ? "" : ` — SKIPPED: ${TORCH_MISSING}`}`, () => {
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    console.log(`pytorch-sequences: generated in ${generated?.seconds.toFixed(1)} s; worst tolerance ratios ${JSON.stringify(worst)}`);
  });

  test("the generator ran (torch.onnx.export of every model)", () => {
    expect({ code: generated?.code, stderr: generated?.code ? generated.stderr : "" }).toEqual({ code: 0, stderr: "" });
  });

  const typeOf = (l: { type: string }) => (l instanceof Bidirectional ? `Bidirectional(${l.forwardLayer.type})` : l.type);

  for (const [name, what, layers] of MODELS) {
    test(`${name} (${what}): PyTorch's outputs, and ${ortName} agrees`, async () => {
      const { bytes, reference } = load(name);
      const imported = readOnnx(bytes, { source: `${name}.onnx` });
      expect(imported.model.layers.filter((l) => l.params.length > 0).map(typeOf)).toEqual(layers);
      expect(imported.inputs[0].integer).toBe(reference.inputs[0].int64 ? "int64" : undefined);
      const outputs = imported.model.predictAll([Float32Array.from(reference.inputs[0].data)]);
      reference.outputs.forEach((want, i) => expectClose(outputs[i].data, want.data, 1e-4, 1e-4, `${name} ${want.name}`, "outputs vs PyTorch"));
      const feeds = reference.inputs.map((x) => ({ name: x.name, shape: x.shape, data: x.data, ...(x.int64 ? { type: "int64" as const } : {}) }));
      const ort = await runOrt(bytes, feeds);
      ort.forEach((o, i) => expectClose(o, reference.outputs[i].data, 1e-4, 1e-4, `${name} ${ortName}`, "ONNX Runtime vs PyTorch"));
    });

    test(`${name}: PyTorch's loss and every parameter's gradient; one SGD step moves each parameter by −0.1 × it`, () => {
      const { bytes, reference } = load(name);
      const model = readOnnx(bytes, { source: `${name}.onnx` }).model;
      const heads = reference.outputs.length === 1 ? ["fc."] : ["fc.", "aux."];
      const order = owners(reference, heads);
      // The heads in the model's layer order (rnn_max: fc after the RNN, aux after the GRU).
      const trained = model.layers.filter((l) => l.params.length > 0);
      const sequence = name === "rnn_max" ? ["rnn.l0", "fc.", "gru.l0", "aux."] : order;
      expect(trained.length).toBe(sequence.length);
      const before = ours(reference, reference.params, false, order), grads = ours(reference, reference.grads, true, order);
      // The file's weights are PyTorch's (re-laid by the importer; here by the names).
      const weights = model.getWeights().map((w) => w.data);
      const wantWeights = sequence.flatMap((owner) => before.get(owner)!);
      wantWeights.forEach((w, i) => expectClose(weights[i], w, 1e-7, 1e-6, `${name} ${model.params[i].name} as imported`, "weights as imported"));

      model.compile({ optimizer: { type: "sgd", learningRate: 0.1 }, loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
      const labels = reference.labels.map((l) => Int32Array.from(l));
      const x = [Float32Array.from(reference.inputs[0].data)];
      const target = labels.length === 1 ? labels[0] : labels;
      const mine = model.computeGradients(x, target);
      expectClose([mine.loss], [reference.loss], 1e-5, 1e-5, `${name} loss`, "loss vs PyTorch");
      const wantGrads = sequence.flatMap((owner) => grads.get(owner)!);
      model.params.forEach((p, i) => expectClose(mine.grads[i].data, wantGrads[i], 1e-5, 1e-3, `${name} d${p.name}`, "gradients vs PyTorch"));

      model.trainOnBatch(x, target);
      model.getWeights().forEach((w, i) => {
        const step = wantWeights[i].map((v, k) => v - 0.1 * wantGrads[i][k]);
        expectClose(w.data, step, 1e-6, 1e-4, `${name} ${model.params[i].name} after one step`, "parameters after SGD");
      });
    });
  }

  test("the check can fail: the GRU's gates taken in PyTorch's order (r, z, n) give other logits", () => {
    const { bytes, reference } = load("rnn_max");
    const model = readOnnx(bytes, { source: "rnn_max.onnx" }).model;
    const weights = model.getWeights().map((w) => w.data);
    const gru = model.layers.findIndex((l) => l.type === "GRU");
    const first = model.layers.slice(0, gru).reduce((n, l) => n + l.params.length, 0);
    weights[first] = transposed(reference.params["gru.weight_ih_l0"]);
    model.setWeights(weights);
    const [, aux] = model.predictAll([Float32Array.from(reference.inputs[0].data)]);
    expect(worstMismatch(aux.data, reference.outputs[1].data, 1e-4, 1e-4).worst).toBeGreaterThan(1);
  });
});
