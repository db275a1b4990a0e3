// A bound on how deeply JSON may nest, checked before anything walks it. JSON.parse itself copes with a
// list nested 10⁵ deep, but what comes after does not: JSON.stringify, String() and every recursive
// walk overflow the stack ("Maximum call stack size exceeded"), an internal error where the user's file
// was at fault. Nothing wasmgrad reads nests more than a handful of levels, so 32 is plenty.

import { InputError } from "../errors";

export const MAX_JSON_DEPTH = 32;

/** Throws unless `text` nests lists and objects at most `maxDepth` deep. One pass, no recursion. */
export function checkJsonTextDepth(text: string, source: string, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) throw tooDeep(source, maxDepth);
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
}

/** The same bound on a value already parsed (a checkpoint header, say); iterative. */
export function checkJsonValueDepth(value: unknown, source: string, maxDepth = MAX_JSON_DEPTH): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth + 1 > maxDepth) throw tooDeep(source, maxDepth);
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
}

function tooDeep(source: string, maxDepth: number): InputError {
  return new InputError(`${source}: lists or objects nested more than ${maxDepth} deep; no wasmgrad file nests that deep`);
}
