// Optimizers by name, for model files, checkpoints and the CLI's --optimizer.

import { InputError, didYouMean } from "../errors";
import { ConfigReader } from "../layers/config-reader";
import { Adam } from "./adam";
import { AdamW } from "./adamw";
import type { Optimizer } from "./optimizer";
import { RMSprop } from "./rmsprop";
import { SGD } from "./sgd";

export const OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop"] as const;

export function optimizerFromConfig(raw: unknown, where = "optimizer"): Optimizer {
  const config = typeof raw === "string" ? { type: raw } : raw;
  if (typeof config !== "object" || config === null || typeof (config as { type?: unknown }).type !== "string") {
    throw new InputError(`${where}: expected a name like "adam" or an object like {"type": "sgd", "learningRate": 0.01}`);
  }
  const { type, ...rest } = config as { type: string } & Record<string, unknown>;
  const name = type.toLowerCase();
  const lr = { min: 1e-12, max: 100 };
  const { globalClipNorm, ...options } = rest;
  const optimizer = build(name, type, options, where, lr);
  if (globalClipNorm !== undefined) {
    optimizer.globalClipNorm = new ConfigReader({ type, globalClipNorm }, where, ["globalClipNorm"]).number("globalClipNorm", { min: 1e-12, max: 1e12 });
  }
  return optimizer;
}

function build(name: string, type: string, rest: Record<string, unknown>, where: string, lr: { min: number; max: number }): Optimizer {
  if (name === "sgd") {
    const c = new ConfigReader({ type, ...rest }, where, ["learningRate", "momentum", "nesterov"]);
    return new SGD({ learningRate: c.number("learningRate", { ...lr, default: 0.01 }), momentum: c.number("momentum", { min: 0, max: 0.9999, default: 0 }), nesterov: c.bool("nesterov", false) });
  }
  if (name === "adamw") {
    const c = new ConfigReader({ type, ...rest }, where, ["learningRate", "beta1", "beta2", "epsilon", "epsilonAfterCorrection", "weightDecay", "excludeFromWeightDecay"]);
    const excluded = c.value("excludeFromWeightDecay") ?? [];
    if (!Array.isArray(excluded) || !excluded.every((w) => typeof w === "string" && w !== "")) {
      throw new InputError(`${where}: 'excludeFromWeightDecay' must be a list of words found in parameter names, such as ["bias", "gamma", "beta"]`);
    }
    return new AdamW({
      excludeFromWeightDecay: excluded as string[],
      learningRate: c.number("learningRate", { ...lr, default: 0.001 }),
      beta1: c.number("beta1", { min: 0, max: 0.9999999, default: 0.9 }),
      beta2: c.number("beta2", { min: 0, max: 0.9999999, default: 0.999 }),
      epsilon: c.number("epsilon", { min: 0, max: 1, default: 1e-7 }),
      epsilonAfterCorrection: c.bool("epsilonAfterCorrection", false),
      weightDecay: c.number("weightDecay", { min: 0, max: 1, default: 0.004 }),
    });
  }
  if (name === "adam") {
    const c = new ConfigReader({ type, ...rest }, where, ["learningRate", "beta1", "beta2", "epsilon", "epsilonAfterCorrection"]);
    return new Adam({
      learningRate: c.number("learningRate", { ...lr, default: 0.001 }),
      beta1: c.number("beta1", { min: 0, max: 0.9999999, default: 0.9 }),
      beta2: c.number("beta2", { min: 0, max: 0.9999999, default: 0.999 }),
      epsilon: c.number("epsilon", { min: 0, max: 1, default: 1e-7 }),
      epsilonAfterCorrection: c.bool("epsilonAfterCorrection", false),
    });
  }
  if (name === "rmsprop") {
    const c = new ConfigReader({ type, ...rest }, where, ["learningRate", "rho", "epsilon"]);
    return new RMSprop({
      learningRate: c.number("learningRate", { ...lr, default: 0.001 }),
      rho: c.number("rho", { min: 0, max: 0.9999999, default: 0.9 }),
      epsilon: c.number("epsilon", { min: 0, max: 1, default: 1e-7 }),
    });
  }
  throw new InputError(`${where}: unknown optimizer '${type}'${didYouMean(type, OPTIMIZERS)}`);
}
