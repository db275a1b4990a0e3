// Operators that change an image's size other than by a window: ConvTranspose → Conv2DTranspose (decoders,
// U-Nets), Slice of H and W → Cropping2D (of a sequence's steps → Cropping1D), Resize/Upsample by integer factors → UpSampling2D (nearest, as
// PyTorch's F.interpolate exports it, or bilinear with half-pixel centers, align_corners=False).

import type { Mapper, NodeReader } from "../context";
import { asImage, dataValue, inFileOrder } from "../data";
import { axisIn, isConstant, sliceConstant } from "../shape-folding";
import { copyOf } from "../weights";
import { channelsLastLayout, identityLayout, type DataValue } from "../values";
import { epilogue } from "./epilogue";
import { layerStrides, windowOf } from "./windows";

/** ONNX ConvTranspose weight [cin, filters, kh, kw] → Conv2DTranspose kernel [kh, kw, filters, cin]. */
function transposedKernel(w: Float32Array, [cin, filters, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let c = 0; c < cin; c++)
    for (let f = 0; f < filters; f++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * filters + f) * cin + c] = w[((c * filters + f) * kh + y) * kw + x];
  return out;
}

export function convTranspose(r: NodeReader): ReturnType<Mapper> {
  const x = asImage(r, r.data(0));
  const w = r.floats(1, "weight");
  if (w.dims.length !== 4) r.fail(`only 2-D transposed convolutions are supported (weight [${w.dims}])`);
  if (w.data.length === 0) r.fail(`the weight [${w.dims}] is empty`);
  const [cin, filters, kh, kw] = w.dims;
  const [c, h, wd] = x.shape;
  if (cin !== c) r.fail(`the weight takes ${cin} channels but ${c} arrive`);
  if (r.int("group", 1) !== 1) r.fail("grouped transposed convolutions are not supported");
  if (r.has("output_shape")) r.fail("output_shape is not supported; give pads and output_padding instead");
  if (r.string("auto_pad", "NOTSET") !== "NOTSET") r.fail("auto_pad is not supported for ConvTranspose; give pads");
  const spec = windowOf(r, h, wd, [kh, kw]);
  const [top, bottom, left, right] = spec.pads;
  const outputPadding = r.ints("output_padding", [0, 0]);
  if (outputPadding.length !== 2) r.fail(`output_padding must be two integers, got [${outputPadding}]`);
  const size = (n: number, i: 0 | 1, before: number, after: number) => (n - 1) * spec.strides[i] + (spec.kernel[i] - 1) * spec.dilations[i] + 1 - before - after + outputPadding[i];
  const outShape = [filters, size(h, 0, top, bottom), size(wd, 1, left, right)];
  if (outShape[1] < 1 || outShape[2] < 1) r.fail(`pads [${spec.pads}] leave no output`);
  const bias = r.inputName(2) !== undefined ? r.floats(2, "bias") : undefined;
  if (bias && bias.data.length !== filters) r.fail(`the bias has ${bias.data.length} values for ${filters} filters`);
  const tail = epilogue(r, outShape, [outShape[1], outShape[2], filters], channelsLastLayout(outShape), filters);
  const useBias = bias !== undefined || tail.biasAdd !== undefined;
  const biasValues = new Float32Array(filters);
  if (bias) biasValues.set(bias.data);
  if (tail.biasAdd) for (let i = 0; i < filters; i++) biasValues[i] += tail.biasAdd[i];
  const config = {
    type: "Conv2DTranspose", filters, kernelSize: [kh, kw], strides: layerStrides(r, spec, true), padding: [[top, bottom], [left, right]],
    ...(outputPadding.some((p) => p !== 0) ? { outputPadding } : {}), dilationRate: spec.dilations, activation: tail.activation, useBias,
  };
  const kernel = (v: Float32Array) => transposedKernel(v, w.dims);
  const initializers = [w.initializer, bias?.initializer].filter((n): n is string => n !== undefined);
  const key = `ConvTranspose|${w.initializer ?? r.node.inputs[1]}|${bias?.initializer ?? ""}|${JSON.stringify(config)}|${tail.signature}`;
  const output = r.ctx.sharedLayer(r.at, key, initializers, [x.sym], () =>
    r.ctx.addLayer(r.at, config, [x.sym], {
      values: useBias ? [kernel(w.data), biasValues] : [kernel(w.data)],
      sources: [w.initializer ? { initializer: w.initializer, toWasmgrad: kernel } : undefined, bias?.initializer && !tail.biasAdd ? { initializer: bias.initializer, toWasmgrad: copyOf } : undefined],
    }),
  );
  return r.ctx.finish(r.node, tail.output, dataValue(output, outShape, channelsLastLayout(outShape)));
}

