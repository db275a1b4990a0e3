// Operators that move or relabel data rather than compute: Concat, Flatten, Reshape, Transpose, Squeeze,
// Unsqueeze, Identity, Dropout, Cast, Pad. Most are free in wasmgrad's layout: only the record of how our
// bytes relate to the file's changes (values.ts). A Reshape of data in the file's own order becomes a Reshape
// layer; a Reshape of a channels-last image other than a flatten is refused.

import type { NodeReader } from "../context";
import { asFlat, dataValue } from "../data";
import {
  axesOf, axisIn, castConstant, concatConstants, isConstant, reshapeConstant, squeezedShape, transposeConstant, unsqueezedShape, type Constant,
} from "../shape-folding";
import { BATCH, axisOrder, identityLayout, isIdentityLayout, product, relabel, sameLayout, type DataValue, type Value } from "../values";

export function identity(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  return v.kind === "data" ? r.data(0) : v;
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
  if (![1, 10, 11].includes(r.int("to"))) r.fail(`casts computed values to data type ${r.int("to")}; wasmgrad computes in float32 only`);
  return r.data(0);
}

export function concat(r: NodeReader): Value {
  const parts = r.node.inputs.map((_, i) => r.input(i) ?? r.fail(`input ${i} is missing`));
  if (parts.length === 0) r.fail("has no inputs");
  if (parts.every(isConstant)) return concatConstants(r, parts as Constant[]);
  if (!parts.every((p) => p.kind === "data")) r.fail("concatenates computed tensors with constants, which is not supported");
  let values = parts.map((_, i) => r.data(i));
  const first = values[0];
  const rank = first.shape.length + 1;
  const axis = axisIn(r, r.int("axis"), rank);
  if (axis === 0) r.fail("concatenates along the batch axis, which is not supported");
  const a = axis - 1;
  for (const v of values) {
    if (v.shape.length !== first.shape.length || v.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      r.fail(`concatenates [batch, ${first.shape}] and [batch, ${v.shape}], which differ off axis ${axis}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = values.reduce((s, v) => s + v.shape[a], 0);
  if (values.length === 1) return first;
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
  return r.fail(`concatenates along axis ${axis} tensors that wasmgrad stores in an order where that axis is not contiguous (flattened channels-first images, or differently transposed inputs)`);
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

/** Transpose: data → the layout changes, nothing moves; the batch axis must stay first. */
export function transpose(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  if (isConstant(v)) return transposeConstant(r, v);
  const x = r.data(0);
  const rank = x.shape.length + 1;
  const perm = r.ints("perm", Array.from({ length: rank }, (_, i) => rank - 1 - i));
  if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) r.fail(`perm [${perm}] is not a permutation of ${rank} axes`);
  if (perm[0] !== 0) r.fail(`perm [${perm}] moves the batch axis, which is not supported`);
  const p = perm.slice(1).map((a) => a - 1);
  const order = axisOrder(x.layout, x.shape);
  if (!order) r.fail(`transposes [batch, ${x.shape}] after a flatten that wasmgrad stores in another order`);
  const shape = p.map((a) => x.shape[a]);
  const newAxisOf = new Array<number>(p.length);
  p.forEach((old, i) => (newAxisOf[old] = i));
  return dataValue(x.sym, shape, { factors: shape, order: order.map((old) => newAxisOf[old]) });
}

/** Squeeze/Unsqueeze of data: unit axes come and go; ours is untouched. */
export function squeeze(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  const axes = axesOf(r, 1);
  if (isConstant(v)) return reshapeConstant(r, v, squeezedShape(r, v.dims, axes));
  const x = r.data(0);
  const rank = x.shape.length + 1;
  const perSample = axes?.map((a) => axisIn(r, a, rank) - 1);
  if (perSample?.includes(-1)) r.fail("squeezes the batch axis, which is not supported");
  return relabelled(r, x, squeezedShape(r, x.shape, perSample));
}

export function unsqueeze(r: NodeReader): Value {
  const v = r.input(0) ?? r.fail("its input is missing");
  const axes = axesOf(r, 1) ?? r.fail("axes are required");
  if (isConstant(v)) return reshapeConstant(r, v, unsqueezedShape(r, v.dims, axes));
  const x = r.data(0);
  const full = unsqueezedShape(r, [-1, ...x.shape], axes);
  if (full[0] !== -1) r.fail("inserts an axis before the batch, which is not supported");
  return relabelled(r, x, full.slice(1));
}

function relabelled(r: NodeReader, x: DataValue, shape: number[]): Value {
  const layout = relabel(x.layout, shape) ?? r.fail(`cannot reshape [${x.shape}] to [${shape}] in wasmgrad's layout`);
  return dataValue(x.sym, shape, layout);
}

/**
 * The per-sample target of a Reshape: 0 copies a dim, −1 is inferred. The first entry must be the batch:
 * the batch size as Shape() read it, 0 (copy), −1 with the rest fixed, or the file's own fixed batch size.
 */
function reshapeTarget(r: NodeReader, x: DataValue, fixedBatch: number | undefined): number[] {
  const target = r.integers(1, "shape").data;
  const shown = target.map((d) => (d === BATCH ? "batch" : d)).join(", ");
  if (r.int("allowzero", 0) === 1 && target.includes(0)) r.fail("allowzero = 1 with a zero in the shape is not supported");
  if (target.length === 0) r.fail("reshapes to a scalar, which drops the batch axis");
  const size = product(x.shape);
  const rest = target.slice(1).map((d, i) => (d === 0 ? (x.shape[i] ?? r.fail(`shape entry ${i + 1} is 0 (copy) past the input's rank`)) : d));
  if (rest.includes(BATCH)) r.fail(`reshapes to [${shown}], which moves the batch size into a per-sample axis`);
  const dims = rest as number[];
  const known = dims.filter((d) => d !== -1);
  if (dims.filter((d) => d === -1).length > 1 || known.some((d) => !Number.isInteger(d) || d < 1)) r.fail(`shape [${shown}] is not a valid reshape target`);
  const inferred = dims.includes(-1);
  const resolved = inferred ? dims.map((d) => (d === -1 ? size / product(known) : d)) : dims;
  if (!resolved.every(Number.isInteger) || product(resolved) !== size) r.fail(`cannot reshape [batch, ${x.shape}] (${size} values per sample) to [${shown}]`);
  const head = target[0];
  const keepsBatch = head === BATCH || head === 0 || (head === -1 && !inferred) || (fixedBatch !== undefined && head === fixedBatch);
  if (!keepsBatch) r.fail(`reshapes to [${shown}], which does not keep the batch axis first`);
  return resolved;
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
  const x = r.data(0);
  const shape = reshapeTarget(r, x, fixedBatch);
  if (shape.join() === x.shape.join()) return x;
  if (shape.length === 1) return asFlat(r, x);
  // Unit axes coming and going: no data moves, ours stays.
  if (nonUnit(shape) === nonUnit(x.shape)) return relabelled(r, x, shape);
  if (isIdentityLayout(x.layout)) {
    // A real reshape of data in the file's own order: ours becomes the target shape.
    const { output } = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: shape }, [x.sym]);
    return dataValue(output, shape, identityLayout(shape));
  }
  return r.fail(`reshapes [batch, ${x.shape}] to [batch, ${shape}], but wasmgrad stores it channels-last, where only flattening it is free (anything else needs a Permute first)`);
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

