// Bidirectional (Keras' Bidirectional wrapper; PyTorch's bidirectional=True): the wrapped recurrent layer
// runs forwards and a copy of it runs backwards over the same sequence, and their outputs merge by
// mergeMode — concat (default, [.., 2u], forwards first, as PyTorch lays it), sum, ave or mul. With
// returnSequences, the backward layer's outputs are put back in time order first, so position t of both
// halves describes input step t. With returnState the outputs are [merged, forward states…, backward
// states…]; initial states, as inputs, are the forward layer's then the backward layer's.
//
// The two layers are ordinary RecurrentLayers with parameters of their own ("<name>/forward/kernel", …);
// this layer only routes values and gradients between them and the merge.

import type { Heap } from "../engine/heap";
import { ElementOp, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { Layer, type ForwardMode, type LayerConfig } from "./layer";
import { RecurrentLayer } from "./recurrent";

export const MERGE_MODES = ["concat", "sum", "ave", "mul"] as const;
export type MergeMode = (typeof MERGE_MODES)[number];

export interface BidirectionalOptions {
  /** The recurrent layer to run both ways (its goBackwards is flipped for the backward copy). */
  layer: RecurrentLayer;
  mergeMode?: MergeMode;
  name?: string;
}

type LayerFactory = (raw: unknown, where: string) => Layer;
/** What each recurrent layer class has: SimpleRNN, LSTM, GRU. */
type RecurrentClass = { fromConfig(raw: Record<string, unknown>, where: string): RecurrentLayer };

export class Bidirectional extends Layer {
  readonly type = "Bidirectional";
  readonly forwardLayer: RecurrentLayer;
  readonly backwardLayer: RecurrentLayer;
  readonly mergeMode: MergeMode;
  private output: Pointer = 0;
  /** The backward layer's sequence output in time order (sum, ave, mul), [n, T, u]. */
  private aligned: Pointer = 0;
  /** The two halves' output gradients, [n, (T,) u] each. */
  private forwardGrad: Pointer = 0;
  private backwardGrad: Pointer = 0;
  /** The forward layer's last output (mul's backward reads it). */
  private forwardValue: Pointer = 0;

  constructor(options: BidirectionalOptions) {
    super();
    this.name = options.name ?? "";
    const inner = options.layer;
    if (!(inner instanceof RecurrentLayer)) throw new InputError(`${this.name || "layer"} (Bidirectional) wraps a recurrent layer (SimpleRNN, LSTM, GRU)`);
    this.mergeMode = options.mergeMode ?? "concat";
    if (!MERGE_MODES.includes(this.mergeMode)) throw new InputError(`${this.name || "layer"} (Bidirectional): mergeMode must be one of ${MERGE_MODES.join(", ")}, got '${this.mergeMode}'`);
    this.forwardLayer = inner;
    // The backward copy: the same options with goBackwards flipped, weights of its own.
    const config = { ...inner.getConfig(), goBackwards: !inner.goBackwards };
    this.backwardLayer = (inner.constructor as unknown as RecurrentClass).fromConfig(config, `${this.name} (Bidirectional) backward layer`);
  }

  static fromConfig(raw: Record<string, unknown>, where: string, factory: LayerFactory): Bidirectional {
    const c = new ConfigReader(raw, where, ["layer", "mergeMode"]);
    const inner = factory(c.value("layer"), `${where} layer`);
    if (!(inner instanceof RecurrentLayer)) throw new InputError(`${where}: 'layer' must be a recurrent layer (SimpleRNN, LSTM, GRU), got ${inner.type}`);
    return new Bidirectional({ layer: inner, mergeMode: c.oneOf("mergeMode", MERGE_MODES, "concat"), name: raw.name as string | undefined });
  }

  private get halves(): RecurrentLayer[] {
    return [this.forwardLayer, this.backwardLayer];
  }

  get arity(): { min: number; max: number } {
    return { min: 1, max: 1 + 2 * (this.forwardLayer.arity.max - 1) };
  }

  private get stateCount(): number {
    return this.forwardLayer.arity.max - 1;
  }

  outputShapeFor(inputShapes: number[][]): number[] {
    return this.outputShapesFor(inputShapes)[0];
  }

  override outputShapesFor(inputShapes: number[][]): number[][] {
    const [sequence, ...initial] = inputShapes;
    if (initial.length > 0 && initial.length !== 2 * this.stateCount) {
      throw new InputError(`${this.name} (Bidirectional) takes ${2 * this.stateCount} initial states after the sequence (the forward layer's, then the backward layer's), got ${initial.length}`);
    }
    const forward = this.forwardLayer.outputShapesFor([sequence, ...initial.slice(0, this.stateCount)]);
    const backward = this.backwardLayer.outputShapesFor([sequence, ...initial.slice(this.stateCount)]);
    const merged = [...forward[0]];
    if (this.mergeMode === "concat") merged[merged.length - 1] *= 2;
    return [merged, ...forward.slice(1), ...backward.slice(1)];
  }

  override build(inputShapes: number[][], heap: Heap, rng: Rng): void {
    const original = this.sharesWeightsOf as Bidirectional | undefined;
    const [sequence, ...initial] = inputShapes;
    this.halves.forEach((half, i) => {
      half.name = `${this.name}/${i === 0 ? "forward" : "backward"}`;
      if (original) half.sharesWeightsOf = original.halves[i];
      half.build([sequence, ...initial.slice(i * this.stateCount, (i + 1) * this.stateCount)], heap, rng);
    });
    super.build(inputShapes, heap, rng);
    this.params.push(...this.forwardLayer.params, ...this.backwardLayer.params);
  }

  override acceptMasks(masked: boolean[]): boolean {
    const [sequence, ...initial] = masked;
    const out = this.halves.map((half, i) => half.acceptMasks([sequence, ...initial.slice(i * this.stateCount, (i + 1) * this.stateCount)]));
    return out[0];
  }

  /** The forward layer's output mask: the input's, in time order. */
  override outputMask(): Pointer {
    return this.forwardLayer.outputMask();
  }

  private get sequenceSteps(): number {
    return this.forwardLayer.returnSequences ? this.inputShape[0] : 1;
  }

  allocate(maxBatch: number): void {
    for (const half of this.halves) half.allocate(maxBatch);
    const half = maxBatch * this.sequenceSteps * this.forwardLayer.units;
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.aligned = this.mergeMode === "concat" ? 0 : this.heap.allocFloats(half);
    this.forwardGrad = this.heap.allocFloats(half);
    this.backwardGrad = this.heap.allocFloats(half);
  }

  forwardAll(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer {
    return this.forwardOutputs(inputs, batch, mode)[0];
  }

  override forwardOutputs(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer[] {
    const [x, ...initial] = inputs;
    const results = this.halves.map((half, i) => {
      half.inputMasks = [this.inputMasks[0] ?? 0];
      return half.forwardOutputs([x, ...initial.slice(i * this.stateCount, (i + 1) * this.stateCount)], batch, mode);
    });
    const [f, b] = results.map((r) => r[0]);
    this.forwardValue = f;
    const k = this.kernels, u = this.forwardLayer.units, T = this.sequenceSteps, rows = batch * T;
    if (this.mergeMode === "concat") {
      k.copyRows(f, rows, u, u, this.output, 2 * u);
      this.alignBackward(b, batch, this.output + 4 * u, 2 * u);
    } else {
      this.alignBackward(b, batch, this.aligned, u);
      const op = this.mergeMode === "mul" ? ElementOp.mul : ElementOp.add;
      k.elementwise(op, f, this.aligned, this.output, rows * u);
      if (this.mergeMode === "ave") k.scale(this.output, 0.5, this.output, rows * u);
    }
    return [this.output, ...results[0].slice(1), ...results[1].slice(1)];
  }

  /**
   * The backward layer's [n, T, u] output, in its processing order, into time order at dst (row stride
   * `stride` floats): its step s is input step T − 1 − s. Without sequences it is one step: a plain copy.
   */
  private alignBackward(src: Pointer, batch: number, dst: Pointer, stride: number): void {
    const u = this.forwardLayer.units, T = this.sequenceSteps;
    for (let s = 0; s < T; s++) this.kernels.copyRows(src + 4 * s * u, batch, u, T * u, dst + 4 * (T - 1 - s) * stride, T * stride);
  }

  backwardAll(outputGrad: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    return this.backwardOutputs([outputGrad], batch, needInputGrad);
  }

  override backwardOutputs(outputGrads: Pointer[], batch: number, needInputGrad: boolean[]): Pointer[] {
    const [dOut, ...stateGrads] = outputGrads;
    const k = this.kernels, u = this.forwardLayer.units, T = this.sequenceSteps, rows = batch * T, count = rows * u;
    const [df, db] = [this.forwardGrad, this.backwardGrad];
    if (dOut === 0) {
      new Float32Array(k.memory.buffer, df, count).fill(0);
      new Float32Array(k.memory.buffer, db, count).fill(0);
    } else if (this.mergeMode === "concat") {
      k.copyRows(dOut, rows, u, 2 * u, df, u);
      this.unalign(dOut + 4 * u, 2 * u, batch, db);
    } else {
      // sum and ave: both halves get dOut (halved); mul: each gets dOut times the other half's output.
      if (this.mergeMode === "mul") {
        k.elementwise(ElementOp.mul, dOut, this.aligned, df, count);
        k.elementwise(ElementOp.mul, dOut, this.forwardValue, this.aligned, count);
        this.unalign(this.aligned, u, batch, db);
      } else {
        k.scale(dOut, this.mergeMode === "ave" ? 0.5 : 1, df, count);
        this.unalign(df, u, batch, db);
      }
    }
    const sc = this.stateCount;
    const needs = (i: number) => [needInputGrad[0], ...needInputGrad.slice(1 + i * sc, 1 + (i + 1) * sc)];
    const [gf, gb] = this.halves.map((half, i) => half.backwardOutputs([i === 0 ? df : db, ...stateGrads.slice(i * sc, (i + 1) * sc)], batch, needs(i)));
    if (needInputGrad[0]) k.axpy(batch * this.inputSize, 1, gb[0], gf[0]);
    return [needInputGrad[0] ? gf[0] : 0, ...gf.slice(1), ...gb.slice(1)];
  }

  /** Inverse of alignBackward: time-ordered rows at src (stride `stride`) into processing order at dst [n, T, u]. */
  private unalign(src: Pointer, stride: number, batch: number, dst: Pointer): void {
    const u = this.forwardLayer.units, T = this.sequenceSteps;
    for (let s = 0; s < T; s++) this.kernels.copyRows(src + 4 * (T - 1 - s) * stride, batch, u, T * stride, dst + 4 * s * u, T * u);
  }

  override getState(): number[] {
    return this.halves.flatMap((half) => half.getState());
  }

  override setState(state: number[]): void {
    const split = this.forwardLayer.getState().length;
    this.forwardLayer.setState(state.slice(0, split));
    this.backwardLayer.setState(state.slice(split));
  }

  getConfig(): LayerConfig {
    const { name: _name, ...layer } = this.forwardLayer.getConfig();
    return { type: this.type, name: this.name, layer, mergeMode: this.mergeMode };
  }
}
