// Tables as people have them: a header of column names, then rows whose cells are numbers, words
// (categories, text labels) or missing. How each column is read is decided once, from the data and the
// training rows, and kept (TablePreprocessing, in the checkpoint) so that eval, predict and a resumed fit
// read new rows exactly so:
//  - a feature column is numeric when every present cell is a number, categorical when it is declared so
//    (--categorical) or most of its present cells are words; a column of numbers with a few words in it is
//    an error at the first word (a typo must not turn a measurement into hundreds of categories);
//  - a categorical column is one-hot encoded: one 0/1 feature per category seen in the training rows,
//    sorted (numbers by value, words alphabetically); a category the model never saw is all zeros, and is
//    reported;
//  - a missing cell ("", NA, N/A, #N/A, NaN, null, None, "?", any case) is filled with the training rows'
//    mean (numeric) or most frequent category, and counted so the CLI reports it; strict refuses it;
//  - the target decides the task (chooseTask): words are classes; numbers with two values are binary;
//    integers with at most 50 values are classes; other numbers are a regression. Class names are sorted as
//    categories are, and class i is the i-th name (indexLabels, as for text labels).

import { closest, didYouMean, InputError } from "../errors";
import { displayText } from "../io/display";
import { describeTask, isTask, type Task } from "../model/tasks";
import { describeValue } from "../io/display";
import { cellNumber, describeColumn, isMissingCell, isNumberCell, listColumnNames, parseCsvCells, quoteCell } from "./csv";
import { indexLabels } from "./text-dataset";

export interface NumericColumn {
  name: string;
  kind: "numeric";
  /** What a missing cell becomes: the training rows' mean. */
  fill: number;
}

export interface CategoricalColumn {
  name: string;
  kind: "categorical";
  /** One-hot order. */
  categories: string[];
  /** What a missing cell becomes: the training rows' most frequent category. */
  fill: string;
}

export type TableColumn = NumericColumn | CategoricalColumn;

/** What a checkpoint keeps so that eval and predict read raw rows, and print class names. */
export interface TablePreprocessing {
  target: string;
  task: Task;
  /** For classes: class i's name. */
  classNames?: string[];
  /** The feature columns, in the order their encoded features take. */
  columns: TableColumn[];
}

export interface RawTable {
  columns: string[];
  rows: string[][];
  /** Each row's line in the file, as an editor numbers it. */
  lines: number[];
  source: string;
}

/** Integer targets with at most this many values are classes; with more, numbers (a regression). */
export const MAX_INTEGER_CLASSES = 50;
/** A categorical column with more categories than this (or than half the training rows, past 50) is refused. */
const MAX_CATEGORIES = 1000;

export function parseTable(text: string, source: string): RawTable {
  return { ...parseCsvCells(text, { source }), source };
}

/** A column's index, or one error naming the columns there are (with a guess at a typo). */
export function columnIndex(table: RawTable, name: string, what: string): number {
  const i = table.columns.indexOf(name);
  if (i >= 0) return i;
  const hint = closest(name, table.columns) ? didYouMean(name, table.columns) : "";
  throw new InputError(`${table.source}: there is no ${what} column ${quoteCell(name)}${hint}; the columns are ${listColumnNames(table.columns)}`);
}

/** A category's or class's name: a number written canonically ("1.0" and "1" are one class), a word as it is. */
export function categoryName(cell: string): string {
  return isNumberCell(cell) ? String(Number(cell)) : cell;
}

// ---- the target ------------------------------------------------------------------------------------

export interface TargetColumn {
  name: string;
  source: string;
  /** Every row's value, when the column holds numbers. */
  numbers?: Float32Array;
  /** Whether every value is an integer (false for words). */
  integers: boolean;
  /** The distinct values, sorted: class i's name. */
  classNames: string[];
  /** Each row's class index. */
  labels: Int32Array;
}

