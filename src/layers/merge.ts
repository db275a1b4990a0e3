// Layers that join tensors, as Keras has them: Add, Subtract, Multiply, Average, Maximum, Minimum (inputs
// of one shape, element-wise), Concatenate (along one axis) and Dot (per-sample dot products, for
// matrix-factorisation recommenders).
//
// Backward: the plan may overwrite any gradient a layer returns (layer.ts), so no two inputs ever get the
// same buffer: the first may take the output gradient itself, every other gets a copy of its own.

import { ElementOp, type ElementOpCode, type Pointer } from "../engine/kernels";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { Layer, type ForwardMode, type LayerConfig } from "./layer";

/** The fromConfig of a layer whose only option is its name. */
function optionless<T>(make: (options: { name?: string }) => T): (raw: Record<string, unknown>, where: string) => T {
  return (raw, where) => {
    new ConfigReader(raw, where, []);
    return make({ name: raw.name as string | undefined });
  };
}

abstract class MergeLayer extends Layer {
  readonly arity = "many" as const;

  constructor(options: { name?: string } = {}) {
    super();
    this.name = options.name ?? "";
  }

  protected get who(): string {
    return `${this.name || this.type} (${this.type})`;
  }

  getConfig(): LayerConfig {
    return { type: this.type, name: this.name };
  }
}

/** Inputs of one shape, combined element by element. */
abstract class ElementwiseMerge extends MergeLayer {
  protected output: Pointer = 0;
  /** One gradient buffer per input (the first input's is used where dy cannot be handed on). */
  protected inputGrads: Pointer[] = [];

  outputShapeFor(inputShapes: number[][]): number[] {
    const first = inputShapes[0];
    for (const shape of inputShapes) {
      if (shape.join() !== first.join()) {
        throw new InputError(`${this.who} needs inputs of one shape, got [${inputShapes.join("], [")}]`);
      }
    }
    return [...first];
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrads = this.inputShapes.map(() => this.heap.allocFloats(maxBatch * this.outputSize));
  }

  /** y = fold(op, inputs). */
  protected fold(op: ElementOpCode, inputs: Pointer[], count: number): void {
    this.kernels.elementwise(op, inputs[0], inputs[1], this.output, count);
    for (let i = 2; i < inputs.length; i++) this.kernels.elementwise(op, this.output, inputs[i], this.output, count);
  }

  /** Input 0 takes dy·scale in place, every other input a copy of it. */
  protected spread(dy: Pointer, count: number, needInputGrad: boolean[], scale = 1): Pointer[] {
    if (scale !== 1) this.kernels.scale(dy, scale, dy, count);
    return needInputGrad.map((need, i) => {
      if (!need) return 0;
      if (i === 0) return dy;
      this.kernels.scale(dy, 1, this.inputGrads[i], count);
      return this.inputGrads[i];
    });
  }
}

export class Add extends ElementwiseMerge {
  readonly type = "Add";

  static readonly fromConfig = optionless((options) => new Add(options));

  forwardAll(inputs: Pointer[], batch: number): Pointer {
    this.fold(ElementOp.add, inputs, batch * this.outputSize);
    return this.output;
  }

  backwardAll(dy: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    return this.spread(dy, batch * this.outputSize, needInputGrad);
  }
}

export class Subtract extends ElementwiseMerge {
  readonly type = "Subtract";

  static readonly fromConfig = optionless((options) => new Subtract(options));

  override outputShapeFor(inputShapes: number[][]): number[] {
    if (inputShapes.length !== 2) throw new InputError(`${this.who} takes exactly two inputs, got ${inputShapes.length}`);
    return super.outputShapeFor(inputShapes);
  }

  forwardAll(inputs: Pointer[], batch: number): Pointer {
    this.kernels.elementwise(ElementOp.sub, inputs[0], inputs[1], this.output, batch * this.outputSize);
    return this.output;
  }

  backwardAll(dy: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    const count = batch * this.outputSize;
    const second = needInputGrad[1] ? this.inputGrads[1] : 0;
    if (second) this.kernels.scale(dy, -1, second, count);
    return [needInputGrad[0] ? dy : 0, second];
  }
}

export class Average extends ElementwiseMerge {
  readonly type = "Average";

  static readonly fromConfig = optionless((options) => new Average(options));

  forwardAll(inputs: Pointer[], batch: number): Pointer {
    const count = batch * this.outputSize;
    this.fold(ElementOp.add, inputs, count);
    this.kernels.scale(this.output, 1 / inputs.length, this.output, count);
    return this.output;
  }

