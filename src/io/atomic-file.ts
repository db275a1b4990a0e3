// Saving without ever leaving a half-written file under the real name: write a temporary file beside
// it, flush it to disk, then rename over the target (atomic on POSIX file systems). If anything fails —
// a full disk, a kill — the previous file is untouched.

import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { InputError } from "../errors";

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "w", 0o644);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temporary);
    } catch {
      // already gone
    }
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOSPC" ? "the disk is full" : code === "EACCES" ? "permission denied" : code === "ENOENT" ? "the folder does not exist" : (error as Error).message;
    throw new InputError(`could not save ${path}: ${why}; any earlier file there is unchanged`);
  }
}
