// Model → ONNX (IR 7, opset 13: accepted by every current runtime and by older checkers).
//
// wasmgrad computes in NHWC, ONNX's image operators in NCHW. The graph therefore takes the model's own
// NHWC input (so `infer` feeds the same arrays as `predict`), transposes once to NCHW before the first
// image operator, and transposes back before Flatten so the flattened order, and with it every Dense
// weight, stays exactly ours. The batch dimension is symbolic ("batch"). Dropout is the identity at
// inference and is left out. Outputs are what predict() returns (probabilities for a softmax model).

import { InputError } from "../errors";
import type { Layer } from "../layers/layer";
import { Activation } from "../layers/activation";
import type { ActivationFunction } from "../layers/activation-function";
import { AveragePool2D, GlobalAveragePool2D } from "../layers/average-pool2d";
import { BatchNormalization } from "../layers/batch-normalization";
import { Conv2D } from "../layers/conv2d";
import { Dense } from "../layers/dense";
import { Dropout } from "../layers/dropout";
import { Flatten } from "../layers/flatten";
import { MaxPool2D } from "../layers/max-pool2d";
import type { Model } from "../model/model";
import { TensorDataType, encodeModel, type AttributeProto, type ModelProto, type NodeProto, type TensorProto } from "./onnx-proto";

export const EXPORT_OPSET = 13;
export const EXPORT_IR_VERSION = 7;
export const INPUT_NAME = "input";
export const OUTPUT_NAME = "output";

type Layout = "NHWC" | "NCHW" | "flat";

class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;

  constructor(readonly model: Model) {}

  node(opType: string, inputs: string[], attributes: AttributeProto[] = [], name = opType.toLowerCase()): string {
    const output = `${name}_${++this.counter}`;
    this.nodes.push({ name: output, opType, domain: "", inputs, outputs: [output], attributes });
    return output;
  }

  weight(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dataType: TensorDataType.FLOAT, dims, data });
    return name;
  }

  values(layer: Layer, index: number): Float32Array {
    const p = layer.params[index];
    return new Float32Array(this.model.kernels.memory.buffer, p.value, p.size).slice();
  }
}

const ints = (name: string, values: number[]): AttributeProto => ({ name, type: "INTS", ints: values });

/** Encodes the model as ONNX bytes. */
export function exportOnnx(model: Model, options: { producerVersion?: string } = {}): Uint8Array {
  return encodeModel(toOnnxModel(model, options));
}