export function readTarget(table: RawTable, name: string): TargetColumn {
  const index = columnIndex(table, name, "target");
  const cells = table.rows.map((row) => row[index]);
  const missing = cells.findIndex(isMissingCell);
  if (missing >= 0) {
    throw new InputError(`${table.source}: row ${table.lines[missing]}, ${describeColumn(name, index)}: the target is missing (${quoteCell(cells[missing])}); drop the rows without one`);
  }
  const kind = columnKind(table, index, cells, false, "the target's other cells are numbers");
  const names = kind === "numeric" ? cells.map(categoryName) : cells;
  const { classNames, labels } = indexLabels(names);
  if (kind !== "numeric") return { name, source: table.source, integers: false, classNames, labels };
  const numbers = Float32Array.from(cells, (cell, r) => cellNumber(cell, () => `${table.source}: row ${table.lines[r]}, ${describeColumn(name, index)}`));
  return { name, source: table.source, numbers, integers: names.every((n) => Number.isInteger(Number(n))), classNames, labels };
}

/**
 * The task: the one forced (if the target allows it), else what the target holds, within what the model
 * learns (`supported`). A model that predicts only numbers regresses numeric classes (and says so); every
 * other mismatch is one error naming what to do.
 */
export function chooseTask(target: TargetColumn, options: { forced?: Task; supported: readonly Task[]; model: string }): { task: Task; note?: string } {
  const { forced, supported, model } = options;
  const k = target.classNames.length;
  const text = target.numbers === undefined;
  const column = `the target '${displayText(target.name)}'`;
  const some = (n = 4) => target.classNames.slice(0, n).map((c) => displayText(c, 30)).join(", ") + (k > n ? ", …" : "");
  if (k < 2) throw new InputError(`${target.source}: ${column} holds one value (${some()}) in every row: there is nothing to learn`);
  if (forced !== undefined) {
    if (forced === "regression" && text) throw new InputError(`--task regression needs numbers, but ${column} holds words (${some()})`);
    if (forced === "binary" && k !== 2) throw new InputError(`--task binary needs a target with two values; ${column} has ${k} (${some()})`);
    if (forced === "multiclass" && !text && !target.integers) throw new InputError(`--task multiclass needs class labels (words or integers); ${column} holds numbers such as ${some(3)}`);
    if (!supported.includes(forced)) throw new InputError(`--task ${forced}: ${model} learns ${supported.join(" or ")}, not ${forced}`);
    return { task: forced };
  }
  const detected: Task = k === 2 ? "binary" : text || (target.integers && k <= MAX_INTEGER_CLASSES) ? "multiclass" : "regression";
  if (supported.includes(detected)) return { task: detected };
  if (detected !== "regression" && !text && supported.includes("regression")) {
    return { task: "regression", note: `${column} has ${k} values (${some()}), which ${model} learns as numbers (a regression); for classes use --model logistic or mlp` };
  }
  if (detected === "multiclass" && supported.includes("binary")) {
    throw new InputError(`${column} has ${k} classes (${some()}), but ${model} learns two (one sigmoid unit, binary cross-entropy): end it in a softmax over "units": "classes" with sparseCategoricalCrossentropy, or use --model logistic`);
  }
  if (detected === "regression") {
    const classes = target.integers ? `, or --task multiclass if they are class numbers` : "";
    throw new InputError(`${column} holds numbers (${k} distinct values, such as ${some(3)}), but ${model} learns classes: for a number use --model linear or mlp${classes}`);
  }
  throw new InputError(`${column} holds ${text ? "words" : "classes"} (${some()}), but ${model} predicts a number: for classes use --model logistic or mlp`);
}

/** The model's targets for a task: class indices for classes, the values for a regression. */
export function targetValues(target: TargetColumn, task: Task): Float32Array {
  if (task === "regression") return target.numbers!;
  return Float32Array.from(target.labels);
}

/**
 * Class indices by a trained model's class names: a label it never saw is an error, not a new class. A
 * regression target must hold numbers.
 */
