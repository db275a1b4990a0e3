// The next-character task from the command line: train on a text file's lines, save, resume, and sample
// with `generate` — seeded (the same seed, the same samples), starting from a prefix, stopping at the
// boundary; the sampler itself draws in proportion to p^(1/T); mistakes are one clear line.

import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sampleIndex } from "../../src/cli/commands/generate";
import { characterVectorizer, nextCharWindows } from "../../src/data/next-char";
import { Rng } from "../../src/engine/rng";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();
const ok = (r: { code: number; stderr: string }) => expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });

// Words from a tiny grammar: consonant-vowel syllables, so a model can learn which letter follows which.
function words(count: number): string[] {
  const c = "bdklmnrst", v = "aeiou";
  return Array.from({ length: count }, (_, i) => {
    let w = "";
    for (let s = 0; s < 2 + (i % 3); s++) w += c[(i * 7 + s * 3) % c.length] + v[(i * 5 + s) % v.length];
    return w[0].toUpperCase() + w.slice(1);
  });
}

describe("windows and sampling", () => {
  test("each line gives one window per character plus its end, boundary-padded on the left", () => {
    const v = characterVectorizer();
    v.adapt(["ab", "b"]);
    const { x, y, count } = nextCharWindows(["ab", "b"], v, 3);
    const [a, b] = [v.lookup("a"), v.lookup("b")];
    expect(count).toBe(5);
    expect(Array.from(x)).toEqual([0, 0, 0, 0, 0, a, 0, a, b, 0, 0, 0, 0, 0, b]);
    expect(Array.from(y)).toEqual([a, b, 0, b, 0]);
  });

  test("sampleIndex draws in proportion to p^(1/T)", () => {
    const rng = new Rng(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleIndex([0.2, 0.8, 0], 1, rng)]++;
    expect(Math.abs(counts[0] / 20000 - 0.2)).toBeLessThan(0.015);
    expect(counts[2]).toBe(0);
    const sharp = [0, 0, 0];
    for (let i = 0; i < 20000; i++) sharp[sampleIndex([0.2, 0.8, 0], 0.5, rng)]++;
    // (0.2², 0.8²) normalised: 0.0588, 0.9412.
    expect(Math.abs(sharp[0] / 20000 - 0.0588)).toBeLessThan(0.01);
  });
});

describe("train --task next-char and generate", () => {
  test("train, generate seeded samples with a prefix, resume", () => {
    writeFileSync(join(dir, "words.txt"), words(300).join("\n") + "\n");
    const trained = runCli(["train", "--model", "char_mlp", "--task", "next-char", "--context", "6", "--data", "words.txt", "--epochs", "3", "--save", "words.wgd", "--json", "--no-progress", "--threads", "1"]);
    ok(trained);
    expect(trained.stderr).toMatch(/240 train \/ 60 test lines, \d+ characters with the boundary and unknown, next character after 6/);
    const loss = JSON.parse(trained.stdout).test.loss;
    expect(loss).toBeLessThan(1.5); // a uniform guess over ~20 characters is ln 20 ≈ 3.0
    const first = runCli(["generate", "words.wgd", "--count", "12", "--seed", "5", "--temperature", "0.7"]);
    ok(first);
    const samples = first.stdout.trim().split("\n");
    expect(samples.length).toBe(12);
    expect(runCli(["generate", "words.wgd", "--count", "12", "--seed", "5", "--temperature", "0.7"]).stdout).toBe(first.stdout);
    expect(runCli(["generate", "words.wgd", "--count", "12", "--seed", "6", "--temperature", "0.7"]).stdout).not.toBe(first.stdout);
    // Learned from consonant-vowel words: most samples start with a capital and alternate letters.
    expect(samples.filter((s) => /^[A-Z][a-z]+$/.test(s)).length).toBeGreaterThanOrEqual(9);
    const prefixed = runCli(["generate", "words.wgd", "--count", "5", "--prefix", "Ba", "--max-length", "8"]).stdout.trim().split("\n");
    expect(prefixed.every((s) => s.startsWith("Ba") && s.length <= 8)).toBe(true);
    const resumed = runCli(["train", "--model", "char_mlp", "--task", "next-char", "--data", "words.txt", "--epochs", "4", "--resume", "words.wgd", "--json", "--no-progress", "--threads", "1"]);
    ok(resumed);
    expect(JSON.parse(resumed.stdout).history.loss.length).toBe(1);
  }, 60_000);

  test("mistakes are one clear line", () => {
    writeFileSync(join(dir, "few.txt"), words(40).join("\n"));
    ok(runCli(["train", "--model", "char_mlp", "--task", "next-char", "--context", "4", "--data", "few.txt", "--epochs", "1", "--save", "few.wgd", "--no-progress"]));
    expect(expectCleanError(runCli(["generate", "few.wgd", "--prefix", "Zq"]))).toContain("never saw the character");
    expect(expectCleanError(runCli(["train", "--model", "char_mlp", "--task", "next-word", "--data", "few.txt"]))).toContain("--task: one of binary, multiclass, regression, next-char, got 'next-word'");
    expect(expectCleanError(runCli(["train", "--model", "mlp", "--context", "4"]))).toContain("--context goes with --task next-char");
    expect(expectCleanError(runCli(["train", "--model", "char_mlp", "--task", "next-char", "--data", "few.txt", "--epochs", "2", "--resume", "few.wgd", "--context", "5"]))).toContain("reads 4 characters");
    expect(expectCleanError(runCli(["train", "--model", "char_mlp"]))).toContain("'inputDim' is required unless the data is text");
    expect(runCli(["train", "--model", "mlp", "--epochs", "1", "--save", "img.wgd", "--no-progress"]).code).toBe(0);
    expect(expectCleanError(runCli(["generate", "img.wgd"]))).toContain("is not a next-character model");
    expect(expectCleanError(runCli(["train", "--model", "char_mlp", "--task", "next-char"]))).toContain("reads a text file with one example per line");
  }, 60_000);
});
