// Output-size arithmetic shared by Conv2D and MaxPool2D, with Keras' 'valid' and 'same' rules.

import { InputError } from "../errors";

export type Padding = "valid" | "same";

export interface Window {
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

export function slideWindow(
  h: number, w: number, kh: number, kw: number, stride: number, padding: Padding, who: string,
): Window {
  if (padding === "same") {
    const outH = Math.ceil(h / stride);
    const outW = Math.ceil(w / stride);
    // TF puts the odd padding pixel at the bottom/right.
    const padH = Math.max((outH - 1) * stride + kh - h, 0);
    const padW = Math.max((outW - 1) * stride + kw - w, 0);
    return { outH, outW, padTop: Math.floor(padH / 2), padLeft: Math.floor(padW / 2) };
  }
  const outH = Math.floor((h - kh) / stride) + 1;
  const outW = Math.floor((w - kw) / stride) + 1;
  if (h < kh || w < kw) {
    throw new InputError(
      `${who}: a ${kh}×${kw} window does not fit a ${h}×${w} input with 'valid' padding; ` +
        `use padding 'same' or remove a pooling/convolution layer before it`,
    );
  }
  return { outH, outW, padTop: 0, padLeft: 0 };
}

export function expectImage(inputShape: number[], who: string): [number, number, number] {
  if (inputShape.length !== 3) {
    throw new InputError(`${who} needs images shaped [height, width, channels] but gets [${inputShape}]`);
  }
  return [inputShape[0], inputShape[1], inputShape[2]];
}

/** The padding a window implies on each side, [top, left, bottom, right] (ONNX's pads order). */
export function explicitPads(h: number, w: number, kh: number, kw: number, stride: number, window: Window): [number, number, number, number] {
  const bottom = Math.max((window.outH - 1) * stride + kh - h - window.padTop, 0);
  const right = Math.max((window.outW - 1) * stride + kw - w - window.padLeft, 0);
  return [window.padTop, window.padLeft, bottom, right];
}
