// Conv2DBackpropFilter for the TensorFlow.js 'wasm' backend.
//
// @tensorflow/tfjs-backend-wasm 4.22.0 registers Conv2D and Conv2DBackpropInput but not
// Conv2DBackpropFilter, so the gradient of any conv2d with respect to its filter (i.e. training a CNN)
// throws "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'". This module adds it, built only
// from the wasm backend's own kernels (Slice, Transpose, Conv2D → XNNPACK), so it stays inside wasm.
//
// Maths (NHWC, filter [KH, KW, C, F], output [N, OH, OW, F], stride s, top/left padding pT/pL):
//   dW[kh, kw, c, f] = Σ_{n, oh, ow} x[n, oh·sh − pT + kh, ow·sw − pL + kw, c] · dy[n, oh, ow, f]
// Read x' = transpose(x, [3,1,2,0]) as a batch of C images [H, W] with N channels, and
// dy' = transpose(dy, [1,2,0,3]) as a filter [OH, OW, N, F]. Then a stride-1 convolution with dilation
// (sh, sw) and explicit padding (top pT, left pL) gives out[c, kh, kw, f] = dW[kh, kw, c, f], so
// dW = transpose(out, [1,2,0,3]). Bottom/right padding is whatever makes the output exactly KH × KW; when
// that would be negative (the last input rows/columns are never read, e.g. 'valid' with stride 2 on an
// even size) x is cropped with Slice first instead.
//
// Supported: dataFormat 'NHWC' only; any strides (1 and 2 are tested); pad 'valid', 'same', a number, or
// explicit [[0,0],[t,b],[l,r],[0,0]]; dimRoundingMode as tfjs-core's computeConv2DInfo handles it.
// Conv2DBackpropFilter has no dilations attribute (tfjs-core refuses gradients of dilated conv2d), so none
// are needed. Float32 only (as the wasm Conv2D kernel).
//
// Usage (node or bun, after importing '@tensorflow/tfjs-backend-wasm'):
//   import { registerConv2DBackpropFilterWasm } from './tfjs-conv2d-backprop-filter.mjs';
//   registerConv2DBackpropFilterWasm();            // uses the '@tensorflow/tfjs-core' this file resolves
//   registerConv2DBackpropFilterWasm(tf);          // or pass the tfjs-core namespace you use
// Registration may happen before or after tf.setBackend('wasm').

import * as tfcore from "@tensorflow/tfjs-core";

export const KERNEL_NAME = "Conv2DBackpropFilter";
export const BACKEND_NAME = "wasm";

function wasmKernel(tf, name) {
  const k = tf.getKernel(name, BACKEND_NAME);
  if (k == null) throw new Error(`wasm backend has no '${name}' kernel; is @tensorflow/tfjs-backend-wasm imported?`);
  return k.kernelFunc;
}

/**
 * Builds the kernel function for a given tfjs-core namespace (so the caller's tfjs-core instance is used).
 * @param {typeof import('@tensorflow/tfjs-core')} tf
 */
export function makeConv2DBackpropFilterWasm(tf = tfcore) {
  return function conv2DBackpropFilterWasm({ inputs, backend, attrs }) {
    const { x, dy } = inputs;
    const { strides, pad, dataFormat = "NHWC", dimRoundingMode, filterShape } = attrs;
    if (dataFormat !== "NHWC") {
      throw new Error(`wasm Conv2DBackpropFilter supports dataFormat 'NHWC' only, got '${dataFormat}'`);
    }
    if (x.dtype !== "float32" || dy.dtype !== "float32") {
      throw new Error(`wasm Conv2DBackpropFilter supports float32 only, got ${x.dtype}/${dy.dtype}`);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, "channelsLast");
    const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: F } = info;
    const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    if (dy.shape.length !== 4 || dy.shape[0] !== N || dy.shape[1] !== OH || dy.shape[2] !== OW || dy.shape[3] !== F) {
      throw new Error(`wasm Conv2DBackpropFilter: dy shape [${dy.shape}] does not match the conv output ` +
        `[${[N, OH, OW, F]}] of x [${x.shape}] with filter [${filterShape}]`);
    }

    // Last input row/column (in x's own coordinates) that any filter tap reads.
    const lastRow = (OH - 1) * sh - top + KH - 1;
    const lastCol = (OW - 1) * sw - left + KW - 1;
    const bottom = Math.max(0, lastRow - (H - 1));
    const right = Math.max(0, lastCol - (W - 1));
    const Hc = Math.min(H, lastRow + 1);
    const Wc = Math.min(W, lastCol + 1);

    const slice = wasmKernel(tf, "Slice");
    const transpose = wasmKernel(tf, "Transpose");
    const conv2d = wasmKernel(tf, "Conv2D");

    const temps = [];
    try {
      let xin = x;
      if (Hc < H || Wc < W) {
        xin = slice({ inputs: { x }, backend, attrs: { begin: [0, 0, 0, 0], size: [N, Hc, Wc, C] } });
        temps.push(xin);
      }
      const xT = transpose({ inputs: { x: xin }, backend, attrs: { perm: [3, 1, 2, 0] } }); // [C, Hc, Wc, N]
      temps.push(xT);
      const dyT = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [OH, OW, N, F]
      temps.push(dyT);
      const out = conv2d({
        inputs: { x: xT, filter: dyT },
        backend,
        attrs: {
          strides: [1, 1],
          pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
          dataFormat: "NHWC",
          dilations: [sh, sw],
          dimRoundingMode: undefined,
        },
      }); // [C, KH, KW, F]
      temps.push(out);
      if (out.shape[1] !== KH || out.shape[2] !== KW) {
        throw new Error(`wasm Conv2DBackpropFilter: internal shape error, got [${out.shape}] for filter [${filterShape}]`);
      }
      return transpose({ inputs: { x: out }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [KH, KW, C, F]
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

/**
 * Registers the kernel for the 'wasm' backend. Returns false (and does nothing) when a Conv2DBackpropFilter
 * kernel is already registered for 'wasm' (e.g. a future tfjs release ships one), unless `force` is set.
 * @param {typeof import('@tensorflow/tfjs-core')} [tf]
 * @param {{ force?: boolean }} [options]
 */
export function registerConv2DBackpropFilterWasm(tf = tfcore, options = {}) {
  const existing = tf.getKernel(KERNEL_NAME, BACKEND_NAME);
  if (existing != null) {
    if (!options.force) return false;
    tf.unregisterKernel(KERNEL_NAME, BACKEND_NAME);
  }
  tf.registerKernel({ kernelName: KERNEL_NAME, backendName: BACKEND_NAME, kernelFunc: makeConv2DBackpropFilterWasm(tf) });
  return true;
}
