// Finds where JSON text first goes wrong. Engines word JSON.parse errors differently (JavaScriptCore
// gives no position at all), so for a "line L, column C" that is the same everywhere we scan ourselves.
// Called only after JSON.parse has already failed.

export function locateJsonError(text: string): { line: number; column: number; expected: string } {
  let i = 0;
  const fail = (expected: string): never => {
    throw Object.assign(new Error(expected), { offset: i });
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail("a value");
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if (text.charCodeAt(i) < 0x20) fail("a closing quote");
      i++;
    }
    if (i >= text.length) fail("a closing quote");
    i++;
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) fail("a value");
    i += match![0].length;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === "{") {
      i++;
      space();
      if (text[i] === "}") return void i++;
      for (;;) {
        space();
        if (text[i] !== '"') fail("a quoted key");
        string();
        space();
        if (text[i] !== ":") fail("':'");
        i++;
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else fail("',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      space();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else fail("',' or ']'");
      }
    }
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    return number();
  };
  let expected = "the end of the text";
  try {
    value();
    space();
    if (i < text.length) fail("the end of the text");
  } catch (error) {
    expected = (error as Error).message;
    i = (error as { offset?: number }).offset ?? i;
  }
  const before = text.slice(0, i).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1, expected };
}
