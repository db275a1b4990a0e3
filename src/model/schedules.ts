// Learning-rate schedules as callbacks (Keras' LearningRateScheduler): before each epoch the schedule
// sets the optimizer's rate from the epoch number and the optimizer's configured rate, so a run resumed
// from a checkpoint at epoch k gets the same rate as the uninterrupted run did.

import { ownValue } from "../io/own-keys";
import { InputError, didYouMean } from "../errors";
import { ConfigReader } from "../layers/config-reader";
import { parseMonitor } from "./metrics";
import { describeValue, displayText } from "../io/display";
import type { Callback, TrainableModel } from "./callbacks";

export class LearningRateScheduler implements Callback {
  private model?: TrainableModel;

  constructor(
    readonly schedule: (epoch: number, initialRate: number) => number,
    readonly description = "a custom learning-rate schedule",
  ) {}

  setModel(model: TrainableModel): void {
    this.model = model;
  }

  onEpochBegin(epoch: number): void {
    const optimizer = this.model?.optimizer;
    if (!optimizer) return;
    const rate = this.schedule(epoch, optimizer.initialLearningRate);
    if (!(rate > 0 && Number.isFinite(rate))) throw new InputError(`the learning-rate schedule gave ${rate} for epoch ${epoch + 1}`);
    optimizer.learningRate = rate;
  }
}

/** lr · factor^⌊epoch / everyEpochs⌋. */
export function stepDecay(factor: number, everyEpochs = 1): LearningRateScheduler {
  return new LearningRateScheduler(
    (epoch, initial) => initial * factor ** Math.floor(epoch / everyEpochs),
    `lr ×${factor} every ${everyEpochs === 1 ? "epoch" : `${everyEpochs} epochs`}`,
  );
}

/**
 * Cosine annealing over `epochs` epochs (Keras' CosineDecay, per epoch): from the initial rate down to
 * alpha × it, following half a cosine; after `epochs` it stays at the floor.
 */
export function cosineDecay(epochs: number, alpha = 0): LearningRateScheduler {
  return new LearningRateScheduler((epoch, initial) => {
    const progress = Math.min(epoch, epochs) / epochs;
    return initial * (alpha + (1 - alpha) * 0.5 * (1 + Math.cos(Math.PI * progress)));
  }, `cosine decay over ${epochs} epochs to ${alpha}× the rate`);
}

/**
 * Linear warm-up, then cosine decay, step by step (Keras 3's CosineDecay with warmup_steps, the usual
 * transformer schedule): over the first warmupSteps optimizer steps the rate climbs from rate/warmupSteps
 * to the configured rate, then falls along half a cosine to alpha × it over decaySteps (default: every
 * step left in the run, known when training begins) and stays there. It reads the optimizer's own step
 * count, which checkpoints keep, so a resumed run continues the same curve.
 */
export class WarmupCosineDecay implements Callback {
  private model?: TrainableModel;
  /** Decay steps: decaySteps, or once training begins, the steps left after the warm-up. */
  private steps: number;

  constructor(readonly warmupSteps: number, readonly decaySteps?: number, readonly alpha = 0) {
    this.steps = decaySteps ?? 1;
    for (const [key, value, min] of [["warmupSteps", warmupSteps, 0], ["decaySteps", decaySteps ?? 1, 1]] as const) {
      if (!Number.isInteger(value) || value < min) throw new InputError(`warm-up cosine schedule: ${key} must be an integer ≥ ${min}, got ${value}`);
    }
    if (!(alpha >= 0 && alpha <= 1)) throw new InputError(`warm-up cosine schedule: alpha must be in [0, 1], got ${alpha}`);
  }

  get description(): string {
    return `${this.warmupSteps} warm-up steps, then cosine decay to ${this.alpha}× the rate`;
  }

  setModel(model: TrainableModel): void {
    this.model = model;
  }

  onTrainBegin(info: { epochs: number; batches: number }): void {
    this.steps = this.decaySteps ?? Math.max(1, info.epochs * info.batches - this.warmupSteps);
  }

  /** The rate at optimizer step `step` (0-based) for a peak rate `peak`. */
  rateAt(step: number, peak: number): number {
    if (step < this.warmupSteps) return (peak * (step + 1)) / this.warmupSteps;
    const progress = Math.min(step - this.warmupSteps, this.steps) / this.steps;
    return peak * (this.alpha + (1 - this.alpha) * 0.5 * (1 + Math.cos(Math.PI * progress)));
  }

  onBatchBegin(): void {
    const optimizer = this.model?.optimizer;
    if (!optimizer) return;
    optimizer.learningRate = Math.max(this.rateAt(optimizer.iterations, optimizer.initialLearningRate), Number.MIN_VALUE);
  }
}

export interface ReduceOnPlateauOptions {
  monitor?: string;
  factor?: number;
  patience?: number;
  minDelta?: number;
  minLearningRate?: number;
  cooldown?: number;
  mode?: "min" | "max" | "auto";
}

/**
 * Keras' ReduceLROnPlateau: when `monitor` has not improved by minDelta for `patience` epochs, multiply
 * the rate by `factor` (not below minLearningRate), then wait `cooldown` epochs before counting again.
 */
