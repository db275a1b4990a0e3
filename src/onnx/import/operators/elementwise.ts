// Add, Sub, Mul, Div, Sum, Mean, Max, Min. Between computed tensors of one shape and layout: wasmgrad's merge
// layers (a residual add, a gate x·σ(y)). With a constant: folded into a per-channel affine layer where the
// constant is a scalar or varies only over channels (normalization by a mean and std, a scale buffer);
// constants shaped otherwise are refused. All-constant operands are folded while importing (shape-folding.ts).

import type { Mapper, NodeReader } from "../context";
import { geluLayer } from "./activations";
import { asFlat, channelsLast, dataValue, inFileOrder, perChannel } from "../data";
import { arithmetic, isConstant } from "../shape-folding";
import { sameLayout, type DataValue, type Value } from "../values";
import { constantAffine } from "./normalization";

const MERGE_LAYERS: Record<string, string> = { Add: "Add", Sum: "Add", Sub: "Subtract", Mul: "Multiply", Mean: "Average", Max: "Maximum", Min: "Minimum" };

export function elementwise(r: NodeReader): ReturnType<Mapper> {
  const op = r.node.opType;
  if (op === "Div") {
    const gelu = geluLayer(r);
    if (gelu) return gelu;
  }
  const inputs = r.node.inputs.map((_, i) => r.input(i) ?? r.fail(`input ${i} is missing`));
  if (inputs.length === 0) r.fail("has no inputs");
  if (inputs.every(isConstant)) return inputs.reduce((a, b) => arithmetic(r, a as never, b as never));
  if (inputs.length === 1) return r.data(0);
  if (inputs.every((v) => v.kind === "data")) return merge(r, op);
  if (inputs.length !== 2 || !["Add", "Sub", "Mul", "Div"].includes(op)) r.fail(`${op} of computed tensors and constants is supported only for two operands`);
  return withConstant(r, op, inputs[0].kind === "data" ? 0 : 1);
}

function merge(r: NodeReader, op: string): Value {
  const type = MERGE_LAYERS[op];
  if (!type) r.fail(`${op} of two computed tensors is not supported (wasmgrad merges by Add, Sub, Mul, Mean, Max and Min)`);
  let values = r.node.inputs.map((_, i) => r.data(i));
  for (const v of values) {
    if (v.shape.join() !== values[0].shape.join()) {
      r.fail(`combines tensors shaped [batch, ${values[0].shape}] and [batch, ${v.shape}]; wasmgrad merges tensors of one shape only (no broadcasting)`);
    }
  }
  // Stored in different orders (one went through a Transpose the other did not): all in the file's order.
  if (values.some((v) => !sameLayout(v.layout, values[0].layout))) {
    values = values.map((v) => inFileOrder(r, v) ?? r.fail("combines tensors whose elements wasmgrad stores in different orders, one of them after a flatten"));
  }
  const first = values[0];
  // Same bytes, but one of ours is flat and another not (after global pooling, say): flatten them all.
  if (values.some((v) => v.sym.shape.join() !== first.sym.shape.join())) values = values.map((v) => asFlat(r, v));
  const { output } = r.ctx.addLayer(r.at, { type }, values.map((v) => v.sym));
  return dataValue(output, first.shape, first.layout);
}

function withConstant(r: NodeReader, op: string, dataIndex: number): Value {
  const x = r.data(dataIndex);
  const constant = r.floats(1 - dataIndex, op === "Mul" || op === "Div" ? "factor" : "addend");
  if (constant.dims.length > x.shape.length + 1 || constant.dims.some((d, i) => d !== 1 && d !== [1, ...x.shape][i + x.shape.length + 1 - constant.dims.length])) {
    r.fail(`${op} by a constant shaped [${constant.dims}] does not broadcast to [batch, ${x.shape}]`);
  }
  const scalar = constant.data.length === 1;
  const channels = scalar ? x.sym.shape[x.sym.shape.length - 1] : channelsLast(x);
  const values = channels === undefined ? undefined : perChannel(constant, x.shape, channels);
  if (channels === undefined || !values) {
    r.fail(`${op} by a constant shaped [${constant.dims}] on [batch, ${x.shape}]: wasmgrad folds only constants that are one number or one per channel (such as [1, C, 1, 1])`);
  }
  const scale = new Float32Array(channels).fill(1), shift = new Float32Array(channels);
  const constantFirst = dataIndex === 1;
  for (let i = 0; i < channels; i++) {
    const v = values[i];
    if (op === "Add") shift[i] = v;
    else if (op === "Sub") {
      shift[i] = constantFirst ? v : -v;
      if (constantFirst) scale[i] = -1;
    } else if (op === "Mul") scale[i] = v;
    else {
      if (constantFirst) r.fail("divides a constant by a computed tensor (a reciprocal), which is not supported");
      scale[i] = 1 / v;
    }
  }
  return constantAffine(r, x as DataValue, r.node.inputs[dataIndex], channels, scale, shift);
}
