// Reader for numeric tabular data: a header line of column names, then one line of numbers per sample.
// Quoting follows RFC 4180 ("a,b" cells, "" for a quote inside one); CRLF, a UTF-8 BOM and blank lines are
// tolerated. Missing values are an error, never a silent 0: a model trained on invented zeros looks fine
// and is wrong. Every bad input ends in one InputError line naming the file, the row as an editor numbers
// it, and the column. One pass over the text, cells cut out with slice (no string building), so a huge
// or binary file fails in linear time.

import { closest, didYouMean, InputError } from "../errors";

export interface CsvTable {
  columns: string[];
  rows: number;
  /** row-major, rows × columns.length */
  values: Float32Array;
}

export interface ParseCsvOptions {
  /** file name used in error messages */
  source?: string;
  /** default: auto-detect "," ";" "\t" from the header line */
  delimiter?: string;
}

export interface CsvDataset {
  features: Float32Array;
  /** rows × featureColumns.length */
  targets: Float32Array;
  /** rows × 1 */
  featureColumns: string[];
  targetColumn: string;
  rows: number;
}

const DEFAULT_SOURCE = "CSV input";
const CANDIDATE_DELIMITERS = [",", ";", "\t"];
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
/** Longest cell or column name quoted in a message: a 50 MB cell must not become a 50 MB message. */
const SHOWN_CHARS = 40;
/** Most column names listed in a message. */
const SHOWN_COLUMNS = 20;

// Decimal numbers only: Number() alone would also take "0x1f", "Infinity" and "" (as 0). Written without
// nested repetition so that a long run of digits cannot make the match quadratic.
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const MISSING_MARKERS = /^(?:nan|na|n\/a|null|none|missing|\?|-)$/i;
/** What tables (src/data/table-dataset.ts) read as a missing cell: empty, or pandas' usual markers and "?". */
const MISSING_CELL = /^(?:|nan|na|n\/a|#n\/a|null|none|\?)$/i;

/** Whether a cell is a missing value in a table: "", NA, N/A, #N/A, NaN, null, None or "?" (any case). */
export function isMissingCell(cell: string): boolean {
  return MISSING_CELL.test(cell);
}

/** Whether a cell is a decimal number as the reader takes one ("1", "-2.5", "3e4"; not "0x1f" or "Infinity"). */
export function isNumberCell(cell: string): boolean {
  return NUMBER.test(cell);
}

/** A cell as a float32 number, or one error line: `where` names the file, row and column. */
export function cellNumber(cell: string, where: () => string): number {
  return toNumber(cell, where);
}

/** A name or cell as messages quote it: JSON-quoted, control characters escaped, cut short if long. */
export function quoteCell(value: string): string {
  return show(value);
}

/** Column names as messages list them: the first 20, quoted, then how many there are in all. */
export function listColumnNames(columns: readonly string[]): string {
  return listColumns(columns);
}

/** A column as messages name it: `column "age" (3)`. */
export function describeColumn(name: string, index: number): string {
  return `column ${show(name)} (${index + 1})`;
}

/** Parses a CSV whose first line is a header of column names and whose other lines are numeric cells. */
export function parseCsv(text: string, options: ParseCsvOptions = {}): CsvTable {
  const source = options.source ?? DEFAULT_SOURCE;
  let values = new Float32Array(1024);
  let rows = 0;
  const columns = scanCsv(text, options, (cells, line, name) => {
    const width = cells.length;
    if (values.length < (rows + 1) * width) {
      const grown = new Float32Array(Math.max(values.length * 2, (rows + 1) * width));
      grown.set(values);
      values = grown;
    }
    const base = rows * width;
    for (let i = 0; i < width; i++) values[base + i] = toNumber(cells[i], () => `${source}: row ${line}, ${name(i)}`);
    rows++;
  });
  return { columns, rows, values: values.slice(0, rows * columns.length) };
}

/** A CSV as text cells (text columns, string labels): the same reader and checks, without the numbers. */
export function parseCsvCells(text: string, options: ParseCsvOptions = {}): { columns: string[]; rows: string[][]; lines: number[] } {
  const rows: string[][] = [], lines: number[] = [];
  const columns = scanCsv(text, options, (cells, line) => {
    rows.push([...cells]);
    lines.push(line);
  });
  return { columns, rows, lines };
}

/**
 * Reads the header, then hands every data row's cells to onRow (the array is reused: copy what you keep),
 * with the row's line as an editor numbers it and a namer for error messages. Returns the column names.
 */
function scanCsv(
  text: string, options: ParseCsvOptions, onRow: (cells: string[], line: number, name: (i: number) => string) => void,
): string[] {
  const source = options.source ?? DEFAULT_SOURCE;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const delimiter = options.delimiter ?? detectDelimiter(text);
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
    throw new InputError(`${source}: the delimiter must be one character other than a quote or a line break (got ${show(delimiter)})`);
  }
  const scanner = new Scanner(text, delimiter.charCodeAt(0), source);

  const columns: string[] = [];
  const seen = new Map<string, number>();
  const header = scanner.readRecord(
    (i) => `column ${i + 1}`,
    (i, cell, line) => {
      if (cell === "") throw new InputError(`${source}: row ${line}, column ${i + 1}: the column name is empty`);
      const first = seen.get(cell);
      if (first !== undefined) {
        throw new InputError(`${source}: row ${line}, column ${show(cell)} (${i + 1}): duplicate column name (also column ${first + 1})`);
      }
      seen.set(cell, i);
      columns.push(cell);
    },
  );
  if (header === null) throw new InputError(`${source}: the file is empty (expected a header line of column names, then rows of numbers)`);

  const width = columns.length;
  const name = (i: number) => (i < width ? `column ${show(columns[i])} (${i + 1})` : `column ${i + 1}`);
  let rows = 0;
  // Cells of the current row are held until its length is checked: a ragged row is reported as ragged,
  // not as whichever of its cells happens to land under the wrong column.
  const cells: string[] = new Array(width);
  for (;;) {
    const record = scanner.readRecord(name, (i, cell) => {
      if (i < width) cells[i] = cell;
    });
    if (record === null) break;
    const { line, count } = record;
    if (count !== width) {
      const detail = count < width ? `no value for ${name(count)}` : `an extra cell at column ${width + 1}`;
      throw new InputError(`${source}: row ${line} has ${count} cells, the header has ${width} (${detail})`);
    }
    onRow(cells, line, name);
    rows++;
  }
  if (rows === 0) throw new InputError(`${source}: no data rows (the file holds only the header line)`);
  return columns;
}

