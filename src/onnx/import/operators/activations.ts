// Activation operators → wasmgrad activation names: an Activation layer on their own, or the activation of
// the Conv2D/Dense right before them (epilogue.ts). Clip(0, ∞) is ReLU and Clip(0, 6) ReLU6; LeakyRelu and
// Elu carry their alpha; HardSigmoid must be PyTorch's (alpha 1/6, beta 1/2), which is wasmgrad's.
// GELU written out with Erf (PyTorch's F.gelu below opset 20, wasmgrad's own export) is recognised as gelu:
// Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5), each step read only by the next (geluAt).

import type { NodeProto } from "../../onnx-proto";
import type { ImportContext, NodeReader } from "../context";
import { dataValue } from "../data";
import { axisIn, isConstant } from "../shape-folding";
import { axisOrder, product, type DataValue, type Value } from "../values";

/** A wasmgrad activation as layer configs take it: a name, or {name, alpha}. */
export type ActivationSpec = string | { name: string; alpha: number };

export const ACTIVATION_OPS = ["Relu", "Sigmoid", "Tanh", "Softmax", "Clip", "LeakyRelu", "Elu", "HardSigmoid", "HardSwish", "Gelu"];

/**
 * The activation `r`'s node computes on a tensor of file shape `shape` laid out as `v`, or a refusal.
 * Softmax must run over the axis that is our last.
 */
export function activationOf(r: NodeReader, v: { shape: number[]; layout: DataValue["layout"]; ours: readonly number[] }): { spec: ActivationSpec; flatten?: boolean } {
  const op = r.node.opType;
  switch (op) {
    case "Relu":
      return { spec: "relu" };
    case "Sigmoid":
      return { spec: "sigmoid" };
    case "Tanh":
      return { spec: "tanh" };
    case "Clip": {
      const [lo, hi] = r.opset < 11 ? [r.float("min", -Infinity), r.float("max", Infinity)] : [r.scalar(1, "min", -Infinity), r.scalar(2, "max", Infinity)];
      if (lo === 0 && hi === Infinity) return { spec: "relu" };
      if (lo === 0 && hi === 6) return { spec: "relu6" };
      return r.fail(`Clip to [${lo}, ${hi}] is supported only as ReLU (min 0) or ReLU6 (0 to 6)`);
    }
    case "LeakyRelu":
      return { spec: { name: "leakyRelu", alpha: r.float("alpha", 0.01) } };
    case "Elu":
      return { spec: { name: "elu", alpha: r.float("alpha", 1) } };
    case "HardSigmoid": {
      // wasmgrad's hardSigmoid is PyTorch's: relu6(x + 3) / 6, i.e. ONNX alpha 1/6, beta 0.5.
      const alpha = r.float("alpha", 0.2), beta = r.float("beta", 0.5);
      if (Math.abs(alpha - 1 / 6) > 1e-6 || beta !== 0.5) r.fail(`HardSigmoid with alpha ${alpha}, beta ${beta} differs from wasmgrad's (alpha 1/6, beta 0.5, as PyTorch's)`);
      return { spec: "hardSigmoid" };
    }
    case "HardSwish":
      return { spec: "hardSwish" };
    case "Gelu": {
      const approximate = r.string("approximate", "none");
      if (approximate !== "none" && approximate !== "tanh") r.fail(`Gelu with approximate '${approximate}' is not an ONNX mode`);
      return { spec: approximate === "tanh" ? "geluTanh" : "gelu" };
    }
    case "Softmax": {
      const rank = v.shape.length + 1;
      const axis = axisIn(r, r.int("axis", r.opset >= 13 ? -1 : 1), rank);
      if (axis === 0) r.fail("Softmax over the batch axis is not supported");
      // Before opset 13 Softmax runs over everything from `axis` on, flattened; from 13 over that axis alone.
      const over = r.opset >= 13 ? [axis - 1] : v.shape.map((_, i) => i).slice(axis - 1);
      const covered = product(over.map((a) => v.shape[a]));
      if (covered === product(v.shape)) return { spec: "softmax", flatten: v.ours.length > 1 };
      // One axis, which must be the fastest in our order and our last dim.
      const order = axisOrder(v.layout, v.shape);
      const big = over.filter((a) => v.shape[a] !== 1);
      if (big.length === 1 && order && order[order.length - 1] === big[0] && v.ours[v.ours.length - 1] === v.shape[big[0]]) return { spec: "softmax" };
      return r.fail(`Softmax over axis ${r.int("axis", r.opset >= 13 ? -1 : 1)} of [batch, ${v.shape}] is supported only over the channels/features axis`);
    }
    default:
      return r.fail(`${op} is not an activation`);
  }
}

/** An activation operator on its own: an Activation layer. */
export function activationLayer(r: NodeReader): Value {
  const x = r.data(0);
  const { spec, flatten } = activationOf(r, { shape: x.shape, layout: x.layout, ours: x.sym.shape });
  let input = x.sym;
  if (flatten) input = r.ctx.addLayer(r.at, { type: "Flatten" }, [input]).output;
  const { output } = r.ctx.addLayer(r.at, { type: "Activation", activation: spec }, [input]);
  return dataValue(output, x.shape, x.layout);
}

/**
 * The nodes of GELU's Erf form applied to `x` — Div(x, √2), Erf, Add 1, Mul by x, Mul by ½ (either operand
 * order where the operator commutes) — and the tensor it ends in, or undefined.
 */
export function geluAt(ctx: ImportContext, x: string): { nodes: NodeProto[]; output: string } | undefined {
  const isDefault = (n: NodeProto) => !n.domain || n.domain === "ai.onnx";
  const scalar = (name: string | undefined, value: number, tolerance = 1e-6) => {
    const v = name === undefined ? undefined : ctx.values.get(name);
    return isConstant(v) && v.data.length === 1 && Math.abs(Number(v.data[0]) - value) <= tolerance;
  };
  const other = (n: NodeProto, t: string) => (n.inputs.length === 2 ? n.inputs[n.inputs[0] === t ? 1 : 0] : undefined);
  const next = (t: string, op: string) => {
    const n = ctx.soleConsumer(t);
    return n && n.opType === op && isDefault(n) ? n : undefined;
  };
  const div = ctx.consumersOf(x).find((n) => isDefault(n) && n.opType === "Div" && n.inputs[0] === x && scalar(n.inputs[1], Math.SQRT2));
  if (!div) return undefined;
  const erf = next(div.outputs[0], "Erf");
  const add = erf && next(erf.outputs[0], "Add");
  if (!erf || !add || !scalar(other(add, erf.outputs[0]), 1, 0)) return undefined;
  const mul = next(add.outputs[0], "Mul");
  if (!mul || other(mul, add.outputs[0]) !== x) return undefined;
  const half = next(mul.outputs[0], "Mul");
  if (!half || !scalar(other(half, mul.outputs[0]), 0.5, 0)) return undefined;
  return { nodes: [div, erf, add, mul, half], output: half.outputs[0] };
}

/** GELU's Erf form at `r`'s Div node: an Activation layer (gelu), the rest of the nodes absorbed. */
export function geluLayer(r: NodeReader): Value | undefined[] | undefined {
  const found = geluAt(r.ctx, r.node.inputs[0]);
  if (!found || found.nodes[0] !== r.node) return undefined;
  const x = r.data(0);
  const { output } = r.ctx.addLayer(r.at, { type: "Activation", activation: "gelu" }, [x.sym]);
  for (const n of found.nodes.slice(1)) r.ctx.absorbed.add(n);
  return r.ctx.finish(r.node, found.output, dataValue(output, x.shape, x.layout));
}
