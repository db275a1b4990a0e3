// Checks on a decoded checkpoint before anything trusts it. The CRC only proves the bytes are the ones
// that were written: a file can be truncated or edited and given a matching checksum, so its header is held
// to the same standard as any other input. Everything the header claims is cross-checked against what it
// describes — the tensor manifest against the data and against the model it builds, the training state
// against the optimizer's slots, each layer's saved state against the layer — and the weights must be
// finite unless the caller accepts otherwise (a checkpoint of a diverged run would print NaN for ever).

import { InputError } from "../errors";
import { describeValue, displayText } from "../io/display";
import { checkJsonValueDepth } from "../io/json-depth";
import { checkFinite } from "../data/finite-values";
import type { CheckpointHeader } from "./checkpoint";
import type { Model } from "./model";

export interface CheckpointTrust {
  /** Accept NaN and ±Inf in weights, optimizer state and layer state (default: refuse them). */
  allowNonFinite?: boolean;
}

/** Slots that hold a running mean of squared gradients, which cannot be negative. */
const SQUARED_SLOTS = new Map<string, number>([["adam", 1], ["adamw", 1], ["rmsprop", 0]]);

/** What can be checked from the header and the data alone, before a model is built from them. */
export function checkCheckpointHeader(header: CheckpointHeader, data: Uint8Array, source: string): void {
  checkJsonValueDepth(header, `${source}: the checkpoint header`);
  if (data.byteLength % 4 !== 0) {
    throw new InputError(`${source}: the tensor data is ${data.byteLength} bytes, not a whole number of float32 values (truncated, with its checksum recomputed?)`);
  }
  const names = new Set<string>();
  let end = 0;
  for (const [i, t] of header.tensors.entries()) {
    const at = `${source}: tensor manifest entry ${i}`;
    if (typeof t !== "object" || t === null) throw new InputError(`${at} is ${describeValue(t)}, not a tensor description`);
    if (typeof t.name !== "string" || t.name === "") throw new InputError(`${at} has no name`);
    const name = `${source}: tensor ${displayText(t.name)}`;
    if (names.has(t.name)) throw new InputError(`${name} appears twice in the manifest`);
    names.add(t.name);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
      throw new InputError(`${name}: its shape ${describeValue(t.shape)} is not a list of positive integers`);
    }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.length) throw new InputError(`${name}: its shape [${t.shape.join(", ")}] holds ${count} values but the manifest says ${t.length}`);
    // The writer lays tensors end to end in manifest order; anything else is a gap, an overlap or an edit.
    if (t.offset !== end) throw new InputError(`${name} starts at float ${t.offset}, not at ${end} where the one before it ends`);
    end += t.length;
  }
  if (end * 4 !== data.byteLength) {
    throw new InputError(`${source}: the manifest describes ${end} floats but the file holds ${data.byteLength / 4} (truncated, or extra data)`);
  }
  const training = header.training;
  if (training !== undefined) {
    if (typeof training !== "object" || training === null) throw new InputError(`${source}: the training state is ${describeValue(training)}, not an object`);
    const { iterations, epoch } = training;
    if (!Number.isSafeInteger(iterations) || iterations < 0 || !Number.isSafeInteger(epoch) || epoch < 0) {
      throw new InputError(`${source}: the checkpoint's step or epoch count is not a non-negative integer`);
    }
    // Every completed epoch took at least one optimizer step.
    if (iterations < epoch) throw new InputError(`${source}: the training state claims ${epoch} completed epochs in ${iterations} optimizer steps`);
  }
  if (header.layerStates !== undefined && (typeof header.layerStates !== "object" || header.layerStates === null || Array.isArray(header.layerStates))) {
    throw new InputError(`${source}: the layer states are ${describeValue(header.layerStates)}, not an object`);
  }
  if (header.notes !== undefined && (typeof header.notes !== "object" || header.notes === null || Array.isArray(header.notes))) {
    throw new InputError(`${source}: the notes are ${describeValue(header.notes)}, not an object`);
  }
}

