// GRU (Keras' GRU), gates [z, r, h], in either of its two forms:
//
// resetAfter = true (the default; Keras 2+'s default, PyTorch's nn.GRU, cuDNN): the reset gate multiplies
// the recurrent projection,
//   z = σ(x·W_z + b_z + h·U_z + b'_z), r = σ(… r …), ĥ = tanh(x·W_h + b_h + r ⊙ (h·U_h + b'_h)),
//   h ← z ⊙ h + (1 − z) ⊙ ĥ,
// with bias [2, 3u] (input row, recurrent row), as Keras. The recurrent projection h·U + b' is kept per step
// ([T, n, 3u]) since r multiplies its third block; one GEMM per step.
//
// resetAfter = false (Keras 1's GRU, TensorFlow.js' only GRU): the reset gate multiplies h before U_h,
//   z = σ(x·W_z + h·U_z + b_z), r = σ(x·W_r + h·U_r + b_r), ĥ = tanh(x·W_h + (r ⊙ h)·U_h + b_h),
//   h ← z ⊙ h + (1 − z) ⊙ ĥ,
// with one bias [3u], as Keras. Per step: a GEMM h·U[:, 0:2u] (a view of U with row stride 3u) into the z and
// r pre-activations, gruResetBeforeForwardGates (σ, and r ⊙ h into RH [T, n, u], kept), a GEMM
// RH·U[:, 2u:3u] into the candidate's pre-activation, gruResetBeforeForwardState (ĥ, the new h, the mask).
// Backward per step: gruResetBeforeBackwardState (dz_z, dz_h, dh·z), d(rh) = dz_h·U_hᵀ (GEMM),
// gruResetBeforeBackwardReset (dz_r = d(rh) ⊙ h ⊙ r(1 − r), and d(rh) ⊙ r), then the base adds
// [dz_z, dz_r]·U_zrᵀ + d(rh) ⊙ r into dh. After the loop dU_zr = Hᵀ·dZ_zr and dU_h = RHᵀ·dZ_h, one GEMM each
// over all T·n rows.
//
// Kernel [features, 3u] and recurrent kernel [u, 3u] in both forms.
//
// Recurrent dropout (both forms, as the base applies it): one mask per sequence on the state on its way
// into U. With resetAfter false that is h in both products — h·U_zr and (r ⊙ h)·U_h take the dropped h —
// while the update z ⊙ h + (1 − z) ⊙ ĥ keeps the state itself. (tf.keras implementation 2, Keras 3 and tfjs
// overwrite h_tm1 with its dropped copy, so their update reads the dropped state too; inference, where no
// dropout applies, is the same.)