export function trainedTargetValues(target: TargetColumn, trained: TablePreprocessing): Float32Array {
  if (trained.task === "regression") {
    if (!target.numbers) throw new InputError(`${target.source}: the model predicts numbers, but the target '${displayText(target.name)}' holds words (${target.classNames.slice(0, 3).join(", ")})`);
    return target.numbers;
  }
  const known = new Map(trained.classNames!.map((name, i) => [name, i]));
  const unknown = target.classNames.find((name) => !known.has(name));
  if (unknown !== undefined) {
    throw new InputError(`${target.source} has the label '${displayText(unknown, 60)}' in '${displayText(target.name)}', which the model was not trained on (its classes: ${trained.classNames!.map((c) => displayText(c, 40)).join(", ")})`);
  }
  return Float32Array.from(target.labels, (l) => known.get(target.classNames[l])!);
}

/** "task: multiclass (3 classes: setosa, versicolor, virginica) from 'species'". */
export function describeTarget(preprocessing: TablePreprocessing): string {
  const names = preprocessing.classNames;
  const shown = names ? `: ${names.slice(0, 10).map((c) => displayText(c, 30)).join(", ")}${names.length > 10 ? ", …" : ""}` : "";
  return `task: ${describeTask(preprocessing.task, names?.length).replace(/\)$/, `${shown})`)} from '${displayText(preprocessing.target)}'`;
}

// ---- the features ----------------------------------------------------------------------------------

/**
 * How each feature column (every column but the target and the ignored ones) is read, learned from the
 * training rows: numeric with its mean, or categorical with its categories and most frequent one.
 */
export function fitColumns(table: RawTable, target: string, trainRows: ArrayLike<number>, options: { categorical?: string[]; ignore?: string[] } = {}): TableColumn[] {
  const targetIndex = columnIndex(table, target, "target");
  const declared = new Set<number>();
  for (const name of options.categorical ?? []) {
    const i = columnIndex(table, name, "--categorical");
    if (i === targetIndex) throw new InputError(`--categorical ${displayText(name)}: that is the target column; its classes come from its values`);
    declared.add(i);
  }
  const ignored = new Set<number>();
  for (const name of options.ignore ?? []) {
    const i = columnIndex(table, name, "--ignore");
    if (i === targetIndex) throw new InputError(`--ignore ${displayText(name)}: that is the target column`);
    ignored.add(i);
  }
  const features = table.columns.map((_, i) => i).filter((i) => i !== targetIndex && !ignored.has(i));
  if (features.length === 0) throw new InputError(`${table.source}: no columns are left as features besides the target ${quoteCell(target)}`);
  return features.map((i) => {
    const name = table.columns[i];
    const where = `${table.source}: ${describeColumn(name, i)}`;
    const cells = table.rows.map((row) => row[i]);
    const kind = columnKind(table, i, cells, declared.has(i), "the column's other cells are numbers; if it holds categories, name it in --categorical");
    const present: string[] = [];
    for (let t = 0; t < trainRows.length; t++) {
      const cell = cells[trainRows[t]];
      if (!isMissingCell(cell)) present.push(cell);
    }
    if (present.length === 0) throw new InputError(`${where}: no training row has a value in it (every cell is missing); drop it with --ignore`);
    if (kind === "numeric") {
      let sum = 0;
      for (const cell of present) sum += cellNumber(cell, () => where);
      return { name, kind, fill: Math.fround(sum / present.length) };
    }
    const counts = new Map<string, number>();
    for (const cell of present) {
      const category = categoryName(cell);
      counts.set(category, (counts.get(category) ?? 0) + 1);
    }
    const categories = indexLabels([...counts.keys()]).classNames;
    if (categories.length > MAX_CATEGORIES || (categories.length > 50 && categories.length > present.length / 2)) {
      throw new InputError(`${where} has ${categories.length} distinct values in ${present.length} training rows: an identifier or free text rather than categories; drop it with --ignore ${displayText(name)}`);
    }
    // The most frequent category; ties go to the first in one-hot order.
    const fill = categories.reduce((best, c) => (counts.get(c)! > counts.get(best)! ? c : best), categories[0]);
    return { name, kind, categories, fill };
  });
}

/** Features per row once encoded: 1 per numeric column, one per category for a categorical one. */
export function encodedWidth(columns: readonly TableColumn[]): number {
  return columns.reduce((n, c) => n + (c.kind === "numeric" ? 1 : c.categories.length), 0);
}

