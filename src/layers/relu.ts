// Keras' ReLU layer: relu, or relu6 with maxValue 6, or leakyRelu with a negativeSlope. Keras' general form
// min(max_value, x ≥ threshold ? x : negative_slope·(x − threshold)) has no kernel here beyond those three.

import { InputError } from "../errors";
import type { ActivationSpec } from "./activation-function";
import { ActivationLayer } from "./activation";
import { ConfigReader } from "./config-reader";
import type { LayerConfig } from "./layer";

export interface ReLUOptions {
  /** 6 for relu6; no other cap is supported. */
  maxValue?: number;
  /** The slope below 0 (leakyRelu); not together with maxValue. */
  negativeSlope?: number;
  name?: string;
}

export class ReLU extends ActivationLayer {
  readonly type = "ReLU";
  readonly maxValue?: number;
  readonly negativeSlope: number;

  constructor(options: ReLUOptions = {}, where = "ReLU") {
    super(ReLU.activationFor(options, where), options.name, where);
    this.maxValue = options.maxValue;
    this.negativeSlope = options.negativeSlope ?? 0;
  }

  private static activationFor({ maxValue, negativeSlope = 0 }: ReLUOptions, where: string): ActivationSpec {
    if (maxValue !== undefined && maxValue !== 6) {
      throw new InputError(`${where}: maxValue ${maxValue} is not supported; 6 (relu6) is, or leave it out`);
    }
    if (!(negativeSlope >= 0)) throw new InputError(`${where}: negativeSlope must be ≥ 0, got ${negativeSlope}`);
    if (maxValue !== undefined && negativeSlope !== 0) {
      throw new InputError(`${where}: maxValue and negativeSlope together are not supported; use one of them`);
    }
    if (maxValue === 6) return "relu6";
    return negativeSlope === 0 ? "relu" : { name: "leakyRelu", alpha: negativeSlope };
  }

  static fromConfig(raw: Record<string, unknown>, where: string): ReLU {
    const c = new ConfigReader(raw, where, ["maxValue", "negativeSlope", "threshold"]);
    if (c.number("threshold", { default: 0 }) !== 0) throw new InputError(`${where}: a threshold other than 0 is not supported`);
    const maxValue = raw.maxValue === null || raw.maxValue === undefined ? undefined : c.number("maxValue");
    const negativeSlope = c.number("negativeSlope", { min: 0, default: 0 });
    return new ReLU({ maxValue, negativeSlope, name: raw.name as string | undefined }, where);
  }

  getConfig(): LayerConfig {
    return {
      type: this.type, name: this.name,
      ...(this.maxValue !== undefined ? { maxValue: this.maxValue } : {}),
      ...(this.negativeSlope !== 0 ? { negativeSlope: this.negativeSlope } : {}),
    };
  }
}
