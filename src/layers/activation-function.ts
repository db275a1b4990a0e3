// How a layer's activation maps onto kernels. Element-wise activations fuse into the GEMM epilogue;
// softmax is row-wise and runs after it. When the model fuses the output activation into the loss
// (softmax + cross-entropy, sigmoid + binary cross-entropy), the layer emits logits instead.

import { InputError, didYouMean } from "../errors";
import { Act, type ActCode, type Kernels, type Pointer } from "../engine/kernels";

export const ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax"] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export function parseActivation(name: string, where: string): ActivationName {
  if (!ACTIVATIONS.includes(name as ActivationName)) {
    throw new InputError(`${where}: unknown activation '${name}'${didYouMean(name, ACTIVATIONS)}`);
  }
  return name as ActivationName;
}

export class ActivationFunction {
  /** Set by the model when the loss applies this activation itself (from logits). */
  emitLogits = false;

  constructor(readonly name: ActivationName) {}

  private get effective(): ActivationName {
    return this.emitLogits ? "linear" : this.name;
  }

  /** Whether the activation, as it stands (logits emitted or not), leaves values unchanged. */
  get isIdentity(): boolean {
    return this.effective === "linear";
  }

  /** The code the GEMM epilogue can apply, or linear when the activation is not element-wise. */
  get epilogueCode(): ActCode {
    const name = this.effective;
    return name === "softmax" ? Act.linear : Act[name];
  }

  /** Whatever the epilogue could not do, applied in place to y[rows × cols]. */
  finishForward(kernels: Kernels, y: Pointer, rows: number, cols: number): void {
    if (this.effective === "softmax") kernels.softmaxForward(y, y, rows, cols);
  }

  /** Applies an activation that was not fused anywhere (the Activation layer, or ReLU after a pool). */
  forward(kernels: Kernels, x: Pointer, y: Pointer, rows: number, cols: number): void {
    if (this.effective === "softmax") kernels.softmaxForward(x, y, rows, cols);
    else kernels.activationForward(this.epilogueCode, x, y, rows * cols);
  }

  /** dz = dy ⊙ f′, through the forward output y; written in place over dy. */
  backwardInPlace(kernels: Kernels, y: Pointer, dy: Pointer, rows: number, cols: number): void {
    const name = this.effective;
    if (name === "linear") return;
    if (name === "softmax") kernels.softmaxBackward(y, dy, dy, rows, cols);
    else kernels.activationBackward(Act[name], y, dy, dy, rows * cols);
  }
}
