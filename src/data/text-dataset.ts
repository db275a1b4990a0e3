// Labelled texts from the two layouts people keep them in:
//   - a CSV with a text column and a label column (`--data messages.csv --text-column body --target label`);
//   - a folder with one sub-folder of .txt files per class (Keras' text_dataset_from_directory): the
//     sub-folders' names are the classes, in alphabetical order, and files elsewhere are ignored.
// Labels may be words ("spam", "ham") or numbers; the classes are kept by name, sorted (numerically when
// every label is a number, so 0, 1, 2 stay classes 0, 1, 2), and class i is the i-th name.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors";
import { displayText } from "../io/display";
import { readUserText, requireFolder } from "../io/user-file";
import { parseCsvCells } from "./csv";
import { closest } from "../errors";

export interface TextDataset {
  texts: string[];
  /** Class index of each text. */
  labels: Int32Array;
  classNames: string[];
  /** For messages: what was read, e.g. "messages.csv (column 'body' → 'label')". */
  source: string;
}

/** Class names in order (numbers by value when all are numbers) and each label's index. */
export function indexLabels(raw: readonly string[]): { classNames: string[]; labels: Int32Array } {
  const distinct = [...new Set(raw)];
  const numeric = distinct.every((v) => v.trim() !== "" && Number.isFinite(Number(v)));
  const classNames = numeric ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { classNames, labels: Int32Array.from(raw, (v) => index.get(v)!) };
}

export function loadTextCsv(path: string, textColumn: string, targetColumn: string): TextDataset {
  const source = displayText(path);
  const table = parseCsvCells(readUserText(path, "--data"), { source });
  const column = (name: string, flag: string) => {
    const i = table.columns.indexOf(name);
    if (i < 0) {
      const guess = closest(name, table.columns);
      throw new InputError(`${source}: no column '${displayText(name)}' for ${flag}${guess ? ` (did you mean '${displayText(guess)}'?)` : ""}; the columns are ${table.columns.slice(0, 20).map((c) => `'${displayText(c, 40)}'`).join(", ")}`);
    }
    return i;
  };
  const t = column(textColumn, "--text-column"), y = column(targetColumn, "--target");
  const empty = table.rows.findIndex((row) => row[y] === "");
  if (empty >= 0) throw new InputError(`${source}: row ${table.lines[empty]} has no label in column '${displayText(targetColumn)}'`);
  const { classNames, labels } = indexLabels(table.rows.map((row) => row[y]));
  return { texts: table.rows.map((row) => row[t]), labels, classNames, source: `${source} (text '${displayText(textColumn)}' → '${displayText(targetColumn)}')` };
}

export function loadTextFolder(path: string): TextDataset {
  requireFolder(path, "--data");
  const source = displayText(path);
  const classNames = readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const texts: string[] = [], raw: number[] = [];
  classNames.forEach((name, label) => {
    const folder = join(path, name);
    for (const file of readdirSync(folder).filter((f) => f.toLowerCase().endsWith(".txt")).sort()) {
      texts.push(readUserText(join(folder, file), "a text file"));
      raw.push(label);
    }
  });
  const used = classNames.filter((_, i) => raw.includes(i));
  if (used.length < 2) {
    throw new InputError(`${source}: a text folder needs one sub-folder of .txt files per class, at least two of them non-empty; found ${classNames.length === 0 ? "no sub-folders" : classNames.map((c) => `'${displayText(c, 40)}'`).join(", ")}`);
  }
  return { texts, labels: Int32Array.from(raw), classNames, source: `${source} (${classNames.length} classes: ${classNames.map((c) => displayText(c, 40)).join(", ")})` };
}

/** Whether a path is a folder of class sub-folders holding .txt files (rather than MNIST-layout IDX files). */
export function isTextFolder(path: string): boolean {
  try {
    return readdirSync(path, { withFileTypes: true }).some((e) => e.isDirectory() && readdirSync(join(path, e.name)).some((f) => f.toLowerCase().endsWith(".txt")));
  } catch {
    return false;
  }
}
