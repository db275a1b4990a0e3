// Dense: y = f(x·W + b), x [batch, in], W [in, units] — one GEMM with the bias and activation fused
// (see affine.ts for the forward and backward arithmetic it shares with Conv2D).

import type { Pointer } from "../engine/kernels";
import { affineBackward, affineForward, type AffineParts } from "./affine";
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
    this.input = input;
    affineForward(this.kernels, this.affine, input, batch, this.inputSize, this.output);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const dx = needInputGrad ? this.inputGrad : 0;
    affineBackward(this.kernels, this.affine, this.input, this.output, outputGrad, batch, this.inputSize, dx);
    return dx;
  }

  private get affine(): AffineParts {
    return { kernel: this.kernel, bias: this.bias, activation: this.activation, units: this.units };
  }

  getConfig(): LayerConfig {
    return {
      type: this.type, name: this.name, units: this.units, activation: this.activation.name, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
      ...(this.kernelRegularizer ? { kernelRegularizer: this.kernelRegularizer } : {}),
    };
  }
}
