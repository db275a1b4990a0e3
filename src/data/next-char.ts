// The next-character task (`train --task next-char --context N`): a text file read as one example per line
// (a list of names, say), and a model that reads the N characters before a position and predicts the
// character there — the character-level language model of the well-known "makemore" exercise.
//
// Characters are indexed by a TextVectorizer splitting into characters, unchanged (no lower-casing), so 0 is
// the boundary and 1 an unknown character, then the characters by falling frequency. Each line becomes
// windows over [0 × N, its characters, 0]: the context before the first character is all boundary, and the
// last target is the boundary, so a model learns where lines end. Loss per window is nats per character.

import { InputError } from "../errors";
import { TextVectorizer, type TextVectorizerConfig } from "./text-vectorizer";

export const BOUNDARY = 0;

/** What a checkpoint keeps for `generate`: the characters and the context length. */
export interface NextCharTask {
  vectorizer: TextVectorizerConfig;
  context: number;
}

export function characterVectorizer(config?: TextVectorizerConfig): TextVectorizer {
  return new TextVectorizer(config ?? { split: "character", standardize: "none", outputMode: "int", outputSequenceLength: 1 });
}

/** Lines of a text file that hold something (trailing spaces and CR kept out). */
export function exampleLines(text: string): string[] {
  return text.split("\n").map((line) => line.replace(/\s+$/, "")).filter((line) => line !== "");
}

/** Every (context → next character) window of every line: x [count, context] indices, y [count] targets. */
export function nextCharWindows(lines: readonly string[], vectorizer: TextVectorizer, context: number): { x: Float32Array; y: Int32Array; count: number } {
  let count = 0;
  for (const line of lines) count += vectorizer.tokens(line).length + 1;
  const x = new Float32Array(count * context), y = new Int32Array(count);
  let w = 0;
  for (const line of lines) {
    const ids = [...new Array<number>(context).fill(BOUNDARY), ...vectorizer.tokens(line).map((c) => vectorizer.lookup(c)), BOUNDARY];
    for (let i = 0; i + context < ids.length; i++, w++) {
      x.set(ids.slice(i, i + context), w * context);
      y[w] = ids[i + context];
    }
  }
  return { x, y, count };
}

/** A prefix's characters as indices; one the model never saw is an error naming it. */
export function encodePrefix(prefix: string, vectorizer: TextVectorizer): number[] {
  return vectorizer.tokens(prefix).map((c) => {
    const index = vectorizer.lookup(c);
    if (index === 1) throw new InputError(`--prefix: the model never saw the character ${JSON.stringify(c)} in training`);
    return index;
  });
}
