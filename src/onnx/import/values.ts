// What the importer knows about each tensor of the ONNX graph while it walks it: constants (initializers,
// Constant nodes and the shape arithmetic folded from them) and data (a wasmgrad symbolic tensor with the
// file's shape beside it and how our bytes are ordered relative to the file's).
//
// Layout: ONNX image operators are NCHW, wasmgrad's NHWC. Rather than transposing, each data value records
// the permutation between the two orders; operators that care (convolutions, Concat's axis, a Flatten into
// a Gemm) read it, and the rest (activations, merges of equally laid-out tensors) pass it on.

import type { SymbolicTensor } from "../../layers/symbolic";

/** The batch size, unknown while importing: what Shape() says about axis 0. */
export const BATCH = "batch" as const;
export type Dim = number | typeof BATCH;

export interface FloatConstant {
  kind: "floats";
  dims: number[];
  data: Float32Array;
  /** The initializer it came from, when it is one unchanged (shared layers are keyed on it). */
  initializer?: string;
  /** Set where the file's tensor has the batch size at this axis: dims holds 1 there, the values repeat over it. */
  batchAxis?: number;
}

export interface IntConstant {
  kind: "ints";
  dims: number[];
  /** Row-major values; BATCH where a shape computation read the batch size. */
  data: Dim[];
}

/**
 * How our bytes are ordered relative to the file's row-major order: the file's elements viewed as a shape
 * `factors` (which refines the tensor's own shape: each of its dims is a product of consecutive factors),
 * our storage walking those axes in `order`, slowest first. A PyTorch image [C, H, W] stored as NHWC is
 * factors [C, H, W], order [1, 2, 0]; flattened, it keeps those factors and order while its shape is [C·H·W].
 */
export interface Layout {
  factors: number[];
  order: number[];
}

export interface DataValue {
  kind: "data";
  /** Ours: the symbolic tensor and so its per-sample shape. */
  sym: SymbolicTensor;
  /** The file's per-sample shape (without the batch). */
  shape: number[];
  layout: Layout;
  /** Set by Pad: padding not yet applied, which a following Conv or AveragePool may take into its own. */
  pendingPad?: { source: DataValue; pads: SpatialPads; node: string };
  /** The file's axis that holds the batch, when not 0 (shape leaves it out in any case). */
  batchAxis?: number;
  /**
   * Set by a reverse-direction recurrent operator: along this per-sample axis (its steps) ours is in the
   * opposite order to the file's — wasmgrad's goBackwards output is in processing order, ONNX's Y in time
   * order. A Slice that reverses that axis undoes it; any other reader gets the steps reversed by a layer.
   */
  reversedAxis?: number;
}

/** [top, bottom, left, right]. */
export type SpatialPads = [number, number, number, number];

export type Value = FloatConstant | IntConstant | DataValue;

export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export function identityLayout(shape: readonly number[]): Layout {
  return { factors: [...shape], order: shape.map((_, i) => i) };
}

/** A PyTorch image [C, H, W] stored channels-last, as wasmgrad's [H, W, C]. */
export function channelsLastLayout([c, h, w]: readonly number[]): Layout {
  return { factors: [c, h, w], order: [1, 2, 0] };
}

/** Drops unit axes and merges axes that are adjacent in both the file's order and ours. */
export function canonical(layout: Layout): Layout {
  const kept = layout.factors.map((f, i) => (f === 1 ? -1 : i));
  const order = layout.order.filter((a) => kept[a] >= 0);
  const factorsOf = new Map<number, number>(order.map((a) => [a, layout.factors[a]]));
  // Merge runs a, a+1 (in file order, skipping unit axes) that are also consecutive in our order.
  const nextInFile = (a: number) => {
    for (let b = a + 1; b < layout.factors.length; b++) if (kept[b] >= 0) return b;
    return -1;
  };
  const merged: number[][] = [];
  for (const a of order) {
    const run = merged[merged.length - 1];
    if (run && nextInFile(run[run.length - 1]) === a) run.push(a);
    else merged.push([a]);
  }
  // Renumber the runs by their position in file order.
  const byFile = [...merged].sort((x, y) => x[0] - y[0]);
  const index = new Map(byFile.map((run, i) => [run, i]));
  return {
    factors: byFile.map((run) => product(run.map((a) => factorsOf.get(a)!))),
    order: merged.map((run) => index.get(run)!),
  };
}