/** Slice: of constants, folded; of an image's H and W with step 1, a crop. */
export function slice(r: NodeReader): ReturnType<Mapper> {
  const v = r.input(0);
  if (isConstant(v)) return sliceConstant(r, v);
  const reversed = reversal(r);
  if (reversed) return reversed;
  if (r.data(0).shape.length === 2) return sequenceCrop(r);
  const x = asImage(r, r.data(0));
  const fromInputs = r.opset >= 10;
  const starts = fromInputs ? r.knownIntegers(1, "starts") : r.ints("starts");
  const ends = fromInputs ? r.knownIntegers(2, "ends") : r.ints("ends");
  const axes = (fromInputs ? (r.inputName(3) !== undefined ? r.knownIntegers(3, "axes") : undefined) : r.has("axes") ? r.ints("axes") : undefined) ?? starts.map((_, i) => i);
  const steps = fromInputs && r.inputName(4) !== undefined ? r.knownIntegers(4, "steps") : axes.map(() => 1);
  if (starts.length !== axes.length || ends.length !== axes.length || steps.length !== axes.length) r.fail("starts, ends, axes and steps must have one entry per axis");
  const [c, h, w] = x.shape;
  const crop = [0, 0, 0, 0]; // top, bottom, left, right
  axes.forEach((axis, i) => {
    const a = axisIn(r, axis, 4);
    const n = [0, c, h, w][a];
    const clamp = (e: number) => Math.min(Math.max(e < 0 ? e + n : e, 0), n);
    const from = clamp(starts[i]), to = clamp(ends[i]);
    if (steps[i] !== 1) r.fail(`slices with step ${steps[i]}; only contiguous crops (step 1) are supported`);
    if (from === 0 && to === n) return;
    if (a < 2) r.fail(`slices the ${a === 0 ? "batch" : "channel"} axis; only crops of H and W are supported`);
    if (to <= from) r.fail("slices an axis down to nothing");
    crop[(a - 2) * 2] = from;
    crop[(a - 2) * 2 + 1] = n - to;
  });
  const shape = [c, h - crop[0] - crop[1], w - crop[2] - crop[3]];
  if (crop.every((p) => p === 0)) return x;
  const { output } = r.ctx.addLayer(r.at, { type: "Cropping2D", cropping: [[crop[0], crop[1]], [crop[2], crop[3]]] }, [x.sym]);
  return dataValue(output, shape, channelsLastLayout(shape));
}

/**
 * A Slice that reverses the steps a reverse-direction recurrent operator left in processing order (values.ts:
 * reversedAxis) — wasmgrad's own export of goBackwards with sequences — cancels the pending reversal.
 */
function reversal(r: NodeReader): DataValue | undefined {
  const x = r.data(0, "input", { anyBatchAxis: true, keepReversed: true, keepPad: true });
  if (x.reversedAxis === undefined || r.opset < 10 || r.inputName(3) === undefined || r.inputName(4) === undefined) return undefined;
  const [start] = r.knownIntegers(1, "starts"), [end] = r.knownIntegers(2, "ends"), axes = r.knownIntegers(3, "axes"), steps = r.knownIntegers(4, "steps");
  const batch = x.batchAxis ?? 0, rank = x.shape.length + 1;
  const axis = axes.length === 1 ? axisIn(r, axes[0], rank) : -1;
  if (axes.length !== 1 || steps[0] !== -1 || axis === batch || (axis > batch ? axis - 1 : axis) !== x.reversedAxis) return undefined;
  const n = x.shape[x.reversedAxis];
  if ((start < 0 ? start + n : start) < n - 1 || (end >= 0 ? end >= 0 : end + n >= 0)) return undefined;
  return { ...x, reversedAxis: undefined };
}

