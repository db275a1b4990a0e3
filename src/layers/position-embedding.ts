// Position information for attention models, as KerasNLP/KerasHub define it. Both output tensors shaped
// like their input ([T, D] per sample), which the model then adds to its token embeddings; neither reads
// the input's values (it only sets the shape), so no gradient flows back to it.
//   PositionEmbedding — a learned table [sequenceLength, D]; position t's row for step t (T ≤ sequenceLength).
//     Backward: the table's gradient is the output gradient summed over the batch (one column sum).
//   SinePositionEncoding — fixed: position p, feature i → sin(p·w_i) for even i, cos(p·w_i) for odd i, with
//     w_i = maxWavelength^(−2⌊i/2⌋/D) (Vaswani et al.; KerasNLP's SinePositionEncoding). No parameters.
// Masks pass through: they describe the positions, which these layers keep.

import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { parseInitializer, type InitializerName } from "./initializers";
import { SingleInputLayer, type LayerConfig, type Parameter } from "./layer";

abstract class PositionLayer extends SingleInputLayer {
  protected output: Pointer = 0;

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 2) throw new InputError(`${this.name} (${this.type}) needs sequences shaped [steps, features] but gets [${inputShape}]`);
    return inputShape;
  }

  override acceptMasks(masked: boolean[]): boolean {
    return masked[0];
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
  }

  /** Copies the [T, D] rows at `rows` into every sample of the output. */
  protected broadcast(rows: Pointer, batch: number): Pointer {
    // A source stride of 0 repeats the one source row (T·D values) for every sample.
    this.kernels.copyRows(rows, batch, this.outputSize, 0, this.output, this.outputSize);
    return this.output;
  }
}

export class PositionEmbedding extends PositionLayer {
  readonly type = "PositionEmbedding";
  readonly sequenceLength: number;
  readonly initializer: InitializerName;
  table!: Parameter;

  constructor(options: { sequenceLength: number; initializer?: InitializerName; name?: string }) {
    super();
    this.name = options.name ?? "";
    this.sequenceLength = options.sequenceLength;
    if (!Number.isInteger(this.sequenceLength) || this.sequenceLength < 1) throw new InputError(`${this.name || "layer"} (PositionEmbedding): 'sequenceLength' must be a positive integer, got ${this.sequenceLength}`);
    this.initializer = options.initializer ?? "glorotUniform";
  }

  static fromConfig(raw: Record<string, unknown>, where: string): PositionEmbedding {
    const c = new ConfigReader(raw, where, ["sequenceLength", "initializer"]);
    return new PositionEmbedding({
      sequenceLength: c.int("sequenceLength", { min: 1, max: 1 << 20 }),
      initializer: parseInitializer(c.string("initializer", "glorotUniform"), where),
      name: raw.name as string | undefined,
    });
  }

  override computeOutputShape(inputShape: number[]): number[] {
    const shape = super.computeOutputShape(inputShape);
    if (shape[0] > this.sequenceLength) throw new InputError(`${this.name} (PositionEmbedding) has positions for ${this.sequenceLength} steps, but its input has ${shape[0]}`);
    return shape;
  }

  protected override createParameters(rng: Rng): void {
    this.table = this.addParameter("embeddings", [this.sequenceLength, this.inputShape[1]], this.initializer, rng);
  }

  forward(_input: Pointer, batch: number): Pointer {
    return this.broadcast(this.table.value, batch);
  }

  backward(outputGrad: Pointer, batch: number, _needInputGrad: boolean): Pointer {
    // Rows past the input's length get no gradient: the table's first T rows are the column sums.
    const used = this.outputSize, all = this.table.size;
    if (all > used) new Float32Array(this.kernels.memory.buffer, this.table.grad + 4 * used, all - used).fill(0);
    this.kernels.columnSums(outputGrad, batch, used, this.table.grad);
    return 0;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, sequenceLength: this.sequenceLength, initializer: this.initializer };
  }
}

export class SinePositionEncoding extends PositionLayer {
  readonly type = "SinePositionEncoding";
  readonly maxWavelength: number;
  private encoding: Pointer = 0;

  constructor(options: { maxWavelength?: number; name?: string } = {}) {
    super();
    this.name = options.name ?? "";
    this.maxWavelength = options.maxWavelength ?? 10000;
    if (!(this.maxWavelength > 1)) throw new InputError(`${this.name || "layer"} (SinePositionEncoding): 'maxWavelength' must be above 1, got ${this.maxWavelength}`);
  }

  static fromConfig(raw: Record<string, unknown>, where: string): SinePositionEncoding {
    const c = new ConfigReader(raw, where, ["maxWavelength"]);
    return new SinePositionEncoding({ maxWavelength: c.number("maxWavelength", { min: 1.0001, default: 10000 }), name: raw.name as string | undefined });
  }

  override allocate(maxBatch: number): void {
    super.allocate(maxBatch);
    const [steps, width] = this.inputShape;
    this.encoding = this.heap.allocFloats(steps * width);
    const values = this.heap.f32(this.encoding, steps * width);
    for (let p = 0; p < steps; p++)
      for (let i = 0; i < width; i++) {
        const angle = p * Math.pow(this.maxWavelength, -(2 * Math.floor(i / 2)) / width);
        values[p * width + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      }
  }

  forward(_input: Pointer, batch: number): Pointer {
    return this.broadcast(this.encoding, batch);
  }

  backward(_outputGrad: Pointer, _batch: number, _needInputGrad: boolean): Pointer {
    return 0;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name, maxWavelength: this.maxWavelength };
  }
}