/** Splits a table into features and one named target column (default: every other column is a feature). */
export function splitTarget(table: CsvTable, target: string, options: { features?: string[]; source?: string } = {}): CsvDataset {
  const source = options.source ?? DEFAULT_SOURCE;
  const { columns, rows, values } = table;
  const indexOf = new Map(columns.map((c, i) => [c, i]));
  const targetIndex = indexOf.get(target);
  if (targetIndex === undefined) {
    const hint = closest(target, columns) ? didYouMean(target, columns) : "";
    throw new InputError(`${source}: there is no target column ${show(target)}${hint}; the columns are ${listColumns(columns)}`);
  }
  let featureColumns: string[];
  if (options.features === undefined) {
    featureColumns = columns.filter((_, i) => i !== targetIndex);
    if (featureColumns.length === 0) {
      throw new InputError(`${source}: the target ${show(target)} is the only column, so no columns are left as features`);
    }
  } else {
    featureColumns = options.features;
    if (featureColumns.length === 0) throw new InputError(`${source}: the list of feature columns is empty`);
    const listed = new Set<string>();
    for (const feature of featureColumns) {
      if (feature === target) {
        throw new InputError(`${source}: column ${show(target)} (${targetIndex + 1}) is the target, so it cannot also be a feature`);
      }
      if (!indexOf.has(feature)) {
        const hint = closest(feature, columns) ? didYouMean(feature, columns) : "";
        throw new InputError(`${source}: there is no feature column ${show(feature)}${hint}; the columns are ${listColumns(columns)}`);
      }
      if (listed.has(feature)) throw new InputError(`${source}: feature column ${show(feature)} (${indexOf.get(feature)! + 1}) is listed twice`);
      listed.add(feature);
    }
  }

  const width = columns.length;
  const picked = featureColumns.map((c) => indexOf.get(c)!);
  const features = new Float32Array(rows * picked.length);
  const targets = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = r * width;
    for (let f = 0; f < picked.length; f++) features[r * picked.length + f] = values[row + picked[f]];
    targets[r] = values[row + targetIndex];
  }
  return { features, targets, featureColumns: [...featureColumns], targetColumn: target, rows };
}

