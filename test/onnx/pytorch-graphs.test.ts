// Graph-shaped models exported by PyTorch itself (torch.onnx.export, opsets 9, 11, 13 and 14), generated once
// by fixtures/make-graph-models.py into a temporary folder: hand-written residual, branch/concat, two-input
// two-output, shared-weight (siamese), U-Net and convolution-family (mobile) nets, torchvision's ResNet-18 and MobileNetV2.
//   outputs — wasmgrad's import must give PyTorch's eval-mode outputs, and native ONNX Runtime
//             (onnxruntime-node; onnxruntime-web where it is not installed) the same;
//   training — one SGD step (lr 0.1, cross-entropy from logits on fixed labels, batch norm in train mode,
//             i.e. batch statistics) on the imported model must give PyTorch's loss and PyTorch's updated
//             parameters, every one of them, re-laid by the importer's own ParameterSource functions.
// Tolerances: outputs |Δ| ≤ 1e-4·(1 + |want|), parameters |Δ| ≤ 1e-6 + 1e-4·|want|. Both sides compute in
// float32 in different orders (im2col + GEMM against oneDNN/ORT's kernels); ResNet-18's logits pass 20
// convolutions. The torchvision models run at 3×65×65, where every stride-2 layer sees an odd size and
// PyTorch's padding is TensorFlow's 'same', and at 3×64×64, where it takes explicit padding.
// Torch is Debian's python3-torch for /usr/bin/python3: without it these tests skip with the reason,
// except under CI=true, where they fail (scripts/install-test-packages.sh installs it there).

import { afterAll, describe, expect, test } from "bun:test";
import { toleranceReport } from "../support/tolerance-report";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../../src/index";
import type { Model } from "../../src/model/model";
import { readOnnx, type OnnxImport } from "../../src/onnx/import";
import { ORT_NAME as ortName, runOrt } from "./ort-reference";
import { runPython, toNhwc, torchAvailable, torchRequired, TORCH_MISSING } from "./torch-support";

interface Named {
  name: string;
  shape: number[];
  data: number[];
}
interface Reference {
  inputs: Named[];
  outputs: Named[];
  labels?: number[][];
  loss?: number;
  after?: Record<string, { shape: number[]; data: number[] }>;
  even?: { inputs: Named[]; outputs: Named[] };
}

const hasTorch = torchAvailable(["torch", "torchvision"]);
const dir = mkdtempSync(join(tmpdir(), "wasmgrad-torch-graphs-"));
const generated = hasTorch ? await runPython([join(import.meta.dir, "fixtures", "make-graph-models.py"), dir]) : undefined;
const load = (name: string) => ({ bytes: readFileSync(join(dir, `${name}.onnx`)), reference: JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as Reference });

/** The reference batch as the imported model takes it: channels-last where the import says so. */
function feedsFor(imported: OnnxImport, inputs: Named[]): Float32Array[] {
  return imported.inputs.map((info, i) => (info.channelsLast ? toNhwc(inputs[i].data, inputs[i].shape) : Float32Array.from(inputs[i].data)));
}

const { worst, expectClose } = toleranceReport();

function expectOutputs(model: Model, imported: OnnxImport, reference: { inputs: Named[]; outputs: Named[] }, label: string): void {
  const outputs = model.predictAll(feedsFor(imported, reference.inputs));
  reference.outputs.forEach((want, i) => expectClose(outputs[i].data, want.data, 1e-4, 1e-4, `${label} ${want.name}`, "outputs vs PyTorch"));
}

if (torchRequired && !hasTorch) {
  test("PyTorch is installed for /usr/bin/python3 (CI=true requires it)", () => {
    throw new Error(`${TORCH_MISSING}; under CI=true the PyTorch comparison tests must run`);
  });
}

