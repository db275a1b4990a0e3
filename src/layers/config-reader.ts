// Reads one layer's JSON description with checks that name the layer and the key, so a typo in a model
// file is a one-line error ("layers[2] (Dense): 'unit' is not a Dense option (did you mean 'units'?)").

import { InputError, didYouMean } from "../errors";
import type { Regularizer } from "./layer";
import { describeValue, displayText } from "../io/display";

export class ConfigReader {
  constructor(
    private readonly raw: Record<string, unknown>,
    readonly where: string,
    allowedKeys: readonly string[],
  ) {
    const allowed = ["type", "name", ...allowedKeys];
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) {
        throw new InputError(`${where}: '${displayText(key)}' is not a ${typeof raw.type === "string" ? displayText(raw.type) : describeValue(raw.type)} option${didYouMean(key, allowed)}`);
      }
    }
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined;
  }

  /** The raw value under key (undefined when absent), for options with parsers of their own (padding). */
  value(key: string): unknown {
    return this.raw[key];
  }

  int(key: string, options: { min?: number; max?: number; default?: number } = {}): number {
    const value = this.raw[key] ?? options.default;
    if (value === undefined) throw new InputError(`${this.where}: '${key}' is required`);
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new InputError(`${this.where}: '${key}' must be an integer, got ${describeValue(value)}`);
    }
    this.checkRange(key, value, options.min, options.max);
    return value;
  }

  number(key: string, options: { min?: number; max?: number; default?: number } = {}): number {
    const value = this.raw[key] ?? options.default;
    if (value === undefined) throw new InputError(`${this.where}: '${key}' is required`);
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new InputError(`${this.where}: '${key}' must be a finite number, got ${describeValue(value)}`);
    }
    this.checkRange(key, value, options.min, options.max);
    return value;
  }

  bool(key: string, defaultValue: boolean): boolean {
    const value = this.raw[key] ?? defaultValue;
    if (typeof value !== "boolean") throw new InputError(`${this.where}: '${key}' must be true or false`);
    return value;
  }

  string(key: string, defaultValue: string): string {
    const value = this.raw[key] ?? defaultValue;
    if (typeof value !== "string") throw new InputError(`${this.where}: '${key}' must be a string`);
    return value;
  }

  oneOf<T extends string>(key: string, options: readonly T[], defaultValue: T): T {
    const value = this.string(key, defaultValue);
    if (!options.includes(value as T)) {
      throw new InputError(`${this.where}: '${key}' cannot be '${displayText(value)}'${didYouMean(value, options)}`);
    }
    return value as T;
  }

  /** A size given as one integer or as [rows, cols], as Keras accepts kernel_size and pool_size. */
  intPair(key: string, defaultValue?: number): [number, number] {
    const value = this.raw[key] ?? defaultValue;
    const pair = typeof value === "number" ? [value, value] : value;
    if (
      !Array.isArray(pair) || pair.length !== 2 ||
      !pair.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 1)
    ) {
      throw new InputError(`${this.where}: '${key}' must be a positive integer or [rows, cols], got ${describeValue(value)}`);
    }
    return [pair[0], pair[1]];
  }

  regularizer(key: string): Regularizer | undefined {
    const value = this.raw[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new InputError(`${this.where}: '${key}' must look like {"l1": 0.0, "l2": 0.01}`);
    }
    const inner = new ConfigReader(value as Record<string, unknown>, `${this.where} ${key}`, ["l1", "l2"]);
    return { l1: inner.number("l1", { min: 0, default: 0 }), l2: inner.number("l2", { min: 0, default: 0 }) };
  }

  private checkRange(key: string, value: number, min?: number, max?: number): void {
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      const range = max === undefined ? `≥ ${min}` : min === undefined ? `≤ ${max}` : `in [${min}, ${max}]`;
      throw new InputError(`${this.where}: '${key}' must be ${range}, got ${value}`);
    }
  }
}
