// A traced graph's activation modules folded into the Linear/Conv2d before them, so they run in the GEMM's
// epilogue instead of as a pass of their own (nn.ReLU() after nn.Linear is the usual PyTorch spelling of
// Dense(activation: "relu")). Only where nothing else reads the pre-activation values.

import { ActivationLayer } from "../layers/activation";
import { ActivationFunction } from "../layers/activation-function";
import { Conv2D } from "../layers/conv2d";
import { Dense } from "../layers/dense";
import type { GraphDefinition, GraphNodeSpec } from "../model/graph";

export function fuseActivations(graph: GraphDefinition): GraphDefinition {
  const inputs = graph.inputs.length;
  const readers = new Map<number, number>();
  for (const node of graph.nodes) for (const t of node.inputs) readers.set(t, (readers.get(t) ?? 0) + 1);
  for (const t of graph.outputs) readers.set(t, (readers.get(t) ?? 0) + 1);
  const uses = new Map<object, number>();
  for (const node of graph.nodes) uses.set(node.layer, (uses.get(node.layer) ?? 0) + 1);

  const renamed = new Map<number, number>();
  /** A kept node's output id in the original graph, for its reader count. */
  const originalOf = new Map<number, number>();
  const id = (t: number) => renamed.get(t) ?? t;
  const nodes: GraphNodeSpec[] = [];
  graph.nodes.forEach((node, k) => {
    const old = inputs + k;
    const from = node.inputs.length === 1 ? id(node.inputs[0]) : -1;
    const producer = from >= inputs ? nodes[from - inputs].layer : undefined;
    const fusable =
      node.layer instanceof ActivationLayer && uses.get(node.layer) === 1 &&
      (producer instanceof Dense || producer instanceof Conv2D) && producer.activation.name === "linear" &&
      uses.get(producer) === 1 && readers.get(originalOf.get(from)!) === 1;
    if (fusable) {
      // A new function from the whole spec, so a parameter (leakyRelu's slope) comes along.
      (producer as { activation: ActivationFunction }).activation = new ActivationFunction((node.layer as ActivationLayer).activation.config);
      renamed.set(old, from);
      return;
    }
    renamed.set(old, inputs + nodes.length);
    originalOf.set(inputs + nodes.length, old);
    nodes.push({ layer: node.layer, inputs: node.inputs.map(id) });
  });
  return { inputs: graph.inputs, nodes, outputs: graph.outputs.map(id) };
}
