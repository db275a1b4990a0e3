// SIGKILL at random moments while the executable saves checkpoints, many times over: the checkpoint under
// the real name must always be readable (the save writes a temporary file, flushes it, then renames it).
// Epochs are made tiny (64 digits) and the model wide (784-4096-10, ~39 MB with Adam state) so that most
// of the run is spent saving and many kills land inside a write. (With saving done by a plain overwrite
// instead, this test fails: kills inside the write leave truncated files.)

import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeIdx } from "../../src/data/idx";
import "../../src/index"; // registers the kernels a decoded model needs
import { decodeCheckpoint } from "../../src/model/checkpoint";
import { Rng } from "../../src/engine/rng";
import { isolatedBinary } from "../support/cli";

const KILLS = Number(process.env.KILL_CASES ?? 25);

describe("checkpoints survive SIGKILL", () => {
  test(`${KILLS} kills at random moments never leave an unreadable checkpoint`, async () => {
    const { dir, exe } = isolatedBinary();
    const data = join(dir, "tiny-data");
    mkdirSync(data, { recursive: true });
    const count = 64;
    const pixels = Uint8Array.from({ length: count * 784 }, (_, i) => (i * 13) % 256);
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
    for (const split of ["train", "t10k"]) {
      writeFileSync(join(data, `${split}-images-idx3-ubyte`), encodeIdx([count, 28, 28], pixels));
      writeFileSync(join(data, `${split}-labels-idx1-ubyte`), encodeIdx([count], labels));
    }
    writeFileSync(join(dir, "wide.json"), JSON.stringify({
      name: "wide", inputShape: [28, 28, 1],
      layers: [{ type: "Flatten" }, { type: "Dense", units: 4096, activation: "relu" }, { type: "Dense", units: 10, activation: "softmax" }],
    }));
    const target = join(dir, "killed.wgd");
    const rng = new Rng(11);
    let readable = 0;
    const failures: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const child = Bun.spawn([exe, "train", "--model", "wide.json", "--data", data, "--epochs", "100000", "--batch-size", "64", "--validation-split", "0", "--save", target, "--checkpoint-every", "1", "--no-progress"], { cwd: dir, stdout: "ignore", stderr: "ignore" });
      await Bun.sleep(200 + rng.next() * 800);
      child.kill("SIGKILL");
      await child.exited;
      if (!existsSync(target)) continue;
      try {
        decodeCheckpoint(readFileSync(target), target);
        readable++;
      } catch (error) {
        failures.push(`kill ${k}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    // The test means something only if saves really happened before the kills.
    expect(readable).toBeGreaterThan(KILLS / 2);
    // Temporary files may be left behind by a kill, but never under the real name…
    const leftovers = () => readdirSync(dir).filter((f) => f.startsWith("killed.wgd") && f !== "killed.wgd");
    expect(leftovers().every((f) => f.includes(".tmp-"))).toBe(true);
    // … and the next save beside them removes those of the dead processes.
    const last = Bun.spawnSync([exe, "train", "--model", "wide.json", "--data", data, "--epochs", "1", "--batch-size", "64", "--validation-split", "0", "--save", target, "--no-progress"], { cwd: dir });
    expect(last.exitCode).toBe(0);
    expect(leftovers()).toEqual([]);
  }, 120_000);
});
