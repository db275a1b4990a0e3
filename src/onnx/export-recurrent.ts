// SimpleRNN, LSTM, GRU and Bidirectional → ONNX's RNN, LSTM and GRU operators (opset 13, layout 0: ONNX
// Runtime refuses layout 1, "batchwise recurrent operations are not supported", in both its native and
// web builds).
//
// Weights: ours are kernel [F, G·u], recurrent kernel [u, G·u] with gate blocks along the columns; ONNX's
// W [D, G·u, F], R [D, G·u, u] with the blocks along the rows, one slab per direction, and
// B [D, 2·G·u] = (Wb, Rb). Gate orders: our LSTM's [i, f, g, o] is ONNX's [i, o, f, c]; our GRU's [z, r, h]
// is ONNX's; the reset-after form's bias rows (input, recurrent) are Wb and Rb, and it is
// linear_before_reset = 1; the reset-before form (resetAfter false) is linear_before_reset = 0, where ONNX
// adds Wb and Rb, as it does for the LSTM and SimpleRNN: their one bias goes in Wb, with zeros in Rb.
//
// Data: the operators are time-major ([steps, batch, features] in, Y [steps, D, batch, u], Y_h and Y_c
// [D, batch, u] out), ours batch-major: a Transpose in, a Squeeze and Transpose (one direction) or a
// Transpose and Reshape (two, concatenated forward first as ours) out. Bidirectional's sum, ave and mul
// merges reduce over the direction axis (ReduceSum, ReduceMean, ReduceProd: the same f32 operations).
// goBackwards: direction "reverse", whose Y is in time order while ours is in processing order, so a
// Slice with step −1 reverses it (and the mask it carries).
//
// Masks: wasmgrad skips padded steps wherever they are (the state passes through them unchanged) and
// zeroes the sequence output there. ONNX's sequence_lens only cuts padding off the end of a sequence, so
// the graph first moves each sample's real steps to the front, in order (ScatterElements to the position
// given by a running count of real steps; padded steps after them), runs the operator with
// sequence_lens = the count, and moves Y's steps back where they came from (GatherElements) times the
// mask. That is exact for padding anywhere — in the middle, in front, with goBackwards and in both
// directions of Bidirectional (ONNX's reverse direction runs over the first sequence_lens steps only,
// from the last real one, as our backward layer does). For inputs padded at the end the moves are the
// identity. One difference is mended: where a sample has no real step at all, ONNX Runtime gives zero
// final states while wasmgrad keeps the initial ones, so given initial states are selected there (Where).

import { InputError } from "../errors";
import { Bidirectional } from "../layers/bidirectional";
import { GRU } from "../layers/gru";
import { LSTM } from "../layers/lstm";
import type { RecurrentLayer } from "../layers/recurrent";
import { SimpleRNN } from "../layers/simple-rnn";
import type { GraphWriter, Ref } from "./export";
import { TensorDataType, type AttributeProto } from "./onnx-proto";

const ints = (name: string, values: number[]): AttributeProto => ({ name, type: "INTS", ints: values });
const int = (name: string, i: number): AttributeProto => ({ name, type: "INT", i });

/** For each of ONNX's gate blocks, the block of ours it is. */
const ONNX_GATES = { LSTM: [0, 3, 1, 2], GRU: [0, 1, 2], RNN: [0] } as const;
type Operator = keyof typeof ONNX_GATES;

/** SimpleRNN's activations as the RNN operator names them; linear is Affine(x) = 1·x + 0. */
const RNN_ACTIVATIONS = { tanh: "Tanh", relu: "Relu", sigmoid: "Sigmoid", linear: "Affine" } as const;

/** A GRU with two bias rows (input, recurrent): the reset-after form. */
const twoBiasRows = (cell: RecurrentLayer): boolean => cell instanceof GRU && cell.resetAfter;

/** The ONNX operator for a recurrent layer. */
export function onnxOperatorOf(cell: RecurrentLayer): Operator {
  return cell instanceof LSTM ? "LSTM" : cell instanceof GRU ? "GRU" : "RNN";
}

