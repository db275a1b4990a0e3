// Type declarations for tfjs-conv2d-backprop-filter.mjs (kept as plain ESM so node 20 runs it unbuilt).
import type * as tfcore from "@tensorflow/tfjs-core";

export declare const KERNEL_NAME: "Conv2DBackpropFilter";
export declare const BACKEND_NAME: "wasm";
export declare function makeConv2DBackpropFilterWasm(tf?: typeof tfcore): tfcore.KernelFunc;
export declare function registerConv2DBackpropFilterWasm(tf?: typeof tfcore, options?: { force?: boolean }): boolean;
