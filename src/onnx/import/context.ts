// The state of one import while it walks the graph, and the reader each operator mapper gets for its node:
// typed attributes and inputs with errors that name the node, the layers it adds (from their JSON configs,
// with the file's weights re-laid beside them), and the look-ahead that lets an affine layer take the bias
// add and the activation that follow it.

import { InputError } from "../../errors";
import type { Layer, LayerConfig } from "../../layers/layer";
import { layerFromConfig } from "../../layers/registry";
import type { SymbolicTensor } from "../../layers/symbolic";
import { attribute, type NodeProto, type TensorProto } from "../onnx-proto";
import { BATCH, channelsLastLayout, identityLayout, isIdentityLayout, product, type DataValue, type FloatConstant, type IntConstant, type Value } from "./values";

/** One parameter of the imported model that is an initializer of the file, re-laid. */
export interface ParameterSource {
  /** The wasmgrad parameter ("<layer>/kernel"), known once the model is built. */
  parameter: string;
  /** The initializer's name in the file (PyTorch's parameter name, e.g. "layer1.0.conv1.weight"). */
  initializer: string;
  /** Turns values in the file's layout (e.g. a PyTorch state-dict tensor, flat) into this parameter's. */
  toWasmgrad(fileValues: Float32Array): Float32Array;
}

/** Values and state a layer gets once the model is built. */
interface PendingWeights {
  values: Float32Array[];
  state?: number[];
  /** Per value index: where it came from, for ParameterSource. */
  sources: ({ initializer: string; toWasmgrad: (v: Float32Array) => Float32Array } | undefined)[];
}

export class ImportContext {
  readonly values = new Map<string, Value>();
  readonly pending = new Map<Layer, PendingWeights>();
  /** Nodes a previous mapper took into its own layer (a bias add, an activation); skipped by the walk. */
  readonly absorbed = new Set<NodeProto>();
  /** Nodes mapped otherwise than by their operator: the last node of an attention subgraph makes its layer. */
  readonly specialMappers = new Map<NodeProto, Mapper>();
  /** Shape arithmetic that only absorbed nodes read (an attention subgraph's reshape targets); not walked. */
  readonly skipped = new Set<NodeProto>();
  /** Layers by what makes them shareable (the weight initializers and everything done to them). */
  private readonly sharedLayers = new Map<string, { layer: Layer; node: string }>();
  /** Which sharing key each weight initializer was first used under, and by which node. */
  private readonly initializerUse = new Map<string, { key: string; node: string }>();
  private readonly consumers = new Map<string, NodeProto[]>();
  private readonly producers = new Map<string, NodeProto>();
  private readonly materializedPads = new Map<DataValue, DataValue>();
  private readonly materializedReversals = new Map<DataValue, DataValue>();
  /**
   * Frozen per-channel affine layers this import made of constant arithmetic (x·s + t), by their output:
   * a following Add or Mul by a constant changes their scale and shift instead of adding a layer.
   */
  readonly constantAffines = new Map<SymbolicTensor, { scale: Float32Array; shift: Float32Array }>();
  private readonly graphOutputs: Set<string>;

  constructor(
    readonly source: string,
    readonly opset: number,
    nodes: NodeProto[],
    outputs: string[],
    readonly initializers: Map<string, TensorProto>,
  ) {
    for (const node of nodes) {
      for (const name of node.inputs) if (name) this.consumers.set(name, [...(this.consumers.get(name) ?? []), node]);
      for (const name of node.outputs) if (name) this.producers.set(name, node);
    }
    this.graphOutputs = new Set(outputs);
  }

  /** The one node that reads `tensor`, when exactly one does and it is not a graph output. */
  soleConsumer(tensor: string): NodeProto | undefined {
    const readers = this.consumers.get(tensor) ?? [];
    if (readers.length !== 1 || this.graphOutputs.has(tensor)) return undefined;
    // A node reading the same tensor twice (x + x) is not a sole consumer in the sense of "an epilogue".
    return readers[0].inputs.filter((i) => i === tensor).length === 1 ? readers[0] : undefined;
  }

