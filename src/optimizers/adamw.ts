import type { Kernels, Pointer } from "../engine/kernels";
import type { Parameter } from "../layers/layer";
import { Adam } from "./adam";
import type { OptimizerConfig } from "./optimizer";

/**
 * AdamW (Loshchilov & Hutter): Adam with weight decay decoupled from the gradient — w −= lr·λ·w before the
 * Adam step, so the decay is not rescaled by the adaptive denominator. Keras' default λ is 0.004.
 */
export class AdamW extends Adam {
  readonly weightDecay: number;

  constructor(options: { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number } = {}) {
    super(options);
    this.weightDecay = options.weightDecay ?? 0.004;
  }

  protected override update(kernels: Kernels, p: Parameter, slots: Pointer[]): void {
    if (this.weightDecay > 0) kernels.axpy(p.size, -this.learningRate * this.weightDecay, p.value, p.value);
    super.update(kernels, p, slots);
  }

  override getConfig(): OptimizerConfig {
    return { ...super.getConfig(), type: "adamw", weightDecay: this.weightDecay };
  }
}
