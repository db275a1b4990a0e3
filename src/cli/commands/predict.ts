// wasmgrad predict: class and probabilities for each image of an IDX file. Images are converted to floats
// and classified a chunk at a time and each result is written as it comes, so memory stays near the size
// of the file itself however many images it holds.

import type { CAC } from "cac";
import { byteImageArray } from "../../data/array-file";
import { parseIdx } from "../../data/idx";
import { InputError } from "../../errors";
import { numberFlag, stringFlag } from "../options";
import { JsonArrayWriter, flushOut, writeOut } from "../output";
import { loadCheckpointWithText, readInputFile } from "../sources";
import { TextVectorizer } from "../../data/text-vectorizer";
import type { Model } from "../../model/model";
import type { TextPreprocessing } from "../training-data";
import { displayText } from "../../io/display";
import { writeSync } from "node:fs";
import { describeEncoding, encodeRows, parseTable, type TablePreprocessing } from "../../data/table-dataset";

/** Images per model.predict call: 4,096 MNIST images are 12.8 MB of floats. */
const CHUNK = 4096;

/** The `k` most probable classes of `row`, best first (ties: the lower class first), into `order`; returns k. */
function topClasses(row: Float32Array, k: number, order: Int32Array): number {
  let filled = 0;
  for (let c = 0; c < row.length; c++) {
    // Insertion into the sorted top k: k is small (3 by default), so this beats sorting every row.
    let at = filled < k ? filled++ : k;
    while (at > 0 && row[order[at - 1]] < row[c]) {
      if (at < k) order[at] = order[at - 1];
      at--;
    }
    if (at < k) order[at] = c;
  }
  return filled;
}

export function registerPredict(cli: CAC): void {
  cli
    .command("predict <checkpoint>", "Classify the images of an IDX file, texts with a text model, or the rows of a CSV table with a table model")
    .option("--input <file>", "IDX images (gzipped or raw), shaped [count, rows, cols]; for a text model, a text file with one text per line; for a table model, a CSV with the feature columns it was trained on")
    .option("--text <text>", "For a text model: a text to classify (repeat for several)")
    .option("--top <k>", "How many classes to list per image", { default: 3 })
    .option("--json", "Print JSON: one object per image with class and probabilities")
    .option("--strict", "For a table model: refuse missing cells instead of filling them as in training")
    .example("wasmgrad predict cnn.wgd --input t10k-images-idx3-ubyte.gz --json")
    .example('wasmgrad predict spam.wgd --text "WIN A FREE PRIZE NOW"')
    .example("wasmgrad predict iris.wgd --input new-flowers.csv --json")
    .action(async (checkpoint: string, flags: { input?: string; text?: unknown; top: unknown; json?: boolean; strict?: boolean }) => {
      const top = numberFlag(flags.top, "top", { min: 1, max: 1000, integer: true });
      const { model, text, table } = loadCheckpointWithText(checkpoint);
      if (text) return predictTexts(model, text, textsToPredict(flags), top, flags.json === true);
      if (flags.text !== undefined) throw new InputError(`${displayText(checkpoint)} is not a text model: --text is for models trained on text`);
      if (table) return predictTable(model, table, stringFlag(flags.input, "input"), top, flags);
      if (flags.strict) throw new InputError("--strict is for table models (trained on a CSV)");
      const inputPath = stringFlag(flags.input, "input");
      const bytes = readInputFile(inputPath, "--input");
      const source = displayText(inputPath);
      const idx = await parseIdx(bytes, source);
      const shape = idx.dims.length === 3 ? [idx.dims[1], idx.dims[2], 1] : idx.dims.slice(1);
      const want = model.inputShape!;
      if (idx.dims.length < 2 || shape.join(",") !== want.join(",")) {
        throw new InputError(`${source} holds data shaped [${idx.dims}] but the model takes images shaped [${want}] (after the count)`);
      }
      const count = idx.dims[0];
      const sampleSize = idx.data.length / count;
      const images = byteImageArray(idx.dims, idx.data);
      const json = flags.json ? new JsonArrayWriter() : undefined;
      const order = new Int32Array(top);
      for (let start = 0; start < count; start += CHUNK) {
        const n = Math.min(CHUNK, count - start);
        const [out] = model.predictAll(images.values(start * sampleSize, (start + n) * sampleSize), { batchSize: 256 });
        const classes = out.shape[1] ?? 1;
        for (let r = 0; r < n; r++) {
          const row = out.data.subarray(r * classes, (r + 1) * classes);
          const shown = topClasses(row, Math.min(top, classes), order);
          const index = start + r;
          if (json) json.addRaw(`{\n  "index": ${index},\n  "class": ${order[0]},\n  "probabilities": [\n${Array.from(row, (p) => `    ${p}`).join(",\n")}\n  ]\n}`);
          else {
            let line = `#${index}: ${order[0]}  (`;
            for (let t = 0; t < shown; t++) line += `${t > 0 ? ", " : ""}${order[t]} ${row[order[t]].toFixed(4)}`;
            writeOut(`${line})\n`);
          }
        }
      }
      if (json) json.end();
      flushOut();
    });
}

