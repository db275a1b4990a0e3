// LSTM, GRU and RNN → wasmgrad's LSTM, GRU and SimpleRNN; direction "reverse" → goBackwards; "bidirectional"
// → Bidirectional (concat, or the sum/ave/mul that a ReduceSum/ReduceMean/ReduceProd over the direction
// axis right after it makes, which it takes into itself).
//
// Data: with layout 0 (all that PyTorch writes, and all ONNX Runtime runs) X is [seq, batch, input], Y
// [seq, directions, batch, hidden] and Y_h/Y_c [directions, batch, hidden] — the batch is not first, which
// the values record (values.ts: batchAxis) and the Transposes, Squeezes, Reshapes and Gathers PyTorch writes
// around the operator move back. Our layer's sequence output [steps, directions·units] holds Y's per-sample
// [steps, directions, units] in the file's order; our states hold Y_h's (directions joined by a
// Concatenate where both are read). A reverse-direction Y is in time order, ours (goBackwards) in processing
// order: the value says so (reversedAxis), a Slice that reverses the steps cancels it, other readers get
// the steps reversed by a frozen layer (context.ts). layout 1 ([batch, seq, …], opset 14) reads the same.
//
// Weights: W [D, G·hidden, input] and R [D, G·hidden, hidden] with gate blocks along the rows → our kernel
// [input, G·units] and recurrent kernel [units, G·units] with blocks along the columns; ONNX's LSTM gates
// [i, o, f, c] → ours [i, f, g, o]; GRU's [z, r, h] are ours. B [D, 2·G·hidden] = (Wb, Rb): with
// linear_before_reset = 1 (PyTorch's GRU) the GRU's two are our reset-after GRU's two bias rows; with 0
// (ONNX's default, Keras 1's GRU) ONNX adds them, and the GRU is ours with resetAfter false and one bias,
// Wb + Rb. The LSTM and SimpleRNN have one bias, Wb + Rb too: the same function and the same gradient as
// each of PyTorch's two (b_ih, b_hh), though one SGD step moves their sum by lr·g here and by 2·lr·g in
// PyTorch.
//
// Initial states: absent, or zeros (PyTorch's ConstantOfShape of [layers·D, batch, hidden], sliced per
// layer) → none; computed ones (model inputs) → the layer's initial-state inputs, per direction. Refused,
// each by name: sequence_lens (packed sequences; wasmgrad masks padding with Masking or Embedding's
// maskZero), clip, peepholes, input_forget, activations other than the defaults (RNN: Tanh, Relu, Sigmoid,
// Affine(1, 0)), non-zero constant initial states, and an LSTM given initial_h without initial_c.

import type { SymbolicTensor } from "../../../layers/symbolic";
import type { Mapper, NodeReader } from "../context";
import { NodeReader as Reader } from "../context";
import { dataValue, inFileOrder, selectIndex } from "../data";
import { axesOf } from "../shape-folding";
import type { NodeProto } from "../../onnx-proto";
import { identityLayout, type DataValue, type FloatConstant, type Value } from "../values";
import { withBatch } from "./structure";

type Operator = "LSTM" | "GRU" | "RNN";
/** For each of ONNX's gate blocks, the block of ours it becomes. */
const ONNX_GATES: Record<Operator, number[]> = { LSTM: [0, 3, 1, 2], GRU: [0, 1, 2], RNN: [0] };
const LAYER_TYPES: Record<Operator, string> = { LSTM: "LSTM", GRU: "GRU", RNN: "SimpleRNN" };
const DEFAULT_ACTIVATIONS: Record<Operator, string[]> = { LSTM: ["Sigmoid", "Tanh", "Tanh"], GRU: ["Sigmoid", "Tanh"], RNN: ["Tanh"] };
const MERGES: Record<string, string> = { ReduceSum: "sum", ReduceMean: "ave", ReduceProd: "mul" };

