// Output-size arithmetic shared by the convolution and pooling layers: Keras' 'valid' and 'same' rules,
// and explicit padding — p pixels on every side (PyTorch's padding=p, which at stride 2 is not 'same'), or
// [[top, bottom], [left, right]] (Keras ZeroPadding2D's form, asymmetric). Strides may differ per axis.
// Window sizes here are effective sizes: a dilated kernel k with dilation d spans (k − 1)·d + 1 pixels.

import { InputError } from "../errors";
import { describeValue } from "../io/display";

export type ExplicitPadding = [[number, number], [number, number]];
export type Padding = "valid" | "same" | number | ExplicitPadding;

export interface Window {
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
  /** The padding below and right of the image; the kernels never read it (the output size implies it). */
  padBottom: number;
  padRight: number;
}

/** [top, bottom, left, right] of an explicit padding. */
function explicitSides(padding: number | ExplicitPadding): [number, number, number, number] {
  if (typeof padding === "number") return [padding, padding, padding, padding];
  return [padding[0][0], padding[0][1], padding[1][0], padding[1][1]];
}

const describePadding = (padding: Padding) => (typeof padding === "string" ? `'${padding}'` : JSON.stringify(padding));

export function slideWindow(
  h: number, w: number, kh: number, kw: number, stride: number | [number, number], padding: Padding, who: string,
): Window {
  const [sh, sw] = typeof stride === "number" ? [stride, stride] : stride;
  if (padding === "same") {
    const outH = Math.ceil(h / sh);
    const outW = Math.ceil(w / sw);
    // TF puts the odd padding pixel at the bottom/right.
    const padH = Math.max((outH - 1) * sh + kh - h, 0);
    const padW = Math.max((outW - 1) * sw + kw - w, 0);
    const padTop = Math.floor(padH / 2), padLeft = Math.floor(padW / 2);
    return { outH, outW, padTop, padLeft, padBottom: padH - padTop, padRight: padW - padLeft };
  }
  const [top, bottom, left, right] = padding === "valid" ? [0, 0, 0, 0] : explicitSides(padding);
  if (h + top + bottom < kh || w + left + right < kw) {
    const hint = padding === "valid" ? "use padding 'same' or remove a pooling/convolution layer before it" : "use more padding or a smaller window";
    throw new InputError(`${who}: a ${kh}×${kw} window does not fit a ${h}×${w} input with padding ${describePadding(padding)}; ${hint}`);
  }
  const outH = Math.floor((h + top + bottom - kh) / sh) + 1;
  const outW = Math.floor((w + left + right - kw) / sw) + 1;
  return { outH, outW, padTop: top, padLeft: left, padBottom: bottom, padRight: right };
}

/**
 * A padding from a model file or options: 'valid', 'same', p ≥ 0, [padH, padW] (symmetric per axis) or
 * [[top, bottom], [left, right]]. A per-axis pair is returned in the nested form.
 */
export function parsePadding(value: unknown, where: string): Padding {
  if (value === "valid" || value === "same") return value;
  const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
  if (isCount(value)) return value;
  if (Array.isArray(value) && value.length === 2) {
    if (value.every(isCount)) return [[value[0], value[0]], [value[1], value[1]]];
    if (value.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(isCount))) {
      return [[value[0][0], value[0][1]], [value[1][0], value[1][1]]];
    }
  }
  throw new InputError(
    `${where}: 'padding' must be 'valid', 'same', a number of pixels p ≥ 0, [padH, padW] or [[top, bottom], [left, right]], got ${JSON.stringify(value)}`,
  );
}

/** Whether a padding adds no pixels at all ('valid', 0 or all-zero sides). */
export function isNoPadding(padding: Padding): boolean {
  return padding === "valid" || (padding !== "same" && explicitSides(padding).every((p) => p === 0));
}

export function expectImage(inputShape: number[], who: string): [number, number, number] {
  if (inputShape.length !== 3) {
    throw new InputError(`${who} needs images shaped [height, width, channels] but gets [${inputShape}]`);
  }
  return [inputShape[0], inputShape[1], inputShape[2]];
}

/**
 * The padding on each side, [top, left, bottom, right] (ONNX's pads order): the window's own, as given
 * for explicit padding. (The other arguments are those of the earlier signature; the window holds it all.)
 */
export function explicitPads(
  _h: number, _w: number, _kh: number, _kw: number, _stride: number | [number, number], window: Window,
): [number, number, number, number] {
  return [window.padTop, window.padLeft, window.padBottom, window.padRight];
}

/** A size or step given as one positive integer or as [rows, cols] (options built in code, not read from JSON). */
export function positivePair(value: number | readonly number[], key: string, where: string): [number, number] {
  const pair = typeof value === "number" ? [value, value] : value;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new InputError(`${where}: '${key}' must be a positive integer or [rows, cols], got ${JSON.stringify(value)}`);
  }
  return [pair[0], pair[1]];
}

/** A 1-D size or step: a positive integer, or Keras' one-element tuple [n] (Conv1D, the 1-D pools). */
export function positiveInt(value: unknown, key: string, where: string): number {
  const n = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw new InputError(`${where}: '${key}' must be a positive integer, got ${describeValue(value)}`);
  return n;
}
