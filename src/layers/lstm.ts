// LSTM (Keras' LSTM, PyTorch's nn.LSTM): gates [i, f, g, o] = x·W + h·U + b, c = σ(f)·c + σ(i)·tanh(g),
// h = σ(o)·tanh(c). Kernel [features, 4u], recurrent kernel [u, 4u], bias [4u], as Keras lays them out, so
// weights copy across. unitForgetBias (Keras' default) starts the forget gate's bias at 1.
// Backprop through time and everything else but the cell lives in recurrent.ts.

import { Act, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { ConfigReader } from "./config-reader";
import type { LayerConfig, Parameter } from "./layer";
import { RECURRENT_OPTION_KEYS, RecurrentLayer, type RecurrentOptions } from "./recurrent";

export interface LSTMOptions extends RecurrentOptions {
  /** Start the forget gate's bias at 1 (Keras' default), so early training does not forget. */
  unitForgetBias?: boolean;
}

export class LSTM extends RecurrentLayer {
  readonly type = "LSTM";
  readonly unitForgetBias: boolean;
  protected readonly gateCount = 4;
  protected readonly stateCount = 2;

  constructor(options: LSTMOptions) {
    super(options, "LSTM");
    this.unitForgetBias = options.unitForgetBias ?? true;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): LSTM {
    const c = new ConfigReader(raw, where, [...RECURRENT_OPTION_KEYS, "unitForgetBias"]);
    return new LSTM({ ...RecurrentLayer.readRecurrentOptions(c, raw), unitForgetBias: c.bool("unitForgetBias", true) });
  }

  protected override createBias(rng: Rng): Parameter {
    const bias = super.createBias(rng);
    if (this.unitForgetBias && !this.sharesWeightsOf) this.heap.f32(bias.value + 4 * this.units, this.units).fill(1);
    return bias;
  }

  protected stepForward(s: number, n: number): void {
    const { units: u, steps: T, gateWidth: width } = this;
    const [h, c] = this.states;
    const gates = this.slot(this.gates, s, n, width);
    if (this.hasPreviousState(s)) this.kernels.gemm(n, width, u, this.recurrentInput(s, n), u, 1, this.recurrentKernel.value, width, 1, gates, width, true, 0, Act.linear);
    this.kernels.lstmCellForward(gates, n, u, this.slot(c, s, n, u), this.slot(h, s, n, u), this.maskAt(s), T, this.slot(c, s + 1, n, u), this.slot(h, s + 1, n, u));
  }

  protected stepBackward(s: number, n: number, dOut: Pointer): void {
    const { units: u, steps: T } = this;
    const c = this.states[1];
    const [dh, dc] = this.stateGrads;
    this.kernels.lstmCellBackward(this.slot(this.gates, s, n, this.gateWidth), n, u, this.slot(c, s, n, u), this.slot(c, s + 1, n, u), this.maskAt(s), T, dOut, T * u, dh, dc);
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, ...this.recurrentConfig(), unitForgetBias: this.unitForgetBias };
  }
}
