import type { Kernels, Pointer } from "../engine/kernels";
import type { Parameter } from "../layers/layer";
import { Optimizer, type OptimizerConfig } from "./optimizer";

/** RMSprop, defaults as in Keras: ρ 0.9, ε 1e-7. */
export class RMSprop extends Optimizer {
  readonly rho: number;
  readonly epsilon: number;
  protected readonly slotCount = 1;

  constructor(options: { learningRate?: number; rho?: number; epsilon?: number } = {}) {
    super(options.learningRate ?? 0.001);
    this.rho = options.rho ?? 0.9;
    this.epsilon = options.epsilon ?? 1e-7;
  }

  protected update(kernels: Kernels, p: Parameter, slots: Pointer[]): void {
    kernels.rmspropUpdate(p.value, p.grad, slots[0], p.size, this.learningRate, this.rho, this.epsilon);
  }

  getConfig(): OptimizerConfig {
    return { type: "rmsprop", learningRate: this.initialLearningRate, ...this.clipConfig(), rho: this.rho, epsilon: this.epsilon };
  }
}
