// How a PyTorch-style module becomes a wasmgrad model: its forward() runs once on symbolic values, and
// every module or function it applies records a layer application, exactly as the functional API does.
// forward() may branch and merge (x + this.shortcut.call(x), F.cat), and a module called twice shares its
// weights. What cannot be recorded is one clear error naming the operation.

import { InputError } from "../errors";
import { Cropping2D } from "../layers/cropping2d";
import { Add, Concatenate, Multiply, Subtract } from "../layers/merge";
import type { Layer } from "../layers/layer";
import { Flatten } from "../layers/flatten";
import { Reshape } from "../layers/reshape";
import { Input, type SymbolicTensor } from "../layers/symbolic";

/** What the traced model's raw outputs are, for the loss and for what forward() returns. */
export type OutputKind = "raw" | "logSoftmax";

export class Trace {
  readonly input: SymbolicTensor;

  constructor(readonly inputShape: number[]) {
    this.input = Input({ shape: inputShape, name: "input" });
  }

  /** Records `layer` applied to values of this trace. */
  apply(from: Value | Value[], layer: Layer, what: string): Value {
    return this.applyAll(from, layer, what)[0];
  }

  /** apply() for layers with several outputs (a recurrent layer's sequence and final states): all of them. */
  applyAll(from: Value | Value[], layer: Layer, what: string): Value[] {
    const values = Array.isArray(from) ? from : [from];
    for (const v of values) {
      if (!(v instanceof Value) || v.trace !== this) throw new InputError(`${what}: its inputs must be values computed inside this forward() from its input`);
      if (v.kind !== "raw") throw new InputError(`${what}: nothing may follow log_softmax; it must be the model's last step`);
    }
    return layer.applyAll(values.map((v) => v.symbolic)).map((t) => new Value(this, t));
  }
}

/** A symbolic tensor inside a traced forward(): only its per-sample shape is known. */
export class Value {
  constructor(readonly trace: Trace, readonly symbolic: SymbolicTensor, readonly kind: OutputKind = "raw") {}

  get shape(): number[] {
    return [...this.symbolic.shape];
  }

  /** x.view(-1, n) / x.view(batch, n): flatten to n features per sample. */
  view(...shape: number[]): Value {
    const size = this.shape.reduce((a, b) => a * b, 1);
    const features = shape[shape.length - 1];
    if (shape.length !== 2 || (features !== size && features !== -1)) {
      throw new InputError(`view(${shape.join(", ")}): only flattening to [batch, ${size}] is supported`);
    }
    return this.flatten();
  }

  flatten(): Value {
    return this.shape.length === 1 ? this : this.trace.apply(this, new Flatten(), "flatten");
  }

  /**
   * x.select(dim, index) (PyTorch's x[:, index] for dim 1): the slice at `index` along a per-sample dim,
   * which disappears; a negative index counts from the end (out.select(1, -1) is a sequence's last step).
   * Recorded as a crop between two free reshapes: [before, size, after] → [before, 1, after].
   */
  select(dim: number, index: number): Value {
    const shape = this.shape, rank = shape.length + 1;
    const d = dim < 0 ? dim + rank : dim;
    if (!Number.isInteger(d) || d < 1 || d >= rank) throw new InputError(`select(${dim}, ${index}): dim must be one of the per-sample dims 1..${rank - 1} (dim 0 is the batch), got ${dim}`);
    if (rank === 2) throw new InputError(`select(${dim}, ${index}): the value is [batch, ${shape[0]}]; selecting from it would leave one number per sample, which has no shape here`);
    const size = shape[d - 1];
    const i = index < 0 ? index + size : index;
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new InputError(`select(${dim}, ${index}): index out of range for dim ${dim} of size ${size}`);
    const before = shape.slice(0, d - 1).reduce((a, b) => a * b, 1), after = shape.slice(d).reduce((a, b) => a * b, 1);
    const grid = this.trace.apply(this, new Reshape({ targetShape: [before, size, after] }), "select");
    const cropped = this.trace.apply(grid, new Cropping2D({ cropping: [[0, 0], [i, size - 1 - i]] }), "select");
    return this.trace.apply(cropped, new Reshape({ targetShape: [...shape.slice(0, d - 1), ...shape.slice(d)] }), "select");
  }

  /** x + y (x.add(y)), element-wise on equal shapes. */
  add(other: Value): Value {
    return this.trace.apply([this, other], new Add(), "add");
  }

  sub(other: Value): Value {
    return this.trace.apply([this, other], new Subtract(), "sub");
  }

  mul(other: Value): Value {
    return this.trace.apply([this, other], new Multiply(), "mul");
  }

  /** The same value marked as log-probabilities (F.log_softmax): it must be what forward() returns. */
  asLogSoftmax(): Value {
    return new Value(this.trace, this.symbolic, "logSoftmax");
  }
}

/**
 * torch.cat(values, dim) over PyTorch's dims: on images ([N, C, H, W] in PyTorch, channels-last here)
 * dim 1 is the channels, our last axis; on flat [N, F] values dim 1 is the features.
 */
export function concatenate(values: Value[], dim: number): Value {
  if (!Array.isArray(values) || values.length < 2) throw new InputError("cat: give a list of two or more values");
  const rank = values[0].shape.length + 1;
  const d = dim < 0 ? dim + rank : dim;
  if (d < 1 || d >= rank) throw new InputError(`cat: dim ${dim} is not one of the per-sample dims 1..${rank - 1} (dim 0 is the batch)`);
  // PyTorch's NCHW dims to our NHWC axes (per sample): C → 2, H → 0, W → 1.
  const axis = rank === 4 ? [2, 0, 1][d - 1] : d - 1;
  return values[0].trace.apply(values, new Concatenate({ axis: axis + 1 }), "cat");
}
