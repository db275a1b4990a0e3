// activationNodes (src/onnx/activation-nodes.ts) held against onnxruntime-web: for every activation (and
// non-default alphas), a one-activation opset-13 graph built with the encoder runs in ORT's WASM provider
// on x ∈ [−8, 8] plus the kinks and ±30, and must reproduce the reference kernels' f64 activation within
// |Δ| ≤ 1e-5 (ORT evaluates in f32 and its Erf/Tanh/Exp are its own; 1e-5 is the export tests' bound).
// Also: only opset-13 operators appear, constants are scalars with unique names, and a HardSigmoid left at
// ONNX's default alpha (0.2, Keras 2's hard sigmoid) would be caught.

import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { ACTIVATIONS, ActivationFunction, type ActivationSpec } from "../../src/layers/activation-function";
import { activationNodes, type EmitConstant, type EmitNode } from "../../src/onnx/activation-nodes";
import { encodeModel, TensorDataType, type NodeProto, type TensorProto } from "../../src/onnx/onnx-proto";
import { OnnxSession } from "../../src/onnx/runtime";
import { seededValues, worstMismatch } from "../support/twin-heaps";

ort.env.wasm.numThreads = 1;

/** Operators of the default domain that opset 13 defines, of those activationNodes may use. */
const OPSET_13 = ["Relu", "Sigmoid", "Tanh", "Softmax", "Clip", "LeakyRelu", "Elu", "HardSigmoid", "Mul", "Add", "Div", "Erf"];
const WIDTH = 16;

function graphFor(spec: ActivationSpec, patch?: (nodes: NodeProto[]) => void) {
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const node: EmitNode = (opType, inputs, attributes) => {
    const output = `${opType.toLowerCase()}_${nodes.length}`;
    nodes.push({ name: output, opType, domain: "", inputs, outputs: [output], attributes });
    return output;
  };
  const constant: EmitConstant = (hint, dims, values) => {
    const name = `${hint}_${initializers.length}`;
    initializers.push({ name, dataType: TensorDataType.FLOAT, dims, data: values });
    return name;
  };
  const fn = new ActivationFunction(spec);
  let out = activationNodes(fn, "x", node, constant);
  if (out === "x") out = node("Identity", ["x"], []);
  nodes[nodes.length - 1].outputs[0] = "y";
  patch?.(nodes);
  const bytes = encodeModel({
    irVersion: 7, opsetImports: [{ domain: "", version: 13 }], producerName: "wasmgrad-test", producerVersion: "",
    graph: {
      name: "activation", nodes, initializers,
      inputs: [{ name: "x", elemType: TensorDataType.FLOAT, shape: ["batch", WIDTH] }],
      outputs: [{ name: "y", elemType: TensorDataType.FLOAT, shape: ["batch", WIDTH] }],
    },
  });
  return { bytes, nodes, initializers, fn };
}

async function runOrt(bytes: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const session = await OnnxSession.open(bytes, { provider: "wasm", source: "activation.onnx" });
  const [out] = await session.run(x, [x.length / WIDTH, WIDTH]);
  await session.release();
  return out.data;
}

/** The reference kernels' f(x) (softmax over rows of WIDTH). */
function reference(fn: ActivationFunction, x: Float32Array): Float32Array {
  const k = createReferenceKernels();
  new Float32Array(k.memory.buffer, 1024, x.length).set(x);
  fn.forward(k, 1024, 1024, x.length / WIDTH, WIDTH, false);
  return new Float32Array(k.memory.buffer, 1024, x.length).slice();
}

const inputs = Float32Array.from([
  ...seededValues(6 * WIDTH, 3, -8, 8),
  ...[0, 3, -3, 6, -6, 30, -30, 1e-3, -1e-3, 2.5, -2.5, 0.5, -0.5, 7, -7, -1.5],
]);
const specs: ActivationSpec[] = [...ACTIVATIONS, { name: "leakyRelu", alpha: 0.01 }, { name: "leakyRelu", alpha: 0.3 }, { name: "elu", alpha: 0.4 }];

describe("activationNodes: opset-13 graphs that onnxruntime-web evaluates as the reference does", () => {
  for (const spec of specs) {
    const label = typeof spec === "string" ? spec : `${spec.name} α=${spec.alpha}`;
    test(label, async () => {
      const { bytes, nodes, initializers, fn } = graphFor(spec);
      expect(nodes.every((n) => OPSET_13.includes(n.opType) || n.opType === "Identity")).toBe(true);
      expect(new Set(initializers.map((t) => t.name)).size).toBe(initializers.length);
      expect(initializers.every((t) => t.dims.length === 0)).toBe(true);
      const got = await runOrt(bytes, inputs);
      const want = reference(fn, inputs);
      const m = worstMismatch(got, want, 1e-5, 0);
      expect({ label, worst: m.worst <= 1 ? "ok" : { ...m, x: inputs[m.at] } }).toEqual({ label, worst: "ok" });
    });
  }

  test("the operators chosen: direct ones where opset 13 has them, HardSigmoid with alpha 1/6 spelled out", () => {
    const ops = (spec: ActivationSpec) => graphFor(spec).nodes.map((n) => n.opType).join(" ");
    expect(ops("relu6")).toBe("Clip");
    expect(ops("leakyRelu")).toBe("LeakyRelu");
    expect(ops("elu")).toBe("Elu");
    expect(ops("swish")).toBe("Sigmoid Mul");
    expect(ops("hardSwish")).toBe("HardSigmoid Mul");
    expect(ops("gelu")).toBe("Div Erf Add Mul Mul");
    const hard = graphFor("hardSigmoid").nodes[0].attributes;
    expect(hard.map((a) => [a.name, a.type === "FLOAT" ? Math.fround(a.f) : null])).toEqual([["alpha", Math.fround(1 / 6)], ["beta", 0.5]]);
    const leaky = graphFor({ name: "leakyRelu", alpha: 0.01 }).nodes[0].attributes[0];
    expect(leaky.type === "FLOAT" && leaky.f).toBe(new ActivationFunction({ name: "leakyRelu", alpha: 0.01 }).alpha);
  });

  test("the check can fail: HardSigmoid at ONNX's default alpha 0.2 is Keras 2's, and is caught", async () => {
    const { bytes, fn } = graphFor("hardSigmoid", (nodes) => (nodes[0].attributes = []));
    const m = worstMismatch(await runOrt(bytes, inputs), reference(fn, inputs), 1e-5, 0);
    expect(m.worst).toBeGreaterThan(1);
  });
});
