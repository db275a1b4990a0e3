// Sequential: a stack of layers (Keras' Sequential, TF.js' tf.sequential) — the chain case of Model. It
// only adds add() and the chain's JSON form, {"inputShape", "layers"}, which model files and every
// checkpoint written before models became graphs use.

import type { Kernels } from "../engine/kernels";
import { InputError } from "../errors";
import type { Layer, LayerConfig } from "../layers/layer";
import { layerFromConfig } from "../layers/registry";
import type { Tensor } from "../tensor";
import { chainGraph, type GraphDefinition } from "./graph";
import { Model, configOf } from "./model";
import type { ModelInputs } from "./model-data";

export interface SequentialOptions {
  layers?: Layer[];
  /** Per-sample input shape, e.g. [28, 28, 1]. */
  inputShape?: number[];
  /** Seeds initial weights, shuffling and dropout: the same seed gives the same run. */
  seed?: number;
  name?: string;
  /** Kernel instance to run on (default: a fresh WebAssembly SIMD instance; tests pass the reference). */
  kernels?: Kernels;
}

export interface SequentialConfig {
  name: string;
  inputShape: number[];
  seed: number;
  layers: LayerConfig[];
}

/** @deprecated the old name of SequentialConfig. */
export type ModelConfig = SequentialConfig;

export class Sequential extends Model {
  private declaredInputShape?: number[];

  constructor(options: SequentialOptions = {}) {
    super(undefined, { name: options.name ?? "sequential", seed: options.seed, kernels: options.kernels });
    this.declaredInputShape = options.inputShape;
    for (const layer of options.layers ?? []) this.add(layer);
  }

  static fromConfig(config: unknown, options: { kernels?: Kernels; where?: string; seed?: number } = {}): Sequential {
    const where = options.where ?? "model";
    if (typeof config !== "object" || config === null) throw new InputError(`${where}: expected a JSON object with "inputShape" and "layers"`);
    const c = config as Partial<SequentialConfig> & Record<string, unknown>;
    if (!Array.isArray(c.inputShape) || c.inputShape.length === 0 || !c.inputShape.every((d) => Number.isInteger(d) && d >= 1 && d <= 1 << 20)) {
      throw new InputError(`${where}: "inputShape" must be a list of positive integers such as [28, 28, 1]`);
    }
    if (!Array.isArray(c.layers) || c.layers.length === 0) throw new InputError(`${where}: "layers" must be a non-empty list`);
    const seed = options.seed ?? (typeof c.seed === "number" ? c.seed : undefined);
    const model = new Sequential({ name: typeof c.name === "string" ? c.name : undefined, inputShape: c.inputShape, seed, kernels: options.kernels });
    c.layers.forEach((raw, i) => model.add(layerFromConfig(raw, `${where} layers[${i}]`)));
    model.build();
    return model;
  }

  add(layer: Layer): this {
    if (this.built) throw new Error("cannot add layers to a model that is already built");
    this.layers.push(layer);
    return this;
  }

  override get inputShape(): number[] | undefined {
    return this.declaredInputShape;
  }

  protected override defineGraph(): GraphDefinition {
    if (!this.declaredInputShape) throw new InputError("the model needs an inputShape (per sample, e.g. [28, 28, 1]) before it can be built");
    if (this.layers.length === 0) throw new InputError("the model has no layers");
    return chainGraph(this.declaredInputShape, this.layers);
  }

  /** Builds for `inputShape` when the constructor was given none. */
  override build(inputShape?: number[]): void {
    if (this.built) return;
    if (inputShape) this.declaredInputShape = inputShape;
    super.build();
  }

  override predict(x: ModelInputs, options: { batchSize?: number } = {}): Tensor {
    return this.predictAll(x, options)[0];
  }

  override toConfig(): SequentialConfig {
    this.build();
    return { name: this.name, inputShape: this.declaredInputShape!, seed: this.seed, layers: this.layers.map(configOf) };
  }
}
