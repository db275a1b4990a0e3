// Turns what users pass to fit/evaluate/predict (typed arrays, plain arrays or tensors) into flat sample
// matrices checked against the model's shapes, with errors that give the counts.

import { InputError } from "../errors";
import { isTensor, type Tensor } from "../tensor";

export type InputData = Float32Array | number[] | Tensor;
export type TargetData = Int32Array | Uint8Array | Float32Array | number[] | Tensor;

export interface Samples {
  count: number;
  /** count × sampleSize values. */
  x: Float32Array;
  sampleSize: number;
}

export interface Targets {
  /** Class indices (sparse losses; targetSize per sample), else rows of targetSize values. */
  labels: Int32Array | null;
  values: Float32Array | null;
  targetSize: number;
}

export function toSamples(input: InputData, sampleShape: readonly number[]): Samples {
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
  const x = isTensor(input) ? input.data : input instanceof Float32Array ? input : Float32Array.from(input);
  if (x.length === 0 || x.length % sampleSize !== 0) {
    throw new InputError(
      `the inputs hold ${x.length} values, which is not a whole number of samples shaped [${sampleShape}] (${sampleSize} values each)`,
    );
  }
  if (isTensor(input) && input.shape.length > 1) {
    const given = input.shape.slice(1).reduce((a, b) => a * b, 1);
    if (given !== sampleSize) throw new InputError(`inputs are shaped [${input.shape}] but the model takes samples shaped [${sampleShape}]`);
  }
  return { count: x.length / sampleSize, x, sampleSize };
}

/**
 * Checks targets against the output they are for. Sparse targets are class indices, `positions` per
 * sample (1, or one per time step for an output shaped [T, classes]), each below `classes`.
 */
export function toTargets(target: TargetData, count: number, outputDim: number, sparse: boolean, positions = 1): Targets {
  const raw = isTensor(target) ? target.data : target;
  if (sparse) {
    const classes = outputDim / positions;
    if (raw.length !== count * positions) {
      const each = positions === 1 ? "one class index" : `${positions} class indices (one per position of its [${positions}, ${classes}] output)`;
      throw new InputError(`there are ${count} input samples but ${raw.length} labels: each sample needs ${each}`);
    }
    const labels = Int32Array.from(raw as ArrayLike<number>);
    for (let i = 0; i < raw.length; i++) {
      const v = (raw as ArrayLike<number>)[i];
      if (!(Number.isInteger(v) && v >= 0 && v < classes)) {
        const where = positions === 1 ? `of sample ${i}` : `of sample ${Math.floor(i / positions)} at position ${i % positions}`;
        throw new InputError(`label ${v} ${where} is not a class index in 0..${classes - 1} (the model has ${classes} classes)`);
      }
    }
    return { labels, values: null, targetSize: positions };
  }
  if (raw.length !== count * outputDim) {
    const hint = raw.length === count && outputDim > 1 ? "; these look like class indices: use loss sparseCategoricalCrossentropy" : "";
    throw new InputError(`there are ${count} input samples and ${raw.length} target values, but the model outputs ${outputDim} per sample${hint}`);
  }
  const values = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
  return { labels: null, values, targetSize: outputDim };
}

