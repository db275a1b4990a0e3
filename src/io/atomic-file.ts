// Saving without ever leaving a half-written file under the real name: write a temporary file beside
// the target, flush it to disk, then rename it over the target (atomic on POSIX file systems). If anything
// fails — a full disk, a kill — the previous file is untouched.
//
// The target is what the user meant: a symbolic link is followed to the file it names (the link stays a
// link, and the write is atomic there), and a folder, device, fifo or socket is refused rather than
// replaced by a regular file. The temporary name is the target's, cut to fit (NAME.tmp-PID must stay within
// the 255-byte limit of a file name), and temporaries left by processes that no longer exist — a SIGKILL
// mid-save — are removed the next time anything is saved next to them.

import { closeSync, constants, fsyncSync, lstatSync, openSync, readdirSync, readlinkSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import { InputError } from "../errors";
import { displayText } from "./display";
import { describeFsError, requirePath, specialKind } from "./user-file";

/** The longest file name (in bytes) Linux and macOS file systems take. */
const NAME_MAX = 255;
/** Symbolic links followed before giving up, as the kernel's own limit (40). */
const MAX_LINKS = 40;

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  requirePath(path, "the output");
  const shown = displayText(path);
  const target = resolveTarget(path, shown);
  const dir = dirname(target);
  const temporary = join(dir, temporaryName(basename(target), process.pid));
  removeStaleTemporaries(dir, basename(target));
  let fd: number | undefined;
  try {
    try {
      unlinkSync(temporary); // ours from an earlier process with the same id: stale by definition
    } catch {
      // none
    }
    fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, target);
    syncFolder(dir);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temporary);
    } catch {
      // already gone
    }
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOSPC" ? "the disk is full" : code === "ENOENT" ? "the folder does not exist" : describeFsError(error);
    throw new InputError(`could not save ${shown}${target !== path ? ` (a link to ${displayText(target)})` : ""}: ${why}; any earlier file there is unchanged`);
  }
}

/** Refuses, before any work, a target writeFileAtomic would refuse (a folder, a device, a link to one). */
export function checkSaveTarget(path: string): void {
  resolveTarget(requirePath(path, "the output"), displayText(path));
}

/** The file a save to `path` must replace: `path` itself, or what its chain of symbolic links ends at. */
function resolveTarget(path: string, shown: string): string {
  let current = path;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    let stats;
    try {
      stats = lstatSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return current; // a new file (or a dangling link's target)
      throw new InputError(`could not save ${shown}: ${describeFsError(error)}`);
    }
    if (stats.isSymbolicLink()) {
      const link = readlinkSync(current);
      current = isAbsolute(link) ? link : join(dirname(current), link);
      continue;
    }
    const kind = specialKind(stats);
    if (kind) throw new InputError(`could not save ${shown}${current !== path ? ` (a link to ${displayText(current)})` : ""}: it is ${kind}; wasmgrad replaces regular files only`);
    return current;
  }
  throw new InputError(`could not save ${shown}: too many levels of symbolic links`);
}

/** NAME.tmp-PID, with NAME cut (at a UTF-8 character boundary) so that the whole fits in NAME_MAX bytes. */
export function temporaryName(name: string, pid: number): string {
  const suffix = `.tmp-${pid}`;
  const room = NAME_MAX - suffix.length;
  const encoded = new TextEncoder().encode(name);
  if (encoded.length <= room) return name + suffix;
  let cut = room;
  while (cut > 0 && (encoded[cut] & 0xc0) === 0x80) cut--; // back off a continuation byte
  return new TextDecoder().decode(encoded.subarray(0, cut)) + suffix;
}

/** Deletes NAME.tmp-PID files beside `name` whose process is gone (killed during a save). */
function removeStaleTemporaries(dir: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // the save itself will say what is wrong with the folder
  }
  for (const entry of entries) {
    const match = /\.tmp-(\d+)$/.exec(entry);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || entry !== temporaryName(name, pid) || processExists(pid)) continue;
    try {
      if (lstatSync(join(dir, entry)).isFile()) unlinkSync(join(dir, entry));
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Flushes the folder entry of the rename too (best effort: not every file system allows it). */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, constants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // a folder that cannot be opened or synced: the rename still happened
  }
}