export function toOnnxModel(model: Model, options: { producerVersion?: string } = {}): ModelProto {
  model.build();
  const g = new GraphBuilder(model);
  let x = INPUT_NAME;
  // An object, so TypeScript does not narrow the layout across the closure that changes it.
  const at: { layout: Layout } = { layout: model.inputShape!.length === 3 ? "NHWC" : "flat" };
  const toNchw = () => {
    if (at.layout === "NHWC") {
      x = g.node("Transpose", [x], [ints("perm", [0, 3, 1, 2])], "to_nchw");
      at.layout = "NCHW";
    }
  };
  for (const layer of model.layers) {
    if (layer instanceof Dropout) continue;
    if (layer instanceof Conv2D) {
      toNchw();
      const [kh, kw] = layer.kernelSize;
      const cin = layer.inputShape[2], cout = layer.filters;
      const ours = g.values(layer, 0);
      const w = new Float32Array(ours.length);
      // [kh, kw, cin, cout] → [cout, cin, kh, kw]
      for (let y = 0; y < kh; y++)
        for (let xx = 0; xx < kw; xx++)
          for (let i = 0; i < cin; i++)
            for (let o = 0; o < cout; o++) w[((o * cin + i) * kh + y) * kw + xx] = ours[((y * kw + xx) * cin + i) * cout + o];
      const inputs = [x, g.weight(`${layer.name}/kernel`, [cout, cin, kh, kw], w)];
      if (layer.bias) inputs.push(g.weight(`${layer.name}/bias`, [cout], g.values(layer, 1)));
      x = g.node("Conv", inputs, [ints("kernel_shape", [kh, kw]), ints("strides", [layer.strides, layer.strides]), ints("pads", layer.pads), ints("dilations", [1, 1])], layer.name);
      x = activation(g, x, layer.activation, at.layout);
    } else if (layer instanceof MaxPool2D || layer instanceof AveragePool2D) {
      toNchw();
      const attributes = [ints("kernel_shape", layer.poolSize), ints("strides", [layer.strides, layer.strides]), ints("pads", layer.pads)];
      if (layer instanceof AveragePool2D) attributes.push({ name: "count_include_pad", type: "INT", i: 0 });
      x = g.node(layer instanceof MaxPool2D ? "MaxPool" : "AveragePool", [x], attributes, layer.name);
    } else if (layer instanceof GlobalAveragePool2D) {
      toNchw();
      x = g.node("GlobalAveragePool", [x], [], layer.name);
      x = g.node("Flatten", [x], [{ name: "axis", type: "INT", i: 1 }]);
      at.layout = "flat";
    } else if (layer instanceof BatchNormalization) {
      if (at.layout === "NHWC") toNchw();
      const c = layer.channels;
      const inputs = [
        x, g.weight(`${layer.name}/gamma`, [c], g.values(layer, 0)), g.weight(`${layer.name}/beta`, [c], g.values(layer, 1)),
        g.weight(`${layer.name}/moving_mean`, [c], layer.movingMean.slice()), g.weight(`${layer.name}/moving_variance`, [c], layer.movingVariance.slice()),
      ];
      x = g.node("BatchNormalization", inputs, [{ name: "epsilon", type: "FLOAT", f: layer.epsilon }, { name: "momentum", type: "FLOAT", f: layer.momentum }], layer.name);
    } else if (layer instanceof Flatten) {
      if (at.layout === "NCHW") x = g.node("Transpose", [x], [ints("perm", [0, 2, 3, 1])], "to_nhwc");
      if (at.layout !== "flat") x = g.node("Flatten", [x], [{ name: "axis", type: "INT", i: 1 }], layer.name);
      at.layout = "flat";
    } else if (layer instanceof Dense) {
      if (at.layout !== "flat") throw new InputError(`${layer.name} (Dense) follows an image without a Flatten; ONNX export needs one`);
      const inputs = [x, g.weight(`${layer.name}/kernel`, [layer.inputShape[0], layer.units], g.values(layer, 0))];
      if (layer.bias) inputs.push(g.weight(`${layer.name}/bias`, [layer.units], g.values(layer, 1)));
      x = g.node("Gemm", inputs, [], layer.name);
      x = activation(g, x, layer.activation, at.layout);
    } else if (layer instanceof Activation) {
      x = activation(g, x, layer.activation, at.layout);
    } else {
      throw new InputError(`layer ${layer.name} (${layer.type}) has no ONNX export`);
    }
  }
  // Outputs in wasmgrad's own (NHWC) order, whatever the last layer was.
  if (at.layout === "NCHW") x = g.node("Transpose", [x], [ints("perm", [0, 2, 3, 1])], "to_nhwc");
  if (g.nodes.length > 0) g.nodes[g.nodes.length - 1].outputs[0] = OUTPUT_NAME;
  else g.nodes.push({ name: "identity", opType: "Identity", domain: "", inputs: [INPUT_NAME], outputs: [OUTPUT_NAME], attributes: [] });

  return {
    irVersion: EXPORT_IR_VERSION,
    opsetImports: [{ domain: "", version: EXPORT_OPSET }],
    producerName: "wasmgrad",
    producerVersion: options.producerVersion ?? "",
    graph: {
      name: model.name,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: INPUT_NAME, elemType: TensorDataType.FLOAT, shape: ["batch", ...model.inputShape!] }],
      outputs: [{ name: OUTPUT_NAME, elemType: TensorDataType.FLOAT, shape: ["batch", ...model.outputShape] }],
    },
  };
}

function activation(g: GraphBuilder, x: string, fn: ActivationFunction, layout: Layout): string {
  switch (fn.name) {
    case "linear":
      return x;
    case "relu":
      return g.node("Relu", [x]);
    case "sigmoid":
      return g.node("Sigmoid", [x]);
    case "tanh":
      return g.node("Tanh", [x]);
    case "softmax":
      // Softmax over channels: the last axis in wasmgrad's layout, axis 1 once the graph is NCHW.
      return g.node("Softmax", [x], [{ name: "axis", type: "INT", i: layout === "NCHW" ? 1 : -1 }]);
  }
}