/** The texts a text model is asked about: every --text, then each non-empty line of --input. */
function textsToPredict(flags: { input?: string; text?: unknown }): string[] {
  const texts = flags.text === undefined ? [] : [flags.text].flat().map(String);
  if (flags.input !== undefined) {
    const path = stringFlag(flags.input, "input");
    texts.push(...new TextDecoder().decode(readInputFile(path, "--input")).split(/\r?\n/).filter((line) => line.trim() !== ""));
  }
  if (texts.length === 0) throw new InputError("give the texts to classify: --text \"…\" (repeatable) or --input lines.txt (one text per line)");
  return texts;
}

/** Each text's class by name, with the top classes' probabilities (a one-output model: P(second class)). */
function predictTexts(model: Model, text: TextPreprocessing, texts: string[], top: number, json: boolean): void {
  const vectorizer = new TextVectorizer(text.vectorizer);
  const names = text.classNames;
  const writer = json ? new JsonArrayWriter() : undefined;
  const order = new Int32Array(Math.min(top, names.length));
  for (let start = 0; start < texts.length; start += CHUNK) {
    const chunk = texts.slice(start, start + CHUNK);
    const [out] = model.predictAll(vectorizer.transform(chunk), { batchSize: 256 });
    const width = out.shape[1] ?? 1;
    chunk.forEach((_, r) => {
      // A single sigmoid output is P(class 1); spread it into both classes' probabilities.
      const row = width === 1 ? Float32Array.of(1 - out.data[r], out.data[r]) : out.data.subarray(r * width, (r + 1) * width);
      const shown = topClasses(row, order.length, order);
      const index = start + r;
      if (writer) writer.addRaw(JSON.stringify({ index, class: names[order[0]], probabilities: Object.fromEntries(names.map((n, c) => [n, row[c]])) }, null, 2));
      else writeOut(`#${index}: ${displayText(names[order[0]], 60)}  (${Array.from({ length: shown }, (_, t) => `${displayText(names[order[t]], 60)} ${row[order[t]].toFixed(4)}`).join(", ")})\n`);
    });
  }
  if (writer) writer.end();
  flushOut();
}

/**
 * One prediction per row of a CSV: the class by name with the top classes' probabilities, or the predicted
 * number. Columns are found by name (others, the target among them, are not read); missing cells are
 * filled as in training and reported on stderr, or refused with --strict.
 */
function predictTable(model: Model, table: TablePreprocessing, path: string, top: number, flags: { json?: boolean; strict?: boolean }): void {
  const rows = parseTable(new TextDecoder().decode(readInputFile(path, "--input")), displayText(path));
  const encoded = encodeRows(rows, table.columns, Int32Array.from(rows.rows, (_, i) => i), { strict: flags.strict === true });
  for (const line of describeEncoding(table.columns, encoded, displayText(path))) writeSync(2, line + "\n");
  const [out] = model.predictAll(encoded.x, { batchSize: 256 });
  const width = out.shape[1] ?? 1;
  const writer = flags.json ? new JsonArrayWriter() : undefined;
  const names = table.classNames;
  const order = new Int32Array(Math.min(top, names?.length ?? 1));
  for (let r = 0; r < rows.rows.length; r++) {
    if (!names) {
      const value = out.data[r * width];
      if (writer) writer.addRaw(JSON.stringify({ index: r, value }, null, 2));
      else writeOut(`#${r}: ${value}\n`);
      continue;
    }
    // A single sigmoid output is P(second class); spread it into both classes' probabilities.
    const row = width === 1 ? Float32Array.of(1 - out.data[r], out.data[r]) : out.data.subarray(r * width, (r + 1) * width);
    const shown = topClasses(row, order.length, order);
    if (writer) writer.addRaw(JSON.stringify({ index: r, class: names[order[0]], probability: row[order[0]], probabilities: Object.fromEntries(names.map((n, c) => [n, row[c]])) }, null, 2));
    else writeOut(`#${r}: ${displayText(names[order[0]], 60)} ${row[order[0]].toFixed(4)}  (${Array.from({ length: shown }, (_, t) => `${displayText(names[order[t]], 60)} ${row[order[t]].toFixed(4)}`).join(", ")})\n`);
  }
  if (writer) writer.end();
  flushOut();
}