/** Which encoded features are one-hot (0/1) rather than numbers. */
export function oneHotFeatures(columns: readonly TableColumn[]): boolean[] {
  return columns.flatMap((c) => (c.kind === "numeric" ? [false] : c.categories.map(() => true)));
}

/** The encoded features' names: the column's, or "column=category" for a one-hot feature. */
export function encodedNames(columns: readonly TableColumn[]): string[] {
  return columns.flatMap((c) => (c.kind === "numeric" ? [c.name] : c.categories.map((k) => `${c.name}=${k}`)));
}

export interface EncodedRows {
  /** rows × encodedWidth(columns), row-major. */
  x: Float32Array;
  /** Missing cells filled, per column name. */
  filled: Map<string, number>;
  /** Cells holding a category the model never saw, per column name, with the first such value. */
  unseen: Map<string, { count: number; first: string }>;
}

/**
 * The given rows as model input, columns found by name (the file's other columns, the target among them,
 * are not read). Missing cells are filled and counted, or refused when `strict`.
 */
export function encodeRows(table: RawTable, columns: readonly TableColumn[], rows: ArrayLike<number>, options: { strict?: boolean } = {}): EncodedRows {
  const absent = columns.filter((c) => !table.columns.includes(c.name));
  if (absent.length > 0) {
    throw new InputError(`${table.source} lacks the column${absent.length > 1 ? "s" : ""} ${absent.slice(0, 10).map((c) => quoteCell(c.name)).join(", ")}${absent.length > 10 ? ", …" : ""} that the model reads; the columns are ${listColumnNames(table.columns)}`);
  }
  const indices = columns.map((c) => table.columns.indexOf(c.name));
  const lookups = columns.map((c) => (c.kind === "categorical" ? new Map(c.categories.map((k, i) => [k, i])) : undefined));
  const width = encodedWidth(columns);
  const x = new Float32Array(rows.length * width);
  const filled = new Map<string, number>(), unseen = new Map<string, { count: number; first: string }>();
  for (let n = 0; n < rows.length; n++) {
    const r = rows[n];
    const row = table.rows[r];
    let offset = n * width;
    columns.forEach((column, j) => {
      let cell = row[indices[j]];
      const where = () => `${table.source}: row ${table.lines[r]}, ${describeColumn(column.name, indices[j])}`;
      if (isMissingCell(cell)) {
        if (options.strict) throw new InputError(`${where()}: the cell is missing (${quoteCell(cell)}), and --strict refuses missing cells (without it, they are filled with the training rows' ${column.kind === "numeric" ? "mean" : "most frequent category"})`);
        filled.set(column.name, (filled.get(column.name) ?? 0) + 1);
        cell = "";
      }
      if (column.kind === "numeric") {
        x[offset++] = cell === "" ? column.fill : cellNumber(cell, where);
        return;
      }
      const category = cell === "" ? column.fill : categoryName(cell);
      const at = lookups[j]!.get(category);
      if (at === undefined) {
        const seen = unseen.get(column.name);
        if (seen) seen.count++;
        else unseen.set(column.name, { count: 1, first: category });
      } else x[offset + at] = 1;
      offset += column.categories.length;
    });
  }
  return { x, filled, unseen };
}

/** What encodeRows filled in and could not place, as lines for stderr. */
export function describeEncoding(columns: readonly TableColumn[], encoded: Pick<EncodedRows, "filled" | "unseen">, what: string): string[] {
  const lines: string[] = [];
  if (encoded.filled.size > 0) {
    // In the columns' order, whichever row met a missing cell first.
    const parts = columns.filter((c) => encoded.filled.has(c.name)).map((column) => {
      const name = column.name, count = encoded.filled.get(name)!;
      const fill = column.kind === "numeric" ? `the mean ${Number(column.fill.toPrecision(6))}` : `'${displayText(column.fill, 30)}'`;
      return `'${displayText(name, 40)}' ${count} → ${fill}`;
    });
    const total = [...encoded.filled.values()].reduce((a, b) => a + b, 0);
    lines.push(`${what}: ${total} missing cell${total > 1 ? "s" : ""} filled with the training rows' mean or most frequent category: ${parts.join(", ")} (--strict refuses missing cells)`);
  }
  for (const [name, { count, first }] of encoded.unseen) {
    lines.push(`${what}: ${count} cell${count > 1 ? "s" : ""} of '${displayText(name, 40)}' hold${count > 1 ? "" : "s"} a category the training rows do not have (such as '${displayText(first, 30)}'): encoded as none of its categories (all zeros)`);
  }
  return lines;
}

