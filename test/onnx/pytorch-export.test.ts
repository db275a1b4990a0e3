// A model exported by PyTorch itself (torch.onnx.export of a small MNIST CNN with batch norm), where
// Debian's python3-torch is installed (scripts/install-test-packages.sh installs it): wasmgrad's import must
// reproduce PyTorch's logits within 1e-5, and it must fine-tune. Without PyTorch the test says so and skips,
// except under CI=true, where it fails.

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../../src/index";
import { importOnnx } from "../../src/onnx/import";
import { worstMismatch } from "../support/twin-heaps";
import { PYTHON, TORCH_MISSING, torchAvailable, torchRequired } from "./torch-support";

const python = PYTHON;
const hasTorch = torchAvailable();

if (torchRequired && !hasTorch) {
  test("PyTorch is installed for /usr/bin/python3 (CI=true requires it)", () => {
    throw new Error(`${TORCH_MISSING}; under CI=true the PyTorch comparison tests must run`);
  });
}

describe.skipIf(!hasTorch)(`a model exported by PyTorch${hasTorch ? "" : ` — SKIPPED: ${TORCH_MISSING}`}`, () => {
  test("imports with PyTorch's logits (1e-5) and fine-tunes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wasmgrad-torch-"));
    const r = Bun.spawnSync([python, join(import.meta.dir, "fixtures", "torch-export.py"), dir], { stdout: "pipe", stderr: "pipe" });
    expect({ code: r.exitCode, stderr: r.exitCode ? r.stderr.toString() : "" }).toEqual({ code: 0, stderr: "" });
    const reference = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8"));
    const model = importOnnx(readFileSync(join(dir, "torch_cnn.onnx")), { source: "torch_cnn.onnx" });
    expect(model.inputShape).toEqual([28, 28, 1]);
    // One input channel: PyTorch's NCHW bytes are wasmgrad's NHWC bytes.
    const x = Float32Array.from(reference.x);
    const logits = model.predictAll(x)[0].data;
    const m = worstMismatch(logits, reference.logits, 1e-5, 0);
    expect(m.worst <= 1 ? "ok" : m).toBe("ok");
    model.compile({ optimizer: "adam", loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
    const labels = Int32Array.from([1, 2, 3]);
    const before = model.evaluate(x, labels).loss;
    await model.fit(x, labels, { epochs: 5, batchSize: 3 });
    expect(model.evaluate(x, labels).loss).toBeLessThan(before);
  }, 60_000);
});
