// Putting what a user gave us (a file name, a value from their file) into a one-line message: control
// characters are escaped, so a newline in a file name cannot split the line or an escape sequence recolour
// the terminal, and anything long is cut to a few hundred characters, so a 10 MB string in a file cannot
// become a 10 MB error.

/** Longest piece of user text quoted in a message. */
export const SHOWN_CHARS = 200;

/** `text` with C0/C1 control characters, DEL and line/paragraph separators escaped, cut to `max` characters. */
export function displayText(text: string, max = SHOWN_CHARS): string {
  const cut = text.length > max ? `${text.slice(0, max)}… (${(text.length - max).toLocaleString("en-US")} more characters)` : text;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * A JSON-like preview of any value, bounded in length and depth and never recursive without limit (JSON.stringify
 * of a list nested 10⁵ deep overflows the stack; String() of one does too).
 */
export function describeValue(value: unknown, max = SHOWN_CHARS): string {
  let out = "";
  const stack: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (out.length > max) return;
    if (typeof v === "string") out += JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v);
    else if (typeof v === "number" || typeof v === "boolean" || v === null) out += String(v);
    else if (v === undefined) out += "undefined";
    else if (typeof v === "bigint") out += `${v}n`;
    else if (typeof v !== "object") out += typeof v;
    else if (depth >= 4 || stack.includes(v)) out += Array.isArray(v) ? "[…]" : "{…}";
    else {
      stack.push(v);
      if (Array.isArray(v)) {
        out += "[";
        for (let i = 0; i < v.length && out.length <= max; i++) {
          if (i > 0) out += ", ";
          walk(v[i], depth + 1);
        }
        out += "]";
      } else {
        out += "{";
        let first = true;
        for (const key in v) {
          if (!Object.hasOwn(v, key)) continue;
          if (out.length > max) break;
          out += `${first ? "" : ", "}${JSON.stringify(key.length > max ? `${key.slice(0, max)}…` : key)}: `;
          first = false;
          walk((v as Record<string, unknown>)[key], depth + 1);
        }
        out += "}";
      }
      stack.pop();
    }
  };
  walk(value, 0);
  return displayText(out, max);
}
