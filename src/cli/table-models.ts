// How the CLI fits a model to a table (unless --no-normalize):
//  - a Normalization layer in front of a chain that has none, adapted to the training rows: each numeric
//    feature gets their mean and variance; one-hot features pass through unscaled (mean 0, variance 1), so
//    they stay 0/1 indicators;
//  - for a regression, a Normalization layer with invert after the last layer, adapted to the training
//    targets: the network predicts standardised values and its outputs are in the target's units. The loss
//    is then weighted by 1/variance, so the training objective is the squared error in standardised units
//    and a learning rate means the same whatever the target's scale (SGD at 0.1 on a target in the
//    thousands would otherwise diverge); the fit's MAE, RMSE and R² stay in the target's units;
//  - for a model small enough to read (linear or logistic regression), its coefficients back in the
//    columns' own units.
// The statistics are layer state, kept in the checkpoint: eval, predict and the exported ONNX model take
// raw rows, standardise them and give answers in the target's units themselves.

import { InputError } from "../errors";
import { displayText } from "../io/display";
import { Dense } from "../layers/dense";
import { featureMoments, Normalization } from "../layers/normalization";
import type { Model } from "../model/model";
import type { ModelFile } from "../model/model-file";
import type { TablePreprocessing } from "../data/table-dataset";
import { encodedNames, oneHotFeatures } from "../data/table-dataset";
import type { Split } from "./training-data";
import type { Task } from "../model/tasks";

const isNormalization = (layer: unknown, invert = false) =>
  typeof layer === "object" && layer !== null && (layer as { type?: unknown }).type === "Normalization" && ((layer as { invert?: unknown }).invert === true) === invert;

/**
 * The model file with a Normalization layer first, for a chain that does not start with one, and for a
 * regression an inverted one last; a graph is left as it is (its own Normalization layers on an input are
 * adapted). Says what it could not do.
 */
export function withTableNormalization(file: ModelFile, task: Task): { file: ModelFile; note?: string } {
  if (file.inputs !== undefined) {
    const has = file.layers.some((l) => isNormalization(l));
    return { file, note: has ? undefined : `note: the features are not standardised: ${displayText(file.name)} is a graph; put a Normalization layer on its input to standardise them` };
  }
  const first = isNormalization(file.layers[0]) ? [] : [{ type: "Normalization" }];
  const last = task === "regression" && !isNormalization(file.layers[file.layers.length - 1], true) ? [{ type: "Normalization", invert: true }] : [];
  return { file: { ...file, layers: [...first, ...file.layers, ...last] } };
}

/** The model's last layer when it is an inverted Normalization (a regression's target scale). */
export function targetScaling(model: Model): Normalization | undefined {
  const last = model.layers[model.layers.length - 1];
  return last instanceof Normalization && last.invert ? last : undefined;
}

/**
 * Adapts every Normalization layer that reads a model input to the training split: a table's numeric
 * features standardised, its one-hot features left as they are. Returns how many were adapted.
 */
export function adaptInputNormalization(model: Model, train: Split, table: TablePreprocessing | undefined): number {
  const plan = model.executionPlan;
  let adapted = 0;
  for (const step of plan.steps) {
    if (!(step.layer instanceof Normalization) || step.layer.invert || step.inputs[0] >= plan.inputCount) continue;
    const layer = step.layer;
    if (table) {
      const width = layer.features;
      if (train.shape.join() !== String(width)) throw new InputError(`${layer.name} (Normalization) reads [${layer.inputShape}], but the table's rows have ${train.shape} features`);
      const { mean, variance } = featureMoments(train.x, width);
      oneHotFeatures(table.columns).forEach((oneHot, i) => {
        if (oneHot) [mean[i], variance[i]] = [0, 1];
      });
      layer.setStatistics(mean, variance);
    } else layer.adapt(train.x);
    adapted++;
  }
  return adapted;
}

/**
 * A regression's target scale adapted to the training targets; returns the loss weight, 1/variance, that
 * makes the objective the squared error in standardised units (undefined when the model has no such layer).
 */
export function adaptTargetScaling(model: Model, train: Split): number | undefined {
  const layer = targetScaling(model);
  if (!layer) return undefined;
  layer.adapt(train.values!, 1);
  return 1 / layer.variance[0];
}

/**
 * For [Normalization, Dense] (linear or logistic regression on standardised features), and for a
 * regression [Normalization, Dense, inverted Normalization], the Dense layer's weights in the columns' and
 * the target's own units: w·s/σ, and s·(b − Σ w·μ/σ) + m with the target's s and m (1 and 0 when it is not
 * scaled). One line per output, as a formula; undefined for any other model.
 */
export function rawCoefficients(model: Model, table: TablePreprocessing): string[] | undefined {
  const [norm, dense, target] = model.layers;
  const scaled = target instanceof Normalization && target.invert;
  if (model.layers.length !== (scaled ? 3 : 2) || !(norm instanceof Normalization) || norm.invert || !(dense instanceof Dense)) return undefined;
  const weights = model.getWeights();
  const kernel = weights[0].data, bias = dense.bias ? weights[1].data : new Float32Array(dense.units);
  const names = encodedNames(table.columns);
  const units = dense.units;
  return Array.from({ length: units }, (_, j) => {
    const s = scaled ? Math.sqrt(target.variance[j]) : 1, m = scaled ? target.mean[j] : 0;
    let intercept = bias[j] * s + m;
    const terms = names.map((name, i) => {
      const std = Math.sqrt(norm.variance[i]);
      const w = (kernel[i * units + j] * s) / std;
      intercept -= w * norm.mean[i];
      return `${w < 0 ? "− " : "+ "}${Math.abs(w).toFixed(4)}·${name}`;
    });
    const formula = `${intercept.toFixed(4)} ${terms.join(" ")}`;
    const classes = table.classNames;
    const what = table.task === "regression" ? `'${displayText(table.target)}'` : units === 1 ? `logit P('${displayText(table.target)}' = ${displayText(classes![1], 30)})` : `score of ${displayText(classes![j], 30)}`;
    return `in the columns' units: ${what} = ${formula}`;
  });
}