  /** The node that writes `tensor` (undefined for inputs and initializers). */
  producerOf(tensor: string): NodeProto | undefined {
    return this.producers.get(tensor);
  }

  consumersOf(tensor: string): NodeProto[] {
    return this.consumers.get(tensor) ?? [];
  }

  isGraphOutput(tensor: string): boolean {
    return this.graphOutputs.has(tensor);
  }

  /**
   * Builds a layer from its config and applies it to `inputs`. Weight values (in wasmgrad's layout) are
   * set once the model is built. InputErrors the layer raises are prefixed with the node.
   */
  addLayer(
    at: string, config: LayerConfig, inputs: SymbolicTensor[],
    options: { values?: Float32Array[]; sources?: PendingWeights["sources"]; state?: number[]; trainable?: boolean } = {},
  ): { layer: Layer; output: SymbolicTensor; outputs: SymbolicTensor[] } {
    const layer = withNode(at, () => layerFromConfig(config, config.type));
    if (options.trainable === false) layer.trainable = false;
    // Every output (a recurrent layer's sequence and states); most layers have one.
    const outputs = withNode(at, () => layer.applyAll(inputs));
    if (options.values || options.state) this.pending.set(layer, { values: options.values ?? [], state: options.state, sources: options.sources ?? [] });
    return { layer, output: outputs[0], outputs };
  }

  /**
   * The padding of a Pad whose reader cannot take it into its own window: a ZeroPadding2D layer. The padded
   * value is remembered, so a Pad read by several such nodes pads once.
   */
  applyPendingPad(r: NodeReader, v: DataValue): DataValue {
    const pending = v.pendingPad!;
    const done = this.materializedPads.get(v);
    if (done) return done;
    const [top, bottom, left, right] = pending.pads;
    const { output } = this.addLayer(r.at, { type: "ZeroPadding2D", padding: [[top, bottom], [left, right]] }, [pending.source.sym]);
    const [c, h, w] = pending.source.shape;
    const shape = [c, h + top + bottom, w + left + right];
    const padded: DataValue = { kind: "data", sym: output, shape, layout: channelsLastLayout(shape) };
    this.materializedPads.set(v, padded);
    return padded;
  }

  /**
   * The steps a reverse-direction recurrent operator left in processing order, put in the file's time order
   * for a reader that needs them so: a frozen Dense whose kernel is the reversal (T×T, ones on the
   * anti-diagonal, exact in f32) over the steps axis, between two Permutes. Once per value.
   */
  applyPendingReverse(r: NodeReader, v: DataValue): DataValue {
    const done = this.materializedReversals.get(v);
    if (done) return done;
    const axis = v.reversedAxis!;
    if (!isIdentityLayout(v.layout)) r.fail("reads a reverse-direction recurrent output that was reordered on the way; wasmgrad can put its steps in time order only as the operator wrote them");
    const steps = v.shape[axis];
    const before = product(v.shape.slice(0, axis)), after = product(v.shape.slice(axis + 1));
    const add = (config: LayerConfig, input: SymbolicTensor, options: Parameters<ImportContext["addLayer"]>[3] = {}) => this.addLayer(r.at, config, [input], options).output;
    let t = add({ type: "Reshape", targetShape: [before, steps, after] }, v.sym);
    t = add({ type: "Permute", dims: [1, 3, 2] }, t);
    const reversal = new Float32Array(steps * steps);
    for (let i = 0; i < steps; i++) reversal[i * steps + (steps - 1 - i)] = 1;
    t = add({ type: "Dense", units: steps, useBias: false }, t, { values: [reversal], trainable: false });
    t = add({ type: "Permute", dims: [1, 3, 2] }, t);
    t = add({ type: "Reshape", targetShape: [...v.sym.shape] }, t);
    const out: DataValue = { kind: "data", sym: t, shape: v.shape, layout: identityLayout(v.shape), batchAxis: v.batchAxis };
    this.materializedReversals.set(v, out);
    return out;
  }

