// Which layers and layer options this build of wasmgrad has, asked of the layer registry itself: a
// config the registry accepts is a feature that exists. The operator mappers use the layers through
// their JSON configs, so a layer or option that lands later (explicit padding, grouped and depthwise
// convolution, relu6, Reshape, …) is picked up by name, and until then its operators are refused with
// one line that says what is missing.

import { ACTIVATIONS } from "../../layers/activation-function";
import { layerFromConfig } from "../../layers/registry";

function accepts(config: Record<string, unknown>): boolean {
  try {
    layerFromConfig(config, "capability probe");
    return true;
  } catch {
    return false;
  }
}

const cache = new Map<string, boolean>();
const probe = (key: string, config: Record<string, unknown>) => {
  let known = cache.get(key);
  if (known === undefined) cache.set(key, (known = accepts(config)));
  return known;
};

export const engine = {
  /** Conv2D and the pools with padding [[top, bottom], [left, right]]. */
  get explicitPadding(): boolean {
    return probe("explicitPadding", { type: "Conv2D", filters: 1, kernelSize: 1, padding: [[0, 1], [1, 0]] }) &&
      probe("explicitPoolPadding", { type: "MaxPool2D", poolSize: 2, padding: [[0, 1], [1, 0]] });
  },
  get perAxisStrides(): boolean {
    return probe("perAxisStrides", { type: "Conv2D", filters: 1, kernelSize: 1, strides: [1, 2] });
  },
  get dilation(): boolean {
    return probe("dilation", { type: "Conv2D", filters: 1, kernelSize: 3, dilationRate: 2 });
  },
  get groupedConvolution(): boolean {
    return probe("groups", { type: "Conv2D", filters: 2, kernelSize: 1, groups: 2 });
  },
  get depthwiseConvolution(): boolean {
    return probe("depthwise", { type: "DepthwiseConv2D", kernelSize: 3, depthMultiplier: 1 });
  },
  get countIncludePad(): boolean {
    return probe("countIncludePad", { type: "AveragePool2D", poolSize: 2, countIncludePad: true });
  },
  get reshape(): boolean {
    return probe("reshape", { type: "Reshape", targetShape: [1, -1] });
  },
  get permute(): boolean {
    return probe("permute", { type: "Permute", dims: [2, 1] });
  },
  get zeroPadding(): boolean {
    return probe("zeroPadding", { type: "ZeroPadding2D", padding: [[0, 1], [1, 0]] });
  },
  /** Activations by wasmgrad name (relu6, leakyRelu, hardSigmoid, …). */
  hasActivation(name: string): boolean {
    return (ACTIVATIONS as readonly string[]).includes(name);
  },
  /** Activations that take a parameter ({name, alpha}). */
  get activationAlpha(): boolean {
    return probe("activationAlpha", { type: "Activation", activation: { name: "leakyRelu", alpha: 0.1 } });
  },
};