/** One direction's W [G·u, F], R [G·u, u] and B [2·G·u] (or undefined without a bias), from a layer's weights. */
function directionWeights(g: GraphWriter, cell: RecurrentLayer, op: Operator): { w: Float32Array; r: Float32Array; b?: Float32Array } {
  const blocks = ONNX_GATES[op];
  const u = cell.units, features = cell.inputShape[1], width = blocks.length * u;
  const rows = (ours: Float32Array, inputs: number) => {
    const out = new Float32Array(width * inputs);
    blocks.forEach((block, k) => {
      for (let j = 0; j < u; j++) for (let i = 0; i < inputs; i++) out[(k * u + j) * inputs + i] = ours[i * width + block * u + j];
    });
    return out;
  };
  const w = rows(g.values(cell, 0), features);
  const r = rows(g.values(cell, 1), u);
  if (!cell.useBias) return { w, r };
  const bias = g.values(cell, 2);
  const b = new Float32Array(2 * width);
  blocks.forEach((block, k) => {
    for (let j = 0; j < u; j++) {
      b[k * u + j] = bias[block * u + j];
      // The reset-after GRU: its second row is the recurrent bias; every other layer's Rb stays zero.
      if (twoBiasRows(cell)) b[width + k * u + j] = bias[width + block * u + j];
    }
  });
  return { w, r, b };
}

