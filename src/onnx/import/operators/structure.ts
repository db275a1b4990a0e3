// Operators that move or relabel data rather than compute: Concat, Flatten, Reshape, Transpose, Squeeze,
// Unsqueeze, Identity, Dropout, Cast, Pad. Most are free in wasmgrad's layout: only the record of how our
// bytes relate to the file's changes (values.ts). A Reshape of data in the file's own order becomes a Reshape
// layer; a Reshape of a channels-last image other than a flatten is refused.
// Transpose, Squeeze, Unsqueeze, Reshape and Identity also move the batch axis (values.ts: batchAxis) — the
// time-major tensors around a recurrent operator — and carry a reverse-direction operator's pending
// reversal along.

import type { NodeReader } from "../context";
import { asFlat, dataValue } from "../data";
import {
  axesOf, axisIn, castConstant, concatConstants, isConstant, reshapeConstant, squeezedShape, transposeConstant, unsqueezedShape, type Constant,
} from "../shape-folding";
import { BATCH, axisOrder, identityLayout, isIdentityLayout, product, relabel, sameLayout, type DataValue, type Value } from "../values";

export function identity(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  return v.kind === "data" ? r.data(0, "input", { anyBatchAxis: true, keepReversed: true }) : v;
}

export function dropout(r: NodeReader): Value {
  r.onlyFirstOutput("mask");
  const x = r.data(0);
  // The ratio: an attribute before opset 12, an input after; 0.5 by default.
  const rate = r.opset < 12 ? r.float("ratio", 0.5) : r.scalar(1, "ratio", 0.5);
  if (!(rate >= 0 && rate < 1)) r.fail(`ratio ${rate} is not in [0, 1)`);
  if (rate === 0) return x;
  const { output } = r.ctx.addLayer(r.at, { type: "Dropout", rate }, [x.sym]);
  return dataValue(output, x.shape, x.layout);
}

export function cast(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  if (isConstant(v)) return castConstant(r, v);
  const to = r.int("to");
  // To integers only as the indices of a Gather (an embedding lookup, wasmgrad's own export of Embedding):
  // the Embedding layer reads float indices and refuses any that is not a whole number in range.
  const readers = r.ctx.consumersOf(r.node.outputs[0]);
  const asIndices = [6, 7].includes(to) && readers.length > 0 && !r.ctx.isGraphOutput(r.node.outputs[0]) && readers.every((n) => n.opType === "Gather" && n.inputs[1] === r.node.outputs[0] && n.inputs[0] !== r.node.outputs[0]);
  if (![1, 10, 11].includes(to) && !asIndices) r.fail(`casts computed values to data type ${to}; wasmgrad computes in float32 only (integers only as the indices of a Gather)`);
  return r.data(0);
}

