// Keras' LeakyReLU layer: x for x > 0, alpha·x below. Keras 3 calls the slope negative_slope, Keras 2 and
// TensorFlow.js alpha; both are accepted, and both default to Keras' 0.3.

import { InputError } from "../errors";
import { ActivationLayer } from "./activation";
import { ConfigReader } from "./config-reader";
import type { LayerConfig } from "./layer";

export const LEAKY_RELU_LAYER_DEFAULT_ALPHA = 0.3;

export interface LeakyReLUOptions {
  alpha?: number;
  /** Keras 3's name for alpha. */
  negativeSlope?: number;
  name?: string;
}

export class LeakyReLU extends ActivationLayer {
  readonly type = "LeakyReLU";

  constructor(options: LeakyReLUOptions = {}, where = "LeakyReLU") {
    if (options.alpha !== undefined && options.negativeSlope !== undefined) {
      throw new InputError(`${where}: give alpha or negativeSlope (the same thing), not both`);
    }
    const alpha = options.alpha ?? options.negativeSlope ?? LEAKY_RELU_LAYER_DEFAULT_ALPHA;
    super({ name: "leakyRelu", alpha }, options.name, where);
  }

  get alpha(): number {
    return this.activation.alpha;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): LeakyReLU {
    const c = new ConfigReader(raw, where, ["alpha", "negativeSlope"]);
    const slope = (key: string) => (c.has(key) ? c.number(key, { min: 0 }) : undefined);
    return new LeakyReLU({ alpha: slope("alpha"), negativeSlope: slope("negativeSlope"), name: raw.name as string | undefined }, where);
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, alpha: this.alpha };
  }
}
