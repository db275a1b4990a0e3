// Metrics accumulated over an epoch from the model's user-facing outputs (probabilities for classifiers).
// Precision, recall and F1 come from a confusion matrix kept alongside: for a single sigmoid output they
// are the positive class's (Keras' Precision/Recall), for several classes the unweighted mean over
// classes ("macro", scikit-learn's average="macro"). For regression, RMSE is the square root of the epoch's
// mean squared error (not a mean of per-batch roots), and R² is 1 − SSE/SST over the whole epoch, per output
// and averaged over outputs (scikit-learn's r2_score, "uniform_average"; a constant target scores 1 when
// predicted exactly and 0 otherwise, as its force_finite does).

import { InputError, didYouMean } from "../errors";
import { describeValue, displayText } from "../io/display";
import { ownValue } from "../io/own-keys";

export const METRICS = ["accuracy", "mae", "mse", "rmse", "r2", "precision", "recall", "f1"] as const;
export type MetricName = (typeof METRICS)[number];

const ALIASES: Record<string, MetricName> = { acc: "accuracy", f1score: "f1", f1_score: "f1", r2score: "r2", r2_score: "r2", r_squared: "r2" };

export function parseMetrics(raw: unknown): MetricName[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new InputError(`metrics must be a list such as ["accuracy"]`);
  return raw.map((m) => {
    if (typeof m !== "string") throw new InputError(`metrics must be names such as "accuracy", not ${describeValue(m)}`);
    const name = m.toLowerCase();
    // Own keys only: "__proto__" or "constructor" must not find Object.prototype's members.
    const found = ownValue(ALIASES, name) ?? METRICS.find((x) => x === name);
    if (!found) throw new InputError(`unknown metric '${displayText(m)}'${didYouMean(m, METRICS)}`);
    return found;
  });
}

/** What fit() reports per epoch and a callback may watch: loss, the metrics, and val_ of each. */
export const LOG_NAMES: readonly string[] = ["loss", ...METRICS].flatMap((name) => [name, `val_${name}`]);

/** Checks a name a callback is to watch (a schedule's monitor, say) against LOG_NAMES. */
export function parseMonitor(name: string, where: string): string {
  if (!LOG_NAMES.includes(name)) throw new InputError(`${where}: unknown metric '${displayText(name)}' to watch${didYouMean(name, LOG_NAMES)}`);
  return name;
}

/** Counts of (true class, predicted class) pairs: matrix[truth * classes + predicted]. */
export class ConfusionMatrix {
  readonly counts: Float64Array;

  constructor(readonly classes: number) {
    this.counts = new Float64Array(classes * classes);
  }

  add(truth: number, predicted: number): void {
    this.counts[truth * this.classes + predicted]++;
  }

  /** From class-probability rows (argmax, or a 0.5 threshold for one sigmoid output) and true labels. */
  static fromOutputs(outputs: ArrayLike<number>, labels: ArrayLike<number>, outputDim: number): ConfusionMatrix {
    const matrix = new ConfusionMatrix(Math.max(outputDim, 2));
    for (let r = 0; r < labels.length; r++) matrix.add(labels[r], predictedClass(outputs, r, outputDim));
    return matrix;
  }

  /** Per-class precision, recall and F1 (0 where undefined, as scikit-learn reports with zero_division=0). */
  perClass(): { precision: number; recall: number; f1: number; support: number }[] {
    const k = this.classes;
    return Array.from({ length: k }, (_, c) => {
      let predicted = 0, actual = 0;
      for (let j = 0; j < k; j++) {
        predicted += this.counts[j * k + c];
        actual += this.counts[c * k + j];
      }
      const hits = this.counts[c * k + c];
      const precision = predicted > 0 ? hits / predicted : 0;
      const recall = actual > 0 ? hits / actual : 0;
      const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      return { precision, recall, f1, support: actual };
    });
  }

  /** Binary (two classes): the positive class's scores. Otherwise the macro average over classes. */
  summary(): { precision: number; recall: number; f1: number } {
    const rows = this.perClass();
    if (this.classes === 2) return { precision: rows[1].precision, recall: rows[1].recall, f1: rows[1].f1 };
    const mean = (key: "precision" | "recall" | "f1") => rows.reduce((s, r) => s + r[key], 0) / rows.length;
    return { precision: mean("precision"), recall: mean("recall"), f1: mean("f1") };
  }

  /** A fixed-width table: rows are true classes, columns predicted ones, then recall per row. */
  format(classNames?: string[]): string {
    const k = this.classes;
    const names = classNames ?? Array.from({ length: k }, (_, i) => String(i));
    const width = Math.max(5, ...names.map((n) => n.length), ...Array.from(this.counts, (c) => String(c).length)) + 1;
    const pad = (s: string) => ` ${s.padStart(width)}`;
    const stats = this.perClass();
    const lines = [`${"true\\pred".padEnd(10)}${names.map(pad).join("")}${pad("recall")}`];
    for (let t = 0; t < k; t++) {
      const cells = Array.from({ length: k }, (_, p) => pad(String(this.counts[t * k + p])));
      lines.push(`${names[t].padEnd(10)}${cells.join("")}${pad(stats[t].recall.toFixed(3))}`);
    }
    lines.push(`${"precision".padEnd(10)}${stats.map((s) => pad(s.precision.toFixed(3))).join("")}`);
    return lines.join("\n");
  }
}

