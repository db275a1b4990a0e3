// NaN and ±Inf in data a model is about to use: refused with the first position and a count, unless the
// caller accepts them. A model fed them prints NaN without a word; a float64 or JSON value beyond float32's
// range (±3.4e38) becomes Inf on the way in, so the check runs on the float32 values themselves.

import { InputError } from "../errors";

/** Throws unless every value is finite (or `allow`). `what` names the values, `hint` says how to accept them. */
export function checkFinite(values: ArrayLike<number>, what: string, options: { allow?: boolean; hint: string; why?: string }): void {
  if (options.allow) return;
  let first = -1;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first >= 0) {
    throw new InputError(`${what} holds ${values[first]} at index ${first}${count > 1 ? ` (${count.toLocaleString("en-US")} non-finite values in all)` : ""}${options.why ? `: ${options.why}` : ""}${options.why?.endsWith("?") ? " " : "; "}${options.hint}`);
  }
}
