// Model → ONNX (IR 7, opset 13: accepted by every current runtime and by older checkers), for any graph;
// opset 17 for a model with LayerNormalization, whose operator arrives there (the opset option picks
// another: 13 to 16 write layer normalisation out in elementary operators, export-attention.ts).
//
// wasmgrad computes in NHWC, ONNX's image operators in NCHW. Every tensor is exported in one of two
// layouts: "ours" (wasmgrad's own element order, any rank) or "NCHW" (channels moved to axis 1: an image's
// NCHW, or a sequence's NCL for Conv1D and the 1-D pools). Inputs and outputs are in ours, so `infer` feeds the same arrays as `predict`; image operators
// take NCHW; a Transpose is written where a consumer needs the other layout, once per tensor however many
// consumers it has. Flattening happens in our order, so every Dense weight stays exactly ours. The batch
// dimension is symbolic ("batch"). Dropout is the identity at inference and is left out. Outputs are what
// predict() returns (probabilities for a softmax model). Shared layers export their weights once.
//
// Sequences: Embedding is a Gather on its table, the recurrent layers and Bidirectional ONNX's LSTM, GRU and
// RNN operators (export-recurrent.ts). Masks (Embedding's maskZero, Masking) travel beside the tensors as
// [batch, steps] float tensors of 1 (real) and 0 (padding), built from the data by the graph itself; the
// layers that read them (recurrent layers, the global 1-D pools) compute exactly what wasmgrad's do.
//
// Attention: LayerNormalization, MultiHeadAttention (causal and key padding masks exact, returnAttentionScores),
// PositionEmbedding, SinePositionEncoding and Cropping1D are written by export-attention.ts.

import { InputError } from "../errors";
import type { Layer } from "../layers/layer";
import { ActivationLayer } from "../layers/activation";
import { activationNodes } from "./activation-nodes";
import type { ActivationFunction } from "../layers/activation-function";
import { AveragePool2D, GlobalAveragePool2D } from "../layers/average-pool2d";
import { BatchNormalization } from "../layers/batch-normalization";
import { Conv1D } from "../layers/conv1d";
import { Conv2D } from "../layers/conv2d";
import { Conv2DTranspose } from "../layers/conv2d-transpose";
import { DepthwiseConv2D } from "../layers/depthwise-conv2d";
import { Cropping2D } from "../layers/cropping2d";
import { Dense } from "../layers/dense";
import { Dropout } from "../layers/dropout";
import { Embedding } from "../layers/embedding";
import { Flatten } from "../layers/flatten";
import { GlobalAveragePool1D, GlobalMaxPool1D } from "../layers/global-pool1d";
import { Masking } from "../layers/masking";
import { Normalization } from "../layers/normalization";
import { MaxPool2D } from "../layers/max-pool2d";
import { Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract } from "../layers/merge";
import { Bidirectional } from "../layers/bidirectional";
import { Permute } from "../layers/permute";
import { RecurrentLayer } from "../layers/recurrent";
import { AveragePool1D, MaxPool1D } from "../layers/pool1d";
import { Reshape } from "../layers/reshape";
import { UpSampling2D } from "../layers/up-sampling2d";
import { ZeroPadding2D } from "../layers/zero-padding2d";
import type { Model } from "../model/model";
import type { TensorId } from "../model/plan";
import { exportRecurrent } from "./export-recurrent";
import { LayerNormalization } from "../layers/layer-normalization";
import { exportAttentionFamily, isAttentionFamily, LAYER_NORMALIZATION_OPSET } from "./export-attention";
import { TensorDataType, encodeModel, type AttributeProto, type ModelProto, type NodeProto, type TensorProto } from "./onnx-proto";

/** The opset written for models without LayerNormalization (those get LAYER_NORMALIZATION_OPSET). */
export const EXPORT_OPSET = 13;
/** The opsets the exporter writes on request (ReduceMean takes its axes as an input from opset 18). */
export const EXPORT_OPSETS = { min: 13, max: 17 };
export const EXPORT_IR_VERSION = 7;
/** The names of a one-input, one-output model's input and output (a graph's are its own). */
export const INPUT_NAME = "input";
export const OUTPUT_NAME = "output";

