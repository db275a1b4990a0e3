// A standalone activation layer (Keras' Activation), for activations not fused into a Dense or Conv2D.

import type { Pointer } from "../engine/kernels";
import { ActivationFunction, parseActivation, type ActivationName } from "./activation-function";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type ForwardMode, type LayerConfig } from "./layer";

export class Activation extends SingleInputLayer {
  readonly type = "Activation";
  readonly activation: ActivationFunction;
  private output: Pointer = 0;
  private emittedLogits = false;

  constructor(options: { activation: ActivationName; name?: string }) {
    super();
    this.activation = new ActivationFunction(options.activation);
    this.name = options.name ?? "";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Activation {
    const c = new ConfigReader(raw, where, ["activation"]);
    return new Activation({ activation: parseActivation(c.string("activation", ""), where), name: raw.name as string | undefined });
  }

  computeOutputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  private get rowLength(): number {
    return this.inputShape[this.inputShape.length - 1];
  }

  override get outputActivation(): ActivationFunction {
    return this.activation;
  }

  forward(input: Pointer, batch: number, mode: ForwardMode): Pointer {
    const cols = this.rowLength;
    this.emittedLogits = mode.logits;
    this.activation.forward(this.kernels, input, this.output, (batch * this.inputSize) / cols, cols, mode.logits);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    const cols = this.rowLength;
    this.activation.backwardInPlace(this.kernels, this.output, outputGrad, (batch * this.inputSize) / cols, cols, this.emittedLogits);
    return outputGrad;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, activation: this.activation.name };
  }
}