export class ReduceLearningRateOnPlateau implements Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly minLearningRate: number;
  readonly cooldown: number;
  readonly mode: "min" | "max";
  readonly description: string;
  private model?: TrainableModel;
  private best = NaN;
  private wait = 0;
  private cooldownLeft = 0;
  /** Epochs (0-based) after which the rate was cut, for reports and tests. */
  readonly reductions: number[] = [];

  constructor(options: ReduceOnPlateauOptions = {}) {
    this.monitor = options.monitor ?? "val_loss";
    this.factor = options.factor ?? 0.1;
    if (!(this.factor > 0 && this.factor < 1)) throw new InputError(`ReduceLearningRateOnPlateau: factor must be between 0 and 1, got ${this.factor}`);
    this.patience = options.patience ?? 10;
    this.minDelta = options.minDelta ?? 1e-4;
    this.minLearningRate = options.minLearningRate ?? 0;
    this.cooldown = options.cooldown ?? 0;
    const mode = options.mode ?? "auto";
    this.mode = mode === "auto" ? (/acc|precision|recall|f1/.test(this.monitor) ? "max" : "min") : mode;
    this.description = `lr ×${this.factor} after ${this.patience} epoch(s) without ${this.monitor} improving`;
  }

  setModel(model: TrainableModel): void {
    this.model = model;
  }

  onEpochEnd(epoch: number, logs: Record<string, number>): void {
    const value = ownValue(logs, this.monitor);
    if (value === undefined) {
      throw new InputError(`ReduceLearningRateOnPlateau watches '${this.monitor}', which training does not report (it reports ${Object.keys(logs).join(", ")})`);
    }
    // Keras' order: count the cooldown down first, then either record an improvement or, outside the
    // cooldown, count a stale epoch.
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.wait = 0;
    }
    const improved = Number.isNaN(this.best) || (this.mode === "min" ? value < this.best - this.minDelta : value > this.best + this.minDelta);
    if (improved) {
      this.best = value;
      this.wait = 0;
      return;
    }
    if (this.cooldownLeft > 0) return;
    if (++this.wait < this.patience) return;
    const optimizer = this.model?.optimizer;
    if (optimizer && optimizer.learningRate > this.minLearningRate) {
      optimizer.learningRate = Math.max(optimizer.learningRate * this.factor, this.minLearningRate);
      this.reductions.push(epoch);
    }
    this.wait = 0;
    this.cooldownLeft = this.cooldown;
  }
}

export type Schedule = LearningRateScheduler | ReduceLearningRateOnPlateau | WarmupCosineDecay;

/**
 * A schedule from a model file's recipe:
 *   {"type": "step", "factor": 0.5, "everyEpochs": 1}
 *   {"type": "cosine", "epochs": 10, "alpha": 0}
 *   {"type": "plateau", "monitor": "val_loss", "factor": 0.5, "patience": 2, "minDelta": 1e-4, "minLearningRate": 0, "cooldown": 0}
 *   {"type": "warmupCosine", "warmupSteps": 200, "decaySteps": 5000, "alpha": 0}   (decaySteps: default the rest of the run)
 */
export function scheduleFromConfig(raw: unknown, where: string): Schedule {
  if (typeof raw !== "object" || raw === null) throw new InputError(`${where}: expected {"type": "step", "factor": 0.5, "everyEpochs": 1} (or type "cosine" or "plateau")`);
  const config = raw as Record<string, unknown>;
  const types = ["step", "cosine", "plateau", "warmupCosine"];
  if (config.type !== undefined && typeof config.type !== "string") throw new InputError(`${where}: "type" must be one of ${types.join(", ")}, not ${describeValue(config.type)}`);
  const type = config.type ?? "step";
  if (!types.includes(type)) throw new InputError(`${where}: unknown schedule type '${displayText(type)}'${didYouMean(type, types)}`);
  if (type === "cosine") {
    const c = new ConfigReader(config, where, ["epochs", "alpha"]);
    return cosineDecay(c.int("epochs", { min: 1, max: 1e6 }), c.number("alpha", { min: 0, max: 1, default: 0 }));
  }
  if (type === "warmupCosine") {
    const c = new ConfigReader(config, where, ["warmupSteps", "decaySteps", "alpha"]);
    return new WarmupCosineDecay(
      c.int("warmupSteps", { min: 0, max: 1e9, default: 0 }),
      c.has("decaySteps") ? c.int("decaySteps", { min: 1, max: 1e9 }) : undefined,
      c.number("alpha", { min: 0, max: 1, default: 0 }),
    );
  }
  if (type === "plateau") {
    const c = new ConfigReader(config, where, ["monitor", "factor", "patience", "minDelta", "minLearningRate", "cooldown"]);
    return new ReduceLearningRateOnPlateau({
      monitor: parseMonitor(c.string("monitor", "val_loss"), `${where} monitor`),
      factor: c.number("factor", { min: 1e-6, max: 0.999, default: 0.1 }),
      patience: c.int("patience", { min: 0, max: 1e6, default: 10 }),
      minDelta: c.number("minDelta", { min: 0, max: 1e6, default: 1e-4 }),
      minLearningRate: c.number("minLearningRate", { min: 0, max: 10, default: 0 }),
      cooldown: c.int("cooldown", { min: 0, max: 1e6, default: 0 }),
    });
  }
  const c = new ConfigReader(config, where, ["factor", "everyEpochs"]);
  return stepDecay(c.number("factor", { min: 1e-6, max: 1 }), c.int("everyEpochs", { min: 1, max: 1e6, default: 1 }));
}