type Layout = "ours" | "NCHW";

/** A tensor as exported: its ONNX name, layout and per-sample shape (in our order). */
export interface Ref {
  name: string;
  layout: Layout;
  shape: number[];
  /** The mask it carries: a float [batch, steps] tensor, 1 on real steps, 0 on padding, in its step order. */
  mask?: string;
}

export const ints = (name: string, values: number[]): AttributeProto => ({ name, type: "INTS", ints: values });
export const int = (name: string, i: number): AttributeProto => ({ name, type: "INT", i });

export class GraphWriter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly written = new Set<string>();
  private counter = 0;
  /** Tensors already transposed to the other layout, by ONNX name. */
  private readonly converted = new Map<string, Ref>();

  constructor(readonly model: Model, readonly opset = EXPORT_OPSET) {}

  node(opType: string, inputs: string[], attributes: AttributeProto[] = [], name = opType.toLowerCase()): string {
    const output = `${name}_${++this.counter}`;
    this.nodes.push({ name: output, opType, domain: "", inputs, outputs: [output], attributes });
    return output;
  }

  /** A node with several outputs (unnamed ones, "", left out by ONNX's rules); returns their names. */
  nodeOutputs(opType: string, inputs: string[], attributes: AttributeProto[], name: string, wanted: boolean[]): string[] {
    const base = `${name}_${++this.counter}`;
    const outputs = wanted.map((w, i) => (w ? `${base}_${i}` : ""));
    while (outputs.length > 0 && outputs[outputs.length - 1] === "") outputs.pop();
    this.nodes.push({ name: base, opType, domain: "", inputs, outputs, attributes });
    return outputs;
  }

  /** An initializer, written once per name (a shared layer's weights are one tensor). */
  weight(name: string, dims: number[], data: Float32Array): string {
    if (!this.written.has(name)) {
      this.written.add(name);
      this.initializers.push({ name, dataType: TensorDataType.FLOAT, dims, data });
    }
    return name;
  }

  int64s(values: number[]): string {
    const name = `const_${++this.counter}`;
    this.initializers.push({ name, dataType: TensorDataType.INT64, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  /** A scalar int64 constant (a Gather index, CumSum's axis). */
  int64Scalar(value: number): string {
    const name = `const_${++this.counter}`;
    this.initializers.push({ name, dataType: TensorDataType.INT64, dims: [], data: BigInt64Array.of(BigInt(value)) });
    return name;
  }

  floats(values: number[], dims = [values.length]): string {
    const name = `const_${++this.counter}`;
    this.initializers.push({ name, dataType: TensorDataType.FLOAT, dims, data: Float32Array.from(values) });
    return name;
  }

  values(layer: Layer, index: number): Float32Array {
    const p = layer.params[index];
    return new Float32Array(this.model.kernels.memory.buffer, p.value, p.size).slice();
  }

  /** The tensor channels first: an image NCHW, a sequence NCL (transposed once, then reused). */
  nchw(ref: Ref): Ref {
    if (ref.layout === "NCHW") return ref;
    if (ref.shape.length === 2) return this.transpose(ref, "NCHW", [0, 2, 1], "to_ncl");
    if (ref.shape.length !== 3) throw new InputError(`a tensor shaped [${ref.shape}] is not an image [height, width, channels]`);
    return this.transpose(ref, "NCHW", [0, 3, 1, 2], "to_nchw");
  }

  /** The tensor in our element order. */
  ours(ref: Ref): Ref {
    if (ref.layout === "ours") return ref;
    return ref.shape.length === 2 ? this.transpose(ref, "ours", [0, 2, 1], "to_nlc") : this.transpose(ref, "ours", [0, 2, 3, 1], "to_nhwc");
  }

  private transpose(ref: Ref, layout: Layout, perm: number[], name: string): Ref {
    const key = `${ref.name}→${layout}`;
    let out = this.converted.get(key);
    if (!out) {
      out = { name: this.node("Transpose", [ref.name], [ints("perm", perm)], name), layout, shape: ref.shape };
      this.converted.set(key, out);
    }
    return out;
  }
}

export interface ExportOptions {
  producerVersion?: string;
  /**
   * The default-domain opset to write, 13 to 17. By default 13, or 17 where the model has a
   * LayerNormalization (the first opset with that operator; below it, layer normalisation is decomposed).
   */
  opset?: number;
}

/** Encodes the model as ONNX bytes. */
export function exportOnnx(model: Model, options: ExportOptions = {}): Uint8Array {
  return encodeModel(toOnnxModel(model, options));
}

/** The opset an export writes: the one asked for, else the lowest that has every operator the model needs. */
export function exportOpset(model: Model, requested?: number): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < EXPORT_OPSETS.min || requested > EXPORT_OPSETS.max) {
      throw new InputError(`ONNX export writes opsets ${EXPORT_OPSETS.min} to ${EXPORT_OPSETS.max}, not ${requested}`);
    }
    return requested;
  }
  return model.executionPlan.steps.some((s) => s.layer instanceof LayerNormalization) ? LAYER_NORMALIZATION_OPSET : EXPORT_OPSET;
}

