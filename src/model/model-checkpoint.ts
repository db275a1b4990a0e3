// Keras' ModelCheckpoint and a plain progress logger, as callbacks for fit() in library code (the CLI has
// its own progress bar and --checkpoint-every). Checkpoints are written atomically (temporary file,
// flush, rename), so a crash mid-save leaves the previous checkpoint intact.

import { ownValue } from "../io/own-keys";
import { writeFileAtomic } from "../io/atomic-file";
import type { Callback, EpochLogs, TrainableModel } from "./callbacks";
import { encodeCheckpoint } from "./checkpoint";
import type { Model } from "./model";

export interface ModelCheckpointOptions {
  /** File to write; "{epoch}" is replaced by the 1-based epoch number. */
  path: string;
  /** Only save when `monitor` improves (default: save after every epoch). */
  saveBestOnly?: boolean;
  monitor?: string;
  mode?: "auto" | "min" | "max";
}

export class ModelCheckpoint implements Callback {
  private model?: TrainableModel;
  private best = NaN;
  readonly monitor: string;
  private readonly maximise: boolean;
  /** The files written, in order. */
  readonly saved: string[] = [];

  constructor(readonly options: ModelCheckpointOptions) {
    this.monitor = options.monitor ?? "val_loss";
    const mode = options.mode ?? "auto";
    this.maximise = mode === "max" || (mode === "auto" && /acc|precision|recall|f1/.test(this.monitor));
  }

  setModel(model: TrainableModel): void {
    this.model = model;
  }

  onEpochEnd(epoch: number, logs: EpochLogs): void {
    if (!this.model) return;
    if (this.options.saveBestOnly) {
      const value = ownValue(logs, this.monitor);
      if (value === undefined) throw new Error(`ModelCheckpoint watches '${this.monitor}', which training does not report (it reports ${Object.keys(logs).join(", ")})`);
      const better = Number.isNaN(this.best) || (this.maximise ? value > this.best : value < this.best);
      if (!better) return;
      this.best = value;
    }
    const path = this.options.path.replace("{epoch}", String(epoch + 1));
    // fit() hands every callback the model it trains, which is always a Model.
    writeFileAtomic(path, encodeCheckpoint(this.model as Model));
    this.saved.push(path);
  }
}

/** One line per epoch with every log entry, through `print` (console.log by default). */
export class ProgressLogger implements Callback {
  private started = 0;
  private epochs = 0;

  constructor(private readonly print: (line: string) => void = console.log) {}

  onTrainBegin(info: { epochs: number }): void {
    this.epochs = info.epochs;
  }

  onEpochBegin(): void {
    this.started = performance.now();
  }

  onEpochEnd(epoch: number, logs: EpochLogs): void {
    const entries = Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  ");
    this.print(`epoch ${epoch + 1}/${this.epochs}  ${entries}  ${((performance.now() - this.started) / 1000).toFixed(1)}s`);
  }
}
