// Layer normalisation → wasmgrad's LayerNormalization, from either form a file may hold:
//   the operator (opset 17: PyTorch's nn.LayerNorm at 17, wasmgrad's own export), over axes [axis, rank);
//   the decomposition PyTorch writes below 17 (and wasmgrad's own export at opsets 13–16), recognised at its
//   first ReduceMean: mean = ReduceMean(x), d = Sub(x, mean), v = ReduceMean(Pow(d, 2) or Mul(d, d)),
//   y = Div(d, Sqrt(Add(v, ε))), then optionally Mul(y, γ) and Add(·, β) — every intermediate read only
//   inside the pattern, both reductions over the same trailing axes with keepdims.
// The normalised axes must be the trailing ones of the file's tensor (in the file's order, as ours is then);
// γ and β are re-shaped to them (a constant that broadcasts, such as [D] on [T, D], is expanded). Without
// γ and β the layer has scale and center off. ε below 1e-12 is raised to it (the layer's least).

import type { NodeProto } from "../../onnx-proto";
import { NodeReader, type Mapper } from "../context";
import { dataValue, inFileOrder } from "../data";
import { axesOf, axisIn, isConstant } from "../shape-folding";
import { copyOf } from "../weights";
import { identityLayout, product, type DataValue, type FloatConstant } from "../values";

/** The LayerNormalization operator. */
export function layerNormalizationOp(r: NodeReader): ReturnType<Mapper> {
  r.onlyFirstOutput("mean and inverse standard deviation");
  const x = r.data(0);
  const rank = x.shape.length + 1;
  const axis = axisIn(r, r.int("axis", -1), rank);
  if (axis === 0) r.fail("normalises over the batch axis too; wasmgrad normalises within each sample");
  const scale = r.floats(1, "scale");
  // A scale that is not an initializer and all ones (wasmgrad's export of scale: false) is no scale.
  const gamma = !scale.initializer && scale.data.every((s) => s === 1) ? undefined : scale;
  const beta = r.inputName(2) !== undefined ? r.floats(2, "bias") : undefined;
  return build(r, x, rank - axis, r.float("epsilon", 1e-5), gamma, beta, r.node.outputs[0]);
}

/**
 * The decomposed pattern starting at `r`'s ReduceMean, or undefined when the node does not start one (the
 * ReduceMean is then mapped as a pooling).
 */
export function layerNormalizationPattern(r: NodeReader): ReturnType<Mapper> | undefined {
  const ctx = r.ctx;
  const x = r.node.inputs[0];
  const input = r.input(0);
  if (input?.kind !== "data" || input.batchAxis !== undefined) return undefined;
  const rank = input.shape.length + 1;
  const axes = reductionAxes(r, rank);
  if (!axes) return undefined;
  const sole = (tensor: string, op: string[], reads?: (n: NodeProto) => boolean): NodeProto | undefined => {
    const next = ctx.soleConsumer(tensor);
    return next && op.includes(next.opType) && isDefault(next) && (!reads || reads(next)) ? next : undefined;
  };
  const sub = sole(r.node.outputs[0], ["Sub"], (n) => n.inputs[0] === x && n.inputs[1] === r.node.outputs[0]);
  if (!sub) return undefined;
  const d = sub.outputs[0];
  const readers = [...new Set(ctx.consumersOf(d))];
  if (readers.length !== 2 || ctx.isGraphOutput(d)) return undefined;
  const square = readers.find((n) => isDefault(n) && ((n.opType === "Pow" && n.inputs[0] === d && constantIs(ctx, n.inputs[1], 2)) || (n.opType === "Mul" && n.inputs[0] === d && n.inputs[1] === d)));
  const div = readers.find((n) => isDefault(n) && n.opType === "Div" && n.inputs[0] === d);
  if (!square || !div) return undefined;
  const mean2 = sole(square.outputs[0], ["ReduceMean"]);
  if (!mean2) return undefined;
  const reader = (n: NodeProto) => new NodeReader(n, `${ctx.source}: node ${n.name || "(unnamed)"} (${n.opType})`, ctx);
  if (reductionAxes(reader(mean2), rank)?.join() !== axes.join()) return undefined;
  const addEps = sole(mean2.outputs[0], ["Add"]);
  const epsName = addEps?.inputs.find((i) => i !== mean2.outputs[0]);
  const eps = epsName !== undefined ? ctx.values.get(epsName) : undefined;
  if (!addEps || !isConstant(eps) || eps.data.length !== 1) return undefined;
  const sqrt = sole(addEps.outputs[0], ["Sqrt"]);
  if (!sqrt || ctx.soleConsumer(sqrt.outputs[0]) !== div || div.inputs[1] !== sqrt.outputs[0]) return undefined;
  // Optional γ and β, each a constant.
  let output = div.outputs[0];
  const absorbed = [sub, square, mean2, addEps, sqrt, div];
  const affine = (op: string): FloatConstant | undefined => {
    const next = sole(output, [op]);
    const other = next?.inputs.find((i) => i !== output);
    if (!next || other === undefined || next.inputs.length !== 2 || !isConstant(ctx.values.get(other))) return undefined;
    const value = reader(next).floats(next.inputs.indexOf(other), op === "Mul" ? "scale" : "bias");
    absorbed.push(next);
    output = next.outputs[0];
    return value;
  };
  const gamma = affine("Mul");
  const beta = affine("Add");
  const value = build(r, r.data(0), axes.length, Number(eps.data[0]), gamma, beta, output);
  for (const n of absorbed) ctx.absorbed.add(n);
  return value;
}