export function toOnnxModel(model: Model, options: ExportOptions = {}): ModelProto {
  const plan = model.executionPlan;
  const opset = exportOpset(model, options.opset);
  const g = new GraphWriter(model, opset);
  const single = plan.inputCount === 1 && plan.outputs.length === 1;
  const inputNames = single ? [INPUT_NAME] : model.inputNames;
  const refs = new Map<TensorId, Ref>();
  inputNames.forEach((name, i) => refs.set(i, { name, layout: "ours", shape: plan.shapes[i] }));
  for (const step of plan.steps) {
    const inputs = step.inputs.map((t) => refs.get(t)!);
    const out = exportStep(g, step.layer, inputs);
    // A layer with several outputs (a recurrent layer's sequence and states) returns one ref per output.
    const outs = Array.isArray(out) ? [...out] : [out];
    // Masks go with the first output. Layers that make or reorder one set it; those that pass it on
    // (Dense, Dropout, Activation, a recurrent layer's sequence) carry their input's; the rest drop it.
    if (!plan.masked[step.output]) outs[0] = { ...outs[0], mask: undefined };
    else if (!outs[0].mask) outs[0] = { ...outs[0], mask: inputs[0].mask };
    outs.forEach((ref, j) => refs.set(step.outputs[j], ref));
  }
  const outputNames = single ? [OUTPUT_NAME] : model.outputNames.map((n) => n.replace(/:/g, "_"));
  // Outputs in our own (NHWC) order, each under its own name (an Identity where a name is reused or an input).
  const used = new Set<string>();
  plan.outputs.forEach((t, i) => {
    const ref = g.ours(refs.get(t)!);
    const producer = g.nodes.find((n) => n.outputs[0] === ref.name);
    if (producer && !used.has(ref.name) && !inputNames.includes(ref.name)) {
      for (const n of g.nodes) n.inputs = n.inputs.map((x) => (x === ref.name ? outputNames[i] : x));
      producer.outputs[0] = outputNames[i];
      for (const [k, r] of refs) if (r.name === ref.name) refs.set(k, { ...r, name: outputNames[i] });
    } else {
      g.nodes.push({ name: `identity_${i}`, opType: "Identity", domain: "", inputs: [ref.name], outputs: [outputNames[i]], attributes: [] });
    }
    used.add(outputNames[i]);
  });

  return {
    irVersion: EXPORT_IR_VERSION,
    opsetImports: [{ domain: "", version: opset }],
    producerName: "wasmgrad",
    producerVersion: options.producerVersion ?? "",
    graph: {
      name: model.name,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: inputNames.map((name, i) => ({ name, elemType: TensorDataType.FLOAT, shape: ["batch", ...plan.shapes[i]] })),
      outputs: plan.outputs.map((t, i) => ({ name: outputNames[i], elemType: TensorDataType.FLOAT, shape: ["batch", ...plan.shapes[t]] })),
    },
  };
}

