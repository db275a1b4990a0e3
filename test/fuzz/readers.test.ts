// Fuzzing every file reader wasmgrad has (IDX, checkpoints, model JSON) with a bounded, seeded corpus of
// damaged inputs. Every case must end either in success or in a WasmgradError (a clear message: bad input, or a model too big) — never in
// another exception (a crash), a hang, or a huge allocation. Cases per reader: FUZZ_CASES (default 1,000;
// CI runs the default). A failure names the reader, case number and mutation, so it replays exactly.

import { describe, expect, test } from "bun:test";
import { Conv2D, Dense, Dropout, Flatten, MaxPool2D, Sequential } from "../../src/index";
import { encodeIdx, parseIdx } from "../../src/data/idx";
import { gzip } from "../../src/data/gzip";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/model/checkpoint";
import { crc32 } from "../../src/model/crc32";
import { buildModel, parseModelJson } from "../../src/model/model-file";
import { WasmgradError } from "../../src/errors";
import { Rng } from "../../src/engine/rng";
import { mutate, mutateText } from "./mutators";

const CASES = Number(process.env.FUZZ_CASES ?? 1000);
/** A case that takes longer than this is a hang for our purposes (the readers are linear-time). */
const CASE_MS = 2000;

async function expectCleanOutcome(run: () => unknown, label: string, failures: string[]) {
  const started = performance.now();
  try {
    await run();
  } catch (error) {
    if (!(error instanceof WasmgradError)) failures.push(`${label}: ${(error as Error)?.name}: ${(error as Error)?.message}`);
  }
  const ms = performance.now() - started;
  if (ms > CASE_MS) failures.push(`${label}: took ${ms.toFixed(0)} ms`);
}

describe(`fuzzing the readers (${CASES} cases each)`, () => {
  test("IDX, raw and gzipped", async () => {
    const images = encodeIdx([4, 5, 6], Uint8Array.from({ length: 120 }, (_, i) => i));
    const seeds = [images, encodeIdx([9], Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)), await gzip(images)];
    const rng = new Rng(1);
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const { name, bytes } = mutate(seeds[i % seeds.length], rng);
      await expectCleanOutcome(() => parseIdx(bytes, "fuzz.idx"), `idx case ${i} (${name})`, failures);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test("checkpoints, with the checksum left broken and with it recomputed (to reach the parser behind it)", async () => {
    const model = new Sequential({
      inputShape: [6, 6, 1], seed: 1,
      layers: [new Conv2D({ filters: 2, kernelSize: 3, activation: "relu" }), new MaxPool2D(), new Flatten(), new Dropout({ rate: 0.1 }), new Dense({ units: 3, activation: "softmax" })],
    });
    model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    const original = encodeCheckpoint(model);
    const rng = new Rng(2);
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const { name, bytes } = mutate(original, rng);
      const fixCrc = i % 2 === 1 && bytes.length >= 16;
      if (fixCrc) new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
      await expectCleanOutcome(() => decodeCheckpoint(bytes, "fuzz.wgd"), `checkpoint case ${i} (${name}${fixCrc ? ", crc fixed" : ""})`, failures);
    }
    // Header-only mutations with a valid checksum: hostile JSON values inside a well-formed file.
    const headerLength = new DataView(original.buffer).getUint32(8, true);
    const headerText = new TextDecoder().decode(original.subarray(12, 12 + headerLength));
    const data = original.subarray((12 + headerLength + 3) & ~3, original.length - 4);
    for (let i = 0; i < CASES; i++) {
      const { name, text } = mutateText(headerText, rng);
      const header = new TextEncoder().encode(text);
      const start = (12 + header.length + 3) & ~3;
      const bytes = new Uint8Array(start + data.length + 4);
      bytes.set(original.subarray(0, 8));
      new DataView(bytes.buffer).setUint32(8, header.length, true);
      bytes.set(header, 12);
      bytes.set(data, start);
      new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
      await expectCleanOutcome(() => decodeCheckpoint(bytes, "fuzz.wgd"), `checkpoint header case ${i} (${name})`, failures);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test("model JSON files", async () => {
    const text = JSON.stringify({
      name: "fuzz", inputShape: [8, 8, 1],
      layers: [
        { type: "Conv2D", filters: 2, kernelSize: 3, strides: 1, padding: "same", activation: "relu" },
        { type: "MaxPool2D", poolSize: 2 }, { type: "Flatten" }, { type: "Dropout", rate: 0.2 },
        { type: "Dense", units: 4, activation: "softmax", kernelRegularizer: { l2: 0.01 } },
      ],
      training: { optimizer: { type: "adam", learningRate: 0.001 }, loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"], batchSize: 4, epochs: 1, schedule: { type: "step", factor: 0.5, everyEpochs: 1 } },
    });
    const rng = new Rng(3);
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const { name, text: mutated } = mutateText(text, rng);
      await expectCleanOutcome(() => buildModel(parseModelJson(mutated, "fuzz.json"), "fuzz.json"), `model case ${i} (${name})`, failures);
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
