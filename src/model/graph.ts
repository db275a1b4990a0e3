// A model's graph before it is built: inputs, layer applications in topological order, outputs. It comes
// from symbolic tensors (the functional API and the PyTorch-style tracer), from a chain (Sequential), or
// from a JSON config (model files and checkpoints), and goes back to JSON the same way.
//
// Graph configs: {"inputs": [{"name", "shape"}], "layers": [...], "outputs": [names]}. Each entry of
// "layers" is one application: a layer config plus "inputs" (names of model inputs or of earlier entries;
// absent means the entry before it, so chains stay short), or {"name", "shares": "<layer>", "inputs"} for
// a later application of a layer defined earlier (shared weights). "lstm[1]" names output 1 of the entry
// "lstm" (a layer with several outputs, such as a recurrent layer returning its states); "lstm" is output 0.

import { InputError, didYouMean } from "../errors";
import type { Layer, LayerConfig } from "../layers/layer";
import { layerFromConfig } from "../layers/registry";
import { SymbolicTensor, applyLayer, type GraphNode } from "../layers/symbolic";
import type { TensorId } from "./plan";

export interface GraphInput {
  name: string;
  shape: number[];
}

export interface GraphNodeSpec {
  layer: Layer;
  /** Tensor ids: 0…inputs−1 are the model inputs; nodes' outputs follow, numbered in node order. */
  inputs: TensorId[];
  /** The ids of this node's outputs (one per layer output; for one-output graphs node k's is inputs + k). */
  outputs: TensorId[];
}

export interface GraphDefinition {
  inputs: GraphInput[];
  nodes: GraphNodeSpec[];
  outputs: TensorId[];
}

export interface GraphConfig {
  name: string;
  seed: number;
  inputs: GraphInput[];
  layers: LayerConfig[];
  outputs: string[];
}

/** Walks back from the outputs to the inputs; nodes come out in a deterministic topological order. */
export function traceGraph(inputs: SymbolicTensor[], outputs: SymbolicTensor[]): GraphDefinition {
  if (inputs.length === 0 || outputs.length === 0) throw new InputError("a Model needs at least one input and one output");
  const inputIds = new Map<SymbolicTensor, number>();
  inputs.forEach((x, i) => {
    if (!(x instanceof SymbolicTensor) || !x.isInput) throw new InputError(`model input ${i} is not an Input(): pass the tensors Input() returned`);
    if (inputIds.has(x)) throw new InputError(`model input ${x.inputName} is listed twice`);
    inputIds.set(x, i);
  });
  const names = inputs.map((x) => x.inputName!);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new InputError(`two model inputs are named '${duplicate}'`);
  const nodeIds = new Map<GraphNode, number>();
  const nodes: GraphNodeSpec[] = [];
  let nextTensor = inputs.length;
  const idOf = (t: SymbolicTensor): TensorId => {
    if (t.isInput) {
      const id = inputIds.get(t);
      if (id === undefined) throw new InputError(`the model's outputs depend on Input '${t.inputName}', which is not among the model's inputs`);
      return id;
    }
    return nodes[visit(t.node!)].outputs[t.outputIndex];
  };
  // Iterative post-order (a graph can be thousands of nodes deep; recursion would overflow the stack).
  const visit = (root: GraphNode): number => {
    const known = nodeIds.get(root);
    if (known !== undefined) return known;
    const stack: { node: GraphNode; next: number }[] = [{ node: root, next: 0 }];
    const onStack = new Set<GraphNode>([root]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next < top.node.inputs.length) {
        const t = top.node.inputs[top.next++];
        if (t.isInput || nodeIds.has(t.node!)) continue;
        if (onStack.has(t.node!)) throw new InputError("the model's graph has a cycle");
        onStack.add(t.node!);
        stack.push({ node: t.node!, next: 0 });
        continue;
      }
      stack.pop();
      onStack.delete(top.node);
      nodeIds.set(top.node, nodes.length);
      const outputs = top.node.outputs.map((_, i) => nextTensor + i);
      nextTensor += outputs.length;
      nodes.push({ layer: top.node.layer, inputs: top.node.inputs.map(idOf), outputs });
    }
    return nodeIds.get(root)!;
  };
  const outputIds = outputs.map((t, i) => {
    if (!(t instanceof SymbolicTensor)) throw new InputError(`model output ${i} is not a symbolic tensor from a layer's apply()`);
    return idOf(t);
  });
  return { inputs: inputs.map((x) => ({ name: x.inputName!, shape: [...x.shape] })), nodes, outputs: outputIds };
}

/** A chain: each layer takes the previous one's output. */
export function chainGraph(inputShape: number[], layers: Layer[], inputName = "input"): GraphDefinition {
  return {
    inputs: [{ name: inputName, shape: inputShape }],
    nodes: layers.map((layer, i) => ({ layer, inputs: [i], outputs: [i + 1] })),
    outputs: [layers.length],
  };
}