/** Splits one record at a time, reporting each cell; line numbers count CRLF, LF and a lone CR as one break. */
class Scanner {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly delimiter: number,
    private readonly source: string,
  ) {}

  /**
   * Reads the next non-blank record, calling onCell for each cell (trimmed, quotes removed).
   * Returns null at the end of the text. Blank lines (nothing but spaces) are skipped.
   */
  readRecord(
    columnName: (index: number) => string,
    onCell: (index: number, cell: string, line: number) => void,
  ): { line: number; count: number } | null {
    const { text, delimiter } = this;
    const end = text.length;
    for (;;) {
      if (this.pos >= end) return null;
      const line = this.line;
      let count = 0;
      for (;;) {
        this.skipSpaces();
        let cell: string;
        let quoted = false;
        if (text.charCodeAt(this.pos) === QUOTE) {
          quoted = true;
          cell = this.readQuoted(() => `${this.source}: row ${line}, ${columnName(count)}`);
          this.skipSpaces();
        } else {
          const start = this.pos;
          let last = start; // one past the last non-space character
          while (this.pos < end) {
            const c = text.charCodeAt(this.pos);
            if (c === delimiter || c === LF || c === CR) break;
            this.pos++;
            if (!this.isSpace(c)) last = this.pos;
          }
          cell = text.slice(start, last);
        }
        const c = this.pos < end ? text.charCodeAt(this.pos) : -1;
        if (c === delimiter) {
          this.pos++;
          onCell(count++, cell, line);
          continue;
        }
        if (c !== LF && c !== CR && c !== -1) {
          // Only reachable after a closing quote: readQuoted stops there, and the unquoted loop eats the rest.
          throw new InputError(`${this.source}: row ${line}, ${columnName(count)}: unexpected text after the closing quote (a quote inside a quoted cell is written "")`);
        }
        this.skipLineBreak();
        if (count === 0 && !quoted && cell === "") break; // a blank line
        onCell(count++, cell, line);
        return { line, count };
      }
    }
  }

  /** Reads a quoted cell starting at its opening quote, leaving pos after the closing quote. */
  private readQuoted(where: () => string): string {
    const { text } = this;
    const end = text.length;
    const pieces: string[] = [];
    let start = ++this.pos;
    for (;;) {
      if (this.pos >= end) throw new InputError(`${where()}: the quote that opens this cell is never closed`);
      const c = text.charCodeAt(this.pos);
      if (c === QUOTE) {
        pieces.push(text.slice(start, this.pos));
        if (text.charCodeAt(this.pos + 1) === QUOTE) {
          this.pos += 2; // "" stands for one quote: keep the second as the start of the next piece
          start = this.pos - 1;
          continue;
        }
        this.pos++;
        return pieces.length === 1 ? pieces[0] : pieces.join("");
      }
      if (c === LF || (c === CR && text.charCodeAt(this.pos + 1) !== LF)) this.line++;
      this.pos++;
    }
  }

  private skipSpaces(): void {
    while (this.pos < this.text.length && this.isSpace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  private skipLineBreak(): void {
    const c = this.text.charCodeAt(this.pos);
    if (c === CR) {
      this.pos += this.text.charCodeAt(this.pos + 1) === LF ? 2 : 1;
      this.line++;
    } else if (c === LF) {
      this.pos++;
      this.line++;
    }
  }

  private isSpace(c: number): boolean {
    return c === SPACE || (c === TAB && this.delimiter !== TAB);
  }
}

/** The candidate delimiter seen most often outside quotes on the first non-blank line ("," if none). */
function detectDelimiter(text: string): string {
  const counts = new Map<number, number>(CANDIDATE_DELIMITERS.map((d) => [d.charCodeAt(0), 0]));
  let inQuotes = false;
  let sawContent = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (!inQuotes && (c === LF || c === CR)) {
      if (sawContent) break;
      for (const d of counts.keys()) counts.set(d, 0); // that line was blank: only the header counts
      continue;
    }
    if (c !== SPACE && c !== TAB) sawContent = true;
    if (!inQuotes) {
      const n = counts.get(c);
      if (n !== undefined) counts.set(c, n + 1);
    }
  }
  let best = CANDIDATE_DELIMITERS[0];
  let bestCount = 0;
  for (const d of CANDIDATE_DELIMITERS) {
    const n = counts.get(d.charCodeAt(0))!;
    if (n > bestCount) {
      best = d;
      bestCount = n;
    }
  }
  return best;
}

function toNumber(cell: string, where: () => string): number {
  if (cell === "") throw new InputError(`${where()}: the cell is empty (missing values are not supported: fill or drop them first)`);
  if (!NUMBER.test(cell)) {
    const hint = MISSING_MARKERS.test(cell) ? " (missing values are not supported: fill or drop them first)" : "";
    throw new InputError(`${where()}: ${show(cell)} is not a number${hint}`);
  }
  const value = Math.fround(Number(cell));
  if (!Number.isFinite(value)) throw new InputError(`${where()}: ${show(cell)} is too large for a 32-bit float`);
  return value;
}

/** A name or cell as it appears in a message: quoted, control characters escaped, and cut short if long. */
function show(value: string): string {
  return JSON.stringify(value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value);
}

function listColumns(columns: readonly string[]): string {
  const shown = columns.slice(0, SHOWN_COLUMNS).map(show).join(", ");
  return columns.length > SHOWN_COLUMNS ? `${shown}, … (${columns.length} in all)` : shown;
}
