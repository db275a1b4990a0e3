// Reading a file the user named: a model file, a checkpoint, IDX, gzip, CSV, .npy, JSON or ONNX. The path
// is stat()ed before anything opens it, so a folder, a named pipe (whose open() would wait forever for a
// writer), a socket or a device (/dev/zero never ends) is one clear line instead of a hang, a crash or
// gigabytes read; the size is checked against the input limit before a byte is read (a sparse 2 GiB file
// costs nothing to refuse); and the file is read into one buffer of exactly its size. A regular file that
// reports size 0 but has content is a /proc or /sys pseudo-file (/proc/self/pagemap reads to gigabytes):
// refused after reading a single byte.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { InputError, UsageError } from "../errors";
import { displayText } from "./display";

/** The default limit on the bytes of one input, read or inflated (1 GiB). */
export const DEFAULT_INPUT_LIMIT = 1 << 30;

const limits = { bytes: DEFAULT_INPUT_LIMIT, howToRaise: "raise it with setInputLimit()" };

/** Sets the largest input (file size, or size after gzip inflation) readers accept, and how a message says to raise it. */
export function setInputLimit(bytes: number, howToRaise = limits.howToRaise): void {
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError(`the input limit must be a positive number of bytes, got ${bytes}`);
  limits.bytes = bytes;
  limits.howToRaise = howToRaise;
}

export function inputLimit(): { bytes: number; howToRaise: string } {
  return { ...limits };
}

/** "a folder", "a named pipe (fifo)", …; undefined for a regular file. */
export function specialKind(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return "a folder";
  if (stats.isFIFO()) return "a named pipe (fifo)";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  return "not a regular file";
}

/** Why an fs call failed, in words; never a stack trace or an errno number alone. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case "ENOENT":
      return "it does not exist";
    case "ENOTDIR":
      return "a part of the path is not a folder";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a folder";
    case "ELOOP":
      return "too many levels of symbolic links";
    case "ENAMETOOLONG":
      return "the name is too long";
    case "EIO":
      return "input/output error (a failing disk, or a /proc file that cannot be read)";
    case "ENXIO":
      return "no such device or address";
    case "EINVAL":
      return "the file cannot be read (invalid argument)";
    case "EAGAIN":
      return "reading it would block";
    case "EMFILE":
    case "ENFILE":
      return "too many open files";
    case "ENOMEM":
      return "out of memory";
    default:
      return displayText(`${code ?? "error"}: ${(error as Error)?.message ?? String(error)}`);
  }
}

/** A path given to a flag: empty is a usage error (an empty --resume must not silently start afresh). */
export function requirePath(path: unknown, what: string): string {
  if (typeof path !== "string" || path === "") throw new UsageError(`${what} needs a file name, got ${path === "" ? "an empty one" : "none"}`);
  return path;
}

function label(path: string, what: string): string {
  return `${what ? `${what} ` : ""}${displayText(path)}`;
}

/** stat() with the errors a user can cause turned into one line. */
export function statUserPath(path: string, what: string): Stats {
  requirePath(path, what || "the path");
  try {
    return statSync(path);
  } catch (error) {
    throw new InputError(`cannot read ${label(path, what)}: ${describeFsError(error)}`);
  }
}

/** A folder the user named (a dataset directory). */
export function requireFolder(path: string, what: string): void {
  const stats = statUserPath(path, what);
  if (!stats.isDirectory()) throw new InputError(`${label(path, what)} is ${specialKind(stats) ?? "a file"}, not a folder`);
}

/** Whether a regular file exists at `path` (false for folders, fifos and the like, and for errors). */
export function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function refuseSpecial(path: string, what: string, kind: string): never {
  throw new InputError(`cannot read ${label(path, what)}: it is ${kind}; wasmgrad reads regular files only`);
}

export function formatSize(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** "the 1.00 GiB input limit; raise it with --max-input-size", for messages about an input too large. */
export function limitHint(limit = limits.bytes): string {
  return `the ${formatSize(limit)} input limit; ${limits.howToRaise}`;
}

/**
 * The bytes of a regular file the user named, or one InputError line: "cannot read --input x.npy: no such
 * file", "… it is a named pipe (fifo)", "… is 2.00 GiB, over the 1.00 GiB input limit".
 */
export function readUserFile(path: string, what: string, options: { limit?: number } = {}): Uint8Array {
  const limit = options.limit ?? limits.bytes;
  const before = statUserPath(path, what);
  const kind = specialKind(before);
  if (kind) refuseSpecial(path, what, kind);
  if (before.size > limit) throw new InputError(`cannot read ${label(path, what)}: it is ${formatSize(before.size)}, over ${limitHint(limit)}`);
  let fd: number;
  try {
    // O_NONBLOCK: should the path have become a fifo since the stat, open() must not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw new InputError(`cannot read ${label(path, what)}: ${describeFsError(error)}`);
  }
  try {
    const stats = fstatSync(fd);
    const now = specialKind(stats);
    if (now) refuseSpecial(path, what, now);
    if (stats.size > limit) throw new InputError(`cannot read ${label(path, what)}: it is ${formatSize(stats.size)}, over ${limitHint(limit)}`);
    const bytes = new Uint8Array(stats.size);
    let filled = 0;
    while (filled < bytes.length) {
      const n = readSync(fd, bytes, filled, bytes.length - filled, null);
      if (n === 0) break;
      filled += n;
    }
    // More bytes than the size said: a pseudo-file (size 0) or one being written to. Read no further.
    if (probeForMore(fd, stats.size === 0)) {
      throw new InputError(stats.size === 0
        ? `cannot read ${label(path, what)}: it is a special file whose size is unknown (as in /proc or /sys); wasmgrad reads regular files only`
        : `cannot read ${label(path, what)}: it grew while being read (is something still writing it?)`);
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read ${label(path, what)}: ${describeFsError(error)}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether the file has a byte past its stated size. A size-0 file that fails to read even one byte
 * (/proc/self/pagemap wants 8-byte reads, /proc/self/clear_refs cannot be read at all) counts as having
 * more: it is a pseudo-file either way, not an empty one.
 */
function probeForMore(fd: number, emptyBySize: boolean): boolean {
  try {
    return readSync(fd, new Uint8Array(1), 0, 1, null) > 0;
  } catch (error) {
    if (emptyBySize) return true;
    throw error;
  }
}

/** A user's file as UTF-8 text (invalid sequences become U+FFFD, as TextDecoder does by default). */
export function readUserText(path: string, what: string): string {
  return new TextDecoder().decode(readUserFile(path, what));
}
