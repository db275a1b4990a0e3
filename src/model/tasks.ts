// The three things a model can learn from a target, and what each asks of the model's last layer and loss:
//   binary      two classes: one sigmoid unit, binary cross-entropy (the output is P(second class));
//   multiclass  k > 2 classes: k softmax units, sparse categorical cross-entropy (multinomial logistic
//               regression when there is no hidden layer);
//   regression  a number: one linear unit, mean squared error.
// Model files may leave the head to the task with the words "outputs" (units), "task" (activation, loss
// and metrics); a file with a fixed loss serves the tasks that loss can learn (tasksOfLoss).

import { InputError } from "../errors";
import type { LossSpec } from "./losses";
import type { MetricName } from "./metrics";

export const TASKS = ["binary", "multiclass", "regression"] as const;
export type Task = (typeof TASKS)[number];

export interface TaskHead {
  /** Units of the last layer. */
  units: number;
  activation: "sigmoid" | "softmax" | "linear";
  loss: LossSpec;
  metrics: MetricName[];
}

/** The head a task needs; `classes` counts the classes of a classification target. */
export function headFor(task: Task, classes?: number): TaskHead {
  if (task === "binary") return { units: 1, activation: "sigmoid", loss: { type: "binaryCrossentropy" }, metrics: ["accuracy", "precision", "recall", "f1"] };
  if (task === "regression") return { units: 1, activation: "linear", loss: { type: "meanSquaredError" }, metrics: ["mae", "rmse", "r2"] };
  if (classes === undefined || !(classes >= 2)) throw new InputError(`a multiclass head needs the number of classes (got ${String(classes)})`);
  return { units: classes, activation: "softmax", loss: { type: "sparseCategoricalCrossentropy" }, metrics: ["accuracy"] };
}

/**
 * The tasks a fixed loss can learn: binary cross-entropy two classes; the categorical ones classes, two
 * or more (softmax over two units is a binary classifier too); mean squared error numbers.
 */
export function tasksOfLoss(loss: LossSpec | string): Task[] {
  const type = (typeof loss === "string" ? loss : loss.type).toLowerCase().replace(/_/g, "");
  if (type === "binarycrossentropy") return ["binary"];
  if (type === "sparsecategoricalcrossentropy" || type === "categoricalcrossentropy") return ["binary", "multiclass"];
  return ["regression"];
}

export function isTask(value: unknown): value is Task {
  return typeof value === "string" && (TASKS as readonly string[]).includes(value);
}

/** How a task reads in messages: "binary (2 classes)", "multiclass (3 classes)", "regression". */
export function describeTask(task: Task, classes?: number): string {
  return task === "regression" ? "regression" : `${task} (${classes ?? 2} classes)`;
}
