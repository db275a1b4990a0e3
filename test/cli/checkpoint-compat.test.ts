// Checkpoints written before models became graphs still load, evaluate and resume exactly. The fixture
// (test/model/fixtures/v1-small-cnn.*) was made by the chain-only engine (commit e666693):
//   wasmgrad train --model v1-small-cnn.json --epochs 1 --save v1-small-cnn.wgd --threads 1
//   wasmgrad train --model v1-small-cnn.json --epochs 2 --resume <copy of it> --save v1-small-cnn-resumed-to-2.wgd --threads 1
// and its eval figures were printed then. Today's engine must print the same figures and, resuming the
// same file, write the very same bytes (weights, Adam moments, batch statistics, dropout RNG, header).

import { describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isolatedBinary, runCli } from "../support/cli";

const fixtures = join(import.meta.dir, "..", "model", "fixtures");
const { dir } = isolatedBinary();

describe("a checkpoint from the chain-only engine", () => {
  test("evaluates to the figures that engine printed", () => {
    copyFileSync(join(fixtures, "v1-small-cnn.wgd"), join(dir, "v1.wgd"));
    const r = runCli(["eval", "v1.wgd", "--json", "--threads", "1"]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out.loss).toBe(1.393433832168579);
    expect(out.accuracy).toBe(0.777);
  });

  test("resumes to epoch 2 writing byte for byte what that engine wrote", () => {
    copyFileSync(join(fixtures, "v1-small-cnn.json"), join(dir, "v1-small-cnn.json"));
    copyFileSync(join(fixtures, "v1-small-cnn.wgd"), join(dir, "resume.wgd"));
    const r = runCli(["train", "--model", "v1-small-cnn.json", "--epochs", "2", "--resume", "resume.wgd", "--save", "resumed.wgd", "--threads", "1", "--no-progress"]);
    expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
    const ours = readFileSync(join(dir, "resumed.wgd"));
    const theirs = readFileSync(join(fixtures, "v1-small-cnn-resumed-to-2.wgd"));
    expect(ours.length).toBe(theirs.length);
    expect(Buffer.compare(ours, theirs)).toBe(0);
  });
});
