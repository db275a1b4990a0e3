// Learning-rate schedules as callbacks (Keras' LearningRateScheduler): before each epoch the schedule
// sets the optimizer's rate from the epoch number and the optimizer's configured rate, so a run resumed
// from a checkpoint at epoch k gets the same rate as the uninterrupted run did.

import { InputError } from "../errors";
import { ConfigReader } from "../layers/config-reader";
import type { Callback } from "./callbacks";
import type { Sequential } from "./sequential";

export class LearningRateScheduler implements Callback {
  private model?: Sequential;

  constructor(
    readonly schedule: (epoch: number, initialRate: number) => number,
    readonly description = "a custom learning-rate schedule",
  ) {}

  setModel(model: Sequential): void {
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

export interface ScheduleConfig {
  type: "step";
  /** Multiply the rate by this … */
  factor: number;
  /** … every this many epochs. */
  everyEpochs: number;
}

/** lr · factor^⌊epoch / everyEpochs⌋. */
export function stepDecay(factor: number, everyEpochs = 1): LearningRateScheduler {
  return new LearningRateScheduler(
    (epoch, initial) => initial * factor ** Math.floor(epoch / everyEpochs),
    `lr ×${factor} every ${everyEpochs === 1 ? "epoch" : `${everyEpochs} epochs`}`,
  );
}

export function scheduleFromConfig(raw: unknown, where: string): LearningRateScheduler {
  if (typeof raw !== "object" || raw === null) throw new InputError(`${where}: expected {"type": "step", "factor": 0.5, "everyEpochs": 1}`);
  const c = new ConfigReader(raw as Record<string, unknown>, where, ["factor", "everyEpochs"]);
  c.oneOf("type", ["step"] as const, "step");
  return stepDecay(c.number("factor", { min: 1e-6, max: 1 }), c.int("everyEpochs", { min: 1, max: 1e6, default: 1 }));
}
