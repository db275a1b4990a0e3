// Text classification from the command line, as a user runs it: a CSV with a text column and word labels,
// and a folder with one sub-folder of .txt files per class. Training saves the vocabulary and the class
// names in the checkpoint, so predict takes raw text (--text, --input lines.txt) and prints class names,
// eval and --resume read new data through the stored vocabulary, and mistakes are one clear line.

import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();

// Two moods in word pairs: a message is "happy" when it holds more happy words than gloomy ones.
const HAPPY = ["sunny", "great", "joy", "smile", "lovely", "bright"], GLOOMY = ["rain", "awful", "grief", "frown", "dreary", "dark"];
const FILLER = ["the", "day", "was", "and", "we", "saw", "it", "a"];
function message(i: number, happy: boolean): string {
  const words: string[] = [];
  for (let j = 0; j < 8; j++) {
    const pick = (i * 7 + j * 13) % 10;
    words.push(pick < 5 ? (happy ? HAPPY : GLOOMY)[(i + j) % 6] : FILLER[(i * 3 + j) % 8]);
  }
  return words.join(" ");
}

function writeCsv(): string {
  const rows = Array.from({ length: 120 }, (_, i) => `"${message(i, i % 2 === 0)}, ok",${i % 2 === 0 ? "happy" : "gloomy"}`);
  writeFileSync(join(dir, "moods.csv"), `id_note,body,mood\n${rows.map((r, i) => `n${i},${r}`).join("\n")}\n`);
  return "moods.csv";
}

function writeFolder(): string {
  for (const mood of ["gloomy", "happy"]) mkdirSync(join(dir, "moods", mood), { recursive: true });
  for (let i = 0; i < 100; i++) writeFileSync(join(dir, "moods", i % 2 === 0 ? "happy" : "gloomy", `${i}.txt`), message(i, i % 2 === 0));
  writeFileSync(join(dir, "moods", "README.md"), "files outside the class folders are ignored");
  return "moods";
}

const ok = (r: { code: number; stderr: string }) => expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });

describe("text classification on the command line", () => {
  test("a CSV text column: train, predict raw text by class name, eval, resume with the stored vocabulary", () => {
    const csv = writeCsv();
    const trained = runCli(["train", "--model", "text_cnn", "--data", csv, "--text-column", "body", "--target", "mood", "--sequence-length", "12",
      "--epochs", "6", "--seed", "2", "--save", "moods.wgd", "--json", "--no-progress", "--threads", "1"]);
    ok(trained);
    expect(trained.stderr).toContain("(text 'body' → 'mood'), ");
    expect(trained.stderr).toMatch(/-token word vocabulary, sequences of 12: 96 train, 24 test/);
    expect(JSON.parse(trained.stdout).test.accuracy).toBeGreaterThanOrEqual(0.9);

    const predicted = runCli(["predict", "moods.wgd", "--text", "sunny joy great smile day", "--text", "rain grief awful dark"]);
    ok(predicted);
    expect(predicted.stdout.split("\n").filter(Boolean).map((l) => l.split(/\s+/)[1])).toEqual(["happy", "gloomy"]);
    writeFileSync(join(dir, "lines.txt"), "lovely bright joy\n\ndreary frown rain\n");
    const fromFile = JSON.parse(runCli(["predict", "moods.wgd", "--input", "lines.txt", "--json"]).stdout);
    expect(fromFile.map((r: { class: string }) => r.class)).toEqual(["happy", "gloomy"]);
    expect(Object.keys(fromFile[0].probabilities)).toEqual(["gloomy", "happy"]);

    const evaluated = runCli(["eval", "moods.wgd", "--data", csv, "--text-column", "body", "--target", "mood", "--json"]);
    ok(evaluated);
    const metrics = JSON.parse(evaluated.stdout);
    expect(metrics.classNames).toEqual(["gloomy", "happy"]);
    expect(metrics.accuracy).toBe(JSON.parse(trained.stdout).test.accuracy);

    const resumed = runCli(["train", "--model", "text_cnn", "--data", csv, "--text-column", "body", "--target", "mood", "--epochs", "8", "--seed", "2",
      "--resume", "moods.wgd", "--save", "moods2.wgd", "--json", "--no-progress", "--threads", "1"]);
    ok(resumed);
    expect(JSON.parse(resumed.stdout).history.loss.length).toBe(2);
    // The stored vocabulary was used, not a new one: the resumed model still reads the same words.
    expect(runCli(["predict", "moods2.wgd", "--text", "sunny joy great smile"]).stdout).toContain("happy");
  }, 60_000);

  test("a folder of class sub-folders with the bag-of-words baseline", () => {
    const folder = writeFolder();
    const trained = runCli(["train", "--model", "bow_logistic", "--data", folder, "--epochs", "20", "--save", "bow.wgd", "--json", "--no-progress", "--threads", "1"]);
    ok(trained);
    expect(trained.stderr).toContain("moods (2 classes: gloomy, happy)");
    expect(trained.stderr).toContain("multi-hot");
    expect(JSON.parse(trained.stdout).test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(runCli(["predict", "bow.wgd", "--text", "dreary dark rain"]).stdout).toContain("gloomy");
  }, 60_000);

  test("mistakes are one clear line", () => {
    const csv = writeCsv();
    writeFolder();
    expect(expectCleanError(runCli(["train", "--model", "text_cnn", "--data", csv, "--text-column", "text", "--target", "mood"]))).toMatch(/no column 'text' for --text-column.*'body'/);
    expect(expectCleanError(runCli(["train", "--model", "text_cnn", "--data", csv, "--text-column", "body"]))).toContain("name the label column with --target");
    expect(expectCleanError(runCli(["train", "--model", "mlp", "--max-tokens", "100"]))).toContain("--max-tokens, --sequence-length and --split are for text data");
    expect(expectCleanError(runCli(["train", "--model", "text_cnn", "--data", "moods", "--split", "sentence"]))).toContain("--split takes word or character");
    // A model with an Embedding but no inputDim needs text to size it.
    expect(expectCleanError(runCli(["train", "--model", "text_cnn"]))).toContain("'inputDim' is required unless the data is text");
    const trained = runCli(["train", "--model", "bow_logistic", "--data", "moods", "--epochs", "1", "--save", "bow1.wgd", "--no-progress"]);
    ok(trained);
    expect(expectCleanError(runCli(["predict", "bow1.wgd"]))).toContain("give the texts to classify");
    writeFileSync(join(dir, "other.csv"), "body,mood\nsunny day,elated\nrain,gloomy\nbright,happy\n");
    expect(expectCleanError(runCli(["eval", "bow1.wgd", "--data", "other.csv", "--text-column", "body", "--target", "mood", "--test-split", "0.34"]))).toContain("has the label 'elated', which the model was not trained on");
    expect(runCli(["train", "--model", "mlp", "--epochs", "1", "--save", "img.wgd", "--no-progress"]).code).toBe(0);
    expect(expectCleanError(runCli(["predict", "img.wgd", "--text", "hello"]))).toContain("is not a text model");
  }, 60_000);
});