export function concat(r: NodeReader): Value {
  const parts = r.node.inputs.map((_, i) => r.input(i) ?? r.fail(`input ${i} is missing`));
  if (parts.length === 0) r.fail("has no inputs");
  if (parts.every(isConstant)) return concatConstants(r, parts as Constant[]);
  if (!parts.every((p) => p.kind === "data")) r.fail("concatenates computed tensors with constants, which is not supported");
  // The batch may be elsewhere than first (initial states [directions, batch, units]), the same in every part.
  const values = parts.map((_, i) => r.data(i, "input", { anyBatchAxis: true }));
  const first = values[0];
  const batch = first.batchAxis ?? 0;
  if (values.some((v) => (v.batchAxis ?? 0) !== batch)) r.fail("concatenates tensors whose batch is at different axes");
  const rank = first.shape.length + 1;
  const axis = axisIn(r, r.int("axis"), rank);
  if (axis === batch) r.fail("concatenates along the batch axis, which is not supported");
  const a = axis > batch ? axis - 1 : axis;
  for (const v of values) {
    if (v.shape.length !== first.shape.length || v.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      r.fail(`concatenates [batch, ${first.shape}] and [batch, ${v.shape}], which differ off axis ${axis}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = values.reduce((s, v) => s + v.shape[a], 0);
  if (values.length === 1) return first;
  return withBatch(concatPerSample(r, values, a, shape), batch);
}

/** Concat of per-sample tensors along per-sample axis a into `shape`. */
function concatPerSample(r: NodeReader, values: DataValue[], a: number, shape: number[]): DataValue {
  const first = values[0];
  // Our axis: where file axis a sits in our order, the same for every input.
  const orders = values.map((v) => axisOrder(v.layout, v.shape));
  const strictView = (v: DataValue, order: number[] | undefined) => order !== undefined && v.sym.shape.length === v.shape.length && order.every((fa, k) => v.sym.shape[k] === v.shape[fa]);
  if (values.every((v, i) => strictView(v, orders[i])) && orders.every((o) => o!.join() === orders[0]!.join())) {
    const ours = orders[0]!.indexOf(a);
    const { output } = r.ctx.addLayer(r.at, { type: "Concatenate", axis: ours + 1 }, values.map((v) => v.sym));
    return dataValue(output, shape, { factors: shape, order: orders[0]! });
  }
  // Flat tensors in the file's own order (features, globally pooled images): joined end to end when the
  // axis is the first one that is not a unit.
  const leading = first.shape.slice(0, a).every((d) => d === 1);
  if (leading && values.every((v) => isIdentityLayout(v.layout))) {
    values = values.map((v) => asFlat(r, v));
    const { output } = r.ctx.addLayer(r.at, { type: "Concatenate", axis: -1 }, values.map((v) => v.sym));
    return dataValue(output, shape, identityLayout(shape));
  }
  return r.fail(`concatenates along axis ${r.int("axis")} tensors that wasmgrad stores in an order where that axis is not contiguous (flattened channels-first images, or differently transposed inputs)`);
}

/** Flatten: [batch, d1, …] → [batch, d_axis·…] with the leading per-sample dims (must be units). */
export function flatten(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  const rank = (v.kind === "data" ? v.shape.length + 1 : v.dims.length);
  const axis = r.int("axis", 1) < 0 ? r.int("axis", 1) + rank : r.int("axis", 1);
  if (v.kind !== "data") {
    return reshapeConstant(r, v, [product(v.dims.slice(0, axis)), product(v.dims.slice(axis))]);
  }
  const x = r.data(0);
  if (axis < 1 || axis > rank) r.fail(`Flatten with axis ${axis} would merge the batch into the features; only axis ≥ 1 is supported`);
  if (product(x.shape.slice(0, axis - 1)) !== 1) r.fail(`Flatten with axis ${axis} of [batch, ${x.shape}] would merge per-sample dims into the batch`);
  return asFlat(r, x);
}

/** Transpose: data → the layout changes, nothing moves; the batch axis may move (around a recurrent operator). */
export function transpose(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  if (isConstant(v)) return transposeConstant(r, v);
  const x = r.data(0, "input", { anyBatchAxis: true, keepReversed: true });
  const rank = x.shape.length + 1;
  const batch = x.batchAxis ?? 0;
  const perm = r.ints("perm", Array.from({ length: rank }, (_, i) => rank - 1 - i));
  if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) r.fail(`perm [${perm}] is not a permutation of ${rank} axes`);
  // The per-sample axes in their new order, each named by its per-sample index before.
  const p = perm.filter((a) => a !== batch).map((a) => (a > batch ? a - 1 : a));
  const order = axisOrder(x.layout, x.shape);
  if (!order) r.fail(`transposes [${shapeText(x.shape, x.batchAxis)}] after a flatten that wasmgrad stores in another order`);
  const shape = p.map((a) => x.shape[a]);
  const newAxisOf = new Array<number>(p.length);
  p.forEach((old, i) => (newAxisOf[old] = i));
  return withBatch(dataValue(x.sym, shape, { factors: shape, order: order.map((old) => newAxisOf[old]) }), perm.indexOf(batch), x.reversedAxis === undefined ? undefined : newAxisOf[x.reversedAxis]);
}

/** The file's shape of a data value, the batch where it is ("batch"). */
export function fileShape(x: DataValue): (number | string)[] {
  const full: (number | string)[] = [...x.shape];
  full.splice(x.batchAxis ?? 0, 0, "batch");
  return full;
}

/** The file's shape for messages: "batch, 2,4,4" (as [batch, ${shape}] reads), the batch where it is. */
export function shapeText(shape: readonly number[], batchAxis = 0): string {
  if (batchAxis === 0) return `batch, ${shape}`;
  return [shape.slice(0, batchAxis).join(","), "batch", ...(batchAxis < shape.length ? [shape.slice(batchAxis).join(",")] : [])].join(", ");
}

/** A data value with its batch axis (0 is the default, left unset) and pending reversal. */
export function withBatch(v: DataValue, batchAxis: number, reversedAxis?: number): DataValue {
  return { ...v, batchAxis: batchAxis === 0 ? undefined : batchAxis, reversedAxis };
}

/** Squeeze/Unsqueeze of data: unit axes come and go; ours is untouched. */
export function squeeze(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  const axes = axesOf(r, 1);
  if (isConstant(v)) return reshapeConstant(r, v, squeezedShape(r, v.dims, axes));
  const x = r.data(0, "input", { anyBatchAxis: true, keepReversed: true });
  const rank = x.shape.length + 1;
  const batch = x.batchAxis ?? 0;
  // Full-rank axes to remove: those given (never the batch), or every unit axis but the batch.
  const full = fileShape(x).map((d) => (d === "batch" ? -1 : (d as number)));
  const removed = axes ? axes.map((a) => axisIn(r, a, rank)) : full.map((d, a) => (d === 1 ? a : -1)).filter((a) => a >= 0);
  if (removed.includes(batch)) r.fail("squeezes the batch axis, which is not supported");
  for (const a of removed) if (full[a] !== 1) r.fail(`squeezes axis ${a}, whose size is ${full[a]}, not 1`);
  const kept = full.map((_, a) => a).filter((a) => !removed.includes(a));
  return moved(r, x, kept);
}

export function unsqueeze(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  const axes = axesOf(r, 1) ?? r.fail("axes are required");
  if (isConstant(v)) return reshapeConstant(r, v, unsqueezedShape(r, v.dims, axes));
  const x = r.data(0, "input", { anyBatchAxis: true, keepReversed: true });
  const rank = x.shape.length + 1 + axes.length;
  const inserted = new Set(axes.map((a) => axisIn(r, a, rank)));
  if (inserted.size !== axes.length) r.fail("lists an axis twice");
  // Where each old full-rank axis lands (−1 for the new unit axes).
  const from: number[] = [];
  for (let a = 0, old = 0; a < rank; a++) from.push(inserted.has(a) ? -1 : old++);
  return moved(r, x, from);
}

/**
 * The value after unit axes came or went: `from` lists, for each new full-rank axis, the old full-rank axis
 * it is (−1 for a new unit axis).
 */
function moved(r: NodeReader, x: DataValue, from: number[]): Value {
  const batch = x.batchAxis ?? 0;
  const full = fileShape(x);
  const newBatch = from.indexOf(batch);
  const perSample = from.filter((a) => a !== batch);
  const shape = perSample.map((a) => (a < 0 ? 1 : (full[a] as number)));
  const oldIndex = (a: number) => (a > batch ? a - 1 : a);
  const reversed = x.reversedAxis === undefined ? undefined : perSample.findIndex((a) => a >= 0 && oldIndex(a) === x.reversedAxis);
  return withBatch(relabelled(r, x, shape) as DataValue, newBatch, reversed);
}

function relabelled(r: NodeReader, x: DataValue, shape: number[]): Value {
  const layout = relabel(x.layout, shape) ?? r.fail(`cannot reshape [${x.shape}] to [${shape}] in wasmgrad's layout`);
  return dataValue(x.sym, shape, layout);
}

/**
 * The per-sample target of a Reshape and where the batch is in it: 0 copies a dim, −1 is inferred. The
 * batch must stay a dim of its own, with the same number of values before it: the batch size as Shape()
 * read it, or 0 copying the input's batch axis; or, first, −1 with the rest fixed, or the file's own fixed
 * batch size.
 */
function reshapeTarget(r: NodeReader, x: DataValue, fixedBatch: number | undefined): { shape: number[]; batchAxis: number } {
  const target = r.integers(1, "shape").data;
  const shown = target.map((d) => (d === BATCH ? "batch" : d)).join(", ");
  if (r.int("allowzero", 0) === 1 && target.includes(0)) r.fail("allowzero = 1 with a zero in the shape is not supported");
  if (target.length === 0) r.fail("reshapes to a scalar, which drops the batch axis");
  const input = fileShape(x).map((d) => (d === "batch" ? BATCH : d));
  const resolved = target.map((d, i) => (d === 0 ? (input[i] ?? r.fail(`shape entry ${i} is 0 (copy) past the input's rank`)) : d));
  const size = product(x.shape);
  let batchAxis = resolved.indexOf(BATCH);
  if (resolved.lastIndexOf(BATCH) !== batchAxis) r.fail(`reshapes to [${shown}], which holds the batch size twice`);
  const rest = resolved.filter((_, i) => i !== batchAxis) as number[];
  if (batchAxis < 0) {
    // No batch named: first, −1 with the rest fixed (inferred as the batch), or the file's fixed batch size.
    const head = resolved[0] as number, tail = resolved.slice(1) as number[];
    const inferred = head === -1 && !tail.includes(-1);
    if (!inferred && !(fixedBatch !== undefined && head === fixedBatch && (x.batchAxis ?? 0) === 0)) r.fail(`reshapes to [${shown}], which does not keep the batch axis first`);
    batchAxis = 0;
    rest.splice(0, 1);
  }
  const known = rest.filter((d) => d !== -1);
  if (rest.filter((d) => d === -1).length > 1 || known.some((d) => !Number.isInteger(d) || d < 1)) r.fail(`shape [${shown}] is not a valid reshape target`);
  const dims = rest.includes(-1) ? rest.map((d) => (d === -1 ? size / product(known) : d)) : rest;
  if (!dims.every(Number.isInteger) || product(dims) !== size) r.fail(`cannot reshape [${shapeText(x.shape, x.batchAxis)}] (${size} values per sample) to [${shown}]`);
  // The values before the batch per sample: they must stay as many, or samples would mix.
  if (product(x.shape.slice(0, x.batchAxis ?? 0)) !== product(dims.slice(0, batchAxis))) r.fail(`reshapes [${shapeText(x.shape, x.batchAxis)}] to [${shown}], which moves the batch among the other axes`);
  return { shape: dims, batchAxis };
}

const nonUnit = (s: readonly number[]) => s.filter((d) => d !== 1).join();

export function reshape(r: NodeReader, fixedBatch: number | undefined): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  if (isConstant(v)) {
    const target = r.knownIntegers(1, "shape");
    const size = product(v.dims);
    const known = target.map((d, i) => (d === 0 ? v.dims[i] : d)).filter((d) => d !== -1);
    const dims = target.map((d, i) => (d === 0 ? v.dims[i] : d === -1 ? size / product(known) : d));
    if (!dims.every((d) => Number.isInteger(d) && d >= 0) || product(dims) !== size) r.fail(`cannot reshape a constant [${v.dims}] to [${target}]`);
    return reshapeConstant(r, v, dims);
  }
  const x = r.data(0, "input", { anyBatchAxis: true });
  const { shape, batchAxis } = reshapeTarget(r, x, fixedBatch);
  const result = (value: DataValue) => withBatch(value, batchAxis);
  if (shape.join() === x.shape.join()) return result(x);
  if (shape.length === 1 && batchAxis === 0) return result(asFlat(r, x));
  // Unit axes coming and going: no data moves, ours stays.
  if (nonUnit(shape) === nonUnit(x.shape)) return result(relabelled(r, x, shape) as DataValue);
  if (isIdentityLayout(x.layout)) {
    // Ours already has that shape (a recurrent operator's [steps, directions, units] as ours [steps, directions·units]).
    if (x.sym.shape.join() === shape.join()) return result(dataValue(x.sym, shape, identityLayout(shape)));
    // A real reshape of data in the file's own order: ours becomes the target shape.
    const { output } = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: shape }, [x.sym]);
    return result(dataValue(output, shape, identityLayout(shape)));
  }
  return r.fail(`reshapes [${shapeText(x.shape, x.batchAxis)}] to [${shapeText(shape, batchAxis)}], but wasmgrad stores it channels-last, where only flattening it is free (anything else needs a Permute first)`);
}

