// The library's ModelCheckpoint and ProgressLogger callbacks: files written per epoch or only on
// improvement, readable back into the same model; one log line per epoch.

import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dense, ModelCheckpoint, ProgressLogger, Sequential, decodeCheckpoint } from "../../src/index";
import { seededValues } from "../support/twin-heaps";

const x = seededValues(60 * 6, 1, 0, 1);
const y = Int32Array.from({ length: 60 }, (_, i) => (i * 7) % 3);

function model() {
  const m = new Sequential({ inputShape: [6], seed: 2, layers: [new Dense({ units: 8, activation: "relu" }), new Dense({ units: 3, activation: "softmax" })] });
  m.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
  return m;
}

describe("callbacks for library training loops", () => {
  test("ModelCheckpoint writes one file per epoch, each a loadable checkpoint of that epoch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmgrad-ckpt-"));
    const checkpoint = new ModelCheckpoint({ path: join(dir, "model-{epoch}.wgd") });
    const m = model();
    await m.fit(x, y, { epochs: 3, batchSize: 20, callbacks: [checkpoint] });
    expect(checkpoint.saved.map((p) => p.slice(dir.length + 1))).toEqual(["model-1.wgd", "model-2.wgd", "model-3.wgd"]);
    const last = decodeCheckpoint(readFileSync(join(dir, "model-3.wgd")), "model-3.wgd").model;
    expect(last.epochsTrained).toBe(3);
    last.getWeights().forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(m.getWeights()[i].data)));
  });

  test("saveBestOnly saves only when the monitored value improves", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmgrad-ckpt-"));
    const checkpoint = new ModelCheckpoint({ path: join(dir, "best.wgd"), saveBestOnly: true, monitor: "loss" });
    const m = model();
    const history = await m.fit(x, y, { epochs: 4, batchSize: 20, callbacks: [checkpoint] });
    const losses = history.history.loss;
    const improvements = losses.filter((v, i) => losses.slice(0, i).every((u) => v < u)).length;
    expect(checkpoint.saved.length).toBe(improvements);
    expect(existsSync(join(dir, "best.wgd"))).toBe(true);
  });

  test("ProgressLogger prints one line per epoch with the metrics", async () => {
    const lines: string[] = [];
    await model().fit(x, y, { epochs: 2, batchSize: 30, callbacks: [new ProgressLogger((l) => lines.push(l))] });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^epoch 2\/2 {2}loss [\d.]+ {2}accuracy [\d.]+/);
  });
});