  backwardAll(dy: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    return this.spread(dy, batch * this.outputSize, needInputGrad, 1 / needInputGrad.length);
  }
}

export class Multiply extends ElementwiseMerge {
  readonly type = "Multiply";
  private inputs: Pointer[] = [];
  /** Products of all inputs but one, for n > 2 inputs. */
  private others: Pointer = 0;

  static readonly fromConfig = optionless((options) => new Multiply(options));

  override allocate(maxBatch: number): void {
    super.allocate(maxBatch);
    this.others = this.inputShapes.length > 2 ? this.heap.allocFloats(maxBatch * this.outputSize) : 0;
  }

  forwardAll(inputs: Pointer[], batch: number): Pointer {
    this.inputs = inputs;
    this.fold(ElementOp.mul, inputs, batch * this.outputSize);
    return this.output;
  }

  /** d/dxᵢ = dy·Π_{j≠i} xⱼ (recomputed, not divided out, so zeros in an input are exact). */
  backwardAll(dy: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    const count = batch * this.outputSize;
    const k = this.kernels;
    return needInputGrad.map((need, i) => {
      if (!need) return 0;
      const dx = this.inputGrads[i];
      if (this.inputs.length === 2) {
        k.elementwise(ElementOp.mul, dy, this.inputs[1 - i], dx, count);
        return dx;
      }
      let started = false;
      this.inputs.forEach((x, j) => {
        if (j === i) return;
        if (!started) k.scale(x, 1, this.others, count);
        else k.elementwise(ElementOp.mul, this.others, x, this.others, count);
        started = true;
      });
      k.elementwise(ElementOp.mul, dy, this.others, dx, count);
      return dx;
    });
  }
}

/** Maximum and Minimum: the winning input of each element takes its gradient (the first one on ties). */
abstract class SelectMerge extends ElementwiseMerge {
  protected abstract readonly op: ElementOpCode;
  private inputs: Pointer[] = [];

  forwardAll(inputs: Pointer[], batch: number): Pointer {
    this.inputs = inputs;
    this.fold(this.op, inputs, batch * this.outputSize);
    return this.output;
  }

  backwardAll(dy: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    const count = batch * this.outputSize;
    // Every input is routed (in order, so ties go to the first) even when its gradient is not wanted.
    return this.inputs.map((x, i) => {
      this.kernels.routeToWinner(x, this.output, dy, this.inputGrads[i], count);
      return needInputGrad[i] ? this.inputGrads[i] : 0;
    });
  }
}

export class Maximum extends SelectMerge {
  readonly type = "Maximum";
  protected readonly op = ElementOp.max;

  static readonly fromConfig = optionless((options) => new Maximum(options));
}

export class Minimum extends SelectMerge {
  readonly type = "Minimum";
  protected readonly op = ElementOp.min;

  static readonly fromConfig = optionless((options) => new Minimum(options));
}

/**
 * Concatenate along one axis. `axis` counts as Keras counts it, with the batch as axis 0: −1 (the
 * default) is the last axis, 1 the first per-sample one. Viewed per sample, each input is `outer` rows of
 * `inner` values (the axis and everything after it), and the output row is the inputs' rows side by side.
 */
export class Concatenate extends MergeLayer {
  readonly type = "Concatenate";
  readonly axis: number;
  private output: Pointer = 0;
  private inputGrads: Pointer[] = [];