/** The ONNX nodes of one layer application; returns its output (one per output, for several). */
function exportStep(g: GraphWriter, layer: Layer, inputs: Ref[]): Ref | Ref[] {
  const x = inputs[0];
  const shape = layer.outputShape;
  const at = (name: string, layout: Layout): Ref => ({ name, layout, shape });
  if (layer instanceof Dropout) return x;
  if (layer instanceof RecurrentLayer || layer instanceof Bidirectional) return exportRecurrent(g, layer, inputs);
  if (isAttentionFamily(layer)) return exportAttentionFamily(g, layer, inputs);
  if (layer instanceof Embedding) {
    // wasmgrad's model inputs are float32 (predict() and infer feed the same arrays to both), so the
    // indices arrive as floats and are cast to the int64 Gather takes. float32 holds every integer up to
    // 2^24 exactly, the most inputDim allows, so the cast loses nothing; a value that is not an index
    // fails in both (ONNX Runtime's Gather refuses an index out of range, wasmgrad's Embedding says which).
    const ids = g.node("Cast", [g.ours(x).name], [int("to", TensorDataType.INT64)]);
    const table = g.weight(`${layer.name}/embeddings`, [layer.inputDim, layer.outputDim], g.values(layer, 0));
    const out = at(g.node("Gather", [table, ids], [int("axis", 0)], layer.name), "ours");
    // maskZero: index 0 is padding — 1 where the id is not 0.
    return layer.maskZero ? { ...out, mask: g.node("Cast", [g.node("Not", [g.node("Equal", [x.name, g.floats([0], [])])])], [int("to", TensorDataType.FLOAT)], "mask") } : out;
  }
  if (layer instanceof Masking) {
    // A step is real where any feature differs from maskValue; the output is the input with padded steps zeroed.
    const input = g.ours(x);
    const differs = g.node("Cast", [g.node("Not", [g.node("Equal", [input.name, g.floats([layer.maskValue], [])])])], [int("to", TensorDataType.FLOAT)]);
    const mask = g.node("ReduceMax", [differs], [ints("axes", [2]), int("keepdims", 0)], "mask");
    const zeroed = g.node("Mul", [input.name, g.node("Unsqueeze", [mask, g.int64s([2])])], [], layer.name);
    return { ...at(zeroed, "ours"), mask };
  }
  if (layer instanceof GlobalAveragePool1D || layer instanceof GlobalMaxPool1D) return globalPool1D(g, layer, x);
  if (layer instanceof Conv2D) {
    // [kh, kw, cin/groups, cout] → [cout, cin/groups, kh, kw]
    const [kh, kw, cin, cout] = layer.kernel.shape;
    const w = relayout(g.values(layer, 0), kh, kw, cin, cout, (y, xx, i, o) => ((o * cin + i) * kh + y) * kw + xx);
    const attributes = [ints("dilations", layer.dilationRate), int("group", layer.groups)];
    return convNode(g, layer, "Conv", x, [cout, cin, kh, kw], w, layer.stridePair, attributes);
  }
  if (layer instanceof Conv1D) {
    // [k, cin/groups, cout] → [cout, cin/groups, k], on the sequence as NCL
    const [k, cin, cout] = layer.kernel.shape;
    const w = relayout(g.values(layer, 0), 1, k, cin, cout, (_y, t, i, o) => (o * cin + i) * k + t);
    const attributes = [ints("dilations", [layer.dilationRate]), int("group", layer.groups)];
    return convNode(g, layer, "Conv", x, [cout, cin, k], w, [layer.strides], attributes);
  }
  if (layer instanceof DepthwiseConv2D) {
    // Channel c's m-th filter makes output channel c·M + m: ONNX's Conv with one group per input channel,
    // weight [cin·M, 1, kh, kw].
    const [kh, kw, cin, m] = layer.kernel.shape;
    const w = relayout(g.values(layer, 0), kh, kw, cin, m, (y, xx, c, k) => ((c * m + k) * kh + y) * kw + xx);
    const attributes = [ints("dilations", layer.dilationRate), int("group", cin)];
    return convNode(g, layer, "Conv", x, [cin * m, 1, kh, kw], w, layer.stridePair, attributes);
  }
  if (layer instanceof Conv2DTranspose) {
    // [kh, kw, filters, cin] → ConvTranspose's [cin, filters, kh, kw]
    const [kh, kw, filters, cin] = layer.kernel.shape;
    const w = relayout(g.values(layer, 0), kh, kw, filters, cin, (y, xx, f, c) => ((c * filters + f) * kh + y) * kw + xx);
    const attributes = [ints("dilations", layer.dilationRate), ints("output_padding", layer.trailingOutput)];
    return convNode(g, layer, "ConvTranspose", x, [cin, filters, kh, kw], w, layer.stridePair, attributes);
  }
  if (layer instanceof MaxPool2D || layer instanceof AveragePool2D) {
    const attributes = [ints("kernel_shape", layer.poolSize), ints("strides", [layer.strides, layer.strides]), ints("pads", layer.pads)];
    if (layer instanceof AveragePool2D) attributes.push(int("count_include_pad", layer.countIncludePad ? 1 : 0));
    return at(g.node(layer instanceof MaxPool2D ? "MaxPool" : "AveragePool", [g.nchw(x).name], attributes, layer.name), "NCHW");
  }
  if (layer instanceof MaxPool1D || layer instanceof AveragePool1D) {
    const attributes = [ints("kernel_shape", [layer.poolSize]), ints("strides", [layer.strides]), ints("pads", layer.pads)];
    if (layer instanceof AveragePool1D) attributes.push(int("count_include_pad", 0));
    return at(g.node(layer instanceof MaxPool1D ? "MaxPool" : "AveragePool", [g.nchw(x).name], attributes, layer.name), "NCHW");
  }
  if (layer instanceof GlobalAveragePool2D) {
    const pooled = g.node("GlobalAveragePool", [g.nchw(x).name], [], layer.name);
    return at(g.node("Flatten", [pooled], [int("axis", 1)]), "ours");
  }
  if (layer instanceof BatchNormalization) {
    // ONNX normalises axis 1: an image's channels once it is NCHW, a vector's features as they are.
    const input = x.shape.length === 3 ? g.nchw(x) : x.shape.length === 1 ? x : unsupported(layer, `inputs shaped [${x.shape}]`);
    const c = layer.channels;
    const weights = [
      input.name, g.weight(`${layer.name}/gamma`, [c], g.values(layer, 0)), g.weight(`${layer.name}/beta`, [c], g.values(layer, 1)),
      g.weight(`${layer.name}/moving_mean`, [c], layer.movingMean.slice()), g.weight(`${layer.name}/moving_variance`, [c], layer.movingVariance.slice()),
    ];
    return at(g.node("BatchNormalization", weights, [{ name: "epsilon", type: "FLOAT", f: layer.epsilon }, { name: "momentum", type: "FLOAT", f: layer.momentum }], layer.name), input.layout);
  }
  if (layer instanceof Normalization) {
    // (x − mean) / √variance on the last axis of our layout, which [features] constants broadcast over;
    // inverted, x·√variance + mean.
    const input = g.ours(x);
    const c = layer.features;
    const mean = g.weight(`${layer.name}/mean`, [c], layer.mean.slice());
    const std = g.weight(`${layer.name}/std`, [c], layer.variance.map((v) => Math.sqrt(v)));
    if (layer.invert) return at(g.node("Add", [g.node("Mul", [input.name, std], [], "mul"), mean], [], layer.name), "ours");
    return at(g.node("Div", [g.node("Sub", [input.name, mean], [], "sub"), std], [], layer.name), "ours");
  }
  if (layer instanceof Flatten) {
    const input = g.ours(x);
    return input.shape.length === 1 ? input : at(g.node("Flatten", [input.name], [int("axis", 1)], layer.name), "ours");
  }
  if (layer instanceof Dense) {
    const features = layer.inputShape[layer.inputShape.length - 1];
    const kernel = g.weight(`${layer.name}/kernel`, [features, layer.units], g.values(layer, 0));
    const bias = layer.bias ? g.weight(`${layer.name}/bias`, [layer.units], g.values(layer, 1)) : undefined;
    if (x.shape.length === 1) {
      return activation(g, at(g.node("Gemm", bias ? [x.name, kernel, bias] : [x.name, kernel], [], layer.name), "ours"), layer.activation, layer.name);
    }
    // On the last axis of higher-rank input: MatMul broadcasts over the leading axes (Gemm is 2-D only).
    const product = g.node("MatMul", [g.ours(x).name, kernel], [], bias ? "matmul" : layer.name);
    const z = bias ? g.node("Add", [product, bias], [], layer.name) : product;
    return activation(g, at(z, "ours"), layer.activation, layer.name);
  }
  if (layer instanceof ActivationLayer) return activation(g, x, layer.activation, layer.name);
  if (layer instanceof Add || layer instanceof Multiply || layer instanceof Maximum || layer instanceof Minimum || layer instanceof Average || layer instanceof Subtract) {
    const same = common(g, inputs);
    const op = layer instanceof Add ? "Sum" : layer instanceof Multiply ? "Mul" : layer instanceof Maximum ? "Max" : layer instanceof Minimum ? "Min" : layer instanceof Average ? "Mean" : "Sub";
    // Mul and Sub take two inputs at opset 13; Sum, Max, Min and Mean any number.
    let out = same[0].name;
    if (op === "Mul") for (let i = 1; i < same.length; i++) out = g.node("Mul", [out, same[i].name], [], i === same.length - 1 ? layer.name : "mul");
    else out = g.node(op, same.map((r) => r.name), [], layer.name);
    return { name: out, layout: same[0].layout, shape };
  }
  if (layer instanceof Concatenate) {
    const same = common(g, inputs);
    const rank = shape.length;
    const a = layer.axis < 0 ? rank + layer.axis : layer.axis - 1;
    // Our per-sample axis a is ONNX axis a + 1; channels first, channels (our last) are axis 1 and the
    // others follow from axis 2 (NCHW: height 2, width 3; NCL: steps 2).
    const axis = same[0].layout === "NCHW" ? (a === rank - 1 ? 1 : a + 2) : a + 1;
    return { name: g.node("Concat", same.map((r) => r.name), [int("axis", axis)], layer.name), layout: same[0].layout, shape };
  }
  if (layer instanceof Dot) {
    const product = g.node("Mul", [x.name, inputs[1].name]);
    return at(g.node("ReduceSum", [product, g.int64s([1])], [int("keepdims", 1)], layer.name), "ours");
  }
  if (layer instanceof Reshape) {
    return at(g.node("Reshape", [g.ours(x).name, g.int64s([-1, ...shape])], [], layer.name), "ours");
  }
  if (layer instanceof Permute) {
    return at(g.node("Transpose", [g.ours(x).name], [ints("perm", [0, ...layer.dims])], layer.name), "ours");
  }
  if (layer instanceof ZeroPadding2D) {
    const [[top, bottom], [left, right]] = layer.padding;
    return at(g.node("Pad", [g.nchw(x).name, g.int64s([0, 0, top, left, 0, 0, bottom, right])], [{ name: "mode", type: "STRING", s: "constant" }], layer.name), "NCHW");
  }
  if (layer instanceof Cropping2D) {
    const [[top, bottom], [left, right]] = layer.cropping;
    const [h, w] = x.shape;
    const inputs2 = [g.nchw(x).name, g.int64s([top, left]), g.int64s([h - bottom, w - right]), g.int64s([2, 3])];
    return at(g.node("Slice", inputs2, [], layer.name), "NCHW");
  }
  if (layer instanceof UpSampling2D) {
    const [sh, sw] = layer.size;
    const nearest = layer.interpolation === "nearest";
    const attributes: AttributeProto[] = [
      { name: "mode", type: "STRING", s: nearest ? "nearest" : "linear" },
      { name: "coordinate_transformation_mode", type: "STRING", s: nearest || !layer.halfPixelCenters ? "asymmetric" : "half_pixel" },
    ];
    if (nearest) attributes.push({ name: "nearest_mode", type: "STRING", s: "floor" });
    return at(g.node("Resize", [g.nchw(x).name, "", g.floats([1, 1, sh, sw])], attributes, layer.name), "NCHW");
  }
  return unsupported(layer, "this layer type");
}

