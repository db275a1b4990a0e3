// Concrete shapes of a graph's tensors for one batch size, as ONNX Runtime would see them: what the
// attention matcher (operators/attention.ts) reads where PyTorch merges the batch with the heads ([T, B·H, d])
// or with the steps ([T·B, E]) — tensors the importer's own values cannot describe. Shape arithmetic
// (Shape, Gather, Concat, Unsqueeze, …) is evaluated on integers; data operators only propagate shapes.
// An operator it does not know leaves its outputs unknown (absent from the map), and so everything after
// them; nothing here throws on a strange graph.

import { attribute, type NodeProto, type TensorProto } from "../onnx-proto";

export interface Probed {
  shape: number[];
  /** The values, where they are integers known without the data (shape arithmetic, int constants). */
  values?: number[];
}

const UNARY = new Set([
  "Identity", "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Softmax", "LeakyRelu", "Elu", "Gelu", "Neg", "Exp", "Log", "Abs", "Clip",
  "HardSigmoid", "HardSwish", "Not", "Dropout", "LayerNormalization", "BatchNormalization", "Reciprocal", "Floor", "Ceil", "Cast",
]);
const BROADCAST = new Set(["Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "And", "Or", "Max", "Min", "Where", "Sum", "Mean"]);
/** Larger than any count a model's axes hold here, so that tensor sizes stay finite. */
const MAX_ELEMENTS = 2 ** 40;

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Shapes (and integer values) of every tensor it can work out, with the data inputs' shapes as given. */
export function probeShapes(nodes: NodeProto[], initializers: TensorProto[], inputs: { name: string; shape: number[] }[]): Map<string, Probed> {
  const known = new Map<string, Probed>();
  const constant = (t: TensorProto): Probed => {
    const isInt = t.data instanceof BigInt64Array || t.data instanceof Int32Array;
    return { shape: [...t.dims], values: isInt && t.data.length <= 64 ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined };
  };
  for (const t of initializers) known.set(t.name, constant(t));
  for (const i of inputs) known.set(i.name, { shape: i.shape });
  for (const node of nodes) {
    try {
      const out = probeNode(node, known, constant);
      out?.forEach((p, i) => {
        if (p && node.outputs[i] && product(p.shape) <= MAX_ELEMENTS && p.shape.every((d) => Number.isInteger(d) && d >= 0)) known.set(node.outputs[i], p);
      });
    } catch {
      // An operator whose inputs make no sense here: its outputs stay unknown.
    }
  }
  return known;
}

function broadcast(shapes: number[][]): number[] | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i] ?? 1;
      if (e === 1) continue;
      if (d !== 1 && d !== e) return undefined;
      d = e;
    }
    out.push(d);
  }
  return out;
}

