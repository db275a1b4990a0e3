// LayerNormalization (Ba et al., 2016), as Keras: every position of every sample is normalised by the mean
// and (biased) variance of its own values over the normalised axes, then scaled by γ and shifted by β, both
// shaped like those axes: y = (x − mean)/√(var + ε)·γ + β. No batch statistics, so training and inference
// compute the same thing, and there is no state.
//
// Axes count as Keras counts them, with the batch as axis 0: −1 (the default) is the last, and a list must
// be the trailing axes in increasing order ([-2, -1], or [1, 2] on samples [T, F]); they are flattened into
// one row of `cols` values, and each sample is inputSize / cols such rows (the kernels' layout, see
// assembly/layer-normalization.ts). Other axes (the batch, a leading axis without the ones after it, gaps)
// are refused: Keras allows them, but they are not rows of contiguous memory here.
//
// Masks pass through: each position is normalised on its own. Normalising over the time axis too (axes
// that include a sample's first axis) would mix padded steps into the statistics, so that refuses a mask.

import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { describeValue } from "../io/display";
import { ConfigReader } from "./config-reader";
import { parseInitializer, type InitializerName } from "./initializers";
import { SingleInputLayer, type ForwardMode, type LayerConfig, type Parameter, type Regularizer } from "./layer";

export interface LayerNormalizationOptions {
  /** The axis or trailing axes to normalise over, counted with the batch as axis 0 (−1: the last). */
  axis?: number | number[];
  /** Added to the variance; 1e-3 as in Keras (PyTorch's nn.LayerNorm: 1e-5). */
  epsilon?: number;
  /** Add β (Keras' center). */
  center?: boolean;
  /** Multiply by γ (Keras' scale). */
  scale?: boolean;
  gammaInitializer?: InitializerName;
  betaInitializer?: InitializerName;
  gammaRegularizer?: Regularizer;
  betaRegularizer?: Regularizer;
  name?: string;
}

export class LayerNormalization extends SingleInputLayer {
  readonly type = "LayerNormalization";
  readonly axis: number | number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly gammaInitializer: InitializerName;
  readonly betaInitializer: InitializerName;
  readonly gammaRegularizer?: Regularizer;
  readonly betaRegularizer?: Regularizer;
  gamma?: Parameter;
  beta?: Parameter;

  private input: Pointer = 0;
  private output: Pointer = 0;
  private mean: Pointer = 0;
  private invStd: Pointer = 0;

  constructor(options: LayerNormalizationOptions = {}) {
    super();
    this.name = options.name ?? "";
    const axis = options.axis ?? -1;
    const list = Array.isArray(axis) ? axis : [axis];
    if (list.length === 0 || !list.every((a) => Number.isInteger(a))) {
      throw new InputError(`${this.who}: 'axis' must be an integer or a non-empty list of integers, got ${describeValue(axis)}`);
    }
    this.axis = Array.isArray(axis) ? [...axis] : axis;
    this.epsilon = options.epsilon ?? 1e-3;
    if (!(Number.isFinite(this.epsilon) && this.epsilon > 0)) throw new InputError(`${this.who}: 'epsilon' must be a positive number, got ${this.epsilon}`);
    this.center = options.center ?? true;
    this.scale = options.scale ?? true;
    this.gammaInitializer = options.gammaInitializer ?? "ones";
    this.betaInitializer = options.betaInitializer ?? "zeros";
    this.gammaRegularizer = options.gammaRegularizer;
    this.betaRegularizer = options.betaRegularizer;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): LayerNormalization {
    const c = new ConfigReader(raw, where, ["axis", "epsilon", "center", "scale", "gammaInitializer", "betaInitializer", "gammaRegularizer", "betaRegularizer"]);
    const axis = c.value("axis") ?? -1;
    if (!(Number.isInteger(axis) || (Array.isArray(axis) && axis.length > 0 && axis.every((a) => Number.isInteger(a))))) {
      throw new InputError(`${where}: 'axis' must be an integer or a non-empty list of integers such as [-2, -1], got ${describeValue(axis)}`);
    }
    return new LayerNormalization({
      axis: axis as number | number[],
      epsilon: c.number("epsilon", { min: 1e-12, max: 1, default: 1e-3 }),
      center: c.bool("center", true),
      scale: c.bool("scale", true),
      gammaInitializer: parseInitializer(c.string("gammaInitializer", "ones"), where),
      betaInitializer: parseInitializer(c.string("betaInitializer", "zeros"), where),
      gammaRegularizer: c.regularizer("gammaRegularizer"),
      betaRegularizer: c.regularizer("betaRegularizer"),
      name: raw.name as string | undefined,
    });
  }

