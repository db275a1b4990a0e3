// Training callbacks, with the hooks Keras and TF.js users know.

export type EpochLogs = Record<string, number>;

export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}

export interface Callback {
  /** Called once by fit() before training, for callbacks that act on the model (schedules, early stop). */
  setModel?(model: import("./sequential").Sequential): void;
  onTrainBegin?(info: { epochs: number; batches: number; samples: number }): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  onBatchEnd?(batch: number, logs: { loss: number; size: number }): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>;
  onTrainEnd?(history: History): void | Promise<void>;
}
