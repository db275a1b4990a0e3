// Operators on constants, evaluated while importing: Constant nodes and the shape arithmetic exporters
// write around a Reshape (PyTorch's x.view(x.size(0), -1) is Shape → Gather → Unsqueeze → Concat →
// Reshape). Shape() of a data tensor is known once the input shape is, except for the batch size, which
// stays symbolic (BATCH) — a reshape that keeps it in front is still a per-sample reshape.
// ConstantOfShape of a shape that holds the batch size (PyTorch's zero initial states of an RNN) is a
// constant with the batch axis at size 1 (values.ts): Slice and Cast keep it, other folds refuse it.

import type { TensorProto } from "../onnx-proto";
import { attribute } from "../onnx-proto";
import type { NodeReader } from "./context";
import { BATCH, product, type Dim, type FloatConstant, type IntConstant, type Value } from "./values";

export type Constant = FloatConstant | IntConstant;

/** No shape computation needs big integer tensors; a larger one is a weight fed to the wrong operator. */
const MAX_FOLDED_INTS = 1 << 16;

export function tensorValue(t: TensorProto, initializer?: string): Constant {
  if (t.data instanceof Float32Array) return { kind: "floats", dims: [...t.dims], data: t.data, initializer };
  if (t.data instanceof Float64Array) return { kind: "floats", dims: [...t.dims], data: Float32Array.from(t.data) };
  return { kind: "ints", dims: [...t.dims], data: t.data instanceof BigInt64Array ? Array.from(t.data, Number) : Array.from(t.data) };
}

export const isConstant = (v: Value | undefined): v is Constant => v !== undefined && v.kind !== "data";

/** Refuses a constant sized by the batch where a fold would lose track of that axis. */
function plain<T extends Constant>(r: NodeReader, v: T): T {
  if (v.kind === "floats" && v.batchAxis !== undefined) r.fail(`${r.node.opType} of a constant sized by the batch (ConstantOfShape) is not supported; wasmgrad reads such constants only as a recurrent operator's initial states`);
  return v;
}

function ints(r: NodeReader, dims: number[], data: Dim[]): IntConstant {
  if (data.length > MAX_FOLDED_INTS) r.fail(`folds to ${data.length} integers; wasmgrad folds only shape-sized computations`);
  return { kind: "ints", dims, data };
}

