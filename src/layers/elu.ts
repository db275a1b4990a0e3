// Keras' ELU layer: x for x > 0, alpha·(eˣ − 1) below (alpha ≥ 0, default 1, as Keras and PyTorch).

import { ActivationLayer } from "./activation";
import { ConfigReader } from "./config-reader";
import type { LayerConfig } from "./layer";

export class ELU extends ActivationLayer {
  readonly type = "ELU";

  constructor(options: { alpha?: number; name?: string } = {}, where = "ELU") {
    super({ name: "elu", alpha: options.alpha ?? 1 }, options.name, where);
  }

  get alpha(): number {
    return this.activation.alpha;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): ELU {
    const c = new ConfigReader(raw, where, ["alpha"]);
    return new ELU({ alpha: c.number("alpha", { min: 0, default: 1 }), name: raw.name as string | undefined }, where);
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, alpha: this.alpha };
  }
}