/**
 * Pooling over steps: ReduceMean/ReduceMax over the time axis (1 in our layout, 2 in NCL). With a mask,
 * padded steps are left out as wasmgrad's kernels leave them: the mean is Σ x·m / max(Σ m, 1), the max is
 * over real steps only, and a sample with no real step pools to zeros.
 */
function globalPool1D(g: GraphWriter, layer: GlobalAveragePool1D | GlobalMaxPool1D, x: Ref): Ref {
  const average = layer instanceof GlobalAveragePool1D;
  const out = (name: string): Ref => ({ name, layout: "ours", shape: layer.outputShape });
  if (!x.mask) {
    const axis = x.layout === "NCHW" ? 2 : 1;
    return out(g.node(average ? "ReduceMean" : "ReduceMax", [x.name], [ints("axes", [axis]), int("keepdims", 0)], layer.name));
  }
  const input = g.ours(x).name;
  const m = g.node("Unsqueeze", [x.mask, g.int64s([2])]); // [batch, steps, 1]
  const count = g.node("ReduceSum", [x.mask, g.int64s([1])], [int("keepdims", 1)]); // [batch, 1]
  if (average) {
    const sum = g.node("ReduceSum", [g.node("Mul", [input, m]), g.int64s([1])], [int("keepdims", 0)]);
    return out(g.node("Div", [sum, g.node("Max", [count, g.floats([1], [])])], [], layer.name));
  }
  const real = g.node("Cast", [m], [int("to", TensorDataType.BOOL)]);
  const max = g.node("ReduceMax", [g.node("Where", [real, input, g.floats([-Infinity], [])])], [ints("axes", [1]), int("keepdims", 0)]);
  const any = g.node("Cast", [count], [int("to", TensorDataType.BOOL)]);
  return out(g.node("Where", [any, max, g.floats([0], [])], [], layer.name));
}

