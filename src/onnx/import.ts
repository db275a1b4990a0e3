// ONNX → a trainable Sequential. Reads chain-shaped graphs (each operator consumes the previous one's
// output, as MLPs and CNNs exported from PyTorch, Keras or wasmgrad are) made of Gemm, MatMul, Add,
// Conv, BatchNormalization, Relu, Sigmoid, Tanh, Softmax, MaxPool, AveragePool, GlobalAveragePool,
// Flatten, Reshape, Transpose (the layout changes wasmgrad's exporter writes), Dropout and Identity.
//
// Layout: ONNX image operators are NCHW, wasmgrad's layers NHWC. A PyTorch model's [N, C, H, W] input
// becomes inputShape [H, W, C] (the same bytes when C = 1, as for MNIST; with C > 1 feed channels-last
// data). Weights are re-laid as they are read, and a Flatten of an NCHW tensor is followed by a row
// permutation of the next Dense kernel, so the imported model computes exactly what the file does.

import { InputError } from "../errors";
import type { Kernels } from "../engine/kernels";
import { Activation } from "../layers/activation";
import type { ActivationName } from "../layers/activation-function";
import { AveragePool2D, GlobalAveragePool2D } from "../layers/average-pool2d";
import { BatchNormalization } from "../layers/batch-normalization";
import { Conv2D } from "../layers/conv2d";
import { Dense } from "../layers/dense";
import { Flatten } from "../layers/flatten";
import type { Layer } from "../layers/layer";
import { MaxPool2D } from "../layers/max-pool2d";
import { slideWindow, type Padding } from "../layers/spatial";
import { Sequential } from "../model/sequential";
import { checkOnnxModel } from "./checker";
import { attribute, decodeModel, type AttributeProto, type NodeProto, type TensorProto } from "./onnx-proto";

export const IMPORTABLE_OPS = [
  "Gemm", "MatMul", "Add", "Conv", "BatchNormalization", "Relu", "Sigmoid", "Tanh", "Softmax", "MaxPool", "AveragePool",
  "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Dropout", "Identity", "Constant",
];

/** What the importer knows about the tensor flowing between layers. */
interface Flow {
  /** Logical ONNX shape without the batch: [C, H, W] when "NCHW", [H, W, C] when "NHWC", [F] when "flat". */
  layout: "NCHW" | "NHWC" | "flat";
  dims: number[];
  /**
   * For "flat" data that came from flattening a multi-channel NCHW image: that image's [C, H, W]. The next
   * Dense's rows are then re-ordered (ours[j] = theirs[permutation[j]]); the permutation is built only once
   * that layer's weight is known to hold C·H·W rows, so a file cannot claim a huge image to make us allocate it.
   */
  image?: [number, number, number];
}

interface PendingWeights {
  layer: Layer;
  values: Float32Array[];
  state?: number[];
}

