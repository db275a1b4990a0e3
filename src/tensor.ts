// The user-facing tensor: a plain JavaScript array with a shape. Model state lives in WebAssembly memory
// owned by the model; what crosses the API is a copy in ordinary garbage-collected memory, so there is
// nothing to dispose.

import { InputError } from "./errors";

export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export function tensor(data: ArrayLike<number>, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new InputError(`tensor data has ${data.length} values but shape [${shape}] needs ${size}`);
  return { data: data instanceof Float32Array ? data : Float32Array.from(data), shape: [...shape] };
}

export function isTensor(value: unknown): value is Tensor {
  return typeof value === "object" && value !== null && "data" in value && "shape" in value;
}
