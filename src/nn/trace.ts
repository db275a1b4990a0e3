// How a PyTorch-style module becomes a wasmgrad model: its forward() is run once on a symbolic value, and
// every module or function it applies appends a layer. Modules whose forward is a chain (each step
// consumes the previous step's result — MLPs and CNNs) trace completely; a second use of an older value
// (a branch, a skip connection) is refused with a clear error.

import { InputError } from "../errors";
import type { Layer } from "../layers/layer";
import { Flatten } from "../layers/flatten";

/** What the traced model's raw outputs are, for the loss and for what forward() returns. */
export type OutputKind = "raw" | "logSoftmax";

export class Trace {
  readonly layers: Layer[] = [];
  output: OutputKind = "raw";
  private head = 0;

  constructor(readonly inputShape: number[]) {}

  /** Appends a layer consuming `from`, which must be the latest value. */
  apply(from: Value, layer: Layer | null, shape: number[], what: string): Value {
    if (from.trace !== this || from.step !== this.head) {
      throw new InputError(`${what}: wasmgrad modules must be chains (each step uses the previous step's result); this forward() reuses an earlier value`);
    }
    if (this.output !== "raw") throw new InputError(`${what}: nothing may follow log_softmax; it must be the model's last step`);
    if (layer) this.layers.push(layer);
    return new Value(this, ++this.head, shape);
  }
}

/** A symbolic tensor inside a traced forward(): only its per-sample shape is known. */
export class Value {
  constructor(readonly trace: Trace, readonly step: number, readonly shape: number[]) {}

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
    const size = this.shape.reduce((a, b) => a * b, 1);
    return this.shape.length === 1 ? this.trace.apply(this, null, this.shape, "flatten") : this.trace.apply(this, new Flatten(), [size], "flatten");
  }
}
