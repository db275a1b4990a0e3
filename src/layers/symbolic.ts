// Symbolic tensors: what the functional API (Keras' Input and layer(x)) and the PyTorch-style tracer pass
// between layers before any data exists. Each knows its per-sample shape and the node that produces it;
// a Model walks them back from its outputs to find its graph.

import { InputError } from "../errors";
import type { Layer } from "./layer";

/** One application of a layer to symbolic inputs. */
export interface GraphNode {
  readonly layer: Layer;
  readonly inputs: readonly SymbolicTensor[];
  /** One tensor per output of the layer (most layers have one). */
  readonly outputs: readonly SymbolicTensor[];
}

export class SymbolicTensor {
  constructor(
    /** Per-sample shape (no batch dimension). */
    readonly shape: readonly number[],
    /** The node that computes it; null for a model input. */
    readonly node: GraphNode | null,
    /** For model inputs, the input's name. */
    readonly inputName?: string,
    /** Which of its node's outputs this is. */
    readonly outputIndex = 0,
  ) {}

  get isInput(): boolean {
    return this.node === null;
  }
}

export interface InputOptions {
  /** Per-sample shape, e.g. [28, 28, 1]. */
  shape: number[];
  name?: string;
}

let unnamedInputs = 0;

/** A model input, as Keras' Input({shape}). */
export function Input(options: InputOptions): SymbolicTensor {
  const shape = options.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1 && d <= 1 << 20)) {
    throw new InputError(`Input: shape must be a list of positive integers such as [28, 28, 1], got ${JSON.stringify(shape)}`);
  }
  return new SymbolicTensor([...shape], null, options.name ?? `input_${++unnamedInputs}`);
}

/** Records one application of a layer; returns one symbolic tensor per output. */
export function applyLayer(layer: Layer, inputs: SymbolicTensor[]): SymbolicTensor[] {
  const who = `${layer.name || layer.type} (${layer.type})`;
  if (inputs.length === 0 || !inputs.every((x) => x instanceof SymbolicTensor)) {
    throw new InputError(`${who}.apply() takes the symbolic tensors of Input() or of other layers' apply()`);
  }
  const { arity } = layer;
  const [min, max] = arity === "many" ? [2, Infinity] : typeof arity === "number" ? [arity, arity] : [arity.min, arity.max];
  if (inputs.length < min || inputs.length > max) {
    const want = arity === "many" ? "two or more inputs" : min === max ? (min === 1 ? "one input" : `${min} inputs`) : `${min} to ${max} inputs`;
    throw new InputError(`${who} takes ${want}, got ${inputs.length}`);
  }
  const shapes = layer.outputShapesFor(inputs.map((x) => [...x.shape]));
  const node: { layer: Layer; inputs: SymbolicTensor[]; outputs: SymbolicTensor[] } = { layer, inputs, outputs: [] };
  node.outputs = shapes.map((shape, i) => new SymbolicTensor(shape, node, undefined, i));
  return node.outputs;
}