/** Running sums for one epoch. `labels` are class indices when sparse, else `targets` rows. */
export class MetricAccumulator {
  private sums = new Map<MetricName, number>();
  private samples = 0;
  private readonly confusion?: ConfusionMatrix;
  private readonly regression?: RegressionSums;

  constructor(readonly names: MetricName[], readonly outputDim: number) {
    if (names.some((n) => n === "precision" || n === "recall" || n === "f1")) this.confusion = new ConfusionMatrix(Math.max(outputDim, 2));
    if (names.some((n) => n === "rmse" || n === "r2")) this.regression = new RegressionSums(outputDim);
  }

  update(outputs: Float32Array, batch: number, labels: Int32Array | null, targets: Float32Array | null): void {
    const k = this.outputDim;
    for (const name of this.names) {
      if (name === "accuracy") this.add(name, this.correct(outputs, batch, labels, targets));
      else if (name === "mae" || name === "mse") {
        const count = batch * k;
        let sum = 0;
        for (let i = 0; i < count; i++) {
          const d = outputs[i] - targets![i];
          sum += name === "mae" ? Math.abs(d) : d * d;
        }
        this.add(name, sum / k);
      }
    }
    if (this.confusion) for (let r = 0; r < batch; r++) this.confusion.add(trueClass(labels, targets, r, k), predictedClass(outputs, r, k));
    if (this.regression) {
      if (!targets) throw new InputError("rmse and r2 compare values: they need targets as values, not class labels");
      this.regression.add(outputs, targets, batch);
    }
    this.samples += batch;
  }

  results(): Record<string, number> {
    const out: Record<string, number> = {};
    const scores = this.confusion?.summary();
    for (const name of this.names) {
      if (name === "precision" || name === "recall" || name === "f1") out[name] = scores![name];
      else if (name === "rmse") out[name] = this.regression!.rmse();
      else if (name === "r2") out[name] = this.regression!.r2();
      else out[name] = (this.sums.get(name) ?? 0) / Math.max(this.samples, 1);
    }
    return out;
  }

  private add(name: MetricName, value: number): void {
    this.sums.set(name, (this.sums.get(name) ?? 0) + value);
  }

  private correct(outputs: Float32Array, batch: number, labels: Int32Array | null, targets: Float32Array | null): number {
    let correct = 0;
    for (let r = 0; r < batch; r++) if (predictedClass(outputs, r, this.outputDim) === trueClass(labels, targets, r, this.outputDim)) correct++;
    return correct;
  }
}

/**
 * What RMSE and R² need, per output: the squared errors, and the targets' sums about a shift (the first
 * target seen), so the total sum of squares does not cancel away for targets far from 0.
 */
export class RegressionSums {
  private readonly squaredError: Float64Array;
  private readonly shift: Float64Array;
  private readonly sum: Float64Array;
  private readonly sumSquares: Float64Array;
  private rows = 0;

  constructor(readonly outputs: number) {
    this.squaredError = new Float64Array(outputs);
    this.shift = new Float64Array(outputs);
    this.sum = new Float64Array(outputs);
    this.sumSquares = new Float64Array(outputs);
  }

  add(predictions: ArrayLike<number>, targets: ArrayLike<number>, rows: number): void {
    const k = this.outputs;
    if (this.rows === 0 && rows > 0) for (let j = 0; j < k; j++) this.shift[j] = targets[j];
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) {
        const y = targets[r * k + j], e = predictions[r * k + j] - y, d = y - this.shift[j];
        this.squaredError[j] += e * e;
        this.sum[j] += d;
        this.sumSquares[j] += d * d;
      }
    }
    this.rows += rows;
  }

  mse(): number {
    return this.squaredError.reduce((a, b) => a + b, 0) / Math.max(this.rows * this.outputs, 1);
  }

  rmse(): number {
    return Math.sqrt(this.mse());
  }

  r2(): number {
    if (this.rows === 0) return 0;
    let total = 0;
    for (let j = 0; j < this.outputs; j++) {
      const sst = this.sumSquares[j] - (this.sum[j] * this.sum[j]) / this.rows;
      total += sst > 0 ? 1 - this.squaredError[j] / sst : this.squaredError[j] === 0 ? 1 : 0;
    }
    return total / this.outputs;
  }
}

/** Row r's predicted class: argmax, or a 0.5 threshold for one sigmoid output (Keras' binary_accuracy). */
export function predictedClass(outputs: ArrayLike<number>, r: number, k: number): number {
  return k === 1 ? (outputs[r] > 0.5 ? 1 : 0) : argmax(outputs, r * k, k);
}

function trueClass(labels: Int32Array | null, targets: Float32Array | null, r: number, k: number): number {
  if (labels) return labels[r];
  return k === 1 ? (targets![r] > 0.5 ? 1 : 0) : argmax(targets!, r * k, k);
}

export function argmax(values: ArrayLike<number>, offset: number, count: number): number {
  let best = 0;
  for (let j = 1; j < count; j++) if (values[offset + j] > values[offset + best]) best = j;
  return best;
}
