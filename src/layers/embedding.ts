// Embedding: integer indices → rows of a trainable table [inputDim, outputDim], as Keras. The model input
// holds the indices as f32 values; the gather kernel checks each one (an integer in [0, inputDim)) and the
// layer turns the first bad one into an InputError naming it. Backward scatter-adds the output gradient
// into the table's gradient in index order; indices get no gradient (they are not differentiable), so a
// consumer that asks for one receives zeros.
//
// maskZero: index 0 is padding, and the output carries a mask [batch, T] (1 where the index is not 0) for
// the layers after it. Row 0 of the table still exists, as in Keras, so inputDim counts it.
//
// paddingIndex (PyTorch's padding_idx): that row starts at zero and gets no gradient from this layer, so
// it stays as it is (an optimizer's weight decay may still move it, as in PyTorch). It makes no mask.

import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { parseInitializer, type InitializerName } from "./initializers";
import { SingleInputLayer, type ForwardMode, type LayerConfig, type Parameter, type Regularizer } from "./layer";

export interface EmbeddingOptions {
  /** Rows of the table: indices run over 0…inputDim − 1. */
  inputDim: number;
  /** Floats per row. */
  outputDim: number;
  embeddingsInitializer?: InitializerName;
  embeddingsRegularizer?: Regularizer;
  /** Index 0 is padding: the output carries a mask. */
  maskZero?: boolean;
  /** PyTorch's padding_idx: this row starts at zero and is never trained. */
  paddingIndex?: number;
  name?: string;
}

export class Embedding extends SingleInputLayer {
  readonly type = "Embedding";
  readonly inputDim: number;
  readonly outputDim: number;
  readonly embeddingsInitializer: InitializerName;
  readonly embeddingsRegularizer?: Regularizer;
  readonly maskZero: boolean;
  readonly paddingIndex?: number;
  embeddings!: Parameter;
  private indices: Pointer = 0;
  private output: Pointer = 0;
  private mask: Pointer = 0;
  private inputGrad: Pointer = 0;

  constructor(options: EmbeddingOptions) {
    super();
    const who = `${options.name ?? ""} (Embedding)`.trim();
    for (const key of ["inputDim", "outputDim"] as const) {
      const v = options[key];
      if (!Number.isInteger(v) || v < 1) throw new InputError(`${who}: '${key}' must be a positive integer, got ${v}`);
    }
    // Indices travel as f32, which holds every integer exactly only up to 2²⁴.
    if (options.inputDim > 1 << 24) throw new InputError(`${who}: 'inputDim' ${options.inputDim} is over 2^24, the largest index an f32 input holds exactly`);
    this.inputDim = options.inputDim;
    this.outputDim = options.outputDim;
    this.embeddingsInitializer = options.embeddingsInitializer ?? "randomUniform";
    this.embeddingsRegularizer = options.embeddingsRegularizer;
    this.maskZero = options.maskZero ?? false;
    const pad = options.paddingIndex;
    if (pad !== undefined && !(Number.isInteger(pad) && pad >= 0 && pad < this.inputDim)) {
      throw new InputError(`${who}: 'paddingIndex' must be an integer from 0 to inputDim − 1 = ${this.inputDim - 1}, got ${pad}`);
    }
    this.paddingIndex = pad;
    this.name = options.name ?? "";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Embedding {
    const c = new ConfigReader(raw, where, ["inputDim", "outputDim", "embeddingsInitializer", "embeddingsRegularizer", "maskZero", "paddingIndex"]);
    return new Embedding({
      inputDim: c.int("inputDim", { min: 1, max: 1 << 24 }),
      outputDim: c.int("outputDim", { min: 1, max: 1 << 16 }),
      embeddingsInitializer: parseInitializer(c.string("embeddingsInitializer", "randomUniform"), where),
      embeddingsRegularizer: c.regularizer("embeddingsRegularizer"),
      maskZero: c.bool("maskZero", false),
      paddingIndex: raw.paddingIndex === undefined ? undefined : c.int("paddingIndex", { min: 0, max: (1 << 24) - 1 }),
      name: raw.name as string | undefined,
    });
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length < 1) throw new InputError(`${this.name} (Embedding) needs indices shaped [T] (or [T, …]), got a scalar per sample`);
    if (this.maskZero && inputShape.length !== 1) {
      throw new InputError(`${this.name} (Embedding) with maskZero needs indices shaped [T] (a mask is per time step), got [${inputShape}]`);
    }
    return [...inputShape, this.outputDim];
  }

  protected override createParameters(rng: Rng): void {
    this.embeddings = this.addParameter("embeddings", [this.inputDim, this.outputDim], this.embeddingsInitializer, rng, this.embeddingsRegularizer);
    if (this.paddingIndex !== undefined && !this.sharesWeightsOf) this.paddingRow(this.embeddings.value).fill(0);
  }

  /** Row paddingIndex of a [inputDim, outputDim] table at `table`. */
  private paddingRow(table: Pointer): Float32Array {
    return this.heap.f32(table + 4 * this.paddingIndex! * this.outputDim, this.outputDim);
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.mask = this.maskZero ? this.heap.allocFloats(maxBatch * this.inputSize) : 0;
    this.inputGrad = this.heap.allocFloats(maxBatch * this.inputSize);
  }

  /** The output carries a mask with maskZero; a mask arriving on the indices is replaced, as Keras does. */
  override acceptMasks(_masked: boolean[]): boolean {
    return this.maskZero;
  }

  override outputMask(): Pointer {
    return this.mask;
  }

  forward(input: Pointer, batch: number, _mode: ForwardMode): Pointer {
    const count = batch * this.inputSize;
    this.indices = input;
    const bad = this.kernels.embeddingGather(input, count, this.embeddings.value, this.inputDim, this.outputDim, this.output);
    if (bad >= 0) {
      const value = this.heap.f32(input + 4 * bad, 1)[0];
      const sample = Math.floor(bad / this.inputSize), position = bad % this.inputSize;
      throw new InputError(
        `${this.name} (Embedding): input value ${value} (sample ${sample}, position ${position}) is not an index: indices must be integers from 0 to inputDim − 1 = ${this.inputDim - 1}; raise inputDim to the vocabulary size (plus one for padding) or fix the data`,
      );
    }
    if (this.maskZero) this.kernels.indexMask(input, count, this.mask);
    return this.output;
  }

  backward(outputGrad: Pointer, batch: number, needInputGrad: boolean): Pointer {
    const { grad, size } = this.embeddings;
    this.heap.f32(grad, size).fill(0);
    this.kernels.embeddingScatterAdd(this.indices, batch * this.inputSize, outputGrad, this.inputDim, this.outputDim, grad);
    if (this.paddingIndex !== undefined) this.paddingRow(grad).fill(0);
    if (!needInputGrad) return 0;
    // Indices are not differentiable: their gradient is zero (saliency over an Embedding input shows nothing).
    this.heap.f32(this.inputGrad, batch * this.inputSize).fill(0);
    return this.inputGrad;
  }

  getConfig(): LayerConfig {
    return {
      type: this.type, name: this.name, inputDim: this.inputDim, outputDim: this.outputDim,
      embeddingsInitializer: this.embeddingsInitializer,
      ...(this.embeddingsRegularizer ? { embeddingsRegularizer: this.embeddingsRegularizer } : {}),
      maskZero: this.maskZero,
      ...(this.paddingIndex !== undefined ? { paddingIndex: this.paddingIndex } : {}),
    };
  }
}
