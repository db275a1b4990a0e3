// What the PyTorch comparison tests share: whether Debian's torch is there for /usr/bin/python3, how a
// missing torch is reported (a failure under CI=true, where scripts/install-test-packages.sh must have
// installed it; a skip with the reason elsewhere), running a fixture generator, and the layout helpers.

import { existsSync } from "node:fs";

export const PYTHON = "/usr/bin/python3";

export function torchAvailable(modules = ["torch"]): boolean {
  return existsSync(PYTHON) && Bun.spawnSync([PYTHON, "-c", modules.map((m) => `import ${m}`).join("; ")], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

export const TORCH_MISSING = "Debian's python3-torch/python3-torchvision are not installed for /usr/bin/python3 (scripts/install-test-packages.sh installs them as root)";

/** CI must run these tests: there a missing torch fails instead of skipping. */
export const torchRequired = process.env.CI === "true";

/** Runs a generator script with /usr/bin/python3; resolves with its exit code and error output. */
export async function runPython(args: string[]): Promise<{ code: number; stderr: string; seconds: number }> {
  const started = performance.now();
  const child = Bun.spawn([PYTHON, ...args], { stdout: "ignore", stderr: "pipe", env: { ...process.env, PYTHONHASHSEED: "0", OMP_NUM_THREADS: "1" } });
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  return { code, stderr, seconds: (performance.now() - started) / 1000 };
}

/** NCHW → NHWC, for feeding wasmgrad the images PyTorch got. */
export function toNhwc(x: ArrayLike<number>, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) out[((b * h + y) * w + xx) * c + ch] = x[((b * c + ch) * h + y) * w + xx];
  return out;
}

/** A PyTorch [rows, cols] weight → [cols, rows] (weight_ih → our kernel, Linear's weight → Dense's). */
export function transposed({ shape: [rows, cols], data }: { shape: number[]; data: ArrayLike<number> }): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** PyTorch's GRU gate blocks [r, z, n] along the last axis → ours [z, r, h]. */
export function gruGateOrder(values: Float32Array, units: number): Float32Array {
  const rows = values.length / (3 * units), out = new Float32Array(values.length);
  for (let i = 0; i < rows; i++) {
    const row = values.subarray(i * 3 * units, (i + 1) * 3 * units);
    out.set(row.subarray(units, 2 * units), i * 3 * units);
    out.set(row.subarray(0, units), i * 3 * units + units);
    out.set(row.subarray(2 * units), i * 3 * units + 2 * units);
  }
  return out;
}
