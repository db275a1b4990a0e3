// wasmgrad's activations as ONNX operators, at opset 13 (what export.ts writes). The exporter supplies
// two callbacks — one that appends a node and returns its output's name, one that stores a constant — so
// this file knows the operators, not the graph it is building.
//
// Where opset 13 has the operator it is used directly (Relu, Sigmoid, Tanh, Softmax, LeakyRelu, Elu,
// HardSigmoid). relu6 is Clip with constant bounds; the others are decomposed: HardSwish and Gelu only
// arrive in opsets 14 and 20. The decompositions are the forms runtimes look for and fuse back into one
// kernel (onnxruntime's Gelu and FastGelu fusions):
//   gelu      Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)
//   geluTanh  Mul(Mul(x, Add(Tanh(Mul(Add(x, Mul(Mul(Mul(x, x), x), 0.044715)), √(2/π))), 1)), 0.5)
//   swish     Mul(x, Sigmoid(x))
//   hardSwish Mul(x, HardSigmoid(x; alpha 1/6, beta ½))
// HardSigmoid's alpha is written out every time: ONNX's defaults (alpha 0.2, beta 0.5) are Keras 2's and
// TensorFlow.js' hard sigmoid, 0.2x + 0.5, not relu6(x + 3)/6, which wasmgrad, Keras 3 and PyTorch compute.

import type { ActivationName } from "../layers/activation-function";
import type { AttributeProto } from "./onnx-proto";

/** Appends a node (default domain, one output) and returns the name of its output. */
export type EmitNode = (opType: string, inputs: string[], attributes: AttributeProto[]) => string;
/**
 * Stores a float constant (an initializer) and returns the name it is stored under, which must be unique in
 * the graph; `hint` says what it is ("relu6_max"). dims [] is a scalar.
 */
export type EmitConstant = (hint: string, dims: number[], values: Float32Array) => string;

export interface ActivationToExport {
  name: ActivationName;
  /** leakyRelu's negative slope, elu's scale (an ActivationFunction's `alpha`). */
  alpha: number;
}

const float = (name: string, f: number): AttributeProto => ({ name, type: "FLOAT", f });

/**
 * The name of f(x) after appending the nodes that compute it (x itself for linear). Softmax runs over
 * `softmaxAxis` (−1, the features or channels of wasmgrad's layout; 1 once an image graph is NCHW).
 */
export function activationNodes(
  activation: ActivationToExport, x: string, node: EmitNode, constant: EmitConstant, options: { softmaxAxis?: number } = {},
): string {
  const scalar = (hint: string, value: number) => constant(hint, [], Float32Array.of(value));
  switch (activation.name) {
    case "linear":
      return x;
    case "relu":
      return node("Relu", [x], []);
    case "sigmoid":
      return node("Sigmoid", [x], []);
    case "tanh":
      return node("Tanh", [x], []);
    case "softmax":
      return node("Softmax", [x], [{ name: "axis", type: "INT", i: options.softmaxAxis ?? -1 }]);
    case "relu6":
      return node("Clip", [x, scalar("relu6_min", 0), scalar("relu6_max", 6)], []);
    case "leakyRelu":
      return node("LeakyRelu", [x], [float("alpha", activation.alpha)]);
    case "elu":
      return node("Elu", [x], [float("alpha", activation.alpha)]);
    case "hardSigmoid":
      return hardSigmoid(x, node);
    case "hardSwish":
      return node("Mul", [x, hardSigmoid(x, node)], []);
    case "swish":
      return node("Mul", [x, node("Sigmoid", [x], [])], []);
    case "gelu": {
      const cdf = node("Add", [node("Erf", [node("Div", [x, scalar("gelu_sqrt2", Math.SQRT2)], [])], []), scalar("gelu_one", 1)], []);
      return node("Mul", [node("Mul", [x, cdf], []), scalar("gelu_half", 0.5)], []);
    }
    case "geluTanh": {
      const cube = node("Mul", [node("Mul", [x, x], []), x], []);
      const inner = node("Add", [x, node("Mul", [cube, scalar("gelu_tanh_cubic", 0.044715)], [])], []);
      const tanh = node("Tanh", [node("Mul", [inner, scalar("gelu_tanh_scale", Math.sqrt(2 / Math.PI))], [])], []);
      const gate = node("Add", [tanh, scalar("gelu_tanh_one", 1)], []);
      return node("Mul", [node("Mul", [x, gate], []), scalar("gelu_tanh_half", 0.5)], []);
    }
  }
}

function hardSigmoid(x: string, node: EmitNode): string {
  return node("HardSigmoid", [x], [float("alpha", 1 / 6), float("beta", 0.5)]);
}
