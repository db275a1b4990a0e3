// Dense: y = f(x·W + b), x [batch, in], W [in, units] — one GEMM with the bias and activation fused.
// Backward: dW = xᵀ·dz, db = Σ_rows dz, dx = dz·Wᵀ (transposes by stride, no copies).

import { Act, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ActivationFunction, parseActivation, type ActivationName } from "./activation-function";
import { ConfigReader } from "./config-reader";
import { parseInitializer, type InitializerName } from "./initializers";
import { Layer, type LayerConfig, type Parameter, type Regularizer } from "./layer";

export interface DenseOptions {
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  kernelRegularizer?: Regularizer;
  name?: string;
}

export class Dense extends Layer {
  readonly type = "Dense";
  readonly units: number;
  readonly activation: ActivationFunction;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerName;
  readonly biasInitializer: InitializerName;
  readonly kernelRegularizer?: Regularizer;
  kernel!: Parameter;
  bias?: Parameter;
  private input: Pointer = 0;
  private output: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: DenseOptions) {
    super();
    this.units = options.units;
    this.activation = new ActivationFunction(options.activation ?? "linear");
    this.useBias = options.useBias ?? true;
    this.kernelInitializer = options.kernelInitializer ?? "glorotUniform";
    this.biasInitializer = options.biasInitializer ?? "zeros";
    this.kernelRegularizer = options.kernelRegularizer;
    this.name = options.name ?? "";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Dense {
    const c = new ConfigReader(raw, where, ["units", "activation", "useBias", "kernelInitializer", "biasInitializer", "kernelRegularizer"]);
    return new Dense({
      units: c.int("units", { min: 1, max: 1 << 20 }),
      activation: parseActivation(c.string("activation", "linear"), where),
      useBias: c.bool("useBias", true),
      kernelInitializer: parseInitializer(c.string("kernelInitializer", "glorotUniform"), where),
      biasInitializer: parseInitializer(c.string("biasInitializer", "zeros"), where),
      kernelRegularizer: c.regularizer("kernelRegularizer"),
      name: raw.name as string | undefined,
    });
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 1) {
      throw new InputError(
        `${this.name} (Dense) needs a flat input but gets shape [${inputShape}]: put a Flatten layer before it`,
      );
    }
    return [this.units];
  }

  protected override createParameters(rng: Rng): void {
    this.kernel = this.addParameter("kernel", [this.inputShape[0], this.units], this.kernelInitializer, rng, this.kernelRegularizer);
    if (this.useBias) this.bias = this.addParameter("bias", [this.units], this.biasInitializer, rng);
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.units);
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  forward(input: Pointer, batch: number, _training: boolean): Pointer {
    const n = this.inputSize;
    this.input = input;
    this.kernels.gemm(
      batch, this.units, n,
      input, n, 1,
      this.kernel.value, this.units, 1,
      this.output, this.units,
      false, this.bias?.value ?? 0, this.activation.epilogueCode,
    );
    this.activation.finishForward(this.kernels, this.output, batch, this.units);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const n = this.inputSize;
    const dz = outputGrad;
    this.activation.backwardInPlace(this.kernels, this.output, dz, batch, this.units);
    // dW[n × units] = xᵀ · dz: A = x read transposed (row stride 1, column stride n).
    this.kernels.gemm(n, this.units, batch, this.input, 1, n, dz, this.units, 1, this.kernel.grad, this.units, false, 0, Act.linear);
    if (this.bias) this.kernels.columnSums(dz, batch, this.units, this.bias.grad);
    if (!needInputGrad) return 0;
    // dx[batch × n] = dz · Wᵀ: B = W read transposed.
    this.kernels.gemm(batch, n, this.units, dz, this.units, 1, this.kernel.value, 1, this.units, this.inputGrad, n, false, 0, Act.linear);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return {
      type: this.type, name: this.name, units: this.units, activation: this.activation.name, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
      ...(this.kernelRegularizer ? { kernelRegularizer: this.kernelRegularizer } : {}),
    };
  }
}