function probeNode(node: NodeProto, known: Map<string, Probed>, constant: (t: TensorProto) => Probed): (Probed | undefined)[] | undefined {
  if (node.domain && node.domain !== "ai.onnx") return undefined;
  const op = node.opType;
  const ints = (name: string) => {
    const a = attribute(node, name);
    return a?.type === "INTS" ? a.ints : undefined;
  };
  const int = (name: string, fallback: number) => {
    const a = attribute(node, name);
    return a?.type === "INT" ? a.i : fallback;
  };
  if (op === "Constant") {
    const a = node.attributes[0];
    if (a?.type === "TENSOR") return [constant(a.t)];
    if (a?.type === "INTS") return [{ shape: [a.ints.length], values: a.ints }];
    if (a?.type === "INT") return [{ shape: [], values: [a.i] }];
    return undefined;
  }
  const inputs = node.inputs.map((n) => (n ? known.get(n) : undefined));
  const x = inputs[0];
  if (!x) return undefined;
  const rank = x.shape.length;
  const axis = (a: number, r = rank) => (a < 0 ? a + r : a);
  const valuesOf = (i: number) => inputs[i]?.values;
  if (UNARY.has(op)) {
    const isInt = op === "Cast" ? [6, 7].includes(int("to", 1)) : op === "Identity";
    return [{ shape: x.shape, values: isInt || (op === "Cast" && x.values) ? x.values : undefined }];
  }
  if (BROADCAST.has(op)) {
    const present = inputs.filter((p): p is Probed => p !== undefined);
    if (present.length !== node.inputs.length) return undefined;
    const shape = broadcast(present.map((p) => p.shape));
    if (!shape) return undefined;
    let values: number[] | undefined;
    if (["Add", "Sub", "Mul", "Div"].includes(op) && present.every((p) => p.values) && product(shape) <= 64) {
      const at = (p: Probed, k: number) => p.values![p.values!.length === 1 ? 0 : k];
      values = Array.from({ length: product(shape) }, (_, k) => {
        const a = at(present[0], k), b = at(present[1], k);
        return op === "Add" ? a + b : op === "Sub" ? a - b : op === "Mul" ? a * b : Math.trunc(a / b);
      });
    }
    return [{ shape, values }];
  }
  switch (op) {
    case "Shape": {
      const start = axis(int("start", 0)), end = axis(int("end", rank));
      const dims = x.shape.slice(Math.max(0, start), Math.min(rank, end));
      return [{ shape: [dims.length], values: dims }];
    }
    case "Gather": {
      const indices = inputs[1];
      if (!indices) return undefined;
      const a = axis(int("axis", 0));
      const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
      const values = x.values && indices.values && rank === 1 ? indices.values.map((i) => x.values![i < 0 ? i + x.shape[0] : i]) : undefined;
      return [{ shape, values }];
    }
    case "Unsqueeze":
    case "Squeeze": {
      const axes = node.inputs[1] ? valuesOf(1) : ints("axes");
      if (op === "Unsqueeze") {
        if (!axes) return undefined;
        const r = rank + axes.length;
        const at = new Set(axes.map((a) => axis(a, r)));
        const shape: number[] = [];
        for (let i = 0, k = 0; i < r; i++) shape.push(at.has(i) ? 1 : x.shape[k++]);
        return [{ shape, values: x.values }];
      }
      const at = new Set((axes ?? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => axis(a)));
      return [{ shape: x.shape.filter((_, i) => !at.has(i)), values: x.values }];
    }
    case "Concat": {
      const present = inputs.filter((p): p is Probed => p !== undefined);
      if (present.length !== node.inputs.length) return undefined;
      const a = axis(int("axis", 0));
      const shape = [...x.shape];
      shape[a] = present.reduce((s, p) => s + p.shape[a], 0);
      const values = rank === 1 && present.every((p) => p.values) ? present.flatMap((p) => p.values!) : undefined;
      return [{ shape, values }];
    }
    case "Reshape": {
      const target = valuesOf(1);
      if (!target) return undefined;
      const allowZero = int("allowzero", 0) === 1;
      const dims = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
      const rest = product(dims.filter((d) => d !== -1));
      const shape = dims.map((d) => (d === -1 ? product(x.shape) / rest : d));
      return product(shape) === product(x.shape) ? [{ shape, values: x.values }] : undefined;
    }
    case "Flatten": {
      const a = axis(int("axis", 1));
      return [{ shape: [product(x.shape.slice(0, a)), product(x.shape.slice(a))] }];
    }
    case "Transpose": {
      const perm = ints("perm") ?? x.shape.map((_, i) => rank - 1 - i);
      return [{ shape: perm.map((p) => x.shape[p]) }];
    }
    case "MatMul": {
      const b = inputs[1];
      if (!b) return undefined;
      const a2 = rank === 1 ? [1, x.shape[0]] : x.shape, b2 = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
      if (a2[a2.length - 1] !== b2[b2.length - 2]) return undefined;
      const lead = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
      if (!lead) return undefined;
      const shape = [...lead, ...(rank === 1 ? [] : [a2[a2.length - 2]]), ...(b.shape.length === 1 ? [] : [b2[b2.length - 1]])];
      return [{ shape }];
    }
    case "Gemm": {
      const b = inputs[1];
      if (!b || rank !== 2) return undefined;
      const m = int("transA", 0) ? x.shape[1] : x.shape[0];
      const n = int("transB", 0) ? b.shape[0] : b.shape[1];
      return [{ shape: [m, n] }];
    }
    case "Slice": {
      const starts = valuesOf(1), ends = valuesOf(2);
      if (!starts || !ends) return undefined;
      const axes = node.inputs[3] ? valuesOf(3) : starts.map((_, i) => i);
      const steps = node.inputs[4] ? valuesOf(4) : starts.map(() => 1);
      if (!axes || !steps) return undefined;
      const shape = [...x.shape];
      let values = x.values;
      axes.forEach((a0, i) => {
        const a = axis(a0), n = x.shape[a], step = steps[i];
        const clamp = (e: number, lo: number, hi: number) => Math.min(Math.max(e < 0 ? e + n : e, lo), hi);
        const from = step > 0 ? clamp(starts[i], 0, n) : clamp(starts[i], -1, n - 1);
        const to = step > 0 ? clamp(ends[i], 0, n) : clamp(ends[i], -1, n - 1);
        shape[a] = Math.max(0, Math.ceil((to - from) / step));
        if (values && rank === 1) values = Array.from({ length: shape[a] }, (_, k) => values![from + k * step]);
      });
      return [{ shape, values: rank === 1 ? values : undefined }];
    }
    case "ReduceMean":
    case "ReduceMax":
    case "ReduceSum":
    case "ReduceProd": {
      const axes = (node.inputs[1] ? valuesOf(1) : ints("axes")) ?? x.shape.map((_, i) => i);
      const at = new Set(axes.map((a) => axis(a)));
      const keep = int("keepdims", 1) === 1;
      return [{ shape: keep ? x.shape.map((d, i) => (at.has(i) ? 1 : d)) : x.shape.filter((_, i) => !at.has(i)) }];
    }
    case "Expand": {
      const target = valuesOf(1);
      const shape = target ? broadcast([x.shape, target]) : undefined;
      return shape ? [{ shape }] : undefined;
    }
    case "ConstantOfShape": {
      return x.values ? [{ shape: x.values }] : undefined;
    }
    default:
      return undefined;
  }
}
