// GRU with the reset gate applied after the recurrent projection (Keras' default resetAfter = true, the
// form of PyTorch's nn.GRU and cuDNN): gates [z, r, h],
//   z = σ(x·W_z + b_z + h·U_z + b'_z), r = σ(… r …), ĥ = tanh(x·W_h + b_h + r ⊙ (h·U_h + b'_h)),
//   h ← z ⊙ h + (1 − z) ⊙ ĥ.
// Kernel [features, 3u], recurrent kernel [u, 3u], bias [2, 3u] (input row, recurrent row), as Keras.
// The recurrent projection h·U + b' is kept per step ([T, n, 3u]) since r multiplies its third block.
// Keras 1's resetAfter = false (r applied to h before U, one bias row) is not built: it is refused.

import { Act, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import type { LayerConfig, Parameter } from "./layer";
import { RECURRENT_OPTION_KEYS, RecurrentLayer, type RecurrentOptions } from "./recurrent";

export interface GRUOptions extends RecurrentOptions {
  /** Must be true (the default): the reset gate multiplies h·U + b', as PyTorch and Keras 2+ compute it. */
  resetAfter?: boolean;
}

export class GRU extends RecurrentLayer {
  readonly type = "GRU";
  readonly resetAfter = true;
  protected readonly gateCount = 3;
  protected readonly stateCount = 1;
  /** h·U + b' per step, [T, n, 3u]; its gradient after backward. */
  private recurrentGates: Pointer = 0;

  constructor(options: GRUOptions) {
    super(options, "GRU");
    if (options.resetAfter === false) {
      throw new InputError(`${options.name || "layer"} (GRU): resetAfter false (Keras 1's GRU, tfjs' only one) is not supported; use the default resetAfter true, which PyTorch's nn.GRU and Keras 2+ compute`);
    }
  }

  static fromConfig(raw: Record<string, unknown>, where: string): GRU {
    const c = new ConfigReader(raw, where, [...RECURRENT_OPTION_KEYS, "resetAfter"]);
    return new GRU({ ...RecurrentLayer.readRecurrentOptions(c, raw), resetAfter: c.bool("resetAfter", true) });
  }

  protected override createBias(rng: Rng): Parameter {
    return this.addParameter("bias", [2, this.gateWidth], this.biasInitializer, rng, this.biasRegularizer, this.initializerContext);
  }

  protected override allocateCell(maxBatch: number): void {
    this.recurrentGates = this.heap.allocFloats(this.steps * maxBatch * this.gateWidth);
  }

  protected override get recurrentGateGrads(): Pointer {
    return this.recurrentGates;
  }

  private get recurrentBias(): Pointer {
    return this.bias ? this.bias.value + 4 * this.gateWidth : 0;
  }

  protected override biasGradient(rows: number): void {
    if (!this.bias) return;
    this.kernels.columnSums(this.gates, rows, this.gateWidth, this.bias.grad);
    this.kernels.columnSums(this.recurrentGates, rows, this.gateWidth, this.bias.grad + 4 * this.gateWidth);
  }

  protected stepForward(s: number, n: number): void {
    const { units: u, steps: T, gateWidth: width } = this;
    const h = this.states[0];
    const recurrent = this.slot(this.recurrentGates, s, n, width);
    // Computed even from the zero initial state: it still holds the recurrent bias.
    this.kernels.gemm(n, width, u, this.recurrentInput(s, n), u, 1, this.recurrentKernel.value, width, 1, recurrent, width, false, this.recurrentBias, Act.linear);
    this.kernels.gruCellForward(this.slot(this.gates, s, n, width), recurrent, n, u, this.slot(h, s, n, u), this.maskAt(s), T, this.slot(h, s + 1, n, u));
  }

  protected stepBackward(s: number, n: number, dOut: Pointer): void {
    const { units: u, steps: T, gateWidth: width } = this;
    this.kernels.gruCellBackward(this.slot(this.gates, s, n, width), this.slot(this.recurrentGates, s, n, width), n, u, this.slot(this.states[0], s, n, u), this.maskAt(s), T, dOut, T * u, this.stateGrads[0]);
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, ...this.recurrentConfig(), resetAfter: true };
  }
}