/** The header against the model built from it, and the values themselves, before they are loaded. */
export function checkCheckpointContents(model: Model, header: CheckpointHeader, data: Uint8Array, source: string, trust: CheckpointTrust = {}): void {
  const layerNames = new Set<string>();
  for (const layer of model.layers) {
    if (layerNames.has(layer.name)) throw new InputError(`${source}: two layers are named '${displayText(layer.name)}', so their tensors cannot be told apart`);
    layerNames.add(layer.name);
  }
  const floats = data.byteOffset % 4 === 0 ? new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4) : new Float32Array(data.slice().buffer);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const expected = new Set<string>();
  const tensorOf = (name: string, shape: number[], what: string) => {
    expected.add(name);
    const t = byName.get(name);
    if (!t) throw new InputError(`${source}: tensor ${displayText(name)} (${what}) is missing from the manifest`);
    if (t.shape.join(",") !== shape.join(",")) throw new InputError(`${source}: tensor ${displayText(name)} is shaped [${t.shape.join(", ")}] in the manifest but the model's is [${shape.join(", ")}]`);
    return floats.subarray(t.offset, t.offset + t.length);
  };
  for (const p of model.params) checkValuesFinite(tensorOf(p.name, p.shape, "a weight"), `tensor ${displayText(p.name)}`, source, trust);
  const optimizer = model.optimizer;
  if (optimizer) {
    const type = String(optimizer.getConfig().type).toLowerCase();
    const squared = SQUARED_SLOTS.get(type);
    for (const { param, slots } of optimizer.slotBuffers()) {
      slots.forEach((_, i) => {
        const name = `${param.name}/slot${i}`;
        const values = tensorOf(name, param.shape, `${type} state`);
        checkValuesFinite(values, `tensor ${displayText(name)}`, source, trust);
        if (optimizer.iterations === 0 && values.some((v) => v !== 0)) {
          throw new InputError(`${source}: tensor ${displayText(name)} holds optimizer state, but the training state says no step was taken`);
        }
        if (i === squared && values.some((v) => v < 0)) throw new InputError(`${source}: tensor ${displayText(name)} is a mean of squares (${type}) but holds negative values`);
      });
    }
  }
  for (const t of header.tensors) {
    if (!expected.has(t.name)) {
      throw new InputError(`${source}: tensor ${displayText(t.name)} is in the manifest but the model has no such ${/\/slot\d+$/.test(t.name) ? "optimizer state (does the training state name the right optimizer?)" : "weight"}`);
    }
  }
  // States are kept per application ("name", "name:2" for a shared layer's second), as the plan runs them.
  const states = header.layerStates ?? {};
  const steps = model.executionPlan.steps;
  const nodeNames = new Set(steps.map((s) => s.nodeName));
  for (const key of Object.keys(states)) {
    if (!nodeNames.has(key)) throw new InputError(`${source}: there is saved state for a layer '${displayText(key)}' the model does not have`);
  }
  for (const { layer, nodeName } of steps) {
    const want = layer.getState().length;
    if (want === 0) continue;
    const state = Object.hasOwn(states, nodeName) ? states[nodeName] : undefined;
    if (!Array.isArray(state)) throw new InputError(`${source}: layer '${displayText(layer.name)}' (${layer.type}) has no saved state, which it needs (its running statistics or random state)`);
    if (state.length !== want || !state.every((v) => typeof v === "number")) {
      throw new InputError(`${source}: layer '${displayText(layer.name)}' (${layer.type}) has ${describeValue(state, 60)} as its state, not ${want} numbers`);
    }
    checkValuesFinite(state, `the state of layer '${displayText(layer.name)}'`, source, trust);
    if (layer.type === "Normalization" && state.slice(want / 2).some((v) => !(v > 0))) {
      throw new InputError(`${source}: layer '${displayText(layer.name)}' (Normalization) has a variance that is not positive`);
    }
    if (layer.type === "BatchNormalization" && state.slice(want / 2).some((v) => v < 0)) {
      throw new InputError(`${source}: layer '${displayText(layer.name)}' has a negative moving variance`);
    }
    if (layer.type === "Dropout" && !(Number.isInteger(state[0]) && state[0] >= 0 && state[0] < 2 ** 32)) {
      throw new InputError(`${source}: layer '${displayText(layer.name)}' has ${describeValue(state[0])} as its random state, not a 32-bit unsigned integer`);
    }
  }
}

/** Refuses NaN and ±Inf (first one named, with a count) unless they are trusted. */
function checkValuesFinite(values: ArrayLike<number>, what: string, source: string, trust: CheckpointTrust): void {
  checkFinite(values, `${source}: ${what}`, { allow: trust.allowNonFinite, why: "saved from a run that diverged?", hint: "use --allow-nonfinite (the allowNonFinite option) to load it anyway" });
}
