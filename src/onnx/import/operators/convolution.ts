// Conv → Conv2D (group 1, or grouped), or DepthwiseConv2D (group = channels, one input channel per group),
// with strides, dilations and padding as the file has them, the padding of a Pad right before it taken into
// its own, and the bias add and activation after it (epilogue.ts).

import type { Mapper, NodeReader } from "../context";
import { asImage, dataValue } from "../data";
import { convKernel, copyOf, depthwiseKernel } from "../weights";
import { channelsLastLayout, type SpatialPads } from "../values";
import { epilogue } from "./epilogue";
import { layerPadding, layerStrides, outputSize, windowOf } from "./windows";

/** The input of a windowed operator and any zero padding a Pad before it left for it to take. */
export function paddedImage(r: NodeReader): { x: ReturnType<typeof asImage>; extra: SpatialPads } {
  const raw = r.data(0, "input", { keepPad: true });
  if (!raw.pendingPad) return { x: asImage(r, raw), extra: [0, 0, 0, 0] };
  return { x: asImage(r, raw.pendingPad.source), extra: raw.pendingPad.pads };
}

export const addPads = (a: SpatialPads, b: SpatialPads): SpatialPads => [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]];

export function conv(r: NodeReader): ReturnType<Mapper> {
  const { x, extra } = paddedImage(r);
  const w = r.floats(1, "weight");
  if (w.dims.length !== 4) r.fail(`only 2-D convolutions are supported (weight [${w.dims}])`);
  if (w.data.length === 0) r.fail(`the weight [${w.dims}] is empty`);
  const [cout, cinPerGroup, kh, kw] = w.dims;
  const [c, h, wd] = x.shape;
  const group = r.int("group", 1);
  if (!(group >= 1) || c % group !== 0 || cout % group !== 0) r.fail(`group ${group} does not divide ${c} input and ${cout} output channels`);
  if (cinPerGroup * group !== c) r.fail(`the weight takes ${cinPerGroup * group} channels but ${c} arrive`);
  const spec = windowOf(r, h, wd, [kh, kw]);
  const pads = addPads(spec.pads, extra);
  const padding = layerPadding(r, h, wd, spec, pads);
  const strides = layerStrides(r, spec, true);
  const dilated = spec.dilations[0] !== 1 || spec.dilations[1] !== 1;
  const spanH = (kh - 1) * spec.dilations[0] + 1, spanW = (kw - 1) * spec.dilations[1] + 1;
  const outShape = [cout, outputSize(h, pads[0], pads[1], spanH, spec.strides[0]), outputSize(wd, pads[2], pads[3], spanW, spec.strides[1])];
  const outOurs = [outShape[1], outShape[2], cout];

  const bias = r.inputName(2) !== undefined ? r.floats(2, "bias") : undefined;
  if (bias && bias.data.length !== cout) r.fail(`the bias has ${bias.data.length} values for ${cout} filters`);
  const tail = epilogue(r, outShape, outOurs, channelsLastLayout(outShape), cout);
  const useBias = bias !== undefined || tail.biasAdd !== undefined;
  const biasValues = new Float32Array(cout);
  if (bias) biasValues.set(bias.data);
  if (tail.biasAdd) for (let i = 0; i < cout; i++) biasValues[i] += tail.biasAdd[i];

  const depthwise = group > 1 && group === c && cinPerGroup === 1;
  let type: string, options: Record<string, unknown>, kernel: (v: Float32Array) => Float32Array;
  if (group === 1) {
    type = "Conv2D";
    options = { filters: cout, kernelSize: [kh, kw] };
    kernel = (v) => convKernel(v, w.dims);
  } else if (depthwise) {
    type = "DepthwiseConv2D";
    options = { kernelSize: [kh, kw], depthMultiplier: cout / c };
    kernel = (v) => depthwiseKernel(v, c, cout / c, kh, kw);
  } else {
    type = "Conv2D";
    options = { filters: cout, kernelSize: [kh, kw], groups: group };
    kernel = (v) => convKernel(v, w.dims);
  }
  const config = {
    type, ...options, strides, padding, activation: tail.activation, useBias,
    ...(dilated ? { dilationRate: [spec.dilations[0], spec.dilations[1]] } : {}),
  };
  const initializers = [w.initializer, bias?.initializer].filter((n): n is string => n !== undefined);
  const key = `Conv|${w.initializer ?? r.node.inputs[1]}|${bias?.initializer ?? r.node.inputs[2] ?? ""}|${JSON.stringify(config)}|${tail.signature}`;
  const output = r.ctx.sharedLayer(r.at, key, initializers, [x.sym], () =>
    r.ctx.addLayer(r.at, config, [x.sym], {
      values: useBias ? [kernel(w.data), biasValues] : [kernel(w.data)],
      sources: [
        w.initializer ? { initializer: w.initializer, toWasmgrad: kernel } : undefined,
        bias?.initializer && !tail.biasAdd ? { initializer: bias.initializer, toWasmgrad: copyOf }
          : !bias && tail.biasInitializer ? { initializer: tail.biasInitializer, toWasmgrad: copyOf } : undefined,
      ],
    }),
  );
  return r.ctx.finish(r.node, tail.output, dataValue(output, outShape, channelsLastLayout(outShape)));
}
