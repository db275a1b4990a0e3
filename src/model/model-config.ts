// A model from its JSON form: a graph config ({"inputs", "layers", "outputs"}) or a chain's
// ({"inputShape", "layers"}), as model files and checkpoints hold them.

import type { Kernels } from "../engine/kernels";
import { graphFromConfig, isGraphConfig } from "./graph";
import { Model } from "./model";
import { Sequential } from "./sequential";

export function modelFromConfig(config: unknown, options: { kernels?: Kernels; where?: string; seed?: number } = {}): Model {
  if (!isGraphConfig(config)) return Sequential.fromConfig(config, options);
  const where = options.where ?? "model";
  const graph = graphFromConfig(config, where);
  const model = new Model({ inputs: graph.inputs, outputs: graph.outputs, name: graph.name, seed: options.seed ?? graph.seed, kernels: options.kernels });
  model.build();
  return model;
}