/** ONNX's W or R for direction d ([D, G·u, inputs]) → our kernel [inputs, G·u]. */
function kernelOf(op: Operator, data: Float32Array, d: number, units: number, inputs: number): Float32Array {
  const blocks = ONNX_GATES[op], width = blocks.length * units;
  const slab = data.subarray(d * width * inputs, (d + 1) * width * inputs);
  const out = new Float32Array(inputs * width);
  blocks.forEach((block, k) => {
    for (let j = 0; j < units; j++) for (let i = 0; i < inputs; i++) out[i * width + block * units + j] = slab[(k * units + j) * inputs + i];
  });
  return out;
}

/**
 * ONNX's B for direction d ([D, 2·G·u]) → our bias: the reset-after GRU's [2, G·u] (Wb; Rb) with twoRows,
 * else [G·u] (Wb + Rb: LSTM, SimpleRNN, the reset-before GRU).
 */
function biasOf(op: Operator, data: Float32Array, d: number, units: number, twoRows: boolean): Float32Array {
  const blocks = ONNX_GATES[op], width = blocks.length * units;
  const wb = data.subarray(2 * d * width, (2 * d + 1) * width), rb = data.subarray((2 * d + 1) * width, (2 * d + 2) * width);
  const out = new Float32Array(twoRows ? 2 * width : width);
  blocks.forEach((block, k) => {
    for (let j = 0; j < units; j++) {
      if (twoRows) {
        out[block * units + j] = wb[k * units + j];
        out[width + block * units + j] = rb[k * units + j];
      } else {
        out[block * units + j] = wb[k * units + j] + rb[k * units + j];
      }
    }
  });
  return out;
}

