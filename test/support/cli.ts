// Runs the standalone executable the way a user would: copied alone into an empty folder (no
// node_modules, no sources next to it), from that folder.

import { copyFileSync, mkdtempSync } from "node:fs";
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
export function runCli(args: string[], options: { cwd?: string; timeout?: number; shell?: string; env?: Record<string, string> } = {}): RunResult & { maxRss: number } {
  const { dir, exe } = isolatedBinary();
  const command = options.shell ? ["bash", "-c", `${options.shell}; exec "$0" "$@"`, exe, ...args] : [exe, ...args];
  const result = Bun.spawnSync(command, {
    cwd: options.cwd ?? dir, stdout: "pipe", stderr: "pipe", timeout: options.timeout,
    env: { ...process.env, WASMGRAD_DEBUG: "", ...options.env },
  });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString(), maxRss: result.resourceUsage?.maxRSS ?? 0 };
}

/** runCli without blocking: independent runs of a test go side by side (Promise.all). */
export async function runCliAsync(args: string[], options: { cwd?: string; timeout?: number; shell?: string; env?: Record<string, string> } = {}): Promise<RunResult & { maxRss: number }> {
  const { dir, exe } = isolatedBinary();
  const command = options.shell ? ["bash", "-c", `${options.shell}; exec "$0" "$@"`, exe, ...args] : [exe, ...args];
  const child = Bun.spawn(command, { cwd: options.cwd ?? dir, stdout: "pipe", stderr: "pipe", timeout: options.timeout, env: { ...process.env, WASMGRAD_DEBUG: "", ...options.env } });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code: child.signalCode ? -1 : code, stdout, stderr, maxRss: child.resourceUsage()?.maxRSS ?? 0 };
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