const concat = (parts: Float32Array[]): Float32Array => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The recurrent layer (or Bidirectional) applied to inputs [sequence, ...initial states]: its outputs, ours. */
export function exportRecurrent(g: GraphWriter, layer: RecurrentLayer | Bidirectional, inputs: Ref[]): Ref[] {
  const bidirectional = layer instanceof Bidirectional;
  const halves = bidirectional ? [layer.forwardLayer, layer.backwardLayer] : [layer];
  const cell = halves[0];
  if (bidirectional && cell.goBackwards) {
    throw new InputError(`layer ${layer.name} (Bidirectional) has no ONNX export for a wrapped layer with goBackwards (its forward half runs backwards); wrap the layer without goBackwards`);
  }
  const op = onnxOperatorOf(cell);
  const D = halves.length, u = cell.units, T = cell.inputShape[0];
  const width = ONNX_GATES[op].length * u;
  const stateCount = op === "LSTM" ? 2 : 1;
  const { returnSequences, returnState } = cell;
  const name = layer.name;

  const weights = halves.map((half) => directionWeights(g, half, op));
  const W = g.weight(`${name}/W`, [D, width, cell.inputShape[1]], concat(weights.map((w) => w.w)));
  const R = g.weight(`${name}/R`, [D, width, u], concat(weights.map((w) => w.r)));
  const B = cell.useBias ? g.weight(`${name}/B`, [D, 2 * width], concat(weights.map((w) => w.b!))) : "";

  let x = g.ours(inputs[0]).name;
  const mask = inputs[0].mask;
  // With a mask: each sample's real steps moved to the front (dest: where each step goes), their count as sequence_lens.
  let dest = "", count = "", lens = "";
  if (mask) {
    const running = g.node("CumSum", [mask, g.int64Scalar(1)]); // real steps up to and including t
    count = g.node("ReduceSum", [mask, g.int64s([1])], [int("keepdims", 1)]); // [batch, 1]
    const steps = g.floats(Array.from({ length: T }, (_, t) => t), [T]);
    const real = g.node("Cast", [mask], [int("to", TensorDataType.BOOL)]);
    // A real step goes to (real steps before it); a padded one after all real ones: count + (padded steps before it).
    const padded = g.node("Sub", [g.node("Add", [count, steps]), running]);
    dest = g.node("Cast", [g.node("Where", [real, g.node("Sub", [running, g.floats([1], [])]), padded])], [int("to", TensorDataType.INT64)], "compaction");
    x = g.node("ScatterElements", [x, along(g, dest, x), x], [int("axis", 1)], "compacted");
    lens = g.node("Cast", [g.node("Squeeze", [count, g.int64s([1])])], [int("to", TensorDataType.INT32)], "sequence_lens");
  }
  const X = g.node("Transpose", [x], [ints("perm", [1, 0, 2])], "time_major");

  // Initial states: ours [batch, u] per direction and state → ONNX [D, batch, u] per state.
  const given = inputs.slice(1);
  const initial = given.length === 0 ? [] : Array.from({ length: stateCount }, (_, s) => {
    const parts = halves.map((_, d) => g.node("Unsqueeze", [given[d * stateCount + s].name, g.int64s([0])]));
    return parts.length === 1 ? parts[0] : g.node("Concat", parts, [int("axis", 0)]);
  });

  const attributes: AttributeProto[] = [int("hidden_size", u), { name: "direction", type: "STRING", s: bidirectional ? "bidirectional" : cell.goBackwards ? "reverse" : "forward" }];
  if (op === "GRU") attributes.push(int("linear_before_reset", twoBiasRows(cell) ? 1 : 0));
  if (cell instanceof SimpleRNN) {
    attributes.push({ name: "activations", type: "STRINGS", strings: halves.map(() => RNN_ACTIVATIONS[cell.activation]) });
    if (cell.activation === "linear") {
      attributes.push({ name: "activation_alpha", type: "FLOATS", floats: halves.map(() => 1) }, { name: "activation_beta", type: "FLOATS", floats: halves.map(() => 0) });
    }
  }
  const opInputs = [X, W, R, B, lens, initial[0] ?? "", initial[1] ?? ""];
  while (opInputs[opInputs.length - 1] === "") opInputs.pop();
  const wanted = [returnSequences, !returnSequences || returnState, op === "LSTM" && returnState];
  let [Y, Yh, Yc] = g.nodeOutputs(op, opInputs, attributes, name, wanted);
  if (mask && initial.length > 0) {
    // No real step: ONNX Runtime's final states are zeros, wasmgrad's the initial ones.
    const none = g.node("Equal", [count, g.floats([0], [])]);
    Yh = Yh ? g.node("Where", [none, initial[0], Yh]) : Yh;
    Yc = Yc ? g.node("Where", [none, initial[1], Yc]) : Yc;
  }

  const outputs: Ref[] = [];
  if (returnSequences) {
    const mode = bidirectional ? layer.mergeMode : "concat";
    let y: string;
    if (mode !== "concat") y = g.node("Transpose", [merge(g, mode, Y, 1)], [ints("perm", [1, 0, 2])]);
    else if (D === 1) y = g.node("Transpose", [g.node("Squeeze", [Y, g.int64s([1])])], [ints("perm", [1, 0, 2])]);
    else y = g.node("Reshape", [g.node("Transpose", [Y], [ints("perm", [2, 0, 1, 3])]), g.int64s([0, 0, -1])]);
    let outMask = mask;
    if (mask) y = g.node("Mul", [g.node("GatherElements", [y, along(g, dest, y)], [int("axis", 1)], "restored"), g.node("Unsqueeze", [mask, g.int64s([2])])]);
    if (!bidirectional && cell.goBackwards) {
      // Processing order: step s is input step T − 1 − s.
      const reverse = (t: string) => g.node("Slice", [t, g.int64s([T - 1]), g.int64s([-T - 1]), g.int64s([1]), g.int64s([-1])], [], "reversed");
      y = reverse(y);
      outMask = mask ? reverse(mask) : undefined;
    }
    outputs.push({ name: y, layout: "ours", shape: layer.outputShapes[0], mask: outMask });
  }
  // Final states: [D, batch, u] → one [batch, u] per direction.
  const state = (t: string, d: number) => (D === 1 ? g.node("Squeeze", [t, g.int64s([0])]) : g.node("Gather", [t, g.int64Scalar(d)], [int("axis", 0)]));
  const h = D === 1 && Yh ? state(Yh, 0) : "";
  if (!returnSequences) {
    const mode = bidirectional ? layer.mergeMode : "concat";
    const last = D === 1 ? h : mode === "concat" ? g.node("Reshape", [g.node("Transpose", [Yh], [ints("perm", [1, 0, 2])]), g.int64s([0, -1])]) : merge(g, mode, Yh, 0);
    outputs.push({ name: last, layout: "ours", shape: layer.outputShapes[0] });
  }
  if (returnState) {
    halves.forEach((_, d) => {
      outputs.push({ name: D === 1 ? h : state(Yh, d), layout: "ours", shape: [u] });
      if (stateCount === 2) outputs.push({ name: state(Yc, d), layout: "ours", shape: [u] });
    });
  }
  return outputs;
}

/** dest [batch, steps] broadcast over the feature axis of t [batch, steps, features], as ScatterElements/GatherElements take indices. */
function along(g: GraphWriter, dest: string, t: string): string {
  return g.node("Expand", [g.node("Unsqueeze", [dest, g.int64s([2])]), g.node("Shape", [t])]);
}

/** Bidirectional's sum, ave or mul of the two directions, over `axis` of Y or Y_h. */
function merge(g: GraphWriter, mode: "sum" | "ave" | "mul", t: string, axis: number): string {
  // ReduceSum takes its axes as an input from opset 13; ReduceMean and ReduceProd as an attribute until 18.
  if (mode === "sum") return g.node("ReduceSum", [t, g.int64s([axis])], [int("keepdims", 0)]);
  return g.node(mode === "ave" ? "ReduceMean" : "ReduceProd", [t], [ints("axes", [axis]), int("keepdims", 0)]);
}