export function importOnnx(bytes: Uint8Array, options: { source?: string; seed?: number; kernels?: Kernels; name?: string } = {}): Sequential {
  const source = options.source ?? "ONNX model";
  const model = decodeModel(bytes, source);
  checkOnnxModel(model, source);
  const graph = model.graph;
  const constants = new Map<string, TensorProto>(graph.initializers.map((t) => [t.name, t]));
  const inputs = graph.inputs.filter((i) => !constants.has(i.name));
  if (inputs.length !== 1) throw new InputError(`${source}: the graph has ${inputs.length} data inputs; wasmgrad imports models with exactly one`);
  const input = inputs[0];
  const shape = input.shape;
  if (!shape || shape.length < 2 || shape.slice(1).some((d) => typeof d !== "number" || d < 1)) {
    throw new InputError(`${source}: input '${input.name}' must have fixed sizes after the batch dimension, e.g. [batch, 1, 28, 28]; it is [${shape?.join(", ") ?? "unknown"}]`);
  }
  const sample = shape.slice(1) as number[];
  let flow: Flow;
  if (sample.length === 3) flow = { layout: "NCHW", dims: sample };
  else if (sample.length === 1) flow = { layout: "flat", dims: sample };
  else if (sample.length === 2) flow = { layout: "NCHW", dims: [1, ...sample] };
  else throw new InputError(`${source}: input '${input.name}' shaped [${shape.join(", ")}] is not an image ([batch, C, H, W]) or a feature vector ([batch, F])`);

  // wasmgrad's own exports take NHWC input (a Transpose to NCHW precedes their first image operator).
  const first = graph.nodes.find((n) => n.opType !== "Constant");
  const takesNhwc = sample.length === 3 && (model.producerName === "wasmgrad" || (first?.opType === "Transpose" && sameInts(ints(first, "perm"), [0, 3, 1, 2])));
  if (takesNhwc) flow = { layout: "NHWC", dims: sample };
  const inputShape = flow.layout === "NCHW" ? [flow.dims[1], flow.dims[2], flow.dims[0]] : flow.layout === "NHWC" ? flow.dims : flow.dims;

  const layers: PendingWeights[] = [];
  let current = input.name;
  const where = (node: NodeProto, i: number) => `${source}: node ${node.name || `#${i}`} (${node.opType})`;
  const lastLayer = () => layers[layers.length - 1]?.layer;
  /** Whether the last layer produced `current` and its activation can still take a fused activation. */
  let fusable = false;

  graph.nodes.forEach((node, i) => {
    const at = where(node, i);
    if (node.domain && node.domain !== "ai.onnx") throw new InputError(`${at}: operators of domain '${node.domain}' are not supported`);
    if (node.opType === "Constant") {
      const value = attribute(node, "value");
      if (value?.type !== "TENSOR") throw new InputError(`${at}: only tensor constants are supported`);
      constants.set(node.outputs[0], { ...value.t, name: node.outputs[0] });
      return;
    }
    if (!IMPORTABLE_OPS.includes(node.opType)) {
      throw new InputError(`${at}: unsupported operator '${node.opType}'; wasmgrad imports ${IMPORTABLE_OPS.filter((o) => o !== "Constant").join(", ")}`);
    }
    if (node.inputs[0] !== current) {
      throw new InputError(`${at}: reads '${node.inputs[0]}' rather than the previous operator's output '${current}'; wasmgrad imports chain-shaped graphs (no branches or skip connections)`);
    }
    const param = (index: number, what: string): TensorProto => {
      const t = constants.get(node.inputs[index] ?? "");
      if (!t) throw new InputError(`${at}: its ${what} ('${node.inputs[index] ?? "missing"}') must be a constant (an initializer)`);
      return t;
    };
    const wasFusable = fusable;
    fusable = false;
    switch (node.opType) {
      case "Identity":
      case "Dropout":
        fusable = wasFusable;
        break;
      case "Transpose": {
        const perm = ints(node, "perm");
        if (flow.layout === "NHWC" && sameInts(perm, [0, 3, 1, 2])) flow = { layout: "NCHW", dims: [flow.dims[2], flow.dims[0], flow.dims[1]] };
        else if (flow.layout === "NCHW" && sameInts(perm, [0, 2, 3, 1])) flow = { layout: "NHWC", dims: [flow.dims[1], flow.dims[2], flow.dims[0]] };
        else throw new InputError(`${at}: only the NHWC↔NCHW transposes are supported, not perm [${perm.join(", ")}] on a ${flow.layout} tensor`);
        fusable = wasFusable;
        break;
      }
      case "Relu":
      case "Sigmoid":
      case "Tanh":
      case "Softmax": {
        const name = node.opType.toLowerCase() as ActivationName;
        if (name === "softmax") {
          const axis = intAttr(node, "axis", -1);
          const rank = flow.layout === "flat" ? 2 : 4;
          const channelAxis = flow.layout === "NCHW" ? 1 : rank - 1;
          if ((axis + rank) % rank !== channelAxis) throw new InputError(`${at}: Softmax over axis ${axis} is supported only over the channels/features axis`);
        }
        const last = lastLayer();
        if (wasFusable && (last instanceof Dense || last instanceof Conv2D)) {
          (last.activation as { name: ActivationName }).name = name;
        } else {
          layers.push({ layer: new Activation({ activation: name }), values: [] });
        }
        break;
      }
      case "Gemm":
      case "MatMul": {
        if (flow.layout !== "flat") throw new InputError(`${at}: needs a flat input; this model applies it to a ${flow.layout} image without a Flatten`);
        const b = param(1, "weight");
        if (b.dims.length !== 2) throw new InputError(`${at}: the weight must be 2-D, it is [${b.dims.join(", ")}]`);
        const transB = node.opType === "Gemm" && intAttr(node, "transB", 0) === 1;
        if (node.opType === "Gemm" && intAttr(node, "transA", 0) !== 0) throw new InputError(`${at}: transA = 1 is not supported`);
        const [inputs, units] = transB ? [b.dims[1], b.dims[0]] : b.dims;
        if (inputs !== flow.dims[0]) throw new InputError(`${at}: the weight takes ${inputs} inputs but ${flow.dims[0]} arrive`);
        // An empty weight ([n, 0] holds no values whatever n claims) would make the loops below run n times for nothing.
        if (inputs < 1 || units < 1) throw new InputError(`${at}: the weight [${b.dims.join(", ")}] is empty`);
        const permutation = flow.image && nchwRowOrder(flow.image);
        const alpha = node.opType === "Gemm" ? floatAttr(node, "alpha", 1) : 1, beta = node.opType === "Gemm" ? floatAttr(node, "beta", 1) : 1;
        const w = floats(b, at);
        const kernel = new Float32Array(inputs * units);
        // Ours is [inputs, units], rows in our flattened order.
        for (let r = 0; r < inputs; r++) {
          const theirs = permutation ? permutation[r] : r;
          for (let u = 0; u < units; u++) kernel[r * units + u] = alpha * (transB ? w[u * inputs + theirs] : w[theirs * units + u]);
        }
        const bias = new Float32Array(units);
        if (node.opType === "Gemm" && node.inputs[2]) {
          const c = floats(param(2, "bias"), at);
          if (c.length !== units && c.length !== 1) throw new InputError(`${at}: the bias has ${c.length} values for ${units} units`);
          for (let u = 0; u < units; u++) bias[u] = beta * c[c.length === 1 ? 0 : u];
        }
        layers.push({ layer: new Dense({ units }), values: [kernel, bias] });
        flow = { layout: "flat", dims: [units] };
        fusable = true;
        break;
      }
      case "Add": {
        const last = layers[layers.length - 1];
        const c = param(1, "addend");
        const values = floats(c, at);
        const width = flow.dims[flow.layout === "NCHW" ? 0 : flow.dims.length - 1];
        if (!wasFusable || !(last.layer instanceof Dense || last.layer instanceof Conv2D) || (values.length !== width && values.length !== 1)) {
          throw new InputError(`${at}: Add is supported only as the bias right after MatMul, Gemm or Conv (a constant per output)`);
        }
        for (let u = 0; u < width; u++) last.values[1][u] += values[values.length === 1 ? 0 : u];
        fusable = true;
        break;
      }
      case "Conv": {
        if (flow.layout !== "NCHW") throw new InputError(`${at}: needs an NCHW image, it gets a ${flow.layout} tensor`);
        const w = param(1, "weight");
        if (w.dims.length !== 4) throw new InputError(`${at}: only 2-D convolutions are supported (weight [${w.dims.join(", ")}])`);
        const [cout, cin, kh, kw] = w.dims;
        // An empty weight ([n, n, 0, n] holds no values) would make the re-laying loops below run n² times for nothing.
        if (w.data.length === 0) throw new InputError(`${at}: the weight [${w.dims.join(", ")}] is empty`);
        const [c, h, wd] = flow.dims;
        if (intAttr(node, "group", 1) !== 1) throw new InputError(`${at}: grouped or depthwise convolutions are not supported`);
        if (cin !== c) throw new InputError(`${at}: the weight takes ${cin} channels but ${c} arrive`);
        if (ints(node, "dilations", [1, 1]).some((d) => d !== 1)) throw new InputError(`${at}: dilated convolutions are not supported`);
        const stride = equalStrides(node, at);
        const padding = paddingOf(node, at, h, wd, kh, kw, stride);
        const ws = floats(w, at);
        const kernel = new Float32Array(ws.length);
        for (let o = 0; o < cout; o++)
          for (let i = 0; i < cin; i++)
            for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) kernel[((y * kw + x) * cin + i) * cout + o] = ws[((o * cin + i) * kh + y) * kw + x];
        const bias = node.inputs[2] ? floats(param(2, "bias"), at).slice() : new Float32Array(cout);
        const layer = new Conv2D({ filters: cout, kernelSize: [kh, kw], strides: stride, padding });
        layers.push({ layer, values: [kernel, bias] });
        const out = slideWindow(h, wd, kh, kw, stride, padding, at);
        flow = { layout: "NCHW", dims: [cout, out.outH, out.outW] };
        fusable = true;
        break;
      }
      case "MaxPool":
      case "AveragePool": {
        if (flow.layout !== "NCHW") throw new InputError(`${at}: needs an NCHW image, it gets a ${flow.layout} tensor`);
        const [kh, kw] = ints(node, "kernel_shape");
        if (intAttr(node, "ceil_mode", 0) !== 0) throw new InputError(`${at}: ceil_mode = 1 is not supported`);
        const [c, h, w] = flow.dims;
        const stride = equalStrides(node, at);
        const padding = paddingOf(node, at, h, w, kh, kw, stride);
        if (node.opType === "AveragePool" && padding === "same" && intAttr(node, "count_include_pad", 0) !== 0) {
          throw new InputError(`${at}: count_include_pad = 1 is not supported (wasmgrad averages over real pixels only)`);
        }
        const options = { poolSize: [kh, kw] as [number, number], strides: stride, padding };
        layers.push({ layer: node.opType === "MaxPool" ? new MaxPool2D(options) : new AveragePool2D(options), values: [] });
        const out = slideWindow(h, w, kh, kw, stride, padding, at);
        flow = { layout: "NCHW", dims: [c, out.outH, out.outW] };
        break;
      }
      case "GlobalAveragePool": {
        if (flow.layout !== "NCHW") throw new InputError(`${at}: needs an NCHW image, it gets a ${flow.layout} tensor`);
        layers.push({ layer: new GlobalAveragePool2D(), values: [] });
        // [C, 1, 1] in ONNX; flattening it later is free, and the order is the same.
        flow = { layout: "flat", dims: [flow.dims[0]] };
        break;
      }
      case "BatchNormalization": {
        const c = flow.layout === "NCHW" ? flow.dims[0] : flow.layout === "flat" ? flow.dims[0] : flow.dims[2];
        const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((k) => floats(param(k, ["", "scale", "bias", "mean", "variance"][k]), at));
        if ([gamma, beta, mean, variance].some((t) => t.length !== c)) throw new InputError(`${at}: its parameters must have one value per channel (${c})`);
        if (flow.image) throw new InputError(`${at}: batch normalization after flattening an image is not supported`);
        const layer = new BatchNormalization({ epsilon: floatAttr(node, "epsilon", 1e-5), momentum: floatAttr(node, "momentum", 0.9) });
        layers.push({ layer, values: [gamma.slice(), beta.slice()], state: [...mean, ...variance] });
        break;
      }
      case "Flatten":
      case "Reshape": {
        if (node.opType === "Flatten" && intAttr(node, "axis", 1) !== 1) throw new InputError(`${at}: only Flatten with axis 1 is supported`);
        if (node.opType === "Reshape") {
          const target = Array.from(integers(param(1, "shape"), at));
          const size = flow.dims.reduce((a, b) => a * b, 1);
          const flat = target.length === 2 && (target[1] === -1 || target[1] === size) && (target[0] === -1 || target[0] === 0 || target[1] !== -1);
          if (!flat) throw new InputError(`${at}: only a reshape to [batch, features] is supported, not [${target.join(", ")}]`);
        }
        if (flow.layout === "flat") {
          fusable = wasFusable;
          break;
        }
        layers.push({ layer: new Flatten(), values: [] });
        if (flow.layout === "NCHW" && flow.dims[0] > 1 && flow.dims[1] * flow.dims[2] > 1) {
          // Our flatten order is (h, w, c); theirs (c, h, w): the next Dense re-orders its rows (see Flow.image).
          const [c, h, w] = flow.dims;
          flow = { layout: "flat", dims: [c * h * w], image: [c, h, w] };
        } else {
          flow = { layout: "flat", dims: [flow.dims.reduce((a, b) => a * b, 1)] };
        }
        break;
      }
    }
    if (flow.image && !["Flatten", "Reshape", "Identity", "Dropout"].includes(node.opType) && node.opType !== "Gemm" && node.opType !== "MatMul") {
      throw new InputError(`${at}: after flattening an image, the next operator must be Gemm or MatMul`);
    }
    if (node.opType === "Gemm" || node.opType === "MatMul") flow.image = undefined;
    current = node.outputs[0];
  });

  const outputs = graph.outputs.map((o) => o.name);
  if (!outputs.includes(current)) throw new InputError(`${source}: the last operator's output '${current}' is not a graph output (${outputs.join(", ")}); the graph is not one chain`);
  if (layers.length === 0) throw new InputError(`${source}: the graph has no layers wasmgrad can train`);
  if (flow.layout !== "flat") layers.push({ layer: new Flatten(), values: [] });

  const sequential = new Sequential({ name: options.name ?? (graph.name || "imported"), inputShape, seed: options.seed, kernels: options.kernels, layers: layers.map((l) => l.layer) });
  sequential.build();
  sequential.setWeights(layers.flatMap((l) => l.values.slice(0, l.layer.params.length)));
  for (const l of layers) if (l.state) l.layer.setState(l.state);
  return sequential;
}

