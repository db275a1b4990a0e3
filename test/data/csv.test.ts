// The CSV reader on well-formed tables (quoting, CRLF, BOM, each delimiter) and on every way a file can be
// wrong: each must end in one InputError line naming the file, the row and the column, never in a crash,
// a silent 0 or a hang — including on 50 MB lines, binary garbage and 500 seeded mutations of a good file.

import { describe, expect, test } from "bun:test";
import { parseCsv, splitTarget, type CsvTable } from "../../src/data/csv";
import { InputError } from "../../src/errors";
import { Rng } from "../../src/engine/rng";

const values = (table: CsvTable) => Array.from(table.values);

/** The InputError message parseCsv throws for text; fails the test if it succeeds or throws anything else. */
function csvError(text: string, source = "data.csv"): string {
  try {
    parseCsv(text, { source });
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error(`expected an InputError for ${JSON.stringify(text.slice(0, 80))}`);
}

function splitError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error("expected an InputError");
}

describe("CSV reader: good files", () => {
  test("reads a header and numeric rows, row-major", () => {
    const table = parseCsv("a,b,c\n1,2,3\n4,5,6\n");
    expect(table.columns).toEqual(["a", "b", "c"]);
    expect(table.rows).toBe(2);
    expect(values(table)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test("number forms: exponents, signs, leading and trailing dots", () => {
    const table = parseCsv("x\n1e-3\n-0.5\n+2\n.5\n3.\n-1.25E+2\n0\n");
    expect(values(table)).toEqual([1e-3, -0.5, 2, 0.5, 3, -125, 0].map(Math.fround));
  });

  test("CRLF, a BOM, blank lines, surrounding whitespace and no trailing newline", () => {
    const table = parseCsv("\ufeff\r\n a , b \r\n\r\n 1 ,\t2\r\n   \r\n3,4");
    expect(table.columns).toEqual(["a", "b"]);
    expect(values(table)).toEqual([1, 2, 3, 4]);
  });

  test("quoted names and cells, with delimiters, line breaks and \"\" escapes inside", () => {
    const table = parseCsv('"a,b","say ""hi""","two\nlines"\n"1", 2 ,"3"\n');
    expect(table.columns).toEqual(["a,b", 'say "hi"', "two\nlines"]);
    expect(values(table)).toEqual([1, 2, 3]);
  });

  test("detects ';' and tab delimiters from the header, and takes one given explicitly", () => {
    expect(values(parseCsv("a;b\n1,5;2\n".replace("1,5", "1.5")))).toEqual([1.5, 2]);
    expect(parseCsv("a\tb\tc\n1\t2\t3\n").columns).toEqual(["a", "b", "c"]);
    expect(parseCsv('"x;y",z\n1,2\n').columns).toEqual(["x;y", "z"]); // ';' inside quotes does not count
    expect(parseCsv("a|b\n1|2\n", { delimiter: "|" }).columns).toEqual(["a", "b"]);
    expect(parseCsv("only\n7\n").columns).toEqual(["only"]);
  });

  test("splitTarget picks the target column and, by default, every other column as a feature", () => {
    const table = parseCsv("a,y,b\n1,10,2\n3,20,4\n5,30,6\n");
    const all = splitTarget(table, "y");
    expect(all.featureColumns).toEqual(["a", "b"]);
    expect(all.targetColumn).toBe("y");
    expect(all.rows).toBe(3);
    expect(Array.from(all.features)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(all.targets)).toEqual([10, 20, 30]);

    const some = splitTarget(table, "a", { features: ["b", "y"] });
    expect(some.featureColumns).toEqual(["b", "y"]);
    expect(Array.from(some.features)).toEqual([2, 10, 4, 20, 6, 30]);
    expect(Array.from(some.targets)).toEqual([1, 3, 5]);
  });
});

describe("CSV reader: bad files", () => {
  test("a non-numeric cell names the file, the editor's line number, and the column by name and index", () => {
    const text = "id,age,score\n1,2,3\n\n4,5,6\n7,8,9\n10,11,12\n13,abc,15\n";
    expect(csvError(text)).toBe('data.csv: row 7, column "age" (2): "abc" is not a number');
  });

  test("empty and NaN cells are errors, not zeros", () => {
    expect(csvError("a,b\n1,\n")).toStartWith('data.csv: row 2, column "b" (2): the cell is empty');
    expect(csvError('a,b\n1,""\n')).toStartWith('data.csv: row 2, column "b" (2): the cell is empty');
    expect(csvError("a,b\n1,2\nNaN,3\n")).toStartWith('data.csv: row 3, column "a" (1): "NaN" is not a number (missing values');
    for (const cell of ["Infinity", "0x1f", "1,5", "1e", "--1", "1 2", "١"]) {
      expect(csvError(`a;b\n1;${cell}\n`)).toContain(`row 2, column "b" (2): ${JSON.stringify(cell)} is not a number`);
    }
    expect(csvError("a\n1e39\n")).toBe('data.csv: row 2, column "a" (1): "1e39" is too large for a 32-bit float');
  });

  test("ragged rows give both counts and the column concerned", () => {
    const text = "a,b,c,d\n1,2,3,4\n\n\n5,6,7\n";
    expect(csvError(text)).toBe('data.csv: row 5 has 3 cells, the header has 4 (no value for column "d" (4))');
    expect(csvError("a,b\n1,2,3\n")).toBe("data.csv: row 2 has 3 cells, the header has 2 (an extra cell at column 3)");
    // The row's length is reported before any of its cells is read as a number.
    expect(csvError("a,b\nx,y,z\n")).toContain("row 2 has 3 cells");
  });

  test("rows are counted as an editor numbers lines, across CRLF and line breaks inside quotes", () => {
    expect(csvError('a,"b\nc"\r\n1,2\r\n3,x\r\n')).toStartWith('data.csv: row 4, column "b\\nc" (2)');
  });

  test("empty file, header only, and broken headers", () => {
    expect(csvError("")).toStartWith("data.csv: the file is empty");
    expect(csvError("\ufeff\n \r\n")).toStartWith("data.csv: the file is empty");
    expect(csvError("a,b\n")).toStartWith("data.csv: no data rows");
    expect(csvError("a,b\n\n\n")).toStartWith("data.csv: no data rows");
    expect(csvError("a,,c\n1,2,3\n")).toBe("data.csv: row 1, column 2: the column name is empty");
    expect(csvError("\n\na,b, a\n1,2,3\n")).toBe('data.csv: row 3, column "a" (3): duplicate column name (also column 1)');
  });

  test("quoting mistakes", () => {
    expect(csvError('a,b\n1,"2\n3,4\n')).toBe('data.csv: row 2, column "b" (2): the quote that opens this cell is never closed');
    expect(csvError('a,b\n1,"2"x\n')).toStartWith('data.csv: row 2, column "b" (2): unexpected text after the closing quote');
    expect(csvError('a,b\n1,2"\n')).toContain('row 2, column "b" (2): "2\\"" is not a number');
  });

  test("the file name defaults to something readable, and a bad delimiter option is an InputError", () => {
    expect(() => parseCsv("a\nx\n")).toThrow('CSV input: row 2, column "a" (1): "x" is not a number');
    expect(() => parseCsv("a\n1\n", { delimiter: '"' })).toThrow(InputError);
    expect(() => parseCsv("a\n1\n", { delimiter: ",," })).toThrow(InputError);
  });

  test("splitTarget: missing target (with a suggestion and the columns), unknown feature, target among features", () => {
    const table = parseCsv("age,income,price\n1,2,3\n");
    const source = "houses.csv";
    expect(splitError(() => splitTarget(table, "pric", { source }))).toBe(
      `houses.csv: there is no target column "pric" (did you mean 'price'?); the columns are "age", "income", "price"`,
    );
    expect(splitError(() => splitTarget(table, "zzzzzzzz", { source }))).toBe(
      `houses.csv: there is no target column "zzzzzzzz"; the columns are "age", "income", "price"`,
    );
    expect(splitError(() => splitTarget(table, "price", { source, features: ["age", "incme"] }))).toBe(
      `houses.csv: there is no feature column "incme" (did you mean 'income'?); the columns are "age", "income", "price"`,
    );
    expect(splitError(() => splitTarget(table, "price", { source, features: ["age", "price"] }))).toBe(
      `houses.csv: column "price" (3) is the target, so it cannot also be a feature`,
    );
    expect(splitError(() => splitTarget(table, "price", { source, features: ["age", "age"] }))).toContain('"age" (1) is listed twice');
    expect(splitError(() => splitTarget(table, "price", { source, features: [] }))).toContain("empty");
    expect(splitError(() => splitTarget(parseCsv("y\n1\n"), "y", { source }))).toContain("no columns are left as features");
  });
});

describe("CSV reader: hostile input", () => {
  const MB50 = 50 * 1024 * 1024;

  function expectQuickInputError(text: string, expected: string) {
    const started = performance.now();
    const message = csvError(text, "big.csv");
    const ms = performance.now() - started;
    expect(message).toContain(expected);
    expect(message.length).toBeLessThan(300); // a 50 MB cell is not copied into the message
    expect(ms).toBeLessThan(5000);
  }

  test("a 50 MB single line ends quickly in an InputError", () => {
    expectQuickInputError("x".repeat(MB50), "no data rows");
    expectQuickInputError("a\n" + "1".repeat(MB50) + "x", '"a" (1): "1111111111');
    expectQuickInputError("a,b\n" + "1,".repeat(MB50 / 2), "an extra cell at column 3");
    expectQuickInputError(",".repeat(MB50), "column 1: the column name is empty");
    expectQuickInputError('a\n"' + "1".repeat(MB50), "never closed");
  }, 60_000);

  test("binary garbage ends in an InputError", () => {
    const rng = new Rng(7);
    for (let i = 0; i < 20; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rng.next() * 4096) }, () => Math.floor(rng.next() * 256));
      const text = new TextDecoder().decode(bytes);
      expect(() => parseCsv(text, { source: "garbage.bin" })).toThrow(InputError);
    }
  });

  test("500 seeded mutations of a valid file: each parses or ends in an InputError", () => {
    const seed = '\ufeffsepal length,"sepal, width",petal\r\n5.1,3.5,1.4\r\n4.9,"3.0",-1e-1\r\n\r\n+.5, 3 ,2\r\n';
    const rng = new Rng(42);
    const pick = (n: number) => Math.floor(rng.next() * n);
    const insertions = ['"', ",", "\n", "\r\n", ";", "\t", '""', "x", "-", ".", "e", " ", "\ufeff", "\0"];
    const mutations: Record<string, (t: string) => string> = {
      truncate: (t) => t.slice(0, pick(t.length + 1)),
      deleteChar: (t) => {
        const i = pick(t.length);
        return t.slice(0, i) + t.slice(i + 1);
      },
      insert: (t) => {
        const i = pick(t.length + 1);
        return t.slice(0, i) + insertions[pick(insertions.length)] + t.slice(i);
      },
      insertRandomChar: (t) => {
        const i = pick(t.length + 1);
        return t.slice(0, i) + String.fromCharCode(pick(0x3000)) + t.slice(i);
      },
      duplicateLine: (t) => {
        const lines = t.split("\n");
        lines.splice(pick(lines.length), 0, lines[pick(lines.length)]);
        return lines.join("\n");
      },
    };
    const names = Object.keys(mutations);
    const failures: string[] = [];
    let parsed = 0;
    for (let i = 0; i < 500; i++) {
      let text = seed;
      const applied: string[] = [];
      for (let k = 1 + pick(4); k > 0; k--) {
        const name = names[pick(names.length)];
        text = mutations[name](text);
        applied.push(name);
      }
      try {
        const table = parseCsv(text, { source: "fuzz.csv" });
        parsed++;
        if (table.values.length !== table.rows * table.columns.length || table.rows < 1) failures.push(`case ${i}: inconsistent table`);
        if (table.values.some((v) => !Number.isFinite(v))) failures.push(`case ${i}: non-finite value`);
      } catch (error) {
        if (!(error instanceof InputError)) failures.push(`case ${i} (${applied.join("+")}): ${(error as Error)?.name}: ${(error as Error)?.message}`);
        else if (!(error as Error).message.startsWith("fuzz.csv: ") || (error as Error).message.includes("\n")) {
          failures.push(`case ${i} (${applied.join("+")}): message not one line naming the file: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(parsed).toBeGreaterThan(0); // the mutations are mild enough that some still parse
    expect(parsed).toBeLessThan(500);
  });
});