  private get who(): string {
    return `${this.name} (LayerNormalization)`.trim();
  }

  /**
   * The normalised axes as indices into a sample's shape (0 = its first axis), checked: the trailing axes,
   * increasing, each once. Throws InputError naming what is wrong otherwise.
   */
  normalizedAxes(inputShape: number[]): number[] {
    const rank = inputShape.length;
    const given = Array.isArray(this.axis) ? this.axis : [this.axis];
    const shown = JSON.stringify(this.axis);
    if (rank === 0) throw new InputError(`${this.who} needs inputs with at least one axis per sample`);
    const axes = given.map((a) => {
      if (a === 0 || a === -(rank + 1)) {
        throw new InputError(`${this.who}: axis ${shown} includes the batch axis; layer normalisation works within each sample (axis −1 is the last)`);
      }
      const resolved = a < 0 ? rank + a : a - 1;
      if (resolved < 0 || resolved >= rank) {
        throw new InputError(`${this.who}: axis ${a} is not an axis of inputs shaped [${inputShape}] (axis 0 is the batch, −1 the last)`);
      }
      return resolved;
    });
    if (new Set(axes).size !== axes.length) throw new InputError(`${this.who}: axis ${shown} names an axis twice`);
    const trailing = axes.every((a, i) => a === rank - axes.length + i);
    if (!trailing) {
      throw new InputError(
        `${this.who}: axis ${shown} on inputs shaped [${inputShape}] is not supported: give the last axis (−1) or the trailing axes in increasing order ending at it (such as [-2, -1]); permute other axes to the end first`,
      );
    }
    return axes;
  }

  /** The normalised axes' sizes: γ's and β's shape. */
  private get parameterShape(): number[] {
    return this.normalizedAxes(this.inputShape).map((a) => this.inputShape[a]);
  }

  /** Values normalised together (a row of the kernels), set when the layer is built. */
  private cols = 0;

  computeOutputShape(inputShape: number[]): number[] {
    this.normalizedAxes(inputShape);
    return inputShape;
  }

  override acceptMasks(masked: boolean[]): boolean {
    if (masked[0] && this.normalizedAxes(this.inputShape).includes(0)) {
      throw new InputError(
        `${this.who}: axis ${JSON.stringify(this.axis)} normalises over the time axis of inputs shaped [${this.inputShape}], which carry a mask, so padded steps would change the statistics; normalise over the features only (axis −1), or drop the mask`,
      );
    }
    return masked[0];
  }

  protected override createParameters(rng: Rng): void {
    const shape = this.parameterShape;
    this.cols = shape.reduce((a, b) => a * b, 1);
    if (this.scale) this.gamma = this.addParameter("gamma", shape, this.gammaInitializer, rng, this.gammaRegularizer);
    if (this.center) this.beta = this.addParameter("beta", shape, this.betaInitializer, rng, this.betaRegularizer);
  }

  allocate(maxBatch: number): void {
    const rows = maxBatch * (this.inputSize / this.cols);
    this.output = this.heap.allocFloats(maxBatch * this.inputSize);
    this.mean = this.heap.allocFloats(rows);
    this.invStd = this.heap.allocFloats(rows);
  }

  forward(input: Pointer, batch: number, _mode: ForwardMode): Pointer {
    const cols = this.cols, rows = (batch * this.inputSize) / cols;
    this.input = input;
    this.kernels.layerNormForward(input, rows, cols, this.gamma?.value ?? 0, this.beta?.value ?? 0, this.epsilon, this.output, this.mean, this.invStd);
    return this.output;
  }

  /** dx is written over the output gradient (the kernel allows it; the layer may overwrite dy). */
  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const cols = this.cols, rows = (batch * this.inputSize) / cols;
    const dx = needInputGrad ? outputGrad : 0;
    this.kernels.layerNormBackward(
      this.input, outputGrad, rows, cols, this.gamma?.value ?? 0, this.mean, this.invStd, dx, this.gamma?.grad ?? 0, this.beta?.grad ?? 0,
    );
    return dx;
  }

  getConfig(): LayerConfig {
    return {
      type: this.type, name: this.name, axis: this.axis, epsilon: this.epsilon, center: this.center, scale: this.scale,
      gammaInitializer: this.gammaInitializer, betaInitializer: this.betaInitializer,
      ...(this.gammaRegularizer ? { gammaRegularizer: this.gammaRegularizer } : {}),
      ...(this.betaRegularizer ? { betaRegularizer: this.betaRegularizer } : {}),
    };
  }
}
