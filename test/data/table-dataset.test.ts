// Reading tables as people have them (src/data/table-dataset.ts): which columns are numbers and which are
// categories, one-hot encoding with categories learned from the training rows only, missing cells filled
// with the training mean or most frequent category (or refused), categories never seen, the task a target
// asks for (and the forced tasks that cannot work), class names, and the checks on a checkpoint's copy.

import { describe, expect, test } from "bun:test";
import {
  categoryName, checkTablePreprocessing, chooseTask, describeEncoding, encodedNames, encodedWidth, encodeRows, fitColumns, oneHotFeatures, parseTable, readTarget,
  targetValues, trainedTargetValues, type TablePreprocessing,
} from "../../src/data/table-dataset";
import { TASKS } from "../../src/model/tasks";

const csv = (lines: string[]) => parseTable(lines.join("\n") + "\n", "t.csv");
const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

describe("feature columns", () => {
  const table = csv([
    "height,colour,grade,note,label",
    "1.5,red,1,a,x",
    "2.5,blue,2,b,y",
    "NA,red,3,,x",
    "4.5,,1,,y",
    "3.5,green,2,,x",
  ]);

  test("numbers stay numbers; words and --categorical columns are one-hot; categories sorted (numbers by value)", () => {
    const columns = fitColumns(table, "label", all(5), { categorical: ["grade"] });
    expect(columns.map((c) => [c.name, c.kind])).toEqual([["height", "numeric"], ["colour", "categorical"], ["grade", "categorical"], ["note", "categorical"]]);
    expect(columns[1]).toMatchObject({ categories: ["blue", "green", "red"], fill: "red" });
    expect(columns[2]).toMatchObject({ categories: ["1", "2", "3"] });
    expect(encodedWidth(columns)).toBe(1 + 3 + 3 + 2);
    expect(encodedNames(columns)).toEqual(["height", "colour=blue", "colour=green", "colour=red", "grade=1", "grade=2", "grade=3", "note=a", "note=b"]);
    expect(oneHotFeatures(columns)).toEqual([false, true, true, true, true, true, true, true, true]);
  });

  test("missing cells take the training rows' mean or most frequent category, and are counted", () => {
    const columns = fitColumns(table, "label", all(5), { categorical: ["grade"], ignore: ["note"] });
    expect(columns[0]).toMatchObject({ kind: "numeric", fill: 3 });
    const { x, filled } = encodeRows(table, columns, all(5));
    const width = encodedWidth(columns);
    expect(Array.from(x.subarray(2 * width, 3 * width))).toEqual([3, 0, 0, 1, 0, 0, 1]);
    expect(Array.from(x.subarray(3 * width, 4 * width))).toEqual([4.5, 0, 0, 1, 1, 0, 0]);
    expect([...filled]).toEqual([["height", 1], ["colour", 1]]);
    expect(describeEncoding(columns, { filled, unseen: new Map() }, "training rows")[0]).toBe("training rows: 2 missing cells filled with the training rows' mean or most frequent category: 'height' 1 → the mean 3, 'colour' 1 → 'red' (--strict refuses missing cells)");
    expect(() => encodeRows(table, columns, all(5), { strict: true })).toThrow(/t\.csv: row 4, column "height" \(1\): the cell is missing \("NA"\), and --strict refuses missing cells/);
  });

  test("statistics come from the training rows alone; a category only the test rows have encodes as zeros", () => {
    const columns = fitColumns(table, "label", Int32Array.of(0, 1, 2), { ignore: ["note", "grade"] });
    expect(columns[0]).toMatchObject({ fill: 2 });
    expect(columns[1]).toMatchObject({ categories: ["blue", "red"] });
    const { x, unseen } = encodeRows(table, columns, Int32Array.of(4));
    expect(Array.from(x)).toEqual([3.5, 0, 0]);
    expect([...unseen]).toEqual([["colour", { count: 1, first: "green" }]]);
  });

  test("missing markers: \"\", NA, N/A, #N/A, NaN, null, None and \"?\" in any case", () => {
    const t = csv(["a,y", ...["", "NA", "n/a", "#N/A", "nan", "NULL", "None", "?"].map((m) => `${m},1`), "8,0", "3,1"]);
    const columns = fitColumns(t, "y", all(10));
    expect(columns[0]).toMatchObject({ kind: "numeric", fill: 5.5 });
    expect(encodeRows(t, columns, all(10)).filled.get("a")).toBe(8);
  });

  test("a column of numbers with a stray word is an error at the word, not hundreds of categories", () => {
    const t = csv(["a,y", "1,0", "2,1", "three,0", "4,1"]);
    expect(() => fitColumns(t, "y", all(4))).toThrow('t.csv: row 4, column "a" (1): "three" is not a number (the column\'s other cells are numbers; if it holds categories, name it in --categorical)');
    expect(fitColumns(t, "y", all(4), { categorical: ["a"] })[0]).toMatchObject({ categories: ["1", "2", "4", "three"] });
  });

  test("identifiers, empty columns, unknown names and the target are refused with a way out", () => {
    const ids = csv(["id,v,y", ...Array.from({ length: 120 }, (_, i) => `user${i},${i},${i % 2}`)]);
    expect(() => fitColumns(ids, "y", all(120))).toThrow(/column "id" \(1\) has 120 distinct values in 120 training rows: an identifier or free text rather than categories; drop it with --ignore id/);
    expect(fitColumns(ids, "y", all(120), { ignore: ["id"] }).map((c) => c.name)).toEqual(["v"]);
    const empty = csv(["a,b,y", "NA,1,0", ",2,1"]);
    expect(() => fitColumns(empty, "y", all(2))).toThrow(/column "a" \(1\): no training row has a value in it/);
    expect(() => fitColumns(table, "label", all(5), { categorical: ["colur"] })).toThrow(/there is no --categorical column "colur" \(did you mean 'colour'\?\)/);
    expect(() => fitColumns(table, "label", all(5), { categorical: ["label"] })).toThrow(/that is the target column/);
  });

  test("a category written as a number is one category however it is written", () => {
    expect(["1", "1.0", "01", "1e0"].map(categoryName)).toEqual(["1", "1", "1", "1"]);
    expect(categoryName("one")).toBe("one");
  });
});

