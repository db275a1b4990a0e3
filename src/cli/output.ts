// Results on stdout, written synchronously in pieces: a prediction per line for a million images is
// streamed, not built up as one string, and a write waits for a slow reader instead of queueing in
// memory. A reader that has gone away (`wasmgrad predict … | head`) is not an error: the run ends quietly
// with exit 0, as cat and grep end.

import { writeSync } from "node:fs";

const STDOUT = 1;
const FLUSH_AT = 1 << 16;
let pending = "";
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Queues text for stdout; written out in 64 KiB pieces and at flushOut(). */
export function writeOut(text: string): void {
  pending += text;
  if (pending.length >= FLUSH_AT) flushOut();
}

export function flushOut(): void {
  if (pending.length === 0) return;
  const bytes = new TextEncoder().encode(pending);
  pending = "";
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(STDOUT, bytes, written, bytes.length - written);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") Atomics.wait(pause, 0, 0, 1);
      else if (code === "EPIPE") stdoutClosed();
      else throw error;
    }
  }
}

/** The reader of stdout is gone: nothing more can be said there, and nothing went wrong. */
export function stdoutClosed(): never {
  process.exit(0);
}

/** A JSON array written entry by entry, formatted exactly as JSON.stringify(array, null, 2) formats it. */
export class JsonArrayWriter {
  private count = 0;

  add(value: unknown): void {
    this.addRaw(JSON.stringify(value, null, 2));
  }

  /** An entry already formatted as JSON.stringify(value, null, 2) would (for rows too many to build as objects). */
  addRaw(json: string): void {
    writeOut(`${this.count++ === 0 ? "[\n" : ",\n"}${json.replace(/^/gm, "  ")}`);
  }

  end(): void {
    writeOut(this.count === 0 ? "[]\n" : "\n]\n");
    flushOut();
  }
}