export function recurrent(r: NodeReader): ReturnType<Mapper> {
  const op = r.node.opType as Operator;
  const gates = ONNX_GATES[op].length;
  const layout = r.opset >= 14 ? r.int("layout", 0) : 0;
  if (layout !== 0 && layout !== 1) r.fail(`layout ${layout} is not an ONNX layout (0 or 1)`);
  // Where the batch is: X and Y_h hold it at axis 1 with layout 0 ([seq, batch, …], [D, batch, …]), Y at 2.
  const [xBatch, yBatch, stateBatch] = layout === 0 ? [1, 2, 1] : [0, 0, 0];
  const direction = r.string("direction", "forward");
  if (!["forward", "reverse", "bidirectional"].includes(direction)) r.fail(`direction '${direction}' is not forward, reverse or bidirectional`);
  const D = direction === "bidirectional" ? 2 : 1;

  const raw = r.data(0, "input X", { anyBatchAxis: true });
  if ((raw.batchAxis ?? 0) !== xBatch) {
    r.fail(`reads X [${fileShapeText(raw)}] with the batch at axis ${raw.batchAxis ?? 0}; with layout ${layout} ONNX's ${op} takes ${layout === 0 ? "[seq, batch, input]" : "[batch, seq, input]"} (a batch-first input is transposed [1, 0, 2] first)`);
  }
  if (raw.shape.length !== 2) r.fail(`reads X [${fileShapeText(raw)}]; it takes sequences of feature vectors (rank 3)`);
  const [steps, features] = raw.shape;
  const W = r.floats(1, "W"), R = r.floats(2, "R");
  const units = r.int("hidden_size", R.dims[2]);
  if (W.dims.join() !== [D, gates * units, features].join()) r.fail(`W is [${W.dims}]; ${direction} ${op} with hidden_size ${units} on ${features} features needs [${D}, ${gates * units}, ${features}]`);
  if (R.dims.join() !== [D, gates * units, units].join()) r.fail(`R is [${R.dims}]; it needs [${D}, ${gates * units}, ${units}]`);
  const B = r.inputName(3) !== undefined ? r.floats(3, "B") : undefined;
  if (B && B.dims.join() !== [D, 2 * gates * units].join()) r.fail(`B is [${B.dims}]; it needs [${D}, ${2 * gates * units}]`);

  if (r.inputName(4) !== undefined) {
    const lens = r.input(4);
    const full = lens?.kind !== "data" && lens !== undefined && lens.kind === "ints" && lens.data.every((n) => n === steps);
    if (!full) r.fail("sequence_lens (packed sequences of different lengths) is not supported; wasmgrad marks padding with a mask (Masking, or Embedding with maskZero) — export the model without pack_padded_sequence");
  }
  if (r.has("clip")) r.fail("clip (clipping the cell's pre-activations) is not supported");
  if (op === "LSTM" && r.int("input_forget", 0) !== 0) r.fail("input_forget = 1 (coupled input and forget gates) is not supported");
  if (op === "LSTM" && r.inputName(7) !== undefined && r.floats(7, "peepholes P").data.some((v) => v !== 0)) r.fail("peephole connections (P) are not supported");
  const linearBeforeReset = op === "GRU" ? r.int("linear_before_reset", 0) : 0;
  if (linearBeforeReset !== 0 && linearBeforeReset !== 1) r.fail(`linear_before_reset ${linearBeforeReset} is not 0 or 1`);
  // linear_before_reset 1: the reset gate multiplies R_h·h + Rb_h (our default GRU); 0: it multiplies h (resetAfter false).
  const resetAfter = linearBeforeReset === 1;
  const activation = cellActivation(r, op, D);

  // Which outputs are read; a reduction over the directions right after Y (or Y_h without Y) is the merge.
  const used = (k: number) => {
    const name = r.node.outputs[k];
    return !!name && (r.ctx.consumersOf(name).length > 0 || r.ctx.isGraphOutput(name));
  };
  const useY = used(0), useH = used(1), useC = op === "LSTM" && used(2);
  if (!useY && !useH && !useC) return [];
  const merger = D === 2 ? mergeAfter(r, useY ? 0 : 1, useY ? (layout === 0 ? 1 : 2) : (layout === 0 ? 0 : 1)) : undefined;
  const returnSequences = useY;
  const returnState = useC || (useY && useH);
  const cell: { type: string } & Record<string, unknown> = { type: LAYER_TYPES[op], units, returnSequences, returnState, useBias: B !== undefined };
  if (op === "RNN") cell.activation = activation;
  if (op === "LSTM") cell.unitForgetBias = false;
  if (op === "GRU" && !resetAfter) cell.resetAfter = false;
  if (D === 1 && direction === "reverse") cell.goBackwards = true;
  const config = D === 2 ? { type: "Bidirectional", layer: cell, mergeMode: merger?.mode ?? "concat" } : cell;

  // Inputs: the sequence in time order, ours [steps, features]; initial states per direction.
  let x = inFileOrder(r, raw) ?? r.fail(`reads X [${fileShapeText(raw)}] in an order wasmgrad cannot bring back after a flatten`);
  if (x.sym.shape.join() !== [steps, features].join()) x = dataValue(r.ctx.addLayer(r.at, { type: "Reshape", targetShape: [steps, features] }, [x.sym]).output, x.shape, x.layout);
  const h0 = initialState(r, 5, "initial_h", D, units, stateBatch);
  const c0 = op === "LSTM" ? initialState(r, 6, "initial_c", D, units, stateBatch) : undefined;
  if (op === "LSTM" && (h0 === undefined) !== (c0 === undefined)) r.fail("gives one of initial_h and initial_c; wasmgrad's LSTM takes both initial states or neither (zeros)");
  const states = h0 ? Array.from({ length: D }, (_, d) => [h0[d], ...(c0 ? [c0[d]] : [])]).flat() : [];

  const values: Float32Array[] = [], sources: ({ initializer: string; toWasmgrad: (v: Float32Array) => Float32Array } | undefined)[] = [];
  const source = (c: FloatConstant, f: (v: Float32Array) => Float32Array) => {
    values.push(f(c.data));
    sources.push(c.initializer ? { initializer: c.initializer, toWasmgrad: f } : undefined);
  };
  for (let d = 0; d < D; d++) {
    source(W, (v) => kernelOf(op, v, d, units, features));
    source(R, (v) => kernelOf(op, v, d, units, units));
    if (B) source(B, (v) => biasOf(op, v, d, units, op === "GRU" && resetAfter));
  }
  const initializers = [W.initializer, R.initializer, B?.initializer].filter((n): n is string => n !== undefined);
  const key = `${op}|${W.initializer ?? r.node.inputs[1]}|${R.initializer ?? r.node.inputs[2]}|${B?.initializer ?? r.node.inputs[3] ?? ""}|${JSON.stringify(config)}`;
  const inputs = [x.sym, ...states];
  let outputs: SymbolicTensor[] = [];
  r.ctx.sharedLayer(r.at, key, initializers, inputs, () => {
    // Its outputs: the sequence or the last step, then the states (h, c per direction).
    const added = r.ctx.addLayer(r.at, config, inputs, { values, sources });
    outputs = added.outputs;
    return added;
  });
  if (outputs.length === 0) r.fail("applies the weights of an earlier recurrent node again; wasmgrad shares a recurrent layer's weights only within one node");

  // Ours → the file's Y, Y_h, Y_c.
  const result: (Value | undefined)[] = [undefined, undefined, undefined];
  const seqShape = [steps, D, units], stateShape = [D, units];
  const ours = (sym: SymbolicTensor, shape: number[], batchAxis: number, reversedAxis?: number) => withBatch(dataValue(sym, shape, identityLayout(shape)), batchAxis, reversedAxis);
  // A merge reduced over the directions: its output is the merged sequence or last step.
  // (keepdims leaves the directions axis at size 1, and the batch where it was.)
  const reduced = (sym: SymbolicTensor, shape: number[], batchAxis: number, keptBatchAxis: number) => {
    const kept = [...shape];
    kept.splice(shape.length - 1, 0, 1);
    r.ctx.values.set(merger!.node.outputs[0], merger!.keepDims ? ours(sym, kept, keptBatchAxis) : ours(sym, shape, batchAxis));
  };
  const join = (syms: SymbolicTensor[]) => (syms.length === 1 ? syms[0] : r.ctx.addLayer(r.at, { type: "Concatenate", axis: -1 }, syms).output);
  const stride = op === "LSTM" ? 2 : 1;
  const stateSyms = (k: number) => Array.from({ length: D }, (_, d) => outputs[1 + d * stride + k]);
  if (useY) {
    if (merger) reduced(outputs[0], [steps, units], xBatch, yBatch);
    else result[0] = ours(outputs[0], seqShape, yBatch, direction === "reverse" ? 0 : undefined);
    if (useH) result[1] = ours(join(stateSyms(0)), stateShape, stateBatch);
  } else if (merger) {
    reduced(outputs[0], [units], 0, stateBatch);
  } else {
    result[1] = ours(outputs[0], stateShape, stateBatch);
  }
  if (useC) result[2] = ours(join(stateSyms(1)), stateShape, stateBatch);
  // As many as the node names (trailing optional outputs may be left out).
  return result.slice(0, Math.max(1, r.node.outputs.length));
}

