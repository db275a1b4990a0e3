// For tests of constructors and options: the call must throw an InputError (a user's mistake, one clear
// line), not some other error, and its message must say what was wrong.

import { expect } from "bun:test";
import { InputError } from "../../src/errors";

export function expectRefused(f: () => unknown, text: string | RegExp): void {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InputError);
  expect((error as Error).message).toMatch(text);
}
