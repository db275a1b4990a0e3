import type { Kernels, Pointer } from "../engine/kernels";
import type { Parameter } from "../layers/layer";
import { Adam, type AdamOptions } from "./adam";
import type { OptimizerConfig } from "./optimizer";

/**
 * AdamW (Loshchilov & Hutter): Adam with weight decay decoupled from the gradient — w −= lr·λ·w before the
 * Adam step, so the decay is not rescaled by the adaptive denominator. Keras' default λ is 0.004.
 * excludeFromWeightDecay (Keras' exclude_from_weight_decay var_names): parameters whose name contains one
 * of these words are not decayed — transformers leave biases, normalization gains and offsets alone.
 */
export class AdamW extends Adam {
  readonly weightDecay: number;
  readonly excludeFromWeightDecay: string[];

  constructor(options: AdamOptions & { weightDecay?: number; excludeFromWeightDecay?: string[] } = {}) {
    super(options);
    this.weightDecay = options.weightDecay ?? 0.004;
    this.excludeFromWeightDecay = options.excludeFromWeightDecay ?? [];
  }

  /** Whether p's value decays (its name holds none of the excluded words). */
  decays(p: Parameter): boolean {
    return !this.excludeFromWeightDecay.some((word) => p.name.includes(word));
  }

  protected override update(kernels: Kernels, p: Parameter, slots: Pointer[]): void {
    if (this.weightDecay > 0 && this.decays(p)) kernels.axpy(p.size, -this.learningRate * this.weightDecay, p.value, p.value);
    super.update(kernels, p, slots);
  }

  override getConfig(): OptimizerConfig {
    return {
      ...super.getConfig(), type: "adamw", weightDecay: this.weightDecay,
      ...(this.excludeFromWeightDecay.length > 0 ? { excludeFromWeightDecay: this.excludeFromWeightDecay } : {}),
    };
  }
}