/** Normalizes axis (negative counts from the end) for a tensor of `rank` axes. */
export function axisIn(r: NodeReader, axis: number, rank: number, what = "axis"): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) r.fail(`${what} ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

export function constantNode(r: NodeReader): Constant {
  const a = r.node.attributes[0];
  if (!a || r.node.attributes.length !== 1) r.fail("a Constant needs exactly one value attribute");
  switch (a.name) {
    case "value":
      if (a.type !== "TENSOR") r.fail("its value must be a tensor");
      return tensorValue(a.t);
    case "value_float":
      if (a.type !== "FLOAT") r.fail("value_float must be a float");
      return { kind: "floats", dims: [], data: Float32Array.of(a.f) };
    case "value_floats":
      if (a.type !== "FLOATS") r.fail("value_floats must be floats");
      return { kind: "floats", dims: [a.floats.length], data: Float32Array.from(a.floats) };
    case "value_int":
      if (a.type !== "INT") r.fail("value_int must be an integer");
      return ints(r, [], [a.i]);
    case "value_ints":
      if (a.type !== "INTS") r.fail("value_ints must be integers");
      return ints(r, [a.ints.length], [...a.ints]);
    default:
      return r.fail(`Constant with '${a.name}' is not supported (only tensor, float and integer values)`);
  }
}

/** Shape(x): [batch, ...the per-sample shape], sliced by start/end (opset 15). */
export function shapeOf(r: NodeReader): IntConstant {
  const v = r.input(0) ?? r.fail("its input is missing");
  const batchAt = v.kind === "data" ? (v.batchAxis ?? 0) : v.kind === "floats" ? v.batchAxis : undefined;
  const full: Dim[] = v.kind === "data" ? [...v.shape] : [...v.dims];
  if (v.kind === "data") full.splice(batchAt!, 0, BATCH);
  else if (batchAt !== undefined) full[batchAt] = BATCH;
  const rank = full.length;
  const clamp = (x: number) => Math.min(Math.max(x < 0 ? x + rank : x, 0), rank);
  const start = clamp(r.int("start", 0)), end = clamp(r.int("end", rank));
  const data = full.slice(start, Math.max(start, end));
  return ints(r, [data.length], data);
}

export function castConstant(r: NodeReader, v: Constant): Constant {
  const to = r.int("to");
  // FLOAT, DOUBLE, FLOAT16 become floats; the integer types become integers.
  if (to === 1 || to === 10 || to === 11) {
    if (v.kind === "floats") return v;
    if (v.data.includes(BATCH)) r.fail("casts the batch size to a float");
    return { kind: "floats", dims: v.dims, data: Float32Array.from(v.data as number[]) };
  }
  if ([2, 3, 4, 5, 6, 7, 12, 13].includes(to)) {
    if (v.kind === "ints") return v;
    plain(r, v);
    return ints(r, v.dims, Array.from(v.data, Math.trunc));
  }
  return r.fail(`casting to data type ${to} is not supported`);
}

/** Gather on a constant (what PyTorch's x.size(0) becomes): indices along one axis. */
export function gather(r: NodeReader, data: Constant): Constant {
  plain(r, data);
  const indices = r.knownIntegers(1, "indices");
  const indexDims = r.integers(1, "indices").dims;
  const rank = data.dims.length;
  if (rank === 0) r.fail("gathers from a scalar");
  const axis = axisIn(r, r.int("axis", 0), rank);
  const n = data.dims[axis];
  const outer = product(data.dims.slice(0, axis)), inner = product(data.dims.slice(axis + 1));
  const picked = indices.map((i) => (i < 0 ? i + n : i));
  if (picked.some((i) => i < 0 || i >= n)) r.fail(`an index is out of range for an axis of ${n}`);
  const dims = [...data.dims.slice(0, axis), ...indexDims, ...data.dims.slice(axis + 1)];
  if (outer * picked.length * inner > MAX_FOLDED_INTS) r.fail(`gathers ${outer * picked.length * inner} values; wasmgrad folds only shape-sized computations`);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (const i of picked) for (let k = 0; k < inner; k++) out.push((o * n + i) * inner + k);
  if (data.kind === "floats") return { kind: "floats", dims, data: Float32Array.from(out, (j) => data.data[j]) };
  return ints(r, dims, out.map((j) => data.data[j]));
}

/** Axes for Unsqueeze/Squeeze/ReduceMean: an attribute before opset 13 (18 for reductions), an input after. */
export function axesOf(r: NodeReader, inputIndex: number): number[] | undefined {
  if (r.inputName(inputIndex) !== undefined) return r.knownIntegers(inputIndex, "axes");
  return attribute(r.node, "axes") ? r.ints("axes") : undefined;
}

/** The shape after inserting unit axes at `axes` (counted in the output's rank). */
export function unsqueezedShape(r: NodeReader, dims: number[], axes: number[]): number[] {
  const rank = dims.length + axes.length;
  const at = new Set(axes.map((a) => axisIn(r, a, rank)));
  if (at.size !== axes.length) r.fail("lists an axis twice");
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : dims[k++]);
  return out;
}

/** The shape after removing unit axes (all of them when `axes` is absent). */
export function squeezedShape(r: NodeReader, dims: number[], axes: number[] | undefined): number[] {
  if (!axes) return dims.filter((d) => d !== 1);
  const at = new Set(axes.map((a) => axisIn(r, a, dims.length)));
  for (const a of at) if (dims[a] !== 1) r.fail(`squeezes axis ${a}, whose size is ${dims[a]}, not 1`);
  return dims.filter((_, i) => !at.has(i));
}

export function concatConstants(r: NodeReader, parts: Constant[]): Constant {
  parts.forEach((p) => plain(r, p));
  const rank = parts[0].dims.length;
  if (rank === 0) r.fail("concatenates scalars");
  const axis = axisIn(r, r.int("axis"), rank);
  for (const p of parts) {
    if (p.dims.length !== rank || p.dims.some((d, i) => i !== axis && d !== parts[0].dims[i])) r.fail("concatenates constants whose shapes differ off the axis");
  }
  const outer = product(parts[0].dims.slice(0, axis));
  const dims = [...parts[0].dims];
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
  const rows = parts.map((p) => product(p.dims.slice(axis)));
  const out: Dim[] = [];
  for (let o = 0; o < outer; o++) parts.forEach((p, i) => out.push(...p.data.slice(o * rows[i], (o + 1) * rows[i])));
  if (parts.every((p) => p.kind === "floats")) return { kind: "floats", dims, data: Float32Array.from(out as number[]) };
  if (parts.some((p) => p.kind === "floats")) r.fail("concatenates floats with integers");
  return ints(r, dims, out);
}

/**
 * Slice of a constant with step 1 along any axes: a shape's leading or trailing dims, one layer's slab of
 * PyTorch's stacked initial states. A constant sized by the batch keeps that axis (it cannot be sliced).
 */
export function sliceConstant(r: NodeReader, v: Constant): Constant {
  const fromInputs = r.opset >= 10;
  const starts = fromInputs ? r.knownIntegers(1, "starts") : r.ints("starts");
  const ends = fromInputs ? r.knownIntegers(2, "ends") : r.ints("ends");
  const axes = (fromInputs ? (r.inputName(3) !== undefined ? r.knownIntegers(3, "axes") : undefined) : r.has("axes") ? r.ints("axes") : undefined) ?? starts.map((_, i) => i);
  const steps = fromInputs && r.inputName(4) !== undefined ? r.knownIntegers(4, "steps") : axes.map(() => 1);
  const rank = v.dims.length;
  if (rank === 0) r.fail("slices a scalar");
  if (starts.length !== axes.length || ends.length !== axes.length || steps.length !== axes.length) r.fail("starts, ends, axes and steps must have one entry per axis");
  if (steps.some((s) => s !== 1)) r.fail("only slices of constants with step 1 are folded");
  const batchAxis = v.kind === "floats" ? v.batchAxis : undefined;
  const from = v.dims.map(() => 0), to = [...v.dims];
  axes.forEach((axis, i) => {
    const a = axisIn(r, axis, rank);
    if (a === batchAxis) r.fail("slices the batch axis of a constant sized by the batch");
    const n = v.dims[a];
    const clamp = (x: number) => Math.min(Math.max(x < 0 ? x + n : x, 0), n);
    from[a] = clamp(starts[i]);
    to[a] = Math.max(from[a], clamp(ends[i]));
  });
  const dims = v.dims.map((_, a) => to[a] - from[a]);
  const strides = v.dims.map((_, a) => product(v.dims.slice(a + 1)));
  const picked: number[] = [];
  const counter = new Array<number>(rank).fill(0);
  for (let i = 0, n = product(dims); i < n; i++) {
    picked.push(counter.reduce((at, c, a) => at + (from[a] + c) * strides[a], 0));
    for (let a = rank - 1; a >= 0; a--) {
      if (++counter[a] < dims[a]) break;
      counter[a] = 0;
    }
  }
  if (v.kind === "floats") return { kind: "floats", dims, data: Float32Array.from(picked, (j) => v.data[j]), ...(batchAxis !== undefined ? { batchAxis } : {}) };
  return ints(r, dims, picked.map((j) => v.data[j]));
}

/**
 * ConstantOfShape: the value attribute (a one-element tensor, float 0 by default) repeated over the shape.
 * A shape holding the batch size (Shape() of data) gives a constant sized by the batch (values.ts).
 */
export function constantOfShape(r: NodeReader): Constant {
  const shape = r.integers(0, "shape").data;
  const a = attribute(r.node, "value");
  let value: Constant = { kind: "floats", dims: [1], data: Float32Array.of(0) };
  if (a) {
    if (a.type !== "TENSOR") r.fail("its value must be a tensor");
    value = tensorValue(a.t);
    if (value.data.length !== 1) r.fail(`its value must hold one element, it holds ${value.data.length}`);
  }
  const batchAt = shape.indexOf(BATCH);
  if (shape.lastIndexOf(BATCH) !== batchAt) r.fail("its shape holds the batch size twice");
  const dims = shape.map((d) => (d === BATCH ? 1 : d)) as number[];
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) r.fail(`shape [${shape}] is not a shape`);
  const size = product(dims);
  if (size > MAX_FOLDED_INTS) r.fail(`makes ${size} values; wasmgrad folds only constants of up to ${MAX_FOLDED_INTS}`);
  const x = value.data[0];
  if (batchAt < 0) {
    if (value.kind === "floats") return { kind: "floats", dims, data: new Float32Array(size).fill(x as number) };
    return ints(r, dims, new Array<Dim>(size).fill(x));
  }
  if (value.kind !== "floats") r.fail("an integer constant sized by the batch is not supported");
  return { kind: "floats", dims, data: new Float32Array(size).fill(x as number), batchAxis: batchAt };
}

export function transposeConstant(r: NodeReader, v: Constant): Constant {
  plain(r, v);
  const rank = v.dims.length;
  const perm = r.ints("perm", v.dims.map((_, i) => rank - 1 - i));
  if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) r.fail(`perm [${perm}] is not a permutation of ${rank} axes`);
  const dims = perm.map((p) => v.dims[p]);
  const strides = v.dims.map((_, a) => product(v.dims.slice(a + 1)));
  const out = new Array<number>(product(dims));
  const counter = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    out[i] = counter.reduce((at, c, k) => at + c * strides[perm[k]], 0);
    for (let k = rank - 1; k >= 0; k--) {
      if (++counter[k] < dims[k]) break;
      counter[k] = 0;
    }
  }
  if (v.kind === "floats") return { kind: "floats", dims, data: Float32Array.from(out, (j) => v.data[j]) };
  return ints(r, dims, out.map((j) => v.data[j]));
}

/** Element-wise arithmetic on two constants of one shape, or a constant and a scalar. */
export function arithmetic(r: NodeReader, a: Constant, b: Constant): Constant {
  plain(r, a);
  plain(r, b);
  const op = r.node.opType;
  const size = Math.max(a.data.length, b.data.length);
  if (!(a.data.length === size || a.data.length === 1) || !(b.data.length === size || b.data.length === 1)) {
    r.fail(`${op} of constants shaped [${a.dims}] and [${b.dims}]: only equal shapes or a scalar are folded`);
  }
  const dims = a.data.length === size ? a.dims : b.dims;
  const at = (v: Constant, i: number) => v.data[v.data.length === 1 ? 0 : i];
  const apply = (x: number, y: number) => (op === "Add" ? x + y : op === "Sub" ? x - y : op === "Mul" ? x * y : x / y);
  if (a.kind === "ints" && b.kind === "ints") {
    const out: Dim[] = [];
    for (let i = 0; i < size; i++) {
      const x = at(a, i), y = at(b, i);
      if (x === BATCH || y === BATCH) {
        // batch + 0, batch − 0, batch · 1 (either side) and batch / 1 are the batch; anything else is a
        // size wasmgrad cannot know when importing.
        const other = x === BATCH ? y : x;
        const keeps = other !== BATCH && (op === "Add" ? other === 0 : op === "Mul" ? other === 1 : x === BATCH && other === (op === "Sub" ? 0 : 1));
        if (!keeps) r.fail(`computes with the batch size (${op}); wasmgrad imports shape computations that keep the batch as it is`);
        out.push(BATCH);
      } else {
        out.push(op === "Div" ? Math.trunc(x / y) : apply(x, y));
      }
    }
    return ints(r, dims, out);
  }
  if (a.data.includes(BATCH as never) || b.data.includes(BATCH as never)) r.fail(`computes with the batch size (${op})`);
  const x = a.kind === "floats" ? a.data : Float32Array.from(a.data as number[]);
  const y = b.kind === "floats" ? b.data : Float32Array.from(b.data as number[]);
  return { kind: "floats", dims, data: Float32Array.from({ length: size }, (_, i) => apply(x[x.length === 1 ? 0 : i], y[y.length === 1 ? 0 : i])) };
}

/** Reshape of a constant (values unchanged, dims from the target). */
export function reshapeConstant(r: NodeReader, v: Constant, target: number[]): Constant {
  plain(r, v);
  if (product(target) !== v.data.length) r.fail(`cannot reshape a constant [${v.dims}] to [${target}]`);
  return v.kind === "floats" ? { kind: "floats", dims: target, data: v.data } : { kind: "ints", dims: target, data: v.data };
}
