// What Dense and Conv2D share: weights W and an optional bias b, an activation f, and the computation
// y = f(x·W + b) over `rows` rows of `inputs` values (a Dense batch, or a convolution's im2col patches),
// with its backward pass. Conv2D is Dense on patches; this base class holds everything else they share:
// options, their defaults and parsing, weight creation, and the config they write back.

import { Act, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { ActivationFunction, parseActivationSpec, type ActivationSpec } from "./activation-function";
import type { ConfigReader } from "./config-reader";
import { parseInitializer, type InitializerName } from "./initializers";
import { SingleInputLayer, type Parameter, type Regularizer } from "./layer";

export interface AffineOptions {
  activation?: ActivationSpec;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  kernelRegularizer?: Regularizer;
  name?: string;
}

/** The JSON keys of AffineOptions, for the subclasses' config readers. */
export const AFFINE_OPTION_KEYS = ["activation", "useBias", "kernelInitializer", "biasInitializer", "kernelRegularizer"];

export abstract class AffineLayer extends SingleInputLayer {
  readonly activation: ActivationFunction;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerName;
  readonly biasInitializer: InitializerName;
  readonly kernelRegularizer?: Regularizer;
  kernel!: Parameter;
  bias?: Parameter;
  /** Whether the last forward pass stopped before the activation (the loss applies it); backward mirrors it. */
  protected emittedLogits = false;
  /** z = x·W + b before the activation, kept only when the activation's backward needs it (gelu, swish, …). */
  private preActivation: Pointer = 0;

  /** Columns of W and of y: Dense units, Conv2D filters. */
  protected abstract get width(): number;

  constructor(options: AffineOptions) {
    super();
    this.activation = new ActivationFunction(options.activation ?? "linear");
    this.useBias = options.useBias ?? true;
    this.kernelInitializer = options.kernelInitializer ?? "glorotUniform";
    this.biasInitializer = options.biasInitializer ?? "zeros";
    this.kernelRegularizer = options.kernelRegularizer;
    this.name = options.name ?? "";
  }

  protected static readAffineOptions(c: ConfigReader, raw: Record<string, unknown>, where: string): AffineOptions {
    return {
      activation: parseActivationSpec(raw.activation ?? "linear", where),
      useBias: c.bool("useBias", true),
      kernelInitializer: parseInitializer(c.string("kernelInitializer", "glorotUniform"), where),
      biasInitializer: parseInitializer(c.string("biasInitializer", "zeros"), where),
      kernelRegularizer: c.regularizer("kernelRegularizer"),
      name: raw.name as string | undefined,
    };
  }

  protected createWeights(kernelShape: number[], rng: Rng): void {
    this.kernel = this.addParameter("kernel", kernelShape, this.kernelInitializer, rng, this.kernelRegularizer);
    if (this.useBias) this.bias = this.addParameter("bias", [this.width], this.biasInitializer, rng);
  }

  /** For the subclass's allocate(): room for z over `rows` rows, only if the activation needs it kept. */
  protected allocatePreActivation(rows: number): void {
    this.preActivation = this.activation.backwardNeedsInput ? this.heap.allocFloats(rows * this.width) : 0;
  }

  /** y[rows × width] = f(x[rows × inputs] · W + b): one GEMM with bias and activation in its epilogue. */
  protected affineForward(x: Pointer, rows: number, inputs: number, y: Pointer, logits: boolean): void {
    const units = this.width;
    const z = this.preActivationTarget(y, logits);
    this.kernels.gemm(rows, units, inputs, x, inputs, 1, this.kernel.value, units, 1, z, units, false, this.bias?.value ?? 0, this.activation.epilogueCode(logits));
    this.activation.finishForward(this.kernels, z, y, rows, units, logits);
  }

  override get outputActivation(): ActivationFunction {
    return this.activation;
  }

  /**
   * From dy (overwritten with dz = dy ⊙ f′): dW = xᵀ·dz, db = Σ_rows dz, and, when dx ≠ 0, dx = dz·Wᵀ.
   * Transposed operands are read by stride, never copied; dx may alias x once dW is done with it.
   */
  protected affineBackward(x: Pointer, y: Pointer, dy: Pointer, rows: number, inputs: number, dx: Pointer): void {
    const units = this.width;
    this.activationBackward(y, dy, rows);
    this.kernels.gemm(inputs, units, rows, x, 1, inputs, dy, units, 1, this.kernel.grad, units, false, 0, Act.linear);
    if (this.bias) this.kernels.columnSums(dy, rows, units, this.bias.grad);
    if (dx !== 0) this.kernels.gemm(rows, inputs, units, dy, units, 1, this.kernel.value, 1, units, dx, inputs, false, 0, Act.linear);
  }

  // ---- grouped form (Conv2D with groups > 1) ----

  /**
   * y = f(x·W + b) in `groups` independent blocks: each x row holds groups runs of inputs/groups values,
   * W is [inputs/groups, width], and group g's GEMM multiplies its run of x by its width/groups columns of W
   * into its columns of y (and of b). Every operand is a strided view; nothing is copied.
   */
  protected groupedAffineForward(x: Pointer, rows: number, inputs: number, groups: number, y: Pointer, logits: boolean): void {
    const units = this.width, k = inputs / groups, u = units / groups;
    const z = this.preActivationTarget(y, logits);
    for (let g = 0; g < groups; g++) {
      const bias = this.bias ? this.bias.value + 4 * g * u : 0;
      this.kernels.gemm(rows, u, k, x + 4 * g * k, inputs, 1, this.kernel.value + 4 * g * u, units, 1, z + 4 * g * u, units, false, bias, this.activation.epilogueCode(logits));
    }
    this.activation.finishForward(this.kernels, z, y, rows, units, logits);
  }

  /**
   * The grouped backward pass: per group, dW_g = x_gᵀ·dz_g and, when dx ≠ 0, dx_g = dz_g·W_gᵀ, then
   * db = Σ_rows dz. dx may alias x: group g's dx overwrites only group g's run of x, after its dW is done.
   */
  protected groupedAffineBackward(x: Pointer, y: Pointer, dy: Pointer, rows: number, inputs: number, groups: number, dx: Pointer): void {
    const units = this.width, k = inputs / groups, u = units / groups;
    this.activationBackward(y, dy, rows);
    for (let g = 0; g < groups; g++) {
      const xg = x + 4 * g * k, dzg = dy + 4 * g * u;
      this.kernels.gemm(k, u, rows, xg, 1, inputs, dzg, units, 1, this.kernel.grad + 4 * g * u, units, false, 0, Act.linear);
      if (dx !== 0) this.kernels.gemm(rows, k, u, dzg, units, 1, this.kernel.value + 4 * g * u, 1, units, dx + 4 * g * k, inputs, false, 0, Act.linear);
    }
    if (this.bias) this.kernels.columnSums(dy, rows, units, this.bias.grad);
  }

  // ---- for layers whose kernels have no activation epilogue (DepthwiseConv2D, Conv2DTranspose) ----

  /** Where z = x·W + b goes: y itself, or the kept pre-activation when the activation's backward needs it. */
  protected preActivationTarget(y: Pointer, logits: boolean): Pointer {
    this.emittedLogits = logits;
    // With logits there is no activation to differentiate, so z can go straight into y.
    return logits ? y : this.preActivation || y;
  }

  /** y[rows × width] = f(z), z from preActivationTarget. */
  protected applyActivation(z: Pointer, y: Pointer, rows: number, logits: boolean): void {
    if (z !== y || !this.activation.isIdentity(logits)) this.activation.forward(this.kernels, z, y, rows, this.width, logits);
  }

  /** dz = dy ⊙ f′ in place, differentiating what the last forward pass computed. */
  protected activationBackward(y: Pointer, dy: Pointer, rows: number): void {
    this.activation.backwardInPlace(this.kernels, this.preActivation, y, dy, rows, this.width, this.emittedLogits);
  }

  /** The shared part of getConfig(). */
  protected affineConfig(): Record<string, unknown> {
    return {
      activation: this.activation.config, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
      ...(this.kernelRegularizer ? { kernelRegularizer: this.kernelRegularizer } : {}),
    };
  }
}