  /** A second application of a layer (shared weights). */
  applyAgain(at: string, layer: Layer, inputs: SymbolicTensor[]): SymbolicTensor {
    return withNode(at, () => layer.apply(inputs));
  }

  /**
   * A layer whose weights are initializers of the file: a node that uses the same initializers in the same
   * way gets the same layer (shared weights, as PyTorch's module applied twice). The same initializer used
   * in two different ways cannot be one layer, and two separate copies would train apart: refused.
   */
  sharedLayer(
    at: string, key: string, initializers: string[], inputs: SymbolicTensor[], make: () => { layer: Layer; output: SymbolicTensor },
  ): SymbolicTensor {
    const known = this.sharedLayers.get(key);
    if (known) return this.applyAgain(at, known.layer, inputs);
    for (const name of initializers) {
      const use = this.initializerUse.get(name);
      if (use && use.key !== key) {
        throw new InputError(`${at}: initializer '${name}' is also a weight of node ${use.node}, used another way there; wasmgrad can share a weight only between nodes that use it identically (same operator, attributes, bias and activation)`);
      }
    }
    const { layer, output } = make();
    this.sharedLayers.set(key, { layer, node: at });
    for (const name of initializers) this.initializerUse.set(name, { key, node: at.replace(/^.*?: node /, "") });
    return output;
  }

  /**
   * Records a mapper's result under the tensor it stands for: the last node its layer absorbed, or its
   * own output. Returns what the walk assigns to the node's own output (nothing, when absorbed nodes follow).
   */
  finish(node: NodeProto, output: string, value: Value): Value | undefined[] {
    if (output === node.outputs[0]) return value;
    this.values.set(output, value);
    return [undefined];
  }
}

function withNode<T>(at: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof InputError && !error.message.startsWith(at)) throw new InputError(`${at}: ${error.message}`);
    throw error;
  }
}

/** Maps one node: a value for each of its outputs (undefined for outputs nobody reads). */
export type Mapper = (r: NodeReader) => Value | (Value | undefined)[];

/** What a mapper reads its node through. */
export class NodeReader {
  constructor(readonly node: NodeProto, readonly at: string, readonly ctx: ImportContext) {}

  get opset(): number {
    return this.ctx.opset;
  }

  fail(message: string): never {
    throw new InputError(`${this.at}: ${message}`);
  }

  // ---- attributes ----------------------------------------------------------------------------------

  has(name: string): boolean {
    return attribute(this.node, name) !== undefined;
  }

  int(name: string, fallback?: number): number {
    const a = attribute(this.node, name);
    if (!a) return fallback ?? this.fail(`attribute '${name}' is required`);
    if (a.type !== "INT") this.fail(`attribute '${name}' must be an integer`);
    return a.i;
  }

  float(name: string, fallback?: number): number {
    const a = attribute(this.node, name);
    if (!a) return fallback ?? this.fail(`attribute '${name}' is required`);
    if (a.type !== "FLOAT") this.fail(`attribute '${name}' must be a float`);
    return a.f;
  }

  ints(name: string, fallback?: number[]): number[] {
    const a = attribute(this.node, name);
    if (!a) return fallback ?? this.fail(`attribute '${name}' is required`);
    if (a.type !== "INTS") this.fail(`attribute '${name}' must be a list of integers`);
    return a.ints;
  }

  string(name: string, fallback: string): string {
    const a = attribute(this.node, name);
    if (!a) return fallback;
    if (a.type !== "STRING") this.fail(`attribute '${name}' must be a string`);
    return a.s;
  }

  // ---- inputs --------------------------------------------------------------------------------------

  /** Input i's tensor name, or undefined when absent (ONNX leaves optional inputs out, or names them ""). */
  inputName(i: number): string | undefined {
    const name = this.node.inputs[i];
    return name ? name : undefined;
  }

  input(i: number): Value | undefined {
    const name = this.inputName(i);
    if (name === undefined) return undefined;
    const value = this.ctx.values.get(name);
    if (!value) this.fail(`reads '${name}', which no earlier node, input or initializer produces (the graph is not in topological order, or it is incomplete)`);
    return value;
  }

