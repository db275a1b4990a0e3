// Losses, and the one decision that matters for them: whether the output activation is fused into the
// loss. Softmax + cross-entropy (and sigmoid + binary cross-entropy) computed from logits is both cheaper
// (the gradient is just p − t) and numerically stable (no log of an underflowed probability).

import type { Kernels, Pointer } from "../engine/kernels";
import { InputError, didYouMean } from "../errors";
import type { ActivationFunction } from "../layers/activation-function";
import { displayText } from "../io/display";
import { ownValue } from "../io/own-keys";

export const LOSSES = ["sparseCategoricalCrossentropy", "categoricalCrossentropy", "binaryCrossentropy", "meanSquaredError"] as const;
export type LossName = (typeof LOSSES)[number];
export interface LossSpec {
  type: LossName;
  fromLogits?: boolean;
  /**
   * Categorical losses: the target puts 1 − ε on its class and ε spread evenly over all classes (Keras'
   * label_smoothing, PyTorch's CrossEntropyLoss(label_smoothing)). 0 by default.
   */
  labelSmoothing?: number;
}

const ALIASES: Record<string, LossName> = { mse: "meanSquaredError" };

export function parseLoss(raw: unknown, where = "loss"): ParsedLoss {
  const spec = typeof raw === "string" ? { type: raw } : (raw as { type?: unknown; fromLogits?: unknown; labelSmoothing?: unknown } | null);
  if (!spec || typeof spec.type !== "string") throw new InputError(`${where}: expected a loss name such as "sparseCategoricalCrossentropy"`);
  const wanted = spec.type.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()).toLowerCase();
  // Own keys only: "constructor" must not find Object (a "loss" that then returns undefined and diverges).
  const type = ownValue(ALIASES, wanted) ?? LOSSES.find((n) => n.toLowerCase() === wanted);
  if (!type) throw new InputError(`${where}: unknown loss '${displayText(spec.type)}'${didYouMean(spec.type, LOSSES)}`);
  if (spec.fromLogits !== undefined && typeof spec.fromLogits !== "boolean") throw new InputError(`${where}: fromLogits must be true or false`);
  const smoothing = spec.labelSmoothing ?? 0;
  if (typeof smoothing !== "number" || !(smoothing >= 0 && smoothing < 1)) throw new InputError(`${where}: labelSmoothing must be a number in [0, 1), got ${String(smoothing)}`);
  if (smoothing > 0 && type !== "sparseCategoricalCrossentropy" && type !== "categoricalCrossentropy") throw new InputError(`${where}: labelSmoothing applies to the categorical cross-entropies, not ${type}`);
  // Written only when used, so the configs (and checkpoint bytes) of every other loss stay as they were.
  return { type, fromLogits: spec.fromLogits ?? false, ...(smoothing > 0 ? { labelSmoothing: smoothing } : {}) };
}

/** A checked loss spec: fromLogits always said, labelSmoothing only when above 0. */
export type ParsedLoss = LossSpec & { fromLogits: boolean };

export type OutputHead = "softmax" | "sigmoid" | "none";

/** A compiled loss: knows its target format and which head (if any) it applies to the raw outputs. */
export class CompiledLoss {
  /** Targets are i32 class indices rather than f32 rows. */
  readonly sparse: boolean;
  /** The activation this loss applies to the raw outputs itself (from logits). */
  readonly head: OutputHead;
  /**
   * The output layer's own activation is the head, so the model should have that layer emit logits and
   * leave the activation to the loss (the plan decides; this only says it is possible).
   */
  readonly fusesActivation: boolean;
  /** Values per sample. */
  readonly outputDim: number;
  /**
   * Class scores per row: for the categorical losses the output's last axis, so an output shaped
   * [T, classes] is T rows per sample, each with its own softmax and label (Keras' per-position loss,
   * averaged over positions and samples alike); otherwise the whole output.
   */
  readonly classes: number;
  /** Rows per sample: outputDim / classes. */
  readonly positions: number;

