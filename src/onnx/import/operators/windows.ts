// Sliding-window attributes shared by Conv and the pools: kernel, strides, dilations and ONNX's pads (or
// auto_pad), turned into the padding a wasmgrad layer takes. The kernels read only the top/left padding
// and the output size, so explicit pads that give the same three as 'valid' or 'same' are that padding
// (PyTorch's padding = k // 2 at stride 1, or at stride 2 on an odd size, is TensorFlow's 'same').

import type { NodeReader } from "../context";
import type { SpatialPads } from "../values";

export type LayerPadding = "valid" | "same" | [[number, number], [number, number]];

export interface WindowSpec {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** [top, bottom, left, right] as the file gives them (auto_pad resolved). */
  pads: SpatialPads;
}

const pair = (r: NodeReader, name: string, values: number[]): [number, number] => {
  if (values.length !== 2 || values.some((v) => !Number.isInteger(v) || v < 1)) r.fail(`${name} must be two positive integers (2-D windows only), got [${values}]`);
  return [values[0], values[1]];
};

/** The window of `r`'s node over an h × w input, with `kernel` from the weight (Conv) or kernel_shape. */
export function windowOf(r: NodeReader, h: number, w: number, kernel?: [number, number]): WindowSpec {
  const k = kernel ?? pair(r, "kernel_shape", r.ints("kernel_shape"));
  if (kernel && r.has("kernel_shape")) {
    const declared = r.ints("kernel_shape");
    if (declared.join() !== kernel.join()) r.fail(`kernel_shape [${declared}] disagrees with the weight's [${kernel}]`);
  }
  const strides = pair(r, "strides", r.ints("strides", [1, 1]));
  const dilations = pair(r, "dilations", r.ints("dilations", [1, 1]));
  const span = (i: 0 | 1) => (k[i] - 1) * dilations[i] + 1;
  const autoPad = r.string("auto_pad", "NOTSET");
  let pads: SpatialPads;
  if (autoPad === "NOTSET") {
    const p = r.ints("pads", [0, 0, 0, 0]);
    if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) r.fail(`pads must be four integers ≥ 0 (2-D windows only), got [${p}]`);
    pads = [p[0], p[2], p[1], p[3]];
  } else if (autoPad === "VALID") {
    pads = [0, 0, 0, 0];
  } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const total = (size: number, i: 0 | 1) => Math.max((Math.ceil(size / strides[i]) - 1) * strides[i] + span(i) - size, 0);
    const th = total(h, 0), tw = total(w, 1);
    const lower = autoPad === "SAME_LOWER";
    pads = [lower ? Math.ceil(th / 2) : Math.floor(th / 2), 0, lower ? Math.ceil(tw / 2) : Math.floor(tw / 2), 0];
    pads[1] = th - pads[0];
    pads[3] = tw - pads[2];
  } else {
    r.fail(`auto_pad '${autoPad}' is not an ONNX padding mode`);
  }
  return { kernel: k, strides, dilations, pads };
}

/** Output size along one axis for explicit pads (floor mode). */
export function outputSize(size: number, before: number, after: number, span: number, stride: number): number {
  return Math.floor((size + before + after - span) / stride) + 1;
}

/**
 * The padding to give the layer: 'valid' or 'same' where they compute the same windows (the forms wasmgrad
 * writes back most simply), else explicit [[top, bottom], [left, right]].
 */
export function layerPadding(r: NodeReader, h: number, w: number, spec: WindowSpec, pads: SpatialPads = spec.pads): LayerPadding {
  const [top, bottom, left, right] = pads;
  const spanH = (spec.kernel[0] - 1) * spec.dilations[0] + 1, spanW = (spec.kernel[1] - 1) * spec.dilations[1] + 1;
  const [sh, sw] = spec.strides;
  if (h + top + bottom < spanH || w + left + right < spanW) r.fail(`a ${spanH}×${spanW} window does not fit the ${h}×${w} input with pads [${pads}]`);
  const outH = outputSize(h, top, bottom, spanH, sh), outW = outputSize(w, left, right, spanW, sw);
  const valid = { outH: outputSize(h, 0, 0, spanH, sh), outW: outputSize(w, 0, 0, spanW, sw), top: 0, left: 0 };
  if (h >= spanH && w >= spanW && top === 0 && left === 0 && outH === valid.outH && outW === valid.outW) return "valid";
  const sameH = Math.ceil(h / sh), sameW = Math.ceil(w / sw);
  const sameTop = Math.floor(Math.max((sameH - 1) * sh + spanH - h, 0) / 2), sameLeft = Math.floor(Math.max((sameW - 1) * sw + spanW - w, 0) / 2);
  // Rows of padding past the last window are never read: any bottom/right that yields the same output size is the same.
  if (top === sameTop && left === sameLeft && outH === sameH && outW === sameW) return "same";
  // Explicit padding, trimmed to what the windows reach (the rest is never read).
  const usedBottom = Math.max((outH - 1) * sh + spanH - h - top, 0), usedRight = Math.max((outW - 1) * sw + spanW - w - left, 0);
  return [[top, usedBottom], [left, usedRight]];
}

/** Strides as the layer config takes them: one number when equal, else a pair (convolutions only). */
export function layerStrides(r: NodeReader, spec: WindowSpec, perAxis = false): number | [number, number] {
  const [sh, sw] = spec.strides;
  if (sh === sw) return sh;
  if (!perAxis) r.fail(`strides [${sh}, ${sw}] differ per axis, which wasmgrad's pooling layers do not take`);
  return [sh, sw];
}
