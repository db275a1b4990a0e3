// --input-shape for `train --from model.onnx`: the per-sample input shape in the file's own layout, for the
// sizes an ONNX file leaves open (PyTorch's dynamic_axes). "3,224,224" for a model with one input;
// "name=3,224,224" (the flag repeated) for several.

import { InputError } from "../errors";

export function parseInputShapeFlag(value: unknown): number[] | Record<string, number[]> | undefined {
  if (value === undefined || value === false) return undefined;
  // cac turns a lone number ("784") into a number and a repeated flag into a list.
  const entries = (Array.isArray(value) ? value : [value]).map(String);
  const dims = (text: string, shown: string) => {
    const parts = text.split(",").map((d) => d.trim());
    if (parts.length === 0 || !parts.every((d) => /^[1-9]\d*$/.test(d) && Number(d) <= 1 << 20)) {
      throw new InputError(`--input-shape ${shown}: expected positive sizes separated by commas, per sample in the file's layout (e.g. 3,224,224, or name=3,224,224 for one of several inputs)`);
    }
    return parts.map(Number);
  };
  const named = entries.filter((e) => e.includes("="));
  if (named.length === 0) {
    if (entries.length > 1) throw new InputError("--input-shape given twice without input names; for several inputs write name=3,224,224 for each");
    return dims(entries[0], entries[0]);
  }
  if (named.length !== entries.length) throw new InputError("--input-shape: name every input (name=3,224,224) when the flag is given for several");
  const shapes: Record<string, number[]> = {};
  for (const entry of entries) {
    const at = entry.indexOf("=");
    const name = entry.slice(0, at).trim();
    if (!name) throw new InputError(`--input-shape ${entry}: the input name before '=' is missing`);
    if (Object.hasOwn(shapes, name)) throw new InputError(`--input-shape names input '${name}' twice`);
    shapes[name] = dims(entry.slice(at + 1), entry);
  }
  return shapes;
}