/**
 * Whether a column holds numbers or words: numbers when every present cell is one, words when declared
 * categorical or when most present cells are words; a column of numbers with a few words is an error at
 * the first word.
 */
function columnKind(table: RawTable, index: number, cells: readonly string[], declared: boolean, hint: string): "numeric" | "categorical" {
  if (declared) return "categorical";
  let numbers = 0, words = 0, first = -1;
  cells.forEach((cell, r) => {
    if (isMissingCell(cell)) return;
    if (isNumberCell(cell)) numbers++;
    else {
      words++;
      if (first < 0) first = r;
    }
  });
  if (words === 0) return "numeric";
  if (words > numbers) return "categorical";
  throw new InputError(`${table.source}: row ${table.lines[first]}, ${describeColumn(table.columns[index], index)}: ${quoteCell(cells[first])} is not a number (${hint})`);
}

/** A checkpoint's table preprocessing, checked field by field (the file is not trusted). */
export function checkTablePreprocessing(raw: unknown, where: string): TablePreprocessing {
  const fail = (what: string): never => {
    throw new InputError(`${where}: ${what}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(`expected an object, got ${describeValue(raw)}`);
  const { target, task, classNames, columns } = raw as Record<string, unknown>;
  if (typeof target !== "string") fail("the target column's name is not a string");
  if (!isTask(task)) fail(`the task is ${describeValue(task)}, not binary, multiclass or regression`);
  const strings = (list: unknown, min: number) => Array.isArray(list) && list.length >= min && list.every((v) => typeof v === "string") && new Set(list).size === list.length;
  if (task === "regression" ? classNames !== undefined : !strings(classNames, 2)) fail(task === "regression" ? "a regression has no class names" : "the class names must be a list of at least two distinct strings");
  if (task === "binary" && (classNames as string[]).length !== 2) fail(`a binary task with ${(classNames as string[]).length} class names`);
  if (!Array.isArray(columns) || columns.length === 0) fail("the feature columns must be a non-empty list");
  const checked = (columns as unknown[]).map((column, i): TableColumn => {
    const c = (typeof column === "object" && column !== null ? column : {}) as Record<string, unknown>;
    if (typeof c.name !== "string") fail(`feature column ${i + 1} has no name`);
    if (c.kind === "numeric") {
      if (typeof c.fill !== "number" || !Number.isFinite(c.fill)) fail(`feature column '${displayText(String(c.name))}' has ${describeValue(c.fill)} as its fill, not a finite number`);
      return { name: c.name as string, kind: "numeric", fill: c.fill as number };
    }
    if (c.kind !== "categorical") fail(`feature column '${displayText(String(c.name))}' is of kind ${describeValue(c.kind)}, not numeric or categorical`);
    if (!strings(c.categories, 1) || typeof c.fill !== "string" || !(c.categories as string[]).includes(c.fill)) {
      fail(`categorical column '${displayText(String(c.name))}' needs a list of distinct category names and a fill among them`);
    }
    return { name: c.name as string, kind: "categorical", categories: [...(c.categories as string[])], fill: c.fill as string };
  });
  if (new Set(checked.map((c) => c.name)).size !== checked.length) fail("a feature column is listed twice");
  if (checked.some((c) => c.name === target)) fail(`the target '${displayText(target as string)}' is also a feature column`);
  return { target: target as string, task: task as Task, ...(task === "regression" ? {} : { classNames: [...(classNames as string[])] }), columns: checked };
}
