// SimpleRNN (Keras' SimpleRNN, PyTorch's nn.RNN): h = act(x·W + h·U + b), act tanh (default), relu,
// sigmoid or linear. Kernel [features, u], recurrent kernel [u, u], bias [u].
// Backprop through time and everything else but the cell lives in recurrent.ts.

import { Act, type ActCode, type Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { describeValue } from "../io/display";
import { ConfigReader } from "./config-reader";
import type { LayerConfig } from "./layer";
import { RECURRENT_OPTION_KEYS, RecurrentLayer, type RecurrentOptions } from "./recurrent";

const CELL_ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear"] as const;
type CellActivation = (typeof CELL_ACTIVATIONS)[number];

export interface SimpleRNNOptions extends RecurrentOptions {
  activation?: CellActivation;
}

export class SimpleRNN extends RecurrentLayer {
  readonly type = "SimpleRNN";
  readonly activation: CellActivation;
  protected readonly gateCount = 1;
  protected readonly stateCount = 1;
  private readonly code: ActCode;

  constructor(options: SimpleRNNOptions) {
    super(options, "SimpleRNN");
    this.activation = options.activation ?? "tanh";
    if (!CELL_ACTIVATIONS.includes(this.activation)) {
      throw new InputError(`${this.name || "layer"} (SimpleRNN): activation must be one of ${CELL_ACTIVATIONS.join(", ")}, got ${describeValue(this.activation)}`);
    }
    this.code = Act[this.activation];
  }

  static fromConfig(raw: Record<string, unknown>, where: string): SimpleRNN {
    const c = new ConfigReader(raw, where, [...RECURRENT_OPTION_KEYS, "activation"]);
    return new SimpleRNN({ ...RecurrentLayer.readRecurrentOptions(c, raw), activation: c.oneOf("activation", CELL_ACTIVATIONS, "tanh") });
  }

  protected stepForward(s: number, n: number): void {
    const { units: u, steps: T } = this;
    const z = this.slot(this.gates, s, n, u);
    if (this.hasPreviousState(s)) this.kernels.gemm(n, u, u, this.recurrentInput(s, n), u, 1, this.recurrentKernel.value, u, 1, z, u, true, 0, Act.linear);
    const h = this.states[0];
    this.kernels.rnnCellForward(z, n, u, this.code, this.slot(h, s, n, u), this.maskAt(s), T, this.slot(h, s + 1, n, u));
  }

  protected stepBackward(s: number, n: number, dOut: Pointer): void {
    const { units: u, steps: T } = this;
    this.kernels.rnnCellBackward(this.slot(this.states[0], s + 1, n, u), n, u, this.code, this.maskAt(s), T, dOut, T * u, this.stateGrads[0], this.slot(this.gates, s, n, u));
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, ...this.recurrentConfig(), activation: this.activation };
  }
}
