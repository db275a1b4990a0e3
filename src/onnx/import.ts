// ONNX → a trainable wasmgrad Model (a graph: several inputs and outputs, fan-out, residual adds, concats,
// weights shared between nodes that use one initializer). Files shaped as a chain import as a chain.
// The pieces live in src/onnx/import/: values.ts (what is known about each tensor, and its layout),
// context.ts (the walk's state and each node's reader), shape-folding.ts (constants and shape arithmetic),
// data.ts (bringing tensors into the form a layer takes), weights.ts (re-laying weights), and operators/
// (one file per family of operators, and the table of them). Layers are made from their JSON configs, so
// an imported model's description is the one its checkpoints carry.
//
// Layout: ONNX image operators are NCHW, wasmgrad's layers NHWC. A PyTorch model's [N, C, H, W] input
// becomes a per-sample [H, W, C] input (callers feed channels-last data: the same bytes only when C = 1),
// and image outputs come out channels-last too. Weights are re-laid as they are read, and a flatten of a
// channels-first image re-orders the rows of the Gemm/MatMul after it, so the model computes exactly
// what the file does. wasmgrad's own exports (NHWC input, transposed once inside) keep their NHWC input.
//
// Sequences: Gather on a table is an Embedding (its ids may be an int64 input, fed to wasmgrad as floats);
// LSTM, GRU and RNN become the recurrent layers, with the time-major tensors around them tracked by where
// their batch axis is (import/values.ts, operators/recurrent.ts). Attention (a Softmax between two products
// of computed tensors) is matched as a whole subgraph before the walk and becomes one MultiHeadAttention
// (operators/attention.ts); layer normalisation, as an operator or written out, one LayerNormalization.
//
// Dynamic sizes: a file may leave dims open (PyTorch's dynamic_axes); the batch always may, the rest must
// be given in the file's own layout (inputShape: [3, 224, 224]; the CLI's --input-shape 3,224,224).

import type { Kernels } from "../engine/kernels";
import { InputError } from "../errors";
import { Input, type SymbolicTensor } from "../layers/symbolic";
import { Model } from "../model/model";
import { decodeModel, type NodeProto, type TensorProto, type ValueInfoProto } from "./onnx-proto";
import { ImportContext, NodeReader, type ParameterSource } from "./import/context";
import { inFileOrder } from "./import/data";
import { IMPORTABLE_OPS, operatorTable } from "./import/operators/index";
import { findAttention } from "./import/operators/attention";
import { constantNode, tensorValue } from "./import/shape-folding";
import { channelsLastLayout, identityLayout, isIdentityLayout, sameLayout, type Value } from "./import/values";
import { checkOnnxModel } from "./checker";

export { IMPORTABLE_OPS };
export type { ParameterSource };

export interface ImportOnnxOptions {
  /** Names the file in error messages. */
  source?: string;
  seed?: number;
  kernels?: Kernels;
  name?: string;
  /**
   * Per-sample input shape in the file's own layout (e.g. [3, 224, 224] for a PyTorch image input), for
   * the sizes a file leaves open; with several inputs, a record by input name.
   */
  inputShape?: number[] | Record<string, number[]>;
}

export interface ImportedTensor {
  name: string;
  /** Per sample, in the file's layout (e.g. [3, 224, 224]). */
  fileShape: number[];
  /** Per sample, as wasmgrad feeds or returns it (e.g. [224, 224, 3]). */
  shape: number[];
  /** Whether the file's channels-first image is channels-last in wasmgrad (its data must be fed so). */
  channelsLast: boolean;
  /**
   * Set for an input the file declares as integers (int64, int32): the ids of an embedding lookup. wasmgrad
   * feeds them as float32, like every input; the Embedding checks each is a whole number in range.
   */
  integer?: "int64" | "int32";
}

export interface OnnxImport {
  model: Model;
  inputs: ImportedTensor[];
  outputs: ImportedTensor[];
  /** The model's parameters that are initializers of the file, with how to re-lay the file's values. */
  parameters: ParameterSource[];
}

/** The file as a trainable Model (built, with the file's weights). */
export function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): Model {
  return readOnnx(bytes, options).model;
}

