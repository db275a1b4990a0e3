// The margins of ZeroPadding2D and Cropping2D in the three forms Keras accepts: one integer for all four
// sides, [rows, cols] for symmetric margins, or [[top, bottom], [left, right]].

import { InputError } from "../errors";

export type EdgeSpec = number | [number, number] | [[number, number], [number, number]];

/** Margins as [[top, bottom], [left, right]], the form Keras writes back. */
export type Edges = [[number, number], [number, number]];

const isMargin = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Reads any of the three forms; `who` and `key` name the layer and option in the error. */
export function parseEdges(value: unknown, key: string, who: string): Edges {
  if (isMargin(value)) return [[value, value], [value, value]];
  if (Array.isArray(value) && value.length === 2) {
    const [rows, cols] = value;
    if (isMargin(rows) && isMargin(cols)) return [[rows, rows], [cols, cols]];
    const pair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every(isMargin);
    if (pair(rows) && pair(cols)) return [[rows[0], rows[1]], [cols[0], cols[1]]];
  }
  throw new InputError(
    `${who}: '${key}' must be a non-negative integer, [rows, cols] or [[top, bottom], [left, right]], got ${JSON.stringify(value)}`,
  );
}

export function isZero(edges: Edges): boolean {
  return edges.every(([a, b]) => a === 0 && b === 0);
}