/** A ReduceMean's axes (of a tensor of `rank`, the batch included) when they are trailing and it keeps dims, else undefined. */
function reductionAxes(r: NodeReader, rank: number): number[] | undefined {
  if (r.node.opType !== "ReduceMean" || r.int("keepdims", 1) !== 1) return undefined;
  const given = axesOf(r, 1);
  if (!given || given.length === 0) return undefined;
  const axes = given.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  return axes.every((a, i) => a === rank - axes.length + i) && axes[0] > 0 ? axes : undefined;
}

function constantIs(ctx: NodeReader["ctx"], tensor: string, value: number): boolean {
  const v = ctx.values.get(tensor);
  return isConstant(v) && v.data.length === 1 && Number(v.data[0]) === value;
}

const isDefault = (n: NodeProto) => !n.domain || n.domain === "ai.onnx";

/** The LayerNormalization layer over the last `count` axes of x, its value recorded under `output`. */
function build(r: NodeReader, v: DataValue, count: number, epsilon: number, gamma: FloatConstant | undefined, beta: FloatConstant | undefined, output: string): ReturnType<Mapper> {
  const x = inFileOrder(r, v) ?? r.fail(`normalises [batch, ${v.shape}], which wasmgrad stores in another order after a flatten`);
  const normalized = x.shape.slice(x.shape.length - count);
  const size = product(normalized);
  const expand = (c: FloatConstant, what: string): Float32Array => {
    const values = broadcastTo(c, normalized) ?? r.fail(`its ${what} [${c.dims}] does not broadcast to the normalised axes [${normalized}]`);
    return values;
  };
  const values: Float32Array[] = [];
  const sources: ({ initializer: string; toWasmgrad: (v: Float32Array) => Float32Array } | undefined)[] = [];
  for (const [c, what] of [[gamma, "scale"], [beta, "bias"]] as const) {
    if (!c) continue;
    values.push(expand(c, what));
    sources.push(c.initializer && c.data.length === size ? { initializer: c.initializer, toWasmgrad: copyOf } : undefined);
  }
  let sym = x.sym;
  if (sym.shape.join() !== x.shape.join()) sym = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: x.shape }, [sym]).output;
  const axis = count === 1 ? -1 : Array.from({ length: count }, (_, i) => i - count);
  const config = { type: "LayerNormalization", axis, epsilon: Math.max(epsilon, 1e-12), center: beta !== undefined, scale: gamma !== undefined };
  const initializers = [gamma?.initializer, beta?.initializer].filter((n): n is string => n !== undefined);
  const key = `LayerNormalization|${gamma?.initializer ?? ""}|${beta?.initializer ?? ""}|${JSON.stringify(config)}`;
  const make = () => r.ctx.addLayer(r.at, config, [sym], { values, sources });
  const out = initializers.length > 0 ? r.ctx.sharedLayer(r.at, key, initializers, [sym], make) : make().output;
  return r.ctx.finish(r.node, output, dataValue(out, x.shape, identityLayout(x.shape)));
}

/** A constant broadcast (right-aligned, as ONNX) to `shape`, or undefined where it does not broadcast. */
function broadcastTo(c: FloatConstant, shape: number[]): Float32Array | undefined {
  const dims = c.dims.slice();
  while (dims.length > shape.length && dims[0] === 1) dims.shift();
  if (dims.length > shape.length) return undefined;
  const offset = shape.length - dims.length;
  if (dims.some((d, i) => d !== 1 && d !== shape[i + offset])) return undefined;
  const out = new Float32Array(product(shape));
  const strides = dims.map((_, i) => (dims[i] === 1 ? 0 : product(dims.slice(i + 1))));
  const counter = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < out.length; k++) {
    let at = 0;
    for (let i = 0; i < dims.length; i++) at += counter[i + offset] * strides[i];
    out[k] = c.data[at];
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++counter[a] < shape[a]) break;
      counter[a] = 0;
    }
  }
  return out;
}