/** importOnnx, with what the import found out about inputs, outputs and parameters. */
export function readOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): OnnxImport {
  const source = options.source ?? "ONNX model";
  const file = decodeModel(bytes, source);
  checkOnnxModel(file, source);
  const graph = file.graph;
  const opset = file.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 13;
  const initializers = new Map<string, TensorProto>(graph.initializers.map((t) => [t.name, t]));
  const dataInputs = graph.inputs.filter((i) => !initializers.has(i.name));
  if (dataInputs.length === 0) throw new InputError(`${source}: the graph has no inputs besides its weights`);
  if (graph.outputs.length === 0) throw new InputError(`${source}: the graph has no outputs`);

  const ctx = new ImportContext(source, opset, graph.nodes, graph.outputs.map((o) => o.name), initializers);
  for (const [name, t] of initializers) ctx.values.set(name, tensorValue(t, name));

  const perSample = resolveInputShapes(source, dataInputs, options.inputShape);
  const batches = dataInputs.map((i) => i.shape?.[0]);
  const fixedBatch = batches.every((b) => typeof b === "number" && b === batches[0]) ? (batches[0] as number) : undefined;
  const inputs: SymbolicTensor[] = [];
  const inputReport: ImportedTensor[] = [];
  dataInputs.forEach((info, k) => {
    const shape = perSample[k];
    const nchw = shape.length === 3 && !takesNhwc(file.producerName, graph.nodes, info.name);
    const ours = nchw ? [shape[1], shape[2], shape[0]] : shape;
    const sym = Input({ shape: ours, name: info.name });
    inputs.push(sym);
    ctx.values.set(info.name, { kind: "data", sym, shape, layout: nchw ? channelsLastLayout(shape) : identityLayout(shape) });
    inputReport.push({ name: info.name, fileShape: shape, shape: ours, channelsLast: nchw && shape[0] > 1, ...(INTEGER_INPUTS[info.elemType] ? { integer: INTEGER_INPUTS[info.elemType] } : {}) });
  });

  const where = (node: NodeProto, i: number) => `${source}: node ${node.name || `#${i}`} (${node.opType})`;
  // Constant nodes first: they read nothing, and a mapper looking ahead (a bias add after a Conv) may need one defined later.
  graph.nodes.forEach((node, i) => {
    if (node.opType === "Constant" && isDefaultDomain(node)) define(ctx, node, constantNode(new NodeReader(node, where(node, i), ctx)), where(node, i));
  });
  // Attention is recognised as a whole subgraph before the walk (operators/attention.ts).
  findAttention(ctx, graph, dataInputs.map((info, k) => ({ name: info.name, shape: perSample[k] })), opset);
  const mappers = operatorTable({ fixedBatch });
  graph.nodes.forEach((node, i) => {
    if (ctx.absorbed.has(node) || ctx.skipped.has(node) || (node.opType === "Constant" && isDefaultDomain(node))) return;
    const at = where(node, i);
    if (!isDefaultDomain(node)) throw new InputError(`${at}: operators of domain '${node.domain}' are not supported`);
    const mapper = ctx.specialMappers.get(node) ?? (Object.hasOwn(mappers, node.opType) ? mappers[node.opType] : undefined);
    if (!mapper) {
      throw new InputError(`${at}: unsupported operator '${node.opType}'; wasmgrad imports ${IMPORTABLE_OPS.join(", ")} — replace it in the model before exporting`);
    }
    define(ctx, node, mapper(new NodeReader(node, at, ctx)), at);
  });

  const outputs: SymbolicTensor[] = [];
  const outputReport: ImportedTensor[] = [];
  const taken = new Set<string>(dataInputs.map((i) => i.name));
  for (const info of graph.outputs) {
    const at = `${source}: output '${info.name}'`;
    const value = ctx.values.get(info.name);
    if (!value) throw new InputError(`${at}: no node produces it`);
    if (value.kind !== "data") throw new InputError(`${at} is a constant; wasmgrad imports outputs computed from the inputs`);
    const reader = new NodeReader(outputNode(info.name), at, ctx);
    if (value.batchAxis) {
      throw new InputError(`${at} has the batch at axis ${value.batchAxis} (a recurrent operator's time-major output, such as h_n); wasmgrad's outputs are batch-first — transpose it in the model before exporting`);
    }
    const unreversed = value.reversedAxis !== undefined ? ctx.applyPendingReverse(reader, value) : value;
    const padded = unreversed.pendingPad ? ctx.applyPendingPad(reader, unreversed) : unreversed;
    // Images come out channels-last; anything else a Transpose left in another order is put back in the file's.
    const keep = padded.shape.length === 3 && padded.shape[0] > 1 && sameLayout(padded.layout, channelsLastLayout(padded.shape));
    const v = keep ? padded : (inFileOrder(reader, padded) ?? padded);
    if (v.sym.isInput) throw new InputError(`${at} is the input '${v.sym.inputName}' itself; wasmgrad imports outputs that some layer computes`);
    // (Ours may be flat after a whole-image softmax: the same bytes as the image.)
    const image = keep;
    if (!image && !isIdentityLayout(v.layout)) {
      throw new InputError(`${at} [batch, ${v.shape}] is stored in another order than the file's in wasmgrad (a flattened channels-first image, or a transpose); end the model with a Linear, a pooling or an NCHW image`);
    }
    // The same tensor as an earlier output (an Identity, or a recurrent layer's last step and final state,
    // which are one value): a model's outputs are distinct tensors, so this one is a copy (linear Activation).
    const sym = outputs.includes(v.sym) ? ctx.addLayer(at, { type: "Activation", activation: "linear" }, [v.sym]).output : v.sym;
    outputs.push(sym);
    outputReport.push({ name: info.name, fileShape: v.shape, shape: [...sym.shape], channelsLast: image });
    // Name the layer after the output, so losses and metrics can be keyed by the file's names.
    const layer = sym.node!.layer;
    if (!layer.name && !taken.has(info.name)) {
      layer.name = info.name;
      taken.add(info.name);
    }
  }

  const model = new Model({ inputs, outputs, name: options.name ?? (graph.name || "imported"), seed: options.seed, kernels: options.kernels });
  model.build();
  const weights = model.layers.flatMap((layer) => {
    const pending = ctx.pending.get(layer);
    if (!pending && layer.params.length > 0) throw new Error(`importer: layer ${layer.name} (${layer.type}) has no weights from the file`);
    return pending ? pending.values.slice(0, layer.params.length) : [];
  });
  model.setWeights(weights);
  const parameters: ParameterSource[] = [];
  for (const layer of model.layers) {
    const pending = ctx.pending.get(layer);
    if (!pending) continue;
    if (pending.state) layer.setState(pending.state);
    layer.params.forEach((p, i) => {
      const s = pending.sources[i];
      if (s) parameters.push({ parameter: p.name, initializer: s.initializer, toWasmgrad: s.toWasmgrad });
    });
  }
  return { model, inputs: inputReport, outputs: outputReport, parameters };
}