/** Whether our bytes are in the file's own order. */
export function isIdentityLayout(layout: Layout): boolean {
  return canonical(layout).order.length <= 1;
}

export function sameLayout(a: Layout, b: Layout): boolean {
  const x = canonical(a), y = canonical(b);
  return x.order.join() === y.order.join() && x.factors.join() === y.factors.join();
}

/** Whether the file's [C, H, W] tensor is stored as wasmgrad's [H, W, C] image. */
export function isChannelsLastImage(v: DataValue): boolean {
  if (v.shape.length !== 3) return false;
  const [c, h, w] = v.shape;
  const ours = v.sym.shape;
  return ours.length === 3 && ours[0] === h && ours[1] === w && ours[2] === c && sameLayout(v.layout, channelsLastLayout(v.shape));
}

/**
 * The layout after inserting or removing unit axes of the file's shape, or after any reshape of an
 * identity-ordered tensor: what stays is the order of the non-unit factors.
 */
export function relabel(layout: Layout, newShape: readonly number[]): Layout | undefined {
  const c = canonical(layout);
  if (c.order.length <= 1) return identityLayout(newShape);
  // The file's elements now have shape newShape; our order is still over c.factors, which must refine it.
  if (!refines(c.factors, newShape)) return undefined;
  return c;
}

/** Whether `factors` refines `shape`: every non-unit dim of shape is a product of consecutive factors. */
export function refines(factors: readonly number[], shape: readonly number[]): boolean {
  let i = 0;
  for (const d of shape) {
    if (d === 1) continue;
    let p = 1;
    while (p < d && i < factors.length) p *= factors[i++];
    if (p !== d) return false;
  }
  return i === factors.length;
}

/**
 * For each of our flat positions, the file's flat position of the same element. Only called with a
 * weight's row count in hand (the caller checks it equals the element count), so a file cannot make us
 * allocate for an image it merely claims.
 */
export function fileIndexOfOurs(layout: Layout): Int32Array {
  const { factors, order } = canonical(layout);
  const size = product(factors);
  const strides = new Array<number>(factors.length);
  let s = 1;
  for (let a = factors.length - 1; a >= 0; a--) {
    strides[a] = s;
    s *= factors[a];
  }
  const out = new Int32Array(size);
  const counter = new Array<number>(order.length).fill(0);
  for (let i = 0; i < size; i++) {
    let at = 0;
    for (let k = 0; k < order.length; k++) at += counter[k] * strides[order[k]];
    out[i] = at;
    // Odometer over our axes, fastest last.
    for (let k = order.length - 1; k >= 0; k--) {
      if (++counter[k] < factors[order[k]]) break;
      counter[k] = 0;
    }
  }
  return out;
}

/**
 * Our storage order over the axes of the file's `shape` (unit axes placed first), when the layout can be
 * said that way — always, unless a flatten merged axes that are not adjacent in our order.
 */
export function axisOrder(layout: Layout, shape: readonly number[]): number[] | undefined {
  const c = canonical(layout);
  // Group the shape's non-unit axes into runs whose products are the canonical factors, in file order.
  const runs: number[][] = [];
  let axis = 0;
  for (const f of c.factors) {
    const run: number[] = [];
    let p = 1;
    while (p < f && axis < shape.length) {
      if (shape[axis] !== 1) {
        run.push(axis);
        p *= shape[axis];
      }
      axis++;
    }
    if (p !== f) return undefined;
    runs.push(run);
  }
  for (; axis < shape.length; axis++) if (shape[axis] !== 1) return undefined;
  const units = shape.map((d, a) => (d === 1 ? a : -1)).filter((a) => a >= 0);
  return [...units, ...c.order.flatMap((r) => runs[r])];
}
