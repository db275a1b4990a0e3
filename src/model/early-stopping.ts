// Early stopping on a monitored metric, with patience and restore-best-weights (Keras' EarlyStopping;
// TF.js never implemented restoreBestWeights). With restoreBestWeights the model ends training holding
// the weights of its best epoch, whether training stopped early or ran out of epochs.

import { ownValue } from "../io/own-keys";
import { InputError } from "../errors";
import type { Tensor } from "../tensor";
import type { Callback, EpochLogs, TrainableModel } from "./callbacks";

export interface EarlyStoppingOptions {
  /** A key of the epoch logs, e.g. "val_loss" (default) or "val_accuracy". */
  monitor?: string;
  /** Smallest change that counts as an improvement. */
  minDelta?: number;
  /** Epochs without improvement before stopping. */
  patience?: number;
  /** "auto" minimises losses and errors, maximises anything with "acc" in its name. */
  mode?: "auto" | "min" | "max";
  restoreBestWeights?: boolean;
}

export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  private readonly maximise: boolean;
  private model?: TrainableModel;
  private best = NaN;
  private wait = 0;
  private bestWeights?: Tensor[];
  /** Epoch (0-based) whose result was best, and the epoch training stopped after (−1: it did not). */
  bestEpoch = -1;
  stoppedEpoch = -1;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? "val_loss";
    this.minDelta = Math.abs(options.minDelta ?? 0);
    this.patience = options.patience ?? 0;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    const mode = options.mode ?? "auto";
    this.maximise = mode === "max" || (mode === "auto" && this.monitor.includes("acc"));
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new InputError(`EarlyStopping patience must be a whole number ≥ 0, got ${options.patience}`);
  }

  setModel(model: TrainableModel): void {
    this.model = model;
  }

  onTrainBegin(): void {
    this.best = NaN;
    this.wait = 0;
    this.bestWeights = undefined;
    this.bestEpoch = -1;
    this.stoppedEpoch = -1;
  }

  onEpochEnd(epoch: number, logs: EpochLogs): void {
    const value = ownValue(logs, this.monitor);
    if (value === undefined) {
      throw new InputError(`EarlyStopping monitors '${this.monitor}', but the epoch logs hold only: ${Object.keys(logs).join(", ")}` +
        (this.monitor.startsWith("val_") ? " (give fit a validationSplit or validationData)" : ""));
    }
    const improved = Number.isNaN(this.best) || (this.maximise ? value > this.best + this.minDelta : value < this.best - this.minDelta);
    if (improved) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = this.model!.getWeights();
      return;
    }
    this.wait++;
    // As Keras: stop once `patience` epochs in a row brought no improvement.
    if (this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      this.model!.stopTraining = true;
    }
  }

  onTrainEnd(): void {
    if (this.restoreBestWeights && this.bestWeights) this.model!.setWeights(this.bestWeights);
  }
}