export function isGraphConfig(config: unknown): boolean {
  return typeof config === "object" && config !== null && Object.hasOwn(config, "inputs");
}

/** Parses a graph config into symbolic form (the same path the functional API takes). */
export function graphFromConfig(config: unknown, where: string): { inputs: SymbolicTensor[]; outputs: SymbolicTensor[]; name?: string; seed?: number } {
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new InputError(`${where}: expected a JSON object with "inputs", "layers" and "outputs"`);
  const c = config as Record<string, unknown>;
  if (!Array.isArray(c.inputs) || c.inputs.length === 0) throw new InputError(`${where}: "inputs" must be a non-empty list of {"name", "shape"}`);
  if (!Array.isArray(c.layers) || c.layers.length === 0) throw new InputError(`${where}: "layers" must be a non-empty list`);
  const tensors = new Map<string, SymbolicTensor>();
  const inputs = c.inputs.map((raw, i) => {
    const spec = raw as Partial<GraphInput>;
    if (typeof spec !== "object" || spec === null || typeof spec.name !== "string" || spec.name === "") {
      throw new InputError(`${where} inputs[${i}]: expected {"name": "...", "shape": [...]}`);
    }
    if (!Array.isArray(spec.shape) || spec.shape.length === 0 || !spec.shape.every((d) => Number.isInteger(d) && d >= 1 && d <= 1 << 20)) {
      throw new InputError(`${where} inputs[${i}] (${spec.name}): "shape" must be a list of positive integers such as [28, 28, 1]`);
    }
    if (tensors.has(spec.name)) throw new InputError(`${where}: two inputs are named '${spec.name}'`);
    const x = new SymbolicTensor([...spec.shape], null, spec.name);
    tensors.set(spec.name, x);
    return x;
  });
  const layersByName = new Map<string, Layer>();
  let previous: SymbolicTensor = inputs[0];
  c.layers.forEach((raw, i) => {
    const at = `${where} layers[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new InputError(`${at}: a layer must be a JSON object like {"type": "Dense", "units": 10}`);
    const { inputs: refs, shares, ...rest } = raw as Record<string, unknown>;
    const from = refs === undefined ? [previous] : resolveRefs(refs, tensors, at);
    let layer: Layer;
    let nodeName: string;
    if (shares !== undefined) {
      if (typeof shares !== "string" || !layersByName.has(shares)) {
        throw new InputError(`${at}: "shares" must name a layer defined earlier${typeof shares === "string" ? didYouMean(shares, [...layersByName.keys()]) : ""}`);
      }
      const extra = Object.keys(rest).filter((k) => k !== "name");
      if (extra.length > 0) throw new InputError(`${at}: an entry that shares a layer takes only "name", "shares" and "inputs", not '${extra[0]}'`);
      layer = layersByName.get(shares)!;
      nodeName = typeof rest.name === "string" ? rest.name : `${shares}:${i}`;
    } else {
      layer = layerFromConfig(rest, at);
      if (!layer.name) layer.name = `${layer.type.toLowerCase()}_${i + 1}`;
      if (layersByName.has(layer.name) || tensors.has(layer.name)) throw new InputError(`${at}: the name '${layer.name}' is used twice`);
      layersByName.set(layer.name, layer);
      nodeName = layer.name;
    }
    if (tensors.has(nodeName) && shares !== undefined) throw new InputError(`${at}: the name '${nodeName}' is used twice`);
    const outputs = applyLayer(layer, from);
    previous = outputs[0];
    tensors.set(nodeName, previous);
    outputs.forEach((t, k) => {
      if (k > 0) tensors.set(`${nodeName}[${k}]`, t);
    });
  });
  const outputs = c.outputs === undefined ? [previous] : resolveRefs(c.outputs, tensors, `${where} outputs`);
  return {
    inputs, outputs,
    name: typeof c.name === "string" ? c.name : undefined,
    seed: typeof c.seed === "number" ? c.seed : undefined,
  };
}

function resolveRefs(refs: unknown, tensors: Map<string, SymbolicTensor>, where: string): SymbolicTensor[] {
  const list = typeof refs === "string" ? [refs] : refs;
  if (!Array.isArray(list) || list.length === 0 || !list.every((r) => typeof r === "string")) {
    throw new InputError(`${where}: "inputs" must name earlier layers or model inputs, e.g. ["conv_1", "image"]`);
  }
  return list.map((name: string) => {
    const t = tensors.get(name);
    if (!t) throw new InputError(`${where}: no model input or earlier layer is named '${name}'${didYouMean(name, [...tensors.keys()])}`);
    return t;
  });
}
