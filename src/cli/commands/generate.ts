// wasmgrad generate: samples from a next-character model (`train --task next-char`), one line per sample.
// All samples advance together, one batched prediction per character: each reads its last `context`
// characters (boundary-padded), draws the next from the model's probabilities sharpened or flattened by
// the temperature (p^(1/T), renormalised), and stops at the boundary or --max-length. Seeded: the same seed
// gives the same samples.

import type { CAC } from "cac";
import { BOUNDARY, characterVectorizer, encodePrefix } from "../../data/next-char";
import { Rng } from "../../engine/rng";
import { InputError } from "../../errors";
import { displayText } from "../../io/display";
import { numberFlag } from "../options";
import { flushOut, writeOut } from "../output";
import { loadCheckpointWithText } from "../sources";

/** Draws an index from probabilities raised to 1/temperature; p is read, not changed. */
export function sampleIndex(p: ArrayLike<number>, temperature: number, rng: Rng): number {
  const weights = Array.from(p, (v) => (v > 0 ? Math.exp(Math.log(v) / temperature) : 0));
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.uniform(0, total);
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  // Rounding left u ≥ 0 after the last weight: the last index that can be drawn.
  for (let i = weights.length - 1; i > 0; i--) if (weights[i] > 0) return i;
  return 0;
}

export function registerGenerate(cli: CAC): void {
  cli
    .command("generate <checkpoint>", "Sample text from a next-character model (train --task next-char)")
    .option("--count <n>", "Samples to write", { default: 10 })
    .option("--temperature <t>", "Below 1: safer, more typical samples; above 1: more varied", { default: 1 })
    .option("--prefix <text>", "Start every sample with this text", { default: "" })
    .option("--max-length <n>", "Stop a sample after this many characters (the prefix included)", { default: 64 })
    .option("--seed <n>", "Seed for the sampling", { default: 1 })
    .example('wasmgrad generate names.wgd --count 20 --temperature 0.8 --prefix "Ma"')
    .action((checkpoint: string, flags: { count: unknown; temperature: unknown; prefix: unknown; maxLength: unknown; seed: unknown }) => {
      const count = numberFlag(flags.count, "count", { min: 1, max: 100000, integer: true });
      const temperature = numberFlag(flags.temperature, "temperature", { min: 0.01, max: 100 });
      const maxLength = numberFlag(flags.maxLength, "max-length", { min: 1, max: 100000, integer: true });
      const rng = new Rng(numberFlag(flags.seed, "seed", { min: 0, max: 2 ** 32 - 1, integer: true }));
      const { model, nextChar } = loadCheckpointWithText(checkpoint);
      if (!nextChar) throw new InputError(`${displayText(checkpoint)} is not a next-character model: generate samples from models trained with --task next-char`);
      const vectorizer = characterVectorizer(nextChar.vectorizer);
      const prefix = encodePrefix(String(flags.prefix), vectorizer);
      const { context } = nextChar;
      const samples = Array.from({ length: count }, () => [...prefix]);
      const done = new Array<boolean>(count).fill(prefix.length >= maxLength);
      const windows = new Float32Array(count * context);
      while (done.some((d) => !d)) {
        samples.forEach((ids, s) => {
          const padded = [...new Array<number>(context).fill(BOUNDARY), ...ids];
          windows.set(padded.slice(padded.length - context), s * context);
        });
        const [probabilities] = model.predictAll(windows, { batchSize: 256 });
        const classes = probabilities.shape[1];
        samples.forEach((ids, s) => {
          if (done[s]) return;
          const next = sampleIndex(probabilities.data.subarray(s * classes, (s + 1) * classes), temperature, rng);
          if (next === BOUNDARY) done[s] = true;
          else ids.push(next);
          if (ids.length >= maxLength) done[s] = true;
        });
      }
      for (const ids of samples) writeOut(`${ids.map((i) => vectorizer.tokenAt(i)).join("")}\n`);
      flushOut();
    });
}
