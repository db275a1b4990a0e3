import type { Kernels, Pointer } from "../engine/kernels";
import type { Parameter } from "../layers/layer";
import { Optimizer, type OptimizerConfig } from "./optimizer";

export interface AdamOptions {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /**
   * Where ε goes. Keras (false, the default) adds it to √v: w −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m/(√v + ε).
   * PyTorch (true) adds it to the bias-corrected √v̂ = √v/√(1−β2ᵗ): w −= lr/(1−β1ᵗ) · m/(√v̂ + ε), which is
   * the Keras form with ε·√(1−β2ᵗ) in place of ε. The two differ where |g| is near ε/√(1−β2ᵗ) (≈ 32ε at
   * the first step): enough to move a first step on gradients of 1e-5 by a few per cent.
   */
  epsilonAfterCorrection?: boolean;
}

/** Adam (Kingma & Ba), defaults as in Keras: β1 0.9, β2 0.999, ε 1e-7 added to √v. */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly epsilonAfterCorrection: boolean;
  protected readonly slotCount = 2;

  constructor(options: AdamOptions = {}) {
    super(options.learningRate ?? 0.001);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-7;
    this.epsilonAfterCorrection = options.epsilonAfterCorrection ?? false;
  }

  protected update(kernels: Kernels, p: Parameter, slots: Pointer[]): void {
    const t = this.iterations;
    const correction2 = Math.sqrt(1 - this.beta2 ** t);
    const lrT = (this.learningRate * correction2) / (1 - this.beta1 ** t);
    const epsilon = this.epsilonAfterCorrection ? this.epsilon * correction2 : this.epsilon;
    kernels.adamUpdate(p.value, p.grad, slots[0], slots[1], p.size, lrT, this.beta1, this.beta2, epsilon);
  }

  getConfig(): OptimizerConfig {
    return {
      type: "adam", learningRate: this.initialLearningRate, ...this.clipConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon,
      ...(this.epsilonAfterCorrection ? { epsilonAfterCorrection: true } : {}),
    };
  }
}