/** A convolution node on the channels-first input (NCHW, or NCL for Conv1D), with the layer's bias, pads and activation. */
function convNode(
  g: GraphWriter, layer: Conv1D | Conv2D | DepthwiseConv2D | Conv2DTranspose, op: string, x: Ref, dims: number[], w: Float32Array,
  strides: number[], extra: AttributeProto[],
): Ref {
  const weights = [g.nchw(x).name, g.weight(`${layer.name}/kernel`, dims, w)];
  if (layer.bias) weights.push(g.weight(`${layer.name}/bias`, [layer.bias.size], g.values(layer, 1)));
  const attributes = [ints("kernel_shape", dims.slice(2)), ints("strides", strides), ints("pads", layer.pads), ...extra];
  return activation(g, { name: g.node(op, weights, attributes, layer.name), layout: "NCHW", shape: layer.outputShape }, layer.activation, layer.name);
}

/** A 4-D kernel [kh, kw, a, b] re-laid by `at(y, x, i, j)` → its index in the new layout. */
function relayout(ours: Float32Array, kh: number, kw: number, a: number, b: number, at: (y: number, x: number, i: number, j: number) => number): Float32Array {
  const out = new Float32Array(ours.length);
  for (let y = 0; y < kh; y++)
    for (let xx = 0; xx < kw; xx++)
      for (let i = 0; i < a; i++)
        for (let j = 0; j < b; j++) out[at(y, xx, i, j)] = ours[((y * kw + xx) * a + i) * b + j];
  return out;
}

/** Inputs of a merge in one layout: NCHW when all are, else ours. */
function common(g: GraphWriter, inputs: Ref[]): Ref[] {
  return inputs.every((r) => r.layout === "NCHW") ? inputs : inputs.map((r) => g.ours(r));
}

function unsupported(layer: Layer, what: string): never {
  throw new InputError(`layer ${layer.name} (${layer.type}) has no ONNX export for ${what}`);
}

function activation(g: GraphWriter, x: Ref, fn: ActivationFunction, where: string): Ref {
  const name = activationNodes(
    fn, x.name, (op, inputs, attributes) => g.node(op, inputs, attributes),
    (hint, dims, data) => g.weight(`${where}/${hint}`, dims, data),
    // Softmax over channels: the last axis in our layout, axis 1 in NCHW.
    { softmaxAxis: x.layout === "NCHW" ? 1 : -1 },
  );
  return { ...x, name };
}
