// A traced graph's activation modules folded into the Linear/Conv2d/Conv1d before them, so they run in the GEMM's
// epilogue instead of as a pass of their own (nn.ReLU() after nn.Linear is the usual PyTorch spelling of
// Dense(activation: "relu")). Only where nothing else reads the pre-activation values.

import { ActivationLayer } from "../layers/activation";
import { ActivationFunction } from "../layers/activation-function";
import { PatchConvolution } from "../layers/conv2d";
import { Dense } from "../layers/dense";
import type { GraphDefinition, GraphNodeSpec } from "../model/graph";

export function fuseActivations(graph: GraphDefinition): GraphDefinition {
  const readers = new Map<number, number>();
  for (const node of graph.nodes) for (const t of node.inputs) readers.set(t, (readers.get(t) ?? 0) + 1);
  for (const t of graph.outputs) readers.set(t, (readers.get(t) ?? 0) + 1);
  const uses = new Map<object, number>();
  for (const node of graph.nodes) uses.set(node.layer, (uses.get(node.layer) ?? 0) + 1);

  /** A fused activation's output id → the id of the layer output that now computes it. */
  const renamed = new Map<number, number>();
  const id = (t: number) => renamed.get(t) ?? t;
  /** Which kept node produces a tensor (ids are unchanged for kept nodes). */
  const producer = new Map<number, GraphNodeSpec>();
  const nodes: GraphNodeSpec[] = [];
  for (const node of graph.nodes) {
    const from = node.inputs.length === 1 ? id(node.inputs[0]) : -1;
    const before = producer.get(from)?.layer;
    const fusable =
      node.layer instanceof ActivationLayer && uses.get(node.layer) === 1 &&
      (before instanceof Dense || before instanceof PatchConvolution) && before.activation.name === "linear" &&
      uses.get(before) === 1 && readers.get(from) === 1;
    if (fusable) {
      // A new function from the whole spec, so a parameter (leakyRelu's slope) comes along.
      (before as { activation: ActivationFunction }).activation = new ActivationFunction((node.layer as ActivationLayer).activation.config);
      renamed.set(node.outputs[0], from);
      continue;
    }
    const kept = { layer: node.layer, inputs: node.inputs.map(id), outputs: node.outputs };
    for (const t of kept.outputs) producer.set(t, kept);
    nodes.push(kept);
  }
  return renumbered({ inputs: graph.inputs, nodes, outputs: graph.outputs.map(id) });
}

/** The same graph with tensor ids consecutive again (model inputs, then node outputs in node order). */
function renumbered(graph: GraphDefinition): GraphDefinition {
  const ids = new Map<number, number>(graph.inputs.map((_, i) => [i, i]));
  let next = graph.inputs.length;
  const nodes = graph.nodes.map((node) => {
    const inputs = node.inputs.map((t) => ids.get(t)!);
    const outputs = node.outputs.map((t) => {
      ids.set(t, next);
      return next++;
    });
    return { layer: node.layer, inputs, outputs };
  });
  return { inputs: graph.inputs, nodes, outputs: graph.outputs.map((t) => ids.get(t)!) };
}