  /**
   * Input i as data (a tensor computed from the model's inputs). Padding a Pad left pending is applied
   * here, unless the caller takes it into its own window (keepPad).
   */
  data(i: number, what = "input", options: { keepPad?: boolean; anyBatchAxis?: boolean; keepReversed?: boolean } = {}): DataValue {
    let v = this.input(i);
    if (!v) this.fail(`its ${what} is missing`);
    if (v.kind !== "data") this.fail(`its ${what} ('${this.node.inputs[i]}') is a constant; wasmgrad imports operators on constants only in shape computations and weights`);
    if (v.batchAxis && !options.anyBatchAxis) {
      this.fail(`its ${what} ('${this.node.inputs[i]}') has the batch at axis ${v.batchAxis} (the file moves the batch axis: a recurrent operator's time-major tensor, or a Transpose); wasmgrad reads this operator's input batch-first only — transpose the batch back to axis 0 first`);
    }
    if (v.reversedAxis !== undefined && !options.keepReversed) v = this.ctx.applyPendingReverse(this, v);
    return v.pendingPad && !options.keepPad ? this.ctx.applyPendingPad(this, v) : v;
  }

  /**
   * Input i as float values that must be known when importing (a weight, a bias, a per-channel constant).
   * A constant sized by the batch (ConstantOfShape of a shape holding it) only where the caller says it reads one.
   */
  floats(i: number, what: string, options: { perBatch?: boolean } = {}): FloatConstant {
    const v = this.input(i);
    if (!v) this.fail(`its ${what} is missing`);
    if (v.kind === "data") this.fail(`its ${what} ('${this.node.inputs[i]}') is computed from the model's inputs; it must be a constant (an initializer)`);
    if (v.kind === "floats" && v.batchAxis !== undefined && !options.perBatch) this.fail(`its ${what} ('${this.node.inputs[i]}') is a constant sized by the batch (ConstantOfShape); wasmgrad reads such constants only as a recurrent operator's initial states`);
    if (v.kind === "ints") {
      if (v.data.includes(BATCH)) this.fail(`its ${what} depends on the batch size`);
      return { kind: "floats", dims: v.dims, data: Float32Array.from(v.data as number[]) };
    }
    return v;
  }

  /** Input i as integers known when importing (a shape, axes, pads). */
  integers(i: number, what: string): IntConstant {
    const v = this.input(i);
    if (!v) this.fail(`its ${what} is missing`);
    if (v.kind === "data") this.fail(`its ${what} ('${this.node.inputs[i]}') is computed from the model's data, not from shapes; it must be known when importing`);
    if (v.kind === "floats" && v.batchAxis !== undefined) this.fail(`its ${what} ('${this.node.inputs[i]}') is a constant sized by the batch (ConstantOfShape)`);
    if (v.kind === "floats") return { kind: "ints", dims: v.dims, data: Array.from(v.data, (x) => (Number.isInteger(x) ? x : this.fail(`its ${what} must hold integers`))) };
    return v;
  }

  /** Input i's integers, all known (no batch size among them). */
  knownIntegers(i: number, what: string): number[] {
    const v = this.integers(i, what);
    if (v.data.includes(BATCH)) this.fail(`its ${what} depends on the batch size`);
    return v.data as number[];
  }

  /** One float from an input (Clip's min, Pad's value), or the fallback when the input is absent. */
  scalar(i: number, what: string, fallback: number): number {
    if (this.inputName(i) === undefined) return fallback;
    const v = this.floats(i, what);
    if (v.data.length !== 1) this.fail(`its ${what} must be one number, it holds ${v.data.length}`);
    return v.data[0];
  }

  /** Outputs other than the first must be unused (Dropout's mask, MaxPool's indices, BatchNormalization's statistics). */
  onlyFirstOutput(what: string): void {
    for (const name of this.node.outputs.slice(1)) {
      if (name && (this.ctx.consumersOf(name).length > 0 || this.ctx.isGraphOutput(name))) this.fail(`its ${what} output '${name}' is used; wasmgrad computes only the first output`);
    }
  }
}
