import type { Kernels, Pointer } from "../engine/kernels";
import type { Parameter } from "../layers/layer";
import { Optimizer, type OptimizerConfig } from "./optimizer";

/** Adam (Kingma & Ba), defaults as in Keras: β1 0.9, β2 0.999, ε 1e-7. */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  protected readonly slotCount = 2;

  constructor(options: { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number } = {}) {
    super(options.learningRate ?? 0.001);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-7;
  }

  protected update(kernels: Kernels, p: Parameter, slots: Pointer[]): void {
    const t = this.iterations;
    const lrT = (this.learningRate * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    kernels.adamUpdate(p.value, p.grad, slots[0], slots[1], p.size, lrT, this.beta1, this.beta2, this.epsilon);
  }

  getConfig(): OptimizerConfig {
    return { type: "adam", learningRate: this.initialLearningRate, ...this.clipConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}
