// MaxPool, AveragePool (also after a Pad, PyTorch 1.13's export of count_include_pad=True), GlobalAveragePool,
// GlobalMaxPool, and ReduceMean over H and W (PyTorch's x.mean((2, 3))) → wasmgrad's pooling layers (a
// ReduceMean that starts layer normalisation's written-out form is layer-normalization.ts's);
// ReduceMean and ReduceMax over a sequence's steps (x.mean(1), x.max(1) values) → the global 1-D pools.
// Padding a Pad adds before an AveragePool is counted (its zeros are real), as is the pool's own padding
// with count_include_pad = 1: both are AveragePool2D's countIncludePad.

import type { Mapper, NodeReader } from "../context";
import { layerNormalizationPattern } from "./layer-normalization";
import { asImage, dataValue, inFileOrder } from "../data";
import { axesOf } from "../shape-folding";
import { channelsLastLayout, identityLayout, type DataValue, type SpatialPads, type Value } from "../values";
import { addPads, paddedImage } from "./convolution";
import { layerPadding, layerStrides, outputSize, windowOf, type WindowSpec } from "./windows";

function poolOutput(h: number, w: number, spec: WindowSpec, pads: SpatialPads): [number, number] {
  return [outputSize(h, pads[0], pads[1], spec.kernel[0], spec.strides[0]), outputSize(w, pads[2], pads[3], spec.kernel[1], spec.strides[1])];
}

function checkPoolAttributes(r: NodeReader, spec: WindowSpec, h: number, w: number, pads: SpatialPads): void {
  if (spec.dilations[0] !== 1 || spec.dilations[1] !== 1) r.fail(`dilations [${spec.dilations}] are not supported for pooling`);
  if (r.int("ceil_mode", 0) !== 0) {
    // ceil_mode matters only where the last window would start past the image.
    const ceil = (size: number, before: number, after: number, k: number, s: number) => Math.ceil((size + before + after - k) / s) + 1;
    const [oh, ow] = poolOutput(h, w, spec, pads);
    if (ceil(h, pads[0], pads[1], spec.kernel[0], spec.strides[0]) !== oh || ceil(w, pads[2], pads[3], spec.kernel[1], spec.strides[1]) !== ow) {
      r.fail("ceil_mode = 1 (a partial window at the edge) is not supported");
    }
  }
}

export function maxPool(r: NodeReader): Value {
  r.onlyFirstOutput("indices");
  // Pad's zeros would take part in the max, unlike a window's own padding: a Pad before it stays a Pad.
  const x = asImage(r, r.data(0));
  const [c, h, w] = x.shape;
  const spec = windowOf(r, h, w);
  checkPoolAttributes(r, spec, h, w, spec.pads);
  if (r.int("storage_order", 0) !== 0) r.fail("storage_order = 1 is not supported");
  const padding = layerPadding(r, h, w, spec);
  const { output } = r.ctx.addLayer(r.at, { type: "MaxPool2D", poolSize: spec.kernel, strides: layerStrides(r, spec), padding }, [x.sym]);
  const [oh, ow] = poolOutput(h, w, spec, spec.pads);
  return dataValue(output, [c, oh, ow], channelsLastLayout([c, oh, ow]));
}

export function averagePool(r: NodeReader): Value {
  const { x, extra } = paddedImage(r);
  const [c, h, w] = x.shape;
  const spec = windowOf(r, h, w);
  const own = spec.pads;
  const ownCounted = r.int("count_include_pad", 0) === 1;
  const anyOwn = own.some((p) => p > 0), anyExtra = extra.some((p) => p > 0);
  if (anyOwn && anyExtra && !ownCounted) r.fail("averages over a Pad's zeros and its own uncounted padding at once; wasmgrad does one or the other");
  const pads = addPads(own, extra);
  checkPoolAttributes(r, spec, h, w, pads);
  const [oh, ow] = poolOutput(h, w, spec, pads);
  const outShape = [c, oh, ow];
  const result = (sym: typeof x.sym) => dataValue(sym, outShape, channelsLastLayout(outShape));
  const padding = layerPadding(r, h, w, spec, pads);
  const strides = layerStrides(r, spec);
  const counted = anyExtra || (anyOwn && ownCounted);
  if (!counted || padding === "valid") {
    return result(r.ctx.addLayer(r.at, { type: "AveragePool2D", poolSize: spec.kernel, strides, padding }, [x.sym]).output);
  }
  return result(r.ctx.addLayer(r.at, { type: "AveragePool2D", poolSize: spec.kernel, strides, padding, countIncludePad: true }, [x.sym]).output);
}