/** ONNX's integer element types an input may have (int32, int64), as ImportedTensor names them. */
const INTEGER_INPUTS: Record<number, "int64" | "int32" | undefined> = { 6: "int32", 7: "int64" };

function isDefaultDomain(node: NodeProto): boolean {
  return !node.domain || node.domain === "ai.onnx";
}

function outputNode(name: string): NodeProto {
  return { name: "", opType: "output", domain: "", inputs: [name], outputs: [], attributes: [] };
}

function define(ctx: ImportContext, node: NodeProto, result: Value | (Value | undefined)[], at: string): void {
  const values = Array.isArray(result) ? result : [result];
  if (values.length > node.outputs.length) throw new InputError(`${at}: has ${node.outputs.length} outputs, fewer than it computes`);
  values.forEach((v, i) => {
    const name = node.outputs[i];
    if (v && name) {
      if (ctx.values.has(name) && !ctx.initializers.has(name)) throw new InputError(`${at}: its output '${name}' is produced twice in the graph`);
      ctx.values.set(name, v);
    }
  });
}

/** wasmgrad's own exports take NHWC images: the input's every reader transposes it to NCHW. */
function takesNhwc(producer: string, nodes: NodeProto[], input: string): boolean {
  if (producer === "wasmgrad") return true;
  const readers = nodes.filter((n) => n.inputs.includes(input));
  return readers.length > 0 && readers.every((n) => n.opType === "Transpose" && n.attributes.some((a) => a.name === "perm" && a.type === "INTS" && a.ints.join() === "0,3,1,2"));
}

/** Per-sample shapes of the data inputs: the file's fixed sizes, open ones from the inputShape option. */
function resolveInputShapes(source: string, inputs: ValueInfoProto[], given: ImportOnnxOptions["inputShape"]): number[][] {
  if (Array.isArray(given) && inputs.length > 1) {
    throw new InputError(`${source} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}); give each its shape by name (name=3,224,224)`);
  }
  if (given && !Array.isArray(given)) {
    const unknown = Object.keys(given).find((n) => !inputs.some((i) => i.name === n));
    if (unknown !== undefined) throw new InputError(`${source} has no input '${unknown}'; its inputs are ${inputs.map((i) => i.name).join(", ")}`);
  }
  return inputs.map((info) => {
    const at = `${source}: input '${info.name}'`;
    // Integer inputs got past the checker only as a Gather's indices (checker.ts).
    if (info.elemType !== 1 && !INTEGER_INPUTS[info.elemType]) throw new InputError(`${at} holds data type ${info.elemType}, not float32; wasmgrad imports models with float inputs`);
    const dims = info.shape;
    if (!dims || dims.length < 2) {
      throw new InputError(`${at} must have a batch dimension and sizes per sample, e.g. [batch, 3, 224, 224]; it is [${dims?.join(", ") ?? "unknown"}]`);
    }
    const shown = `[${dims.join(", ")}]`;
    const override = Array.isArray(given) ? given : given?.[info.name];
    if (override) {
      if (override.length !== dims.length - 1 || !override.every((d) => Number.isInteger(d) && d >= 1)) {
        throw new InputError(`${at} is ${shown}: its shape per sample needs ${dims.length - 1} positive sizes, not [${override.join(", ")}]`);
      }
      dims.slice(1).forEach((d, i) => {
        if (typeof d === "number" && d !== override[i]) throw new InputError(`${at} is ${shown}: size ${override[i]} at position ${i + 1} of the input shape [${override.join(", ")}] contradicts the file's ${d}`);
      });
      return [...override];
    }
    const open = dims.slice(1).filter((d) => typeof d !== "number" || d < 1);
    if (open.length > 0) {
      throw new InputError(`${at} is ${shown}, with sizes left open: give its per-sample shape in the file's layout (inputShape [${dims.slice(1).map((d) => (typeof d === "number" ? d : "…")).join(", ")}]; on the command line --input-shape ${dims.slice(1).map((d) => (typeof d === "number" ? d : "N")).join(",")})`);
    }
    return dims.slice(1) as number[];
  });
}
