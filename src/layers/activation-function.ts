// How a layer's activation maps onto kernels. Element-wise activations fuse into the GEMM epilogue;
// softmax is row-wise and runs after it. When the model fuses the output activation into the loss
// (softmax + cross-entropy, sigmoid + binary cross-entropy), the forward mode asks for logits instead.

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
  constructor(readonly name: ActivationName) {}

  /** With `logits` (the loss applies this activation itself), the layer stops before it. */
  private effective(logits: boolean): ActivationName {
    return logits ? "linear" : this.name;
  }

  /** The code the GEMM epilogue can apply, or linear when the activation is not element-wise. */
  epilogueCode(logits: boolean): ActCode {
    const name = this.effective(logits);
    return name === "softmax" ? Act.linear : Act[name];
  }

  /** Whatever the epilogue could not do, applied in place to y[rows × cols]. */
  finishForward(kernels: Kernels, y: Pointer, rows: number, cols: number, logits: boolean): void {
    if (this.effective(logits) === "softmax") kernels.softmaxForward(y, y, rows, cols);
  }

  /** Applies an activation that was not fused anywhere (the Activation layer, or ReLU after a pool). */
  forward(kernels: Kernels, x: Pointer, y: Pointer, rows: number, cols: number, logits: boolean): void {
    if (this.effective(logits) === "softmax") kernels.softmaxForward(x, y, rows, cols);
    else kernels.activationForward(this.epilogueCode(logits), x, y, rows * cols);
  }

  /** dz = dy ⊙ f′, through the forward output y; written in place over dy. `logits` as in the forward pass. */
  backwardInPlace(kernels: Kernels, y: Pointer, dy: Pointer, rows: number, cols: number, logits: boolean): void {
    const name = this.effective(logits);
    if (name === "linear") return;
    if (name === "softmax") kernels.softmaxBackward(y, dy, dy, rows, cols);
    else kernels.activationBackward(Act[name], y, dy, dy, rows * cols);
  }
}
