// What users pass for a model with several inputs or outputs — one array, a list in input order, or a
// record keyed by name, as Keras takes them — turned into one sample matrix per input and one target set
// per output, each checked against the model's shapes.

import { InputError } from "../errors";
import { toSamples, toTargets, type InputData, type Samples, type TargetData, type Targets } from "../data/samples";
import { isTensor } from "../tensor";

export type ModelInputs = InputData | InputData[] | Record<string, InputData>;
export type ModelTargets = TargetData | TargetData[] | Record<string, TargetData>;

/** One entry per name, from a single value (one name), a list in order, or a record by name. */
function perName<T>(value: T | T[] | Record<string, T>, names: readonly string[], what: string, isSingle: (v: unknown) => boolean): T[] {
  if (names.length === 1 && isSingle(value)) return [value as T];
  if (Array.isArray(value) && !isSingle(value)) {
    if (value.length !== names.length) throw new InputError(`the model has ${names.length} ${what}s (${names.join(", ")}) but ${value.length} were given`);
    return value as T[];
  }
  if (typeof value === "object" && value !== null && !isSingle(value)) {
    const record = value as Record<string, T>;
    const unknown = Object.keys(record).find((k) => !names.includes(k));
    if (unknown !== undefined) throw new InputError(`the model has no ${what} named '${unknown}' (its ${what}s: ${names.join(", ")})`);
    return names.map((n) => {
      if (!Object.hasOwn(record, n)) throw new InputError(`no data was given for the ${what} '${n}'`);
      return record[n];
    });
  }
  throw new InputError(`the model has ${names.length} ${what}s (${names.join(", ")}): pass a list in that order or a record keyed by name`);
}

/** A typed array, a tensor, or a plain array of numbers: the data for one input or output. */
function isOneArray(v: unknown): boolean {
  if (ArrayBuffer.isView(v) || isTensor(v)) return true;
  return Array.isArray(v) && (v.length === 0 || typeof v[0] === "number");
}

export function toModelSamples(x: ModelInputs, names: readonly string[], shapes: readonly number[][]): Samples[] {
  const samples = perName(x, names, "input", isOneArray).map((data, i) => toSamples(data, shapes[i]));
  const count = samples[0].count;
  samples.forEach((s, i) => {
    if (s.count !== count) throw new InputError(`input '${names[i]}' holds ${s.count} samples but '${names[0]}' holds ${count}`);
  });
  return samples;
}

export function toModelTargets(
  y: ModelTargets, names: readonly string[], count: number, heads: readonly { outputDim: number; sparse: boolean; positions: number }[],
): Targets[] {
  return perName(y, names, "output", isOneArray).map((data, i) => {
    try {
      return toTargets(data, count, heads[i].outputDim, heads[i].sparse, heads[i].positions);
    } catch (e) {
      if (names.length > 1 && e instanceof InputError) throw new InputError(`output '${names[i]}': ${e.message}`);
      throw e;
    }
  });
}

export function sliceSamples(s: Samples, from: number, to: number): Samples {
  return { count: to - from, sampleSize: s.sampleSize, x: s.x.subarray(from * s.sampleSize, to * s.sampleSize) };
}

export function sliceTargets(t: Targets, from: number, to: number): Targets {
  return {
    targetSize: t.targetSize,
    labels: t.labels ? t.labels.subarray(from * t.targetSize, to * t.targetSize) : null,
    values: t.values ? t.values.subarray(from * t.targetSize, to * t.targetSize) : null,
  };
}

/** Per-output settings given as one value for all, a list in output order, or a record by output name. */
export function perOutput<T>(value: T | T[] | Record<string, T> | undefined, names: readonly string[], fallback: T, what: string, isOne: (v: unknown) => boolean): T[] {
  if (value === undefined) return names.map(() => fallback);
  if (isOne(value)) return names.map(() => value as T);
  if (Array.isArray(value)) {
    if (value.length !== names.length) throw new InputError(`${what}: the model has ${names.length} outputs (${names.join(", ")}) but ${value.length} were given`);
    return value;
  }
  const record = value as Record<string, T>;
  const unknown = Object.keys(record).find((k) => !names.includes(k));
  if (unknown !== undefined) throw new InputError(`${what}: the model has no output named '${unknown}' (its outputs: ${names.join(", ")})`);
  return names.map((n) => (Object.hasOwn(record, n) ? record[n] : fallback));
}