/** Resize (opset 10+) and Upsample (before): integer factors on H and W only. */
export function resize(r: NodeReader): ReturnType<Mapper> {
  const x = asImage(r, r.data(0));
  const [c, h, w] = x.shape;
  let scales: number[] | undefined;
  if (r.node.opType === "Upsample" && r.opset < 9) scales = r.has("scales") ? (r.node.attributes.find((a) => a.name === "scales") as { floats: number[] }).floats : undefined;
  else {
    const scalesAt = r.node.opType === "Upsample" || r.opset < 11 ? 1 : 2;
    if (r.inputName(scalesAt) !== undefined && r.floats(scalesAt, "scales").data.length > 0) scales = Array.from(r.floats(scalesAt, "scales").data);
    else if (r.opset >= 11 && r.inputName(3) !== undefined) {
      const sizes = r.knownIntegers(3, "sizes");
      if (sizes.length !== 4) r.fail(`sizes must have 4 entries, got [${sizes}]`);
      scales = [1, sizes[1] / c, sizes[2] / h, sizes[3] / w];
    }
  }
  if (!scales || scales.length !== 4) r.fail("needs scales (or sizes) for N, C, H and W");
  const [, , sh, sw] = scales;
  if (scales[0] !== 1 || scales[1] !== 1 || !Number.isInteger(sh) || !Number.isInteger(sw) || sh < 1 || sw < 1) {
    r.fail(`scales [${scales}]: only upsampling H and W by whole factors is supported`);
  }
  const mode = r.string("mode", "nearest");
  const transform = r.string("coordinate_transformation_mode", "half_pixel");
  let config: { type: string } & Record<string, unknown>;
  if (mode === "nearest") {
    // With whole factors, 'asymmetric' + floor (PyTorch's export) and the half-pixel modes with round_prefer_floor pick the same pixels as repeating each.
    const nearestMode = r.string("nearest_mode", "round_prefer_floor");
    const repeats = r.node.opType === "Upsample" || r.opset < 11 || (transform === "asymmetric" && nearestMode === "floor") || (["half_pixel", "pytorch_half_pixel"].includes(transform) && nearestMode.startsWith("round_prefer_"));
    if (!repeats) r.fail(`nearest resizing with coordinate_transformation_mode '${transform}' and nearest_mode '${nearestMode}' does not repeat pixels; it is not supported`);
    config = { type: "UpSampling2D", size: [sh, sw], interpolation: "nearest" };
  } else if (mode === "linear" || mode === "bilinear") {
    const halfPixel = r.opset >= 11 ? ["half_pixel", "pytorch_half_pixel"].includes(transform) : false;
    if (r.opset >= 11 && !halfPixel && transform !== "asymmetric") r.fail(`bilinear resizing with coordinate_transformation_mode '${transform}' is not supported (half_pixel or asymmetric)`);
    config = { type: "UpSampling2D", size: [sh, sw], interpolation: "bilinear", halfPixelCenters: halfPixel };
  } else {
    return r.fail(`Resize mode '${mode}' is not supported (nearest or linear)`);
  }
  const { output } = r.ctx.addLayer(r.at, config, [x.sym]);
  const shape = [c, h * sh, w * sw];
  return dataValue(output, shape, channelsLastLayout(shape));
}

/** Slice of a sequence [batch, steps, features] along its steps (step 1) → Cropping1D. */
function sequenceCrop(r: NodeReader): ReturnType<Mapper> {
  const x = inFileOrder(r, r.data(0)) ?? r.fail("slices a sequence that wasmgrad stores in another order after a flatten");
  if (r.opset < 10) r.fail("slices a sequence with opset < 10 attributes; wasmgrad reads Slice's starts and ends as inputs");
  const starts = r.knownIntegers(1, "starts"), ends = r.knownIntegers(2, "ends");
  const axes = r.inputName(3) !== undefined ? r.knownIntegers(3, "axes") : starts.map((_, i) => i);
  const steps = r.inputName(4) !== undefined ? r.knownIntegers(4, "steps") : axes.map(() => 1);
  if (starts.length !== axes.length || ends.length !== axes.length || steps.length !== axes.length) r.fail("starts, ends, axes and steps must have one entry per axis");
  const [t, f] = x.shape;
  let crop: [number, number] = [0, 0];
  axes.forEach((axis, i) => {
    const a = axisIn(r, axis, 3);
    const n = [0, t, f][a];
    const clamp = (e: number) => Math.min(Math.max(e < 0 ? e + n : e, 0), n);
    const from = clamp(starts[i]), to = clamp(ends[i]);
    if (from === 0 && to === n && steps[i] === 1) return;
    if (a !== 1) r.fail(`slices the ${a === 0 ? "batch" : "features"} axis of a sequence; only crops of the steps are supported`);
    if (steps[i] !== 1) r.fail(`slices with step ${steps[i]}; only contiguous crops (step 1) are supported`);
    if (to <= from) r.fail("slices the steps down to nothing");
    crop = [from, n - to];
  });
  if (crop[0] === 0 && crop[1] === 0) return x;
  let sym = x.sym;
  if (sym.shape.join() !== x.shape.join()) sym = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: x.shape }, [sym]).output;
  const { output } = r.ctx.addLayer(r.at, { type: "Cropping1D", cropping: crop }, [sym]);
  const shape = [t - crop[0] - crop[1], f];
  return dataValue(output, shape, identityLayout(shape));
}