  constructor(readonly spec: ParsedLoss, outputActivation: ActivationFunction | undefined, outputShape: readonly number[]) {
    this.sparse = spec.type === "sparseCategoricalCrossentropy";
    this.outputDim = outputShape.reduce((a, b) => a * b, 1);
    const last = outputActivation?.name ?? "linear";
    const categorical = spec.type === "sparseCategoricalCrossentropy" || spec.type === "categoricalCrossentropy";
    this.classes = categorical ? outputShape[outputShape.length - 1] : this.outputDim;
    this.positions = this.outputDim / this.classes;
    if (categorical) {
      if (this.classes < 2) throw new InputError(`${spec.type} needs at least 2 output classes; the model outputs ${this.classes}`);
      if (!spec.fromLogits && last !== "softmax") {
        throw new InputError(`${spec.type} expects the last layer to use activation "softmax" (it uses "${last}"); or set fromLogits: true`);
      }
      this.head = "softmax";
    } else if (spec.type === "binaryCrossentropy") {
      this.head = spec.fromLogits || last === "sigmoid" ? "sigmoid" : "none";
    } else {
      this.head = "none";
    }
    // With fromLogits the model's outputs are logits already; otherwise the layer stops short of the head.
    this.fusesActivation = outputActivation !== undefined && this.head !== "none" && !spec.fromLogits;
  }

  /** Batch-mean loss; writes d(loss)/d(output) to grad and the head's probabilities to probs. */
  compute(kernels: Kernels, output: Pointer, targets: Pointer, rows: number, probs: Pointer, grad: Pointer): number {
    const count = rows * this.outputDim;
    switch (this.spec.type) {
      case "sparseCategoricalCrossentropy":
        return this.smoothed(kernels, output, rows, targets, grad, kernels.softmaxCrossEntropy(output, rows * this.positions, this.classes, targets, 0, probs, grad));
      case "categoricalCrossentropy":
        return this.smoothed(kernels, output, rows, targets, grad, kernels.softmaxCrossEntropy(output, rows * this.positions, this.classes, 0, targets, probs, grad));
      case "binaryCrossentropy":
        if (this.head === "sigmoid") return kernels.sigmoidCrossEntropy(output, targets, count, probs, grad);
        return kernels.binaryCrossEntropy(output, targets, count, grad);
      case "meanSquaredError":
        return kernels.meanSquaredError(output, targets, count, grad);
    }
  }

  /**
   * Label smoothing on top of the plain cross-entropy the kernel computed (loss L, gradient (p − t)/rows):
   * with the target (1 − ε)·t + ε/K the loss is (1 − ε)·L + ε·mean over rows of mean_c(−log p_c), and the
   * gradient gains ε·(t − 1/K)/rows, which is (p − t)/rows + ε(t − 1/K)/rows = (p − t')/rows. −log p_c is
   * taken from the logits (logsumexp − z_c), so a probability that underflowed to 0 stays finite.
   */
  private smoothed(kernels: Kernels, logits: Pointer, samples: number, targets: Pointer, grad: Pointer, loss: number): number {
    const epsilon = this.spec.labelSmoothing ?? 0;
    if (!(epsilon > 0)) return loss;
    const rows = samples * this.positions, k = this.classes;
    const memory = kernels.memory.buffer;
    const z = new Float32Array(memory, logits, rows * k), g = new Float32Array(memory, grad, rows * k);
    // The plain target: one-hot of the label (sparse), or the given row.
    const labels = this.sparse ? new Int32Array(memory, targets, rows) : undefined, dense = this.sparse ? undefined : new Float32Array(memory, targets, rows * k);
    const target = (r: number, c: number) => (labels ? (labels[r] === c ? 1 : 0) : dense![r * k + c]);
    let uniformTerm = 0;
    for (let r = 0; r < rows; r++) {
      let peak = -Infinity, mean = 0;
      for (let c = 0; c < k; c++) {
        peak = Math.max(peak, z[r * k + c]);
        mean += z[r * k + c] / k;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(z[r * k + c] - peak);
      uniformTerm += peak + Math.log(sum) - mean;
      for (let c = 0; c < k; c++) g[r * k + c] += (epsilon * (target(r, c) - 1 / k)) / rows;
    }
    return (1 - epsilon) * loss + (epsilon * uniformTerm) / rows;
  }

  /** Where compute() leaves the model's user-facing outputs. */
  predictionsAt(output: Pointer, probs: Pointer): Pointer {
    return this.head === "none" ? output : probs;
  }
}
