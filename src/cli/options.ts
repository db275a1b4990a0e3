// Checks for command-line values: every number is range-checked and every error names the flag.

import { InputError } from "../errors";

export function numberFlag(value: unknown, flag: string, range: { min: number; max: number; integer?: boolean }): number {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new InputError(`--${flag} needs a number, got ${JSON.stringify(value)}`);
  if (range.integer && !Number.isInteger(n)) throw new InputError(`--${flag} needs a whole number, got ${n}`);
  if (n < range.min || n > range.max) throw new InputError(`--${flag} must be between ${range.min} and ${range.max}, got ${n}`);
  return n;
}

export function optionalNumberFlag(value: unknown, flag: string, range: { min: number; max: number; integer?: boolean }): number | undefined {
  return value === undefined ? undefined : numberFlag(value, flag, range);
}

export function stringFlag(value: unknown, flag: string): string {
  if (typeof value !== "string" || value === "") throw new InputError(`--${flag} needs a value`);
  return value;
}
