import type { Kernels, Pointer } from "../engine/kernels";
import type { Parameter } from "../layers/layer";
import { Optimizer, type OptimizerConfig } from "./optimizer";

/** Stochastic gradient descent, with optional (Nesterov) momentum in Keras' formulation. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(options: { learningRate?: number; momentum?: number; nesterov?: boolean } = {}) {
    super(options.learningRate ?? 0.01);
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
  }

  protected get slotCount(): number {
    return this.momentum > 0 ? 1 : 0;
  }

  protected update(kernels: Kernels, p: Parameter, slots: Pointer[]): void {
    if (this.momentum > 0) {
      kernels.sgdMomentumUpdate(p.value, p.grad, slots[0], p.size, this.learningRate, this.momentum, this.nesterov);
    } else {
      kernels.sgdUpdate(p.value, p.grad, p.size, this.learningRate);
    }
  }

  getConfig(): OptimizerConfig {
    return { type: "sgd", learningRate: this.initialLearningRate, ...this.clipConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}