/** Row order of a flattened [C, H, W] image: ours (h, w, c) → theirs (c, h, w). */
function nchwRowOrder([c, h, w]: [number, number, number]): Int32Array {
  const permutation = new Int32Array(c * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) permutation[(y * w + x) * c + ch] = (ch * h + y) * w + x;
  return permutation;
}

function ints(node: NodeProto, name: string, fallback?: number[]): number[] {
  const a = attribute(node, name);
  if (!a) {
    if (fallback) return fallback;
    throw new InputError(`node ${node.name} (${node.opType}): attribute '${name}' is required`);
  }
  if (a.type !== "INTS") throw new InputError(`node ${node.name} (${node.opType}): attribute '${name}' must be a list of integers`);
  return a.ints;
}

function intAttr(node: NodeProto, name: string, fallback: number): number {
  const a: AttributeProto | undefined = attribute(node, name);
  if (!a) return fallback;
  if (a.type !== "INT") throw new InputError(`node ${node.name} (${node.opType}): attribute '${name}' must be an integer`);
  return a.i;
}

function floatAttr(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  if (!a) return fallback;
  if (a.type !== "FLOAT") throw new InputError(`node ${node.name} (${node.opType}): attribute '${name}' must be a float`);
  return a.f;
}

function sameInts(a: number[] | undefined, b: number[]): boolean {
  return !!a && a.length === b.length && a.every((v, i) => v === b[i]);
}

