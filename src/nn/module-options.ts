// Checks of the options PyTorch-style modules take (nn.LSTM, nn.MultiheadAttention, …): each wrong option is
// one InputError naming the module ("LSTM(5, 4): option 'projSize' is not supported …").

import { InputError } from "../errors";

/** Every key of `options` must be one of `known`. */
export function checkOptions(options: object, known: string[], who: string): void {
  if (options === null || typeof options !== "object") throw new InputError(`${who}: options must be an object such as { ${known[0]}: … }`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InputError(`${who}: option '${key}' is not supported (the options are ${known.join(", ")})`);
  }
}

export function positiveInteger(value: unknown, name: string, who: string): void {
  if (!Number.isInteger(value) || (value as number) < 1) throw new InputError(`${who}: ${name} must be a positive integer, got ${String(value)}`);
}

/** Absent, true or false. */
export function boolean(value: unknown, name: string, who: string): void {
  if (value !== undefined && typeof value !== "boolean") throw new InputError(`${who}: ${name} must be true or false, got ${String(value)}`);
}

/** A dropout rate in [0, 1). */
export function probability(value: unknown, name: string, who: string): number {
  if (typeof value !== "number" || !(value >= 0 && value < 1)) throw new InputError(`${who}: ${name} must be a probability in [0, 1), got ${String(value)}`);
  return value;
}

/** wasmgrad's sequences are batch-first: batchFirst may be absent or true, never false. */
export function refuseTimeMajor(batchFirst: unknown, who: string): void {
  boolean(batchFirst, "batchFirst", who);
  if (batchFirst === false) {
    throw new InputError(`${who}: batchFirst false (time-major [steps, batch, features]) is not supported: wasmgrad's sequences are batch-first, [batch, steps, features]; leave batchFirst out or set it to true`);
  }
}
