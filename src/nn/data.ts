// torch.utils.data's TensorDataset and DataLoader: batches of (inputs, targets), reshuffled every pass
// when asked, from a seeded generator so runs repeat exactly.

import { InputError } from "../errors";
import { Rng } from "../engine/rng";
import { tensor, type Tensor } from "../tensor";

export type Targets = Int32Array | Float32Array;

export class TensorDataset {
  readonly length: number;
  readonly sampleShape: number[];

  constructor(readonly inputs: Tensor, readonly targets: Targets) {
    this.length = inputs.shape[0];
    this.sampleShape = inputs.shape.slice(1) as number[];
    const perTarget = targets.length / this.length;
    if (!Number.isInteger(perTarget) || perTarget < 1) throw new InputError(`TensorDataset: ${this.length} inputs but ${targets.length} target values`);
  }
}

export class DataLoader implements Iterable<[Tensor, Targets]> {
  readonly batchSize: number;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly rng: Rng;

  constructor(readonly dataset: TensorDataset, options: { batchSize?: number; shuffle?: boolean; dropLast?: boolean; seed?: number } = {}) {
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new InputError(`DataLoader: batchSize must be a positive integer, got ${this.batchSize}`);
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.rng = new Rng(options.seed ?? 1);
  }

  /** Batches per pass (len(loader) in PyTorch). */
  get length(): number {
    return this.dropLast ? Math.floor(this.dataset.length / this.batchSize) : Math.ceil(this.dataset.length / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<[Tensor, Targets]> {
    const { inputs, targets, length, sampleShape } = this.dataset;
    const order = Int32Array.from({ length }, (_, i) => i);
    if (this.shuffle) this.rng.shuffle(order);
    const sampleSize = inputs.data.length / length;
    const targetSize = targets.length / length;
    for (let b = 0; b < this.length; b++) {
      const start = b * this.batchSize, size = Math.min(this.batchSize, length - start);
      const x = new Float32Array(size * sampleSize);
      const y = targets instanceof Int32Array ? new Int32Array(size * targetSize) : new Float32Array(size * targetSize);
      for (let i = 0; i < size; i++) {
        const s = order[start + i];
        x.set(inputs.data.subarray(s * sampleSize, (s + 1) * sampleSize), i * sampleSize);
        y.set(targets.subarray(s * targetSize, (s + 1) * targetSize), i * targetSize);
      }
      yield [tensor(x, [size, ...sampleShape]), y];
    }
  }
}
