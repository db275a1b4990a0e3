// Checks for command-line values: every number is range-checked and every error names the flag.

import { InputError, UsageError } from "../errors";
import { describeValue } from "../io/display";

export function numberFlag(value: unknown, flag: string, range: { min: number; max: number; integer?: boolean }): number {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new InputError(`--${flag} needs a number, got ${describeValue(value)}`);
  if (range.integer && !Number.isInteger(n)) throw new InputError(`--${flag} needs a whole number, got ${n}`);
  if (n < range.min || n > range.max) throw new InputError(`--${flag} must be between ${range.min} and ${range.max}, got ${n}`);
  return n;
}

export function optionalNumberFlag(value: unknown, flag: string, range: { min: number; max: number; integer?: boolean }): number | undefined {
  return value === undefined ? undefined : numberFlag(value, flag, range);
}

/** Short spellings of flags that take a path. */
const SHORT: Record<string, string> = { output: "-o" };

/**
 * What the user typed after --flag, from the command line itself. The argument parser turns anything that
 * looks numeric into a number — '' becomes 0 (so `--resume ''` read as "not given") and a file named 1e3
 * becomes 1000 — which is wrong for a path.
 */
function typedValue(flag: string): string | undefined {
  const argv = process.argv;
  const names = [`--${flag}`, ...(Object.hasOwn(SHORT, flag) ? [SHORT[flag]] : [])];
  for (let i = argv.length - 1; i >= 0; i--) {
    for (const name of names) {
      if (argv[i] === name && i + 1 < argv.length) return argv[i + 1];
      if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1);
    }
  }
  return undefined;
}

/** A required value (a path, mostly): missing or empty is a usage error, exit 2. */
export function stringFlag(value: unknown, flag: string): string {
  if (value === undefined) throw new UsageError(`--${flag} is required`);
  if (typeof value === "number") value = typedValue(flag) ?? String(value);
  if (typeof value !== "string" || value === "") throw new UsageError(`--${flag} needs a value, got ${value === "" ? "an empty one" : describeValue(value)}`);
  return value;
}

/**
 * An optional path: absent is fine, but given empty (`--resume ''`) is a usage error rather than "not
 * given" — an empty --resume must not quietly start a fresh model.
 */
export function optionalPathFlag(value: unknown, flag: string): string | undefined {
  return value === undefined ? undefined : stringFlag(value, flag);
}

/** A size such as 1048576, 512MiB, 2G or 1.5GB (binary units either way). */
export function sizeFlag(value: unknown, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(String(value));
  const units: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
  const bytes = match ? Math.floor(Number(match[1]) * units[match[2].toLowerCase()]) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new InputError(`--${flag} needs a size such as 512MiB or 2GiB, got ${describeValue(value)}`);
  return bytes;
}
