// Helpers for mappers that take data tensors: bringing a tensor into the form a layer needs (an NHWC image,
// a flat vector), and reading a constant that broadcasts over the channel axis only.

import type { SymbolicTensor } from "../../layers/symbolic";
import type { NodeReader } from "./context";
import {
  axisOrder, channelsLastLayout, identityLayout, isChannelsLastImage, isIdentityLayout, product, relabel, sameLayout, type DataValue, type FloatConstant, type Layout,
} from "./values";

export function dataValue(sym: SymbolicTensor, shape: number[], layout: Layout): DataValue {
  return { kind: "data", sym, shape, layout };
}

/** The file's [C, H, W] tensor as wasmgrad's [H, W, C] image, for convolutions and pools. */
export function asImage(r: NodeReader, v: DataValue): DataValue {
  if (v.shape.length !== 3) r.fail(`needs an image ([batch, C, H, W]); its input is shaped [batch, ${v.shape.join(", ")}]`);
  if (isChannelsLastImage(v)) return v;
  const [c, h, w] = v.shape;
  if (sameLayout(v.layout, channelsLastLayout(v.shape))) {
    // The bytes are right but ours lost the image shape (global pooling made it [C]).
    const { output } = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: [h, w, c] }, [v.sym]);
    return dataValue(output, v.shape, v.layout);
  }
  // Another order (channels-first bytes a Reshape made, or axes a Transpose swapped): one Permute makes it channels-last.
  return permutedTo(r, v, [1, 2, 0], channelsLastLayout(v.shape)) ??
    r.fail(`needs an NCHW image; its input [${c}, ${h}, ${w}] was flattened and reshaped in an order wasmgrad cannot bring back to an image`);
}

/** The tensor as ours-flat ([F]), inserting a Flatten where ours is not; the layout is unchanged. */
export function asFlat(r: NodeReader, v: DataValue): DataValue {
  const size = product(v.shape);
  const layout = relabel(v.layout, [size]) ?? r.fail(`cannot flatten its input [${v.shape}] in wasmgrad's layout`);
  if (v.sym.shape.length === 1) return dataValue(v.sym, [size], layout);
  const { output } = r.ctx.addLayer(r.at, { type: "Flatten" }, [v.sym]);
  return dataValue(output, [size], layout);
}

/**
 * The channel count of a tensor whose channel axis (the file's axis 1, per sample 0) is our last axis, or
 * undefined when it is not: per-channel layers (BatchNormalization, folded constants) work on our last axis.
 */
export function channelsLast(v: DataValue): number | undefined {
  if (v.shape.length === 0) return undefined;
  const c = v.shape[0];
  const ours = v.sym.shape;
  if (ours[ours.length - 1] !== c) return undefined;
  if (v.shape.length === 1) return isIdentityLayout(v.layout) ? c : undefined;
  if (v.shape.length === 3) return isChannelsLastImage(v) ? c : undefined;
  // Any other rank: the channel axis must be the fastest in our order, i.e. everything after it is units.
  return v.shape.slice(1).every((d) => d === 1) && isIdentityLayout(v.layout) ? c : undefined;
}

/**
 * A constant that varies only over the channel axis (`axis` of [batch, ...shape], 1 by default) of a tensor
 * shaped [batch, ...shape] (right-aligned, as ONNX broadcasts): its per-channel values (length `channels`),
 * or undefined when it varies elsewhere.
 */
export function perChannel(c: FloatConstant, shape: readonly number[], channels: number, axis = 1): Float32Array | undefined {
  const full = [1, ...shape];
  if (c.dims.length > full.length) return undefined;
  const offset = full.length - c.dims.length;
  let varying = -1;
  for (let i = 0; i < c.dims.length; i++) {
    const d = c.dims[i], at = i + offset;
    if (d === 1) continue;
    if (at !== axis || d !== full[at] || varying >= 0) return undefined;
    varying = at;
  }
  if (varying < 0) return new Float32Array(channels).fill(c.data[0]);
  return c.data.length === channels ? c.data : undefined;
}

/**
 * The tensor with our bytes walking the file's axes in `target` order (slowest first), by one Permute, or
 * undefined where a flatten merged axes that no permutation of ours separates.
 */
function permutedTo(r: NodeReader, v: DataValue, target: number[], layout: Layout): DataValue | undefined {
  const order = axisOrder(v.layout, v.shape);
  const ours = v.sym.shape;
  if (!order || ours.length !== v.shape.length || !order.every((a, k) => ours[k] === v.shape[a])) return undefined;
  const { output } = r.ctx.addLayer(r.at, { type: "Permute", dims: target.map((a) => order.indexOf(a) + 1) }, [v.sym]);
  return dataValue(output, v.shape, layout);
}

/** The tensor in the file's own order: where a Transpose left ours otherwise (at a graph output, to merge with a tensor that was not transposed). */
export function inFileOrder(r: NodeReader, v: DataValue): DataValue | undefined {
  if (isIdentityLayout(v.layout)) return v;
  return permutedTo(r, v, v.shape.map((_, i) => i), identityLayout(v.shape));
}

/**
 * One index along a per-sample axis of the file's tensor (PyTorch's y[:, -1], a sequence's last step): ours in
 * the file's order, viewed as [before, size, after], cropped to the index (Cropping2D) and reshaped; the axis
 * is dropped unless keepAxis. The batch axis stays where the caller puts it.
 */
export function selectIndex(r: NodeReader, v: DataValue, axis: number, index: number, keepAxis = false): DataValue {
  const x = inFileOrder(r, v) ?? r.fail(`selects from [${v.shape}], which wasmgrad stores in another order after a flatten`);
  const size = x.shape[axis];
  const before = product(x.shape.slice(0, axis)), after = product(x.shape.slice(axis + 1));
  const shape = keepAxis ? x.shape.map((d, a) => (a === axis ? 1 : d)) : x.shape.filter((_, a) => a !== axis);
  if (shape.length === 0) r.fail(`selecting from [${v.shape}] would leave one number per sample, which has no shape in wasmgrad`);
  let t = x.sym;
  if (t.shape.join() !== [before, size, after].join()) t = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: [before, size, after] }, [t]).output;
  t = r.ctx.addLayer(r.at, { type: "Cropping2D", cropping: [[0, 0], [index, size - 1 - index]] }, [t]).output;
  t = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: shape }, [t]).output;
  return { ...dataValue(t, shape, identityLayout(shape)), batchAxis: v.batchAxis };
}