function fileShapeText(v: DataValue): string {
  const full: (number | string)[] = [...v.shape];
  full.splice(v.batchAxis ?? 0, 0, "batch");
  return full.join(", ");
}

/** The cell's activation: the operator's defaults (LSTM, GRU), or SimpleRNN's one function, the same both ways. */
function cellActivation(r: NodeReader, op: Operator, D: number): string | undefined {
  const defaults = DEFAULT_ACTIVATIONS[op];
  const given = r.has("activations") ? (r.node.attributes.find((a) => a.name === "activations") as { strings?: string[] }).strings ?? [] : [];
  const list = given.length > 0 ? given : Array.from({ length: D }, () => defaults).flat();
  if (list.length !== defaults.length * D) r.fail(`activations [${list}] must name ${defaults.length} functions per direction`);
  const floats = (name: string) => (r.has(name) ? ((r.node.attributes.find((a) => a.name === name) as { floats?: number[] }).floats ?? []) : []);
  if (op !== "RNN") {
    if (list.some((f, i) => f.toLowerCase() !== defaults[i % defaults.length].toLowerCase())) {
      r.fail(`activations [${list}] differ from ONNX's defaults [${defaults}], which wasmgrad's ${LAYER_TYPES[op]} computes`);
    }
    return undefined;
  }
  const names: Record<string, string> = { tanh: "tanh", relu: "relu", sigmoid: "sigmoid" };
  const alpha = floats("activation_alpha"), beta = floats("activation_beta");
  const one = (f: string, i: number) => {
    if (f.toLowerCase() === "affine") {
      // Affine takes the next alpha and beta; 1·x + 0 is SimpleRNN's linear.
      const k = list.slice(0, i).filter((g) => g.toLowerCase() === "affine").length;
      if ((alpha[k] ?? 1) !== 1 || (beta[k] ?? 0) !== 0) r.fail(`Affine with alpha ${alpha[k]} and beta ${beta[k]} is not supported (only 1·x + 0: linear)`);
      return "linear";
    }
    return names[f.toLowerCase()] ?? r.fail(`activation ${f} is not one of SimpleRNN's (Tanh, Relu, Sigmoid, Affine)`);
  };
  const chosen = list.map(one);
  if (chosen.some((c) => c !== chosen[0])) r.fail(`activations [${list}] differ between the directions; wasmgrad's Bidirectional runs one layer both ways`);
  return chosen[0];
}

