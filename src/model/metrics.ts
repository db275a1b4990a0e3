// Metrics accumulated over an epoch from the model's user-facing outputs (probabilities for classifiers).

import { InputError, didYouMean } from "../errors";

export const METRICS = ["accuracy", "mae", "mse"] as const;
export type MetricName = (typeof METRICS)[number];

export function parseMetrics(raw: unknown): MetricName[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new InputError(`metrics must be a list such as ["accuracy"]`);
  return raw.map((m) => {
    const name = String(m).toLowerCase();
    const found = name === "acc" ? "accuracy" : METRICS.find((x) => x === name);
    if (!found) throw new InputError(`unknown metric '${m}'${didYouMean(String(m), METRICS)}`);
    return found;
  });
}

/** Running sums for one epoch. `labels` are class indices when sparse, else `targets` rows. */
export class MetricAccumulator {
  private sums = new Map<MetricName, number>();
  private samples = 0;

  constructor(readonly names: MetricName[], readonly outputDim: number) {}

  update(outputs: Float32Array, batch: number, labels: Int32Array | null, targets: Float32Array | null): void {
    for (const name of this.names) {
      let total = 0;
      if (name === "accuracy") total = this.correct(outputs, batch, labels, targets);
      else {
        const count = batch * this.outputDim;
        let sum = 0;
        for (let i = 0; i < count; i++) {
          const d = outputs[i] - targets![i];
          sum += name === "mae" ? Math.abs(d) : d * d;
        }
        total = sum / this.outputDim;
      }
      this.sums.set(name, (this.sums.get(name) ?? 0) + total);
    }
    this.samples += batch;
  }

  results(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of this.names) out[name] = (this.sums.get(name) ?? 0) / Math.max(this.samples, 1);
    return out;
  }

  private correct(outputs: Float32Array, batch: number, labels: Int32Array | null, targets: Float32Array | null): number {
    const k = this.outputDim;
    let correct = 0;
    for (let r = 0; r < batch; r++) {
      if (k === 1) {
        // Binary: threshold at 0.5 as Keras' binary_accuracy does.
        correct += (outputs[r] > 0.5 ? 1 : 0) === (targets![r] > 0.5 ? 1 : 0) ? 1 : 0;
        continue;
      }
      const predicted = argmax(outputs, r * k, k);
      const truth = labels ? labels[r] : argmax(targets!, r * k, k);
      if (predicted === truth) correct++;
    }
    return correct;
  }
}

export function argmax(values: ArrayLike<number>, offset: number, count: number): number {
  let best = 0;
  for (let j = 1; j < count; j++) if (values[offset + j] > values[offset + best]) best = j;
  return best;
}
