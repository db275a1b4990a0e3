// The computation Dense and Conv2D share: y = f(x·W + b) over `rows` rows of `inputs` values (a Dense
// batch, or a convolution's im2col patches), and its backward pass. Conv2D is Dense on patches.

import { Act, type Kernels, type Pointer } from "../engine/kernels";
import type { ActivationFunction } from "./activation-function";
import type { Parameter } from "./layer";

export interface AffineParts {
  kernel: Parameter;
  bias?: Parameter;
  activation: ActivationFunction;
  /** Columns of W and of y. */
  units: number;
}

/** y[rows × units] = f(x[rows × inputs] · W + b): one GEMM with bias and activation in its epilogue. */
export function affineForward(kernels: Kernels, p: AffineParts, x: Pointer, rows: number, inputs: number, y: Pointer): void {
  kernels.gemm(rows, p.units, inputs, x, inputs, 1, p.kernel.value, p.units, 1, y, p.units, false, p.bias?.value ?? 0, p.activation.epilogueCode);
  p.activation.finishForward(kernels, y, rows, p.units);
}

/**
 * From dy (overwritten with dz = dy ⊙ f′): dW = xᵀ·dz, db = Σ_rows dz, and, when dx ≠ 0, dx = dz·Wᵀ.
 * Transposed operands are read by stride, never copied.
 */
export function affineBackward(
  kernels: Kernels, p: AffineParts, x: Pointer, y: Pointer, dy: Pointer, rows: number, inputs: number, dx: Pointer,
): void {
  const units = p.units;
  p.activation.backwardInPlace(kernels, y, dy, rows, units);
  kernels.gemm(inputs, units, rows, x, 1, inputs, dy, units, 1, p.kernel.grad, units, false, 0, Act.linear);
  if (p.bias) kernels.columnSums(dy, rows, units, p.bias.grad);
  if (dx !== 0) kernels.gemm(rows, inputs, units, dy, units, 1, p.kernel.value, 1, units, dx, inputs, false, 0, Act.linear);
}
