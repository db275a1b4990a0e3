// Runs the standalone executable the way a user would: copied alone into an empty folder (no
// node_modules, no sources next to it), from that folder.

import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// WASMGRAD_TEST_EXE runs the CLI tests against another build (an older one, to see a test fail).
const built = process.env.WASMGRAD_TEST_EXE ?? join(import.meta.dir, "..", "..", "dist", "wasmgrad");
let isolatedDir: string | undefined;

/** A fresh empty folder holding only a copy of dist/wasmgrad (made once per test file). */
export function isolatedBinary(): { dir: string; exe: string } {
  // Copied once: copying 130 MB before every run was slow, and fails (ETXTBSY) while a run is still going.
  if (!isolatedDir) {
    isolatedDir = mkdtempSync(join(tmpdir(), "wasmgrad-cli-"));
    copyFileSync(built, join(isolatedDir, "wasmgrad"));
  }
  return { dir: isolatedDir, exe: join(isolatedDir, "wasmgrad") };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the copied executable. `timeout` (ms) kills a run that hangs, so a regression fails (code -1)
 * instead of stalling the suite; `shell` runs it through bash first (for `ulimit -v`, say).
 */
export function runCli(args: string[], options: { cwd?: string; timeout?: number; shell?: string; env?: Record<string, string>; measureRss?: boolean } = {}): RunResult & { maxRss: number } {
  const { dir, exe } = isolatedBinary();
  let command = options.shell ? ["bash", "-c", `${options.shell}; exec "$0" "$@"`, exe, ...args] : [exe, ...args];
  // Peak RSS of this run alone: measured by a fresh process whose only child it is (see peak-rss.ts).
  const rssFile = options.measureRss ? join(dir, `peak-rss-${process.pid}-${++runs}`) : undefined;
  if (rssFile) command = [process.execPath, join(import.meta.dir, "peak-rss.ts"), ...command];
  const result = Bun.spawnSync(command, {
    cwd: options.cwd ?? dir, stdout: "pipe", stderr: "pipe", timeout: options.timeout,
    env: { ...process.env, WASMGRAD_DEBUG: "", ...options.env, ...(rssFile ? { PEAK_RSS_FILE: rssFile } : {}) },
  });
  const maxRss = rssFile ? Number(readFileSync(rssFile, "utf8")) : 0;
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString(), maxRss };
}

let runs = 0;

/** runCli without blocking: independent runs of a test go side by side (Promise.all). */
export async function runCliAsync(args: string[], options: { cwd?: string; timeout?: number; shell?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const { dir, exe } = isolatedBinary();
  const command = options.shell ? ["bash", "-c", `${options.shell}; exec "$0" "$@"`, exe, ...args] : [exe, ...args];
  const child = Bun.spawn(command, { cwd: options.cwd ?? dir, stdout: "pipe", stderr: "pipe", timeout: options.timeout, env: { ...process.env, WASMGRAD_DEBUG: "", ...options.env } });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code: child.signalCode ? -1 : code, stdout, stderr };
}

/** A user-facing error: non-zero exit, one line on stderr starting "wasmgrad:", no stack frames. */
export function expectCleanError(r: RunResult): string {
  const lines = r.stderr.trim().split("\n");
  if (r.code === 0) throw new Error(`expected a failure, got exit 0; stderr: ${r.stderr}`);
  if (lines.length !== 1 || !lines[0].startsWith("wasmgrad: ") || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected one clean error line, got:\n${r.stderr}`);
  }
  return lines[0];
}