describe.skipIf(!hasTorch)(`models exported by PyTorch${hasTorch ? "" : ` — SKIPPED: ${TORCH_MISSING}`}`, () => {
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    console.log(`pytorch-graphs: generated in ${generated?.seconds.toFixed(1)} s; worst tolerance ratios ${JSON.stringify(worst)}`);
  });

  test("the generator ran (torch.onnx.export of every model)", () => {
    expect({ code: generated?.code, stderr: generated?.code ? generated.stderr : "" }).toEqual({ code: 0, stderr: "" });
  });

  const handWritten: [string, string][] = [
    ["residual", "opset 13: constant normalization, conv-BN-ReLU, identity and projection skips, view(x.size(0), -1) into a Linear"],
    ["branches", "opset 9: per-channel scale buffer, three branches with Pad + AveragePool, channel concat, sigmoid gate, ReduceMean"],
    ["two_inputs", "opset 11: an image and a vector, stride-2 conv, Clip(min 0), global pooling, concat, two outputs"],
    ["siamese", "opset 13: one Linear applied to two inputs (shared weights), Sub, Mul, BatchNorm1d, MatMul + Add"],
    ["unet", "opset 11: ConvTranspose2d, nearest and bilinear F.interpolate (Resize), a center crop (Slice), skips concatenated on channels"],
    ["mobile", "opset 14: explicit padding at stride 2, depthwise, dilated grouped conv, ReLU6, HardSwish, LeakyRelu, Elu, HardSigmoid, Pad + strided AveragePool"],
  ];
  for (const [name, what] of handWritten) {
    test(`${name} (${what}): PyTorch's outputs, and ${ortName} agrees`, async () => {
      const { bytes, reference } = load(name);
      const imported = readOnnx(bytes, { source: `${name}.onnx` });
      expect(imported.inputs.map((i) => i.name)).toEqual(reference.inputs.map((i) => i.name));
      expect(imported.model.outputNames).toEqual(reference.outputs.map((o) => o.name));
      expectOutputs(imported.model, imported, reference, name);
      const ort = await runOrt(bytes, reference.inputs);
      ort.forEach((o, i) => expectClose(o, reference.outputs[i].data, 1e-4, 1e-4, `${name} ${ortName}`, "ONNX Runtime vs PyTorch"));
    });

    test(`${name}: one SGD step matches PyTorch's loss and every updated parameter`, () => {
      const { bytes, reference } = load(name);
      const imported = readOnnx(bytes, { source: `${name}.onnx` });
      const model = imported.model;
      model.compile({ optimizer: { type: "sgd", learningRate: 0.1 }, loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
      const labels = reference.labels!.map((l) => Int32Array.from(l));
      const loss = model.trainOnBatch(feedsFor(imported, reference.inputs), labels.length === 1 ? labels[0] : labels);
      expectClose([loss], [reference.loss!], 1e-5, 1e-5, `${name} loss`, "loss vs PyTorch");
      // Every PyTorch parameter is some wasmgrad parameter, and every trainable wasmgrad parameter comes from one.
      const after = reference.after!;
      expect(imported.parameters.map((p) => p.initializer).sort()).toEqual(Object.keys(after).sort());
      const trainable = model.layers.filter((l) => l.trainable).flatMap((l) => l.params.map((p) => p.name));
      expect(trainable.filter((p) => !imported.parameters.some((s) => s.parameter === p))).toEqual([]);
      const values = new Map(model.params.map((p, i) => [p.name, model.getWeights()[i].data]));
      for (const source of imported.parameters) {
        const want = source.toWasmgrad(Float32Array.from(after[source.initializer].data));
        expectClose(values.get(source.parameter)!, want, 1e-6, 1e-4, `${name} ${source.initializer} → ${source.parameter}`, "parameters after SGD vs PyTorch");
      }
    });
  }

  const zoo: [string, string, number][] = [
    ["resnet18", "ResNet-18 (torchvision, batch norm folded into the convolutions)", 8],
    ["mobilenet_v2", "MobileNetV2 (torchvision: depthwise convolutions, ReLU6, inverted residuals)", 10],
  ];
  for (const [name, what, adds] of zoo) {
    test(`${what}, opset 13 with dynamic H and W: PyTorch's logits at 3×65×65 ('same' padding) and 3×64×64 (explicit padding), and ${ortName} agrees`, async () => {
      const { bytes, reference } = load(name);
      const imported = readOnnx(bytes, { source: `${name}.onnx`, inputShape: [3, 65, 65] });
      expect(imported.inputs[0]).toEqual({ name: "input", fileShape: [3, 65, 65], shape: [65, 65, 3], channelsLast: true });
      expect(imported.model.layers.filter((l) => l.type === "Add").length).toBe(adds);
      expectOutputs(imported.model, imported, reference, `${name} 65×65`);
      const [ort] = await runOrt(bytes, reference.inputs);
      expectClose(ort, reference.outputs[0].data, 1e-4, 1e-4, `${name} ${ortName}`, "ONNX Runtime vs PyTorch");
      const even = readOnnx(bytes, { source: `${name}.onnx`, inputShape: [3, 64, 64] });
      expect(even.model.layers.some((l) => Array.isArray(l.getConfig().padding))).toBe(true);
      expectOutputs(even.model, even, reference.even!, `${name} 64×64`);
    }, 60_000);
  }
});
