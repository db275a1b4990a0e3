// TimeDistributed (Keras' wrapper): the wrapped layer applied to every time step of [T, …] on its own, with
// one set of weights. A batch of n sequences is n·T samples of the wrapped layer, already laid out that way
// in memory ([n, T, …] is [n·T, …]), so the wrapper only multiplies the batch: no copies, and the wrapped
// layer's own kernels, gradients and checks do the work. Masks pass through (each step is computed alone).

import type { Heap } from "../engine/heap";
import type { Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import type { ActivationFunction } from "./activation-function";
import { ConfigReader } from "./config-reader";
import { Layer, SingleInputLayer, type ForwardMode, type LayerConfig } from "./layer";

type LayerFactory = (raw: unknown, where: string) => Layer;

export class TimeDistributed extends Layer {
  readonly type = "TimeDistributed";
  readonly arity = 1;

  constructor(readonly layer: SingleInputLayer, options: { name?: string } = {}) {
    super();
    this.name = options.name ?? "";
    if (!(layer instanceof SingleInputLayer)) throw new InputError(`${this.name || "layer"} (TimeDistributed) wraps a layer with one input, got ${(layer as Layer)?.type}`);
  }

  static fromConfig(raw: Record<string, unknown>, where: string, factory: LayerFactory): TimeDistributed {
    const c = new ConfigReader(raw, where, ["layer"]);
    const inner = factory(c.value("layer"), `${where} layer`);
    if (!(inner instanceof SingleInputLayer)) throw new InputError(`${where}: 'layer' must be a layer with one input, got ${inner.type}`);
    return new TimeDistributed(inner, { name: raw.name as string | undefined });
  }

  private get steps(): number {
    return this.inputShape[0];
  }

  outputShapeFor(inputShapes: number[][]): number[] {
    const [shape] = inputShapes;
    if (shape.length < 2) throw new InputError(`${this.name} (TimeDistributed) needs inputs with a time axis and at least one more, shaped [steps, …], got [${shape}]`);
    return [shape[0], ...this.layer.outputShapeFor([shape.slice(1)])];
  }

  override build(inputShapes: number[][], heap: Heap, rng: Rng): void {
    this.layer.name = `${this.name}/${this.layer.name || this.layer.type.toLowerCase()}`;
    const original = this.sharesWeightsOf as TimeDistributed | undefined;
    if (original) this.layer.sharesWeightsOf = original.layer;
    this.layer.build([inputShapes[0].slice(1)], heap, rng);
    super.build(inputShapes, heap, rng);
    this.params.push(...this.layer.params);
  }

  override acceptMasks(masked: boolean[]): boolean {
    return masked[0];
  }

  override get outputActivation(): ActivationFunction | undefined {
    return this.layer.outputActivation;
  }

  allocate(maxBatch: number): void {
    this.layer.allocate(maxBatch * this.steps);
  }

  forwardAll(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer {
    return this.layer.forward(inputs[0], batch * this.steps, mode);
  }

  backwardAll(outputGrad: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    return [this.layer.backward(outputGrad, batch * this.steps, needInputGrad[0])];
  }

  override getState(): number[] {
    return this.layer.getState();
  }

  override setState(state: number[]): void {
    this.layer.setState(state);
  }

  getConfig(): LayerConfig {
    const { name: _name, ...layer } = this.layer.getConfig();
    return { type: this.type, name: this.name, layer };
  }
}