function equalStrides(node: NodeProto, at: string): number {
  const [sh, sw] = ints(node, "strides", [1, 1]);
  if (sh !== sw) throw new InputError(`${at}: strides must be equal in both directions, got [${sh}, ${sw}]`);
  return sh;
}

/** ONNX pads or auto_pad → 'valid' or 'same' (TF's rule: the odd pixel at the bottom/right), or an error. */
function paddingOf(node: NodeProto, at: string, h: number, w: number, kh: number, kw: number, stride: number): Padding {
  const autoPad = attribute(node, "auto_pad");
  const mode = autoPad?.type === "STRING" ? autoPad.s : "NOTSET";
  if (mode === "VALID") return "valid";
  if (mode === "SAME_UPPER") return "same";
  if (mode !== "NOTSET") throw new InputError(`${at}: auto_pad ${mode} is not supported`);
  const pads = ints(node, "pads", [0, 0, 0, 0]);
  if (pads.every((p) => p === 0)) return "valid";
  const same = slideWindow(h, w, kh, kw, stride, "same", at);
  const padH = Math.max((same.outH - 1) * stride + kh - h, 0), padW = Math.max((same.outW - 1) * stride + kw - w, 0);
  const expected = [same.padTop, same.padLeft, padH - same.padTop, padW - same.padLeft];
  if (sameInts(pads, expected)) return "same";
  throw new InputError(`${at}: pads [${pads.join(", ")}] are neither 'valid' (none) nor 'same' ([${expected.join(", ")}] for this input)`);
}

function floats(t: TensorProto, at: string): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  throw new InputError(`${at}: tensor '${t.name}' must hold floats`);
}

function integers(t: TensorProto, at: string): number[] {
  if (t.data instanceof BigInt64Array) return Array.from(t.data, Number);
  if (t.data instanceof Int32Array) return Array.from(t.data);
  throw new InputError(`${at}: tensor '${t.name}' must hold integers`);
}
