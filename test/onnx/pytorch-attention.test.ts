// Attention models exported by PyTorch itself (torch.onnx.export, opsets 14 and 17), generated once by
// fixtures/make-attention-models.py into a temporary folder: nn.LayerNorm (written out at opset 14, the
// LayerNormalization operator at 17; over the features, and over [steps, features]), nn.MultiheadAttention
// (batch_first self-attention, without and with a causal attn_mask, and with its per-head weights as a second
// output — averaged over the heads they are refused —; cross-attention with kdim and vdim; batch_first=False
// between transposes), and nn.TransformerEncoderLayer (batch_first, norm_first True and False, ReLU and GELU, dropout 0).
// The import must be one LayerNormalization per nn.LayerNorm and one MultiHeadAttention per
// nn.MultiheadAttention (its packed in-projection re-laid into Keras' kernels), give PyTorch's eval-mode
// outputs within |Δ| ≤ 1e-4·(1 + |want|), and native ONNX Runtime (onnxruntime-node) the same file the same.
// Torch is Debian's python3-torch for /usr/bin/python3: without it these tests skip with the reason, except
// under CI=true, where they fail.

import { afterAll, describe, expect, test } from "bun:test";
import { toleranceReport } from "../support/tolerance-report";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MultiHeadAttention } from "../../src/index";
import { readOnnx } from "../../src/onnx/import";
import { ORT_NAME as ortName, runOrt } from "./ort-reference";
import { runPython, torchAvailable, torchRequired, TORCH_MISSING } from "./torch-support";

interface Flat {
  shape: number[];
  data: number[];
}
interface Reference {
  opset: number;
  inputs: (Flat & { name: string })[];
  outputs: (Flat & { name: string })[];
}

const hasTorch = torchAvailable();
const dir = mkdtempSync(join(tmpdir(), "wasmgrad-torch-attention-"));
const generated = hasTorch ? await runPython([join(import.meta.dir, "fixtures", "make-attention-models.py"), dir]) : undefined;
const load = (name: string) => ({ bytes: readFileSync(join(dir, `${name}.onnx`)), reference: JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as Reference });

// name, what, the imported layers (in order), and for the attention: causal, returnAttentionScores, useBias.
const MODELS: [string, string, string[], [boolean, boolean, boolean]?][] = [
  ["layer_norm_14", "opset 14: nn.LayerNorm(8) and nn.LayerNorm([6, 8], elementwise_affine=False), written out", ["LayerNormalization", "LayerNormalization"]],
  ["layer_norm_17", "opset 17: the same with γ and β on both, as LayerNormalization operators", ["LayerNormalization", "LayerNormalization"]],
  ["mha_self", "opset 14: nn.MultiheadAttention(8, 2) self-attention, need_weights=False", ["MultiHeadAttention"], [false, false, true]],
  ["mha_causal", "opset 14: the same with a causal attn_mask (−∞ above the diagonal)", ["MultiHeadAttention"], [true, false, true]],
  ["mha_weights", "opset 14: causal, bias=False, the per-head weights as a second output (average_attn_weights=False)", ["MultiHeadAttention"], [true, true, false]],
  ["mha_cross", "opset 14: cross-attention to keys and values of 4 steps, kdim=5, vdim=3 (three inputs, separate projections)", ["MultiHeadAttention"], [false, false, true]],
  ["mha_time_major", "opset 13: batch_first=False on x.transpose(0, 1), 4 heads", ["MultiHeadAttention"], [false, false, true]],
  ["encoder_post_relu", "opset 14: nn.TransformerEncoderLayer, norm_first=False, ReLU", ["MultiHeadAttention", "Add", "LayerNormalization", "Dense", "Dense", "Add", "LayerNormalization"], [false, false, true]],
  ["encoder_pre_gelu", "opset 14: norm_first=True, GELU (its Erf form)", ["LayerNormalization", "MultiHeadAttention", "Add", "LayerNormalization", "Dense", "Dense", "Add"], [false, false, true]],
  ["encoder_post_gelu", "opset 17: norm_first=False, GELU, LayerNormalization operators", ["MultiHeadAttention", "Add", "LayerNormalization", "Dense", "Dense", "Add", "LayerNormalization"], [false, false, true]],
  ["encoder_pre_relu", "opset 17: norm_first=True, ReLU", ["LayerNormalization", "MultiHeadAttention", "Add", "LayerNormalization", "Dense", "Dense", "Add"], [false, false, true]],
];

const { worst, expectClose } = toleranceReport();

if (torchRequired && !hasTorch) {
  test("PyTorch is installed for /usr/bin/python3 (CI=true requires it)", () => {
    throw new Error(`${TORCH_MISSING}; under CI=true the PyTorch comparison tests must run`);
  });
}

describe.skipIf(!hasTorch)(`attention models exported by PyTorch${hasTorch ? "" : ` — SKIPPED: ${TORCH_MISSING}`}`, () => {
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    console.log(`pytorch-attention: generated in ${generated?.seconds.toFixed(1)} s; worst tolerance ratios ${JSON.stringify(worst)}`);
  });

  test("the generator ran (torch.onnx.export of every model)", () => {
    expect({ code: generated?.code, stderr: generated?.code ? generated.stderr : "" }).toEqual({ code: 0, stderr: "" });
  });

  for (const [name, what, layers, attention] of MODELS) {
    test(`${name} (${what}): PyTorch's outputs, and ${ortName} agrees`, async () => {
      const { bytes, reference } = load(name);
      const imported = readOnnx(bytes, { source: `${name}.onnx` });
      expect(imported.model.layers.map((l) => l.type).filter((t) => t !== "Input")).toEqual(layers);
      if (attention) {
        const mha = imported.model.layers.find((l): l is MultiHeadAttention => l instanceof MultiHeadAttention)!;
        const heads = name === "mha_time_major" ? 4 : 2;
        expect([mha.numHeads, mha.keyDim, mha.valueDim, mha.useCausalMask, mha.returnAttentionScores, mha.useBias]).toEqual([heads, 8 / heads, 8 / heads, ...attention]);
      }
      expect(imported.inputs.map((i) => i.name)).toEqual(reference.inputs.map((i) => i.name));
      const outputs = imported.model.predictAll(reference.inputs.map((x) => Float32Array.from(x.data)));
      expect(outputs.length).toBe(reference.outputs.length);
      reference.outputs.forEach((want, i) => {
        expect([...outputs[i].shape]).toEqual(want.shape);
        expectClose(outputs[i].data, want.data, 1e-4, 1e-4, `${name} ${want.name}`, "outputs vs PyTorch");
      });
      const ort = await runOrt(bytes, reference.inputs.map((x) => ({ name: x.name, shape: x.shape, data: x.data })));
      ort.forEach((o, i) => expectClose(o, reference.outputs[i].data, 1e-4, 1e-4, `${name} ${ortName}`, "ONNX Runtime vs PyTorch"));
    });
  }

  test("mha_averaged (need_weights' default: the weights averaged over the heads as an output) is refused by the Softmax's name", () => {
    const { bytes } = load("mha_averaged");
    expect(() => readOnnx(bytes, { source: "mha_averaged.onnx" })).toThrow(
      /^mha_averaged\.onnx: node \/attention\/Softmax \(Softmax\): attention that wasmgrad cannot import as a MultiHeadAttention layer: the attention weights are read by .* besides the product with the values, other than as an output \(PyTorch's need_weights averages them over the heads: export with need_weights=False or average_attn_weights=False\)$/,
    );
  });
});