/** Global pooling of an image: [C, 1, 1] (keepdims) or [C] in the file, [C] ours, in the same order. */
function globalPool(r: NodeReader, keepDims: boolean, kind: "average" | "max"): Value {
  const x = asImage(r, r.data(0));
  const [c, h, w] = x.shape;
  const shape = keepDims ? [c, 1, 1] : [c];
  if (kind === "average") return dataValue(r.ctx.addLayer(r.at, { type: "GlobalAveragePool2D" }, [x.sym]).output, shape, identityLayout(shape));
  // A max pool whose window is the whole image: ours [1, 1, C], the same bytes as [C].
  const { output } = r.ctx.addLayer(r.at, { type: "MaxPool2D", poolSize: [h, w], strides: 1, padding: "valid" }, [x.sym]);
  return dataValue(output, shape, identityLayout(shape));
}

export const globalAveragePool = (r: NodeReader): Value => globalPool(r, true, "average");
export const globalMaxPool = (r: NodeReader): Value => globalPool(r, true, "max");

/**
 * ReduceMean over H and W of an image is global average pooling; ReduceMean and ReduceMax over the steps of
 * a sequence [batch, steps, features] (axis 1) are GlobalAveragePool1D and GlobalMaxPool1D. Other
 * reductions are not supported.
 */
export function reduceMean(r: NodeReader): ReturnType<Mapper> {
  const normalization = layerNormalizationPattern(r);
  if (normalization) return normalization;
  const x = r.data(0);
  const rank = x.shape.length + 1;
  const axes = (axesOf(r, 1) ?? []).map((a) => (a < 0 ? a + rank : a)).sort();
  if (rank === 3 && axes.join() === "1") return sequencePool(r, x, "GlobalAveragePool1D");
  if (rank !== 4 || axes.join() !== "2,3") r.fail(`ReduceMean over axes [${axes}] of [batch, ${x.shape}] is supported only over H and W of an image (axes [2, 3]) or the steps of a sequence (axis 1)`);
  return globalPool(r, r.int("keepdims", 1) === 1, "average");
}

export function reduceMax(r: NodeReader): Value {
  const x = r.data(0);
  const rank = x.shape.length + 1;
  const axes = (axesOf(r, 1) ?? []).map((a) => (a < 0 ? a + rank : a)).sort();
  if (rank !== 3 || axes.join() !== "1") r.fail(`ReduceMax over axes [${axes}] of [batch, ${x.shape}] is supported only over the steps of a sequence (axis 1)`);
  return sequencePool(r, x, "GlobalMaxPool1D");
}

/** Pooling over the steps of [batch, steps, features]: [features] per sample, or [1, features] with keepdims. */
function sequencePool(r: NodeReader, v: DataValue, type: string): Value {
  const x = inFileOrder(r, v) ?? r.fail(`pools [batch, ${v.shape}], which wasmgrad stores in another order after a flatten`);
  let sym = x.sym;
  if (sym.shape.join() !== x.shape.join()) sym = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: x.shape }, [sym]).output;
  const { output } = r.ctx.addLayer(r.at, { type }, [sym]);
  const shape = r.int("keepdims", 1) === 1 ? [1, x.shape[1]] : [x.shape[1]];
  return dataValue(output, shape, identityLayout(shape));
}