  constructor(options: { axis?: number; name?: string } = {}) {
    super(options);
    this.axis = options.axis ?? -1;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Concatenate {
    const c = new ConfigReader(raw, where, ["axis"]);
    return new Concatenate({ axis: c.int("axis", { min: -8, max: 8, default: -1 }), name: raw.name as string | undefined });
  }

  /** The axis within a sample's shape. */
  private sampleAxis(rank: number): number {
    const a = this.axis < 0 ? rank + this.axis : this.axis - 1;
    if (this.axis === 0 || a < 0 || a >= rank) {
      throw new InputError(`${this.who}: axis ${this.axis} is not an axis of inputs shaped [${this.inputShapes[0] ?? []}] (axis 0 is the batch)`);
    }
    return a;
  }

  outputShapeFor(inputShapes: number[][]): number[] {
    const rank = inputShapes[0].length;
    this.inputShapes = inputShapes;
    const a = this.sampleAxis(rank);
    for (const shape of inputShapes) {
      if (shape.length !== rank || shape.some((d, i) => i !== a && d !== inputShapes[0][i])) {
        throw new InputError(`${this.who}: inputs must match except on axis ${this.axis}, got [${inputShapes.join("], [")}]`);
      }
    }
    const out = [...inputShapes[0]];
    out[a] = inputShapes.reduce((s, shape) => s + shape[a], 0);
    return out;
  }

  private layout(batch: number): { rows: number; widths: number[]; total: number } {
    const a = this.sampleAxis(this.outputShape.length);
    const outer = this.outputShape.slice(0, a).reduce((p, d) => p * d, 1);
    const widths = this.inputShapes.map((s) => s.slice(a).reduce((p, d) => p * d, 1));
    return { rows: batch * outer, widths, total: widths.reduce((p, w) => p + w, 0) };
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch * this.outputSize);
    this.inputGrads = this.inputShapes.map((s) => this.heap.allocFloats(maxBatch * s.reduce((p, d) => p * d, 1)));
  }

  forwardAll(inputs: Pointer[], batch: number, _mode: ForwardMode): Pointer {
    const { rows, widths, total } = this.layout(batch);
    let offset = 0;
    inputs.forEach((x, i) => {
      this.kernels.copyRows(x, rows, widths[i], widths[i], this.output + offset * 4, total);
      offset += widths[i];
    });
    return this.output;
  }

  backwardAll(dy: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    const { rows, widths, total } = this.layout(batch);
    let offset = 0;
    return widths.map((w, i) => {
      const at = offset;
      offset += w;
      if (!needInputGrad[i]) return 0;
      this.kernels.copyRows(dy + at * 4, rows, w, total, this.inputGrads[i], w);
      return this.inputGrads[i];
    });
  }

  override getConfig(): LayerConfig {
    return { type: this.type, name: this.name, axis: this.axis };
  }
}

/**
 * Dot of two vectors per sample (Keras' Dot(axes=1) on [batch, d] inputs): y = Σ a·b, shape [1]. The
 * matrix-factorisation recommender's score of a user and an item embedding.
 */
export class Dot extends MergeLayer {
  readonly type = "Dot";
  readonly axes: number;
  private inputs: Pointer[] = [];
  private output: Pointer = 0;
  private inputGrads: Pointer[] = [];

  constructor(options: { axes?: number; normalize?: boolean; name?: string } = {}) {
    super(options);
    this.axes = options.axes ?? -1;
    if (options.normalize) throw new InputError(`${this.who}: normalize (cosine proximity) is not supported; normalise the vectors before the Dot`);
  }

  static fromConfig(raw: Record<string, unknown>, where: string): Dot {
    const c = new ConfigReader(raw, where, ["axes", "normalize"]);
    return new Dot({ axes: c.int("axes", { min: -1, max: 1, default: -1 }), normalize: c.bool("normalize", false), name: raw.name as string | undefined });
  }

  outputShapeFor(inputShapes: number[][]): number[] {
    if (inputShapes.length !== 2) throw new InputError(`${this.who} takes exactly two inputs, got ${inputShapes.length}`);
    const [a, b] = inputShapes;
    if (a.length !== 1 || b.length !== 1 || a[0] !== b[0]) {
      throw new InputError(`${this.who} takes two vectors of one length per sample ([d] and [d]), got [${a}] and [${b}]`);
    }
    if (this.axes !== 1 && this.axes !== -1) throw new InputError(`${this.who}: axes must be 1 (or -1) for vectors`);
    return [1];
  }

  allocate(maxBatch: number): void {
    this.output = this.heap.allocFloats(maxBatch);
    this.inputGrads = this.inputShapes.map((s) => this.heap.allocFloats(maxBatch * s[0]));
  }

  forwardAll(inputs: Pointer[], batch: number): Pointer {
    this.inputs = inputs;
    this.kernels.rowDots(inputs[0], inputs[1], batch, this.inputShapes[0][0], this.output);
    return this.output;
  }

  /** da = dy·b, db = dy·a, per row. */
  backwardAll(dy: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    const d = this.inputShapes[0][0];
    return needInputGrad.map((need, i) => {
      if (!need) return 0;
      this.kernels.scaleRows(this.inputs[1 - i], dy, batch, d, this.inputGrads[i]);
      return this.inputGrads[i];
    });
  }

  override getConfig(): LayerConfig {
    return { type: this.type, name: this.name, axes: this.axes };
  }
}
