// A standalone activation layer (Keras' Activation), for activations not fused into a Dense or Conv2D;
// and ActivationLayer, what it shares with Keras' parametrised activation layers (ReLU, LeakyReLU, ELU).

import type { Pointer } from "../engine/kernels";
import { ActivationFunction, parseActivationSpec, type ActivationSpec } from "./activation-function";
import { ConfigReader } from "./config-reader";
import { SingleInputLayer, type ForwardMode, type LayerConfig } from "./layer";

/** f applied to the input, element by element (softmax: row by row over the last axis); no parameters. */
export abstract class ActivationLayer extends SingleInputLayer {
  readonly activation: ActivationFunction;
  private input: Pointer = 0;
  private output: Pointer = 0;
  private emittedLogits = false;

  constructor(activation: ActivationSpec, name: string | undefined, where?: string) {
    super();
    this.activation = new ActivationFunction(activation, where);
    this.name = name ?? "";
  }

  /** Works step by step (or element by element), so padded steps stay apart: the mask passes through. */
  override acceptMasks(masked: boolean[]): boolean {
    return masked[0];
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
    // The previous layer's output stays put until this backward (layers never overwrite their inputs), so
    // keeping x costs nothing.
    this.input = input;
    this.activation.forward(this.kernels, input, this.output, (batch * this.inputSize) / cols, cols, mode.logits);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    if (!needInputGrad) return 0;
    const cols = this.rowLength;
    this.activation.backwardInPlace(this.kernels, this.input, this.output, outputGrad, (batch * this.inputSize) / cols, cols, this.emittedLogits);
    return outputGrad;
  }
}

export class Activation extends ActivationLayer {
  readonly type = "Activation";

  constructor(options: { activation: ActivationSpec; name?: string }) {
    super(options.activation, options.name);
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Activation {
    new ConfigReader(raw, where, ["activation"]);
    return new Activation({ activation: parseActivationSpec(raw.activation ?? "", where), name: raw.name as string | undefined });
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, activation: this.activation.config };
  }
}
