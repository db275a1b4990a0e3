// Training callbacks, with the hooks Keras and TF.js users know.

import type { Optimizer } from "../optimizers/optimizer";
import type { Tensor } from "../tensor";

export type EpochLogs = Record<string, number>;

export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}

/** What callbacks may touch of the model being trained. */
export interface TrainableModel {
  /** Set to end fit() after the current epoch (Keras' model.stop_training). */
  stopTraining: boolean;
  readonly optimizer?: Optimizer;
  getWeights(): Tensor[];
  setWeights(weights: (Tensor | Float32Array)[]): void;
}

export interface Callback {
  /** Called once by fit() before training, for callbacks that act on the model (schedules, early stop). */
  setModel?(model: TrainableModel): void;
  onTrainBegin?(info: { epochs: number; batches: number; samples: number }): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  /** Before each training step (per-step schedules); synchronous, as it runs on every batch. */
  onBatchBegin?(batch: number): void;
  onBatchEnd?(batch: number, logs: { loss: number; size: number }): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>;
  onTrainEnd?(history: History): void | Promise<void>;
}