describe("the target and the task", () => {
  const target = (cells: string[]) => readTarget(csv(["x,y", ...cells.map((c, i) => `${i},${c}`)]), "y");
  const task = (cells: string[], options: Partial<Parameters<typeof chooseTask>[1]> = {}) => chooseTask(target(cells), { supported: TASKS, model: "the model", ...options }).task;

  test("words are classes; two numbers binary; up to 50 integers classes; other numbers a regression", () => {
    expect(task(["yes", "no", "yes"])).toBe("binary");
    expect(task(["setosa", "versicolor", "virginica"])).toBe("multiclass");
    expect(task(["1", "2", "1"])).toBe("binary");
    expect(task(["0", "1", "2", "1"])).toBe("multiclass");
    expect(task(["0.5", "1.5", "2.25"])).toBe("regression");
    expect(task(Array.from({ length: 51 }, (_, i) => String(i * 3)))).toBe("regression");
    expect(task(Array.from({ length: 50 }, (_, i) => String(i * 3)))).toBe("multiclass");
  });

  test("class names sorted (numbers by value, written canonically); values are class indices or the numbers", () => {
    const words = target(["no", "yes", "no", "maybe"]);
    expect(words.classNames).toEqual(["maybe", "no", "yes"]);
    expect(Array.from(targetValues(words, "multiclass"))).toEqual([1, 2, 1, 0]);
    const numbers = target(["10", "2", "2.0", "10"]);
    expect(numbers.classNames).toEqual(["2", "10"]);
    expect(Array.from(targetValues(numbers, "binary"))).toEqual([1, 0, 0, 1]);
    expect(Array.from(targetValues(numbers, "regression"))).toEqual([10, 2, 2, 10]);
  });

  test("a model that learns only numbers regresses numeric classes and says so; other mismatches are errors", () => {
    const linear = { supported: ["regression"] as const, model: "built-in model linear" };
    const chosen = chooseTask(target(["0", "1", "2"]), { ...linear, supported: ["regression"] });
    expect(chosen.task).toBe("regression");
    expect(chosen.note).toContain("which built-in model linear learns as numbers");
    expect(() => chooseTask(target(["a", "b", "c"]), { ...linear, supported: ["regression"] })).toThrow(/holds words \(a, b, c\), but built-in model linear predicts a number/);
    expect(() => chooseTask(target(["0.5", "1.5", "2.5"]), { supported: ["binary", "multiclass"], model: "built-in model logistic" })).toThrow(/holds numbers \(3 distinct values, such as 0.5, 1.5, 2.5\), but built-in model logistic learns classes: for a number use --model linear or mlp$/);
    expect(() => chooseTask(target(["0", "1", "2"]), { supported: ["binary"], model: "sig.json" })).toThrow(/has 3 classes \(0, 1, 2\), but sig.json learns two/);
    expect(() => task(["7", "7"])).toThrow(/holds one value \(7\) in every row: there is nothing to learn/);
  });

  test("a forced task that cannot work is one clear error, never a negative loss", () => {
    expect(() => task(["0", "1", "2"], { forced: "binary" })).toThrow("--task binary needs a target with two values; the target 'y' has 3 (0, 1, 2)");
    expect(() => task(["cat", "dog"], { forced: "regression" })).toThrow("--task regression needs numbers, but the target 'y' holds words (cat, dog)");
    expect(() => task(["0.5", "1.5"], { forced: "multiclass" })).toThrow("--task multiclass needs class labels (words or integers); the target 'y' holds numbers such as 0.5, 1.5");
    expect(() => task(["0", "1"], { forced: "regression", supported: ["binary", "multiclass"], model: "built-in model logistic" })).toThrow("--task regression: built-in model logistic learns binary or multiclass, not regression");
    expect(task(["0", "1", "2"], { forced: "regression" })).toBe("regression");
    expect(task(["0", "1"], { forced: "multiclass" })).toBe("multiclass");
  });

  test("a missing target is an error naming the row; words that are mostly numbers are an error at the word", () => {
    expect(() => target(["yes", "NA", "no"])).toThrow(/row 3, column "y" \(2\): the target is missing \("NA"\); drop the rows without one/);
    expect(() => target(["1", "2", "abc"])).toThrow(/row 4, column "y" \(2\): "abc" is not a number \(the target's other cells are numbers\)/);
  });

  test("a trained model's classes keep their numbers; a label it never saw is an error", () => {
    const trained: TablePreprocessing = { target: "y", task: "multiclass", classNames: ["a", "b", "c"], columns: [{ name: "x", kind: "numeric", fill: 0 }] };
    expect(Array.from(trainedTargetValues(target(["c", "a"]), trained))).toEqual([2, 0]);
    expect(() => trainedTargetValues(target(["c", "z"]), trained)).toThrow(/has the label 'z' in 'y', which the model was not trained on \(its classes: a, b, c\)/);
  });
});

describe("a checkpoint's table preprocessing", () => {
  const good = { target: "y", task: "binary", classNames: ["no", "yes"], columns: [{ name: "x", kind: "numeric", fill: 1.5 }, { name: "c", kind: "categorical", categories: ["a", "b"], fill: "a" }] };

  test("a good one passes as it is; each broken field is named", () => {
    expect(checkTablePreprocessing(good, "m.wgd")).toEqual(good as TablePreprocessing);
    const broken: [Record<string, unknown>, RegExp][] = [
      [{ task: "clustering" }, /the task is "clustering"/],
      [{ classNames: ["no"] }, /at least two distinct strings/],
      [{ task: "binary", classNames: ["a", "b", "c"] }, /a binary task with 3 class names/],
      [{ task: "regression" }, /a regression has no class names/],
      [{ columns: [] }, /non-empty list/],
      [{ columns: [{ name: "x", kind: "numeric", fill: null }] }, /has null as its fill/],
      [{ columns: [{ name: "c", kind: "categorical", categories: ["a"], fill: "b" }] }, /a fill among them/],
      [{ columns: [{ name: "y", kind: "numeric", fill: 0 }] }, /is also a feature column/],
    ];
    for (const [change, why] of broken) expect(() => checkTablePreprocessing({ ...good, ...change }, "m.wgd")).toThrow(why);
  });
});