/**
 * Initial states from input `i`: undefined when absent or zeros, else ours per direction ([units] each). A
 * computed state is [D, batch, hidden] (layout 0) per sample [D, hidden].
 */
function initialState(r: NodeReader, i: number, what: string, D: number, units: number, batchAxis: number): SymbolicTensor[] | undefined {
  const v = r.input(i);
  if (!v) return undefined;
  if (v.kind !== "data") {
    const c = r.floats(i, what, { perBatch: true });
    if (c.data.every((x) => x === 0)) return undefined;
    return r.fail(`its ${what} is a non-zero constant; wasmgrad's initial states are zeros or model inputs`);
  }
  const s = r.data(i, what, { anyBatchAxis: true });
  if ((s.batchAxis ?? 0) !== batchAxis || s.shape.join() !== [D, units].join()) {
    r.fail(`its ${what} is [${fileShapeText(s)}]; it needs [${batchAxis === 1 ? `${D}, batch, ${units}` : `batch, ${D}, ${units}`}]`);
  }
  const perSample = { ...s, batchAxis: undefined };
  if (D === 2) return [0, 1].map((d) => selectIndex(r, perSample, 0, d).sym);
  const x = inFileOrder(r, perSample) ?? r.fail(`its ${what} is stored in another order in wasmgrad after a flatten`);
  return [x.sym.shape.join() === String(units) ? x.sym : r.ctx.addLayer(r.at, { type: "Reshape", targetShape: [units] }, [x.sym]).output];
}

/**
 * A ReduceSum/ReduceMean/ReduceProd over the directions axis as the sole reader of output k: Bidirectional's
 * sum, ave or mul, taken into the layer (the node is skipped by the walk).
 */
function mergeAfter(r: NodeReader, k: number, axis: number): { mode: string; node: NodeProto; keepDims: boolean } | undefined {
  const name = r.node.outputs[k];
  const next = name ? r.ctx.soleConsumer(name) : undefined;
  if (!next || !(next.opType in MERGES) || (next.domain && next.domain !== "ai.onnx")) return undefined;
  const reader = new Reader(next, `${r.ctx.source}: node ${next.name || "(unnamed)"} (${next.opType})`, r.ctx);
  const rank = k === 0 ? 4 : 3;
  const axes = (axesOf(reader, 1) ?? []).map((a) => (a < 0 ? a + rank : a));
  if (axes.length !== 1 || axes[0] !== axis || reader.int("noop_with_empty_axes", 0) !== 0) return undefined;
  r.ctx.absorbed.add(next);
  return { mode: MERGES[next.opType], node: next, keepDims: reader.int("keepdims", 1) === 1 };
}
