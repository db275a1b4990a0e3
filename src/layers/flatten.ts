// Flatten is free: NHWC data is already laid out as [batch, h·w·c] (the Keras channels-last order).

import type { Pointer } from "../engine/kernels";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type LayerConfig } from "./layer";

export class Flatten extends SingleInputLayer {
  readonly type = "Flatten";

  constructor(options: { name?: string } = {}) {
    super();
    this.name = options.name ?? "";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Flatten {
    new ConfigReader(raw, where, []);
    return new Flatten({ name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    return [inputShape.reduce((a, b) => a * b, 1)];
  }

  allocate(_maxBatch: number): void {}

  forward(input: Pointer): Pointer {
    return input;
  }

  backward(outputGrad: Pointer, _batch: number, needInputGrad: boolean): Pointer {
    return needInputGrad ? outputGrad : 0;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name };
  }
}
