// Reshape to a per-sample target shape, as Keras: the batch dimension stays, and one entry may be −1 to be
// inferred from the others. It is free: activations are always stored contiguously in row-major order, so
// a reshape changes only how the next layer reads the same floats, and this layer returns the input
// pointer (and the output gradient) unchanged, as Flatten does.

import type { Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";

export class Reshape extends SingleInputLayer {
  readonly type = "Reshape";
  /** As given, with any −1 kept (as Keras writes it back). */
  readonly targetShape: number[];

  constructor(options: { targetShape: number[]; name?: string }) {
    super();
    this.name = options.name ?? "";
    Reshape.checkTarget(options.targetShape, `${this.name} (Reshape)`);
    this.targetShape = [...options.targetShape];
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Reshape {
    new ConfigReader(raw, where, ["targetShape"]);
    if (raw.targetShape === undefined) throw new InputError(`${where}: 'targetShape' is required`);
    Reshape.checkTarget(raw.targetShape, where);
    return new Reshape({ targetShape: raw.targetShape as number[], name: raw.name as string | undefined });
  }

  private static checkTarget(target: unknown, who: string): void {
    const ok = Array.isArray(target) && target.length >= 1 &&
      target.every((v) => Number.isInteger(v) && (v >= 1 || v === -1)) && target.filter((v) => v === -1).length <= 1;
    if (!ok) {
      throw new InputError(
        `${who}: 'targetShape' must be a list of positive sizes with at most one −1 (to infer), per sample without the batch, got ${JSON.stringify(target)}`,
      );
    }
  }

  computeOutputShape(inputShape: number[]): number[] {
    const size = inputShape.reduce((a, b) => a * b, 1);
    const known = this.targetShape.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
    const unknown = this.targetShape.indexOf(-1);
    const fits = unknown >= 0 ? size % known === 0 : size === known;
    if (!fits) {
      const want = unknown >= 0 ? `a multiple of ${known}` : `${known}`;
      throw new InputError(
        `${this.name} (Reshape) cannot reshape [${inputShape}] (${size} values per sample) to [${this.targetShape}], which needs ${want}`,
      );
    }
    return this.targetShape.map((v) => (v === -1 ? size / known : v));
  }

  allocate(_maxBatch: number): void {}

  forward(input: Pointer): Pointer {
    return input;
  }

  backward(outputGrad: Pointer, _batch: number, needInputGrad: boolean): Pointer {
    return needInputGrad ? outputGrad : 0;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, targetShape: [...this.targetShape] };
  }
}