/** Pad with zeros of H and W: left pending for a following Conv or AveragePool to take (context.ts). */
export function pad(r: NodeReader): Value {
  const x = r.data(0, "input");
  const mode = r.string("mode", "constant");
  if (mode !== "constant") r.fail(`Pad mode '${mode}' is not supported (only zero padding)`);
  const pads = r.opset < 11 ? r.ints("pads") : r.knownIntegers(1, "pads");
  const value = r.opset < 11 ? r.float("value", 0) : r.scalar(2, "constant value", 0);
  if (value !== 0) r.fail(`pads with ${value}; only zero padding is supported`);
  if (r.opset >= 18 && r.inputName(3) !== undefined) r.fail("Pad with axes is not supported");
  const rank = x.shape.length + 1;
  if (pads.length !== 2 * rank || pads.some((p) => !Number.isInteger(p) || p < 0)) r.fail(`pads [${pads}] must be ${2 * rank} integers ≥ 0 (no cropping)`);
  if (rank !== 4 || pads[0] || pads[1] || pads[4] || pads[5]) {
    if (pads.every((p) => p === 0)) return x;
    r.fail(`pads [${pads}]: only padding of H and W of an image is supported`);
  }
  if (pads.every((p) => p === 0)) return x;
  const padsHW: [number, number, number, number] = [pads[2], pads[6], pads[3], pads[7]];
  if (!sameLayout(x.layout, { factors: x.shape, order: [1, 2, 0] })) r.fail("pads an image that is not stored channels-last");
  return { ...x, pendingPad: { source: x, pads: padsHW, node: r.node.name || "(unnamed)" } };
}