import { Act, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { ConfigReader } from "./config-reader";
import type { LayerConfig, Parameter } from "./layer";
import { RECURRENT_OPTION_KEYS, RecurrentLayer, type RecurrentOptions } from "./recurrent";

export interface GRUOptions extends RecurrentOptions {
  /**
   * true (the default): the reset gate multiplies h·U + b' (PyTorch, Keras 2+, bias [2, 3u]); false: it
   * multiplies h before U_h (Keras 1, tfjs, bias [3u]).
   */
  resetAfter?: boolean;
}

export class GRU extends RecurrentLayer {
  readonly type = "GRU";
  readonly resetAfter: boolean;
  protected readonly gateCount = 3;
  protected readonly stateCount = 1;
  /** resetAfter: h·U + b' per step, [T, n, 3u]; its gradient after backward. */
  private recurrentGates: Pointer = 0;
  /** resetAfter false: r ⊙ hIn per step, [T, n, u], what entered U_h. */
  private resetStates: Pointer = 0;
  /** resetAfter false: d(r ⊙ hIn) of the step being run back, [n, u]; then d(r ⊙ hIn) ⊙ r. */
  private resetStateGrad: Pointer = 0;

  constructor(options: GRUOptions) {
    super(options, "GRU");
    this.resetAfter = options.resetAfter ?? true;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): GRU {
    const c = new ConfigReader(raw, where, [...RECURRENT_OPTION_KEYS, "resetAfter"]);
    return new GRU({ ...RecurrentLayer.readRecurrentOptions(c, raw), resetAfter: c.bool("resetAfter", true) });
  }

  protected override createBias(rng: Rng): Parameter {
    if (!this.resetAfter) return super.createBias(rng);
    return this.addParameter("bias", [2, this.gateWidth], this.biasInitializer, rng, this.biasRegularizer, this.initializerContext);
  }

  protected override allocateCell(maxBatch: number): void {
    if (this.resetAfter) {
      this.recurrentGates = this.heap.allocFloats(this.steps * maxBatch * this.gateWidth);
    } else {
      this.resetStates = this.heap.allocFloats(this.steps * maxBatch * this.units);
      this.resetStateGrad = this.heap.allocFloats(maxBatch * this.units);
    }
  }

  protected override get recurrentGateGrads(): Pointer {
    return this.resetAfter ? this.recurrentGates : this.gates;
  }

  private get recurrentBias(): Pointer {
    return this.bias ? this.bias.value + 4 * this.gateWidth : 0;
  }

  protected override biasGradient(rows: number): void {
    if (!this.resetAfter) return super.biasGradient(rows);
    if (!this.bias) return;
    this.kernels.columnSums(this.gates, rows, this.gateWidth, this.bias.grad);
    this.kernels.columnSums(this.recurrentGates, rows, this.gateWidth, this.bias.grad + 4 * this.gateWidth);
  }

  protected stepForward(s: number, n: number): void {
    const { units: u, steps: T, gateWidth: width, kernels: k } = this;
    const h = this.states[0];
    const gates = this.slot(this.gates, s, n, width);
    if (this.resetAfter) {
      const recurrent = this.slot(this.recurrentGates, s, n, width);
      // Computed even from the zero initial state: it still holds the recurrent bias.
      k.gemm(n, width, u, this.recurrentInput(s, n), u, 1, this.recurrentKernel.value, width, 1, recurrent, width, false, this.recurrentBias, Act.linear);
      k.gruCellForward(gates, recurrent, n, u, this.slot(h, s, n, u), this.maskAt(s), T, this.slot(h, s + 1, n, u));
      return;
    }
    const U = this.recurrentKernel.value, hIn = this.recurrentInput(s, n), rh = this.slot(this.resetStates, s, n, u);
    // The zero initial state adds nothing to either product.
    const previous = this.hasPreviousState(s);
    if (previous) k.gemm(n, 2 * u, u, hIn, u, 1, U, width, 1, gates, width, true, 0, Act.linear);
    k.gruResetBeforeForwardGates(gates, n, u, hIn, rh);
    if (previous) k.gemm(n, u, u, rh, u, 1, U + 8 * u, width, 1, gates + 8 * u, width, true, 0, Act.linear);
    k.gruResetBeforeForwardState(gates, n, u, this.slot(h, s, n, u), this.maskAt(s), T, this.slot(h, s + 1, n, u));
  }

  protected stepBackward(s: number, n: number, dOut: Pointer): void {
    const { units: u, steps: T, gateWidth: width, kernels: k } = this;
    const gates = this.slot(this.gates, s, n, width);
    const hPrev = this.slot(this.states[0], s, n, u);
    if (this.resetAfter) {
      k.gruCellBackward(gates, this.slot(this.recurrentGates, s, n, width), n, u, hPrev, this.maskAt(s), T, dOut, T * u, this.stateGrads[0]);
      return;
    }
    k.gruResetBeforeBackwardState(gates, n, u, hPrev, this.maskAt(s), T, dOut, T * u, this.stateGrads[0]);
    // d(r ⊙ hIn) = dz_h·U_hᵀ (run at step 0 too, where hIn = 0, so dz_r comes out 0 from a defined value).
    k.gemm(n, u, u, gates + 8 * u, width, 1, this.recurrentKernel.value + 8 * u, 1, width, this.resetStateGrad, u, false, 0, Act.linear);
    k.gruResetBeforeBackwardReset(gates, this.resetStateGrad, n, u, this.recurrentInput(s, n), this.maskAt(s), T);
  }

  /** resetAfter false: [dz_z, dz_r]·U_zrᵀ + d(r ⊙ hIn) ⊙ r. */
  protected override recurrentInputGradient(s: number, n: number, target: Pointer, accumulate: boolean): void {
    if (this.resetAfter) return super.recurrentInputGradient(s, n, target, accumulate);
    const { units: u, gateWidth: width, kernels: k } = this;
    k.gemm(n, u, 2 * u, this.slot(this.gates, s, n, width), width, 1, this.recurrentKernel.value, 1, width, target, u, accumulate, 0, Act.linear);
    k.axpy(n * u, 1, this.resetStateGrad, target);
  }

  /** resetAfter false: dU[:, 0:2u] = hInᵀ·dZ_zr and dU[:, 2u:3u] = RHᵀ·dZ_h. */
  protected override recurrentKernelGradient(entered: Pointer, rows: number): void {
    if (this.resetAfter) return super.recurrentKernelGradient(entered, rows);
    const { units: u, gateWidth: width, kernels: k } = this;
    const dU = this.recurrentKernel.grad;
    k.gemm(u, 2 * u, rows, entered, 1, u, this.gates, width, 1, dU, width, false, 0, Act.linear);
    k.gemm(u, u, rows, this.resetStates, 1, u, this.gates + 8 * u, width, 1, dU + 8 * u, width, false, 0, Act.linear);
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, ...this.recurrentConfig(), resetAfter: this.resetAfter };
  }
}
