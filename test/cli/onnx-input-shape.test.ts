// train --from with --input-shape: an ONNX file whose height and width are left open (PyTorch's dynamic
// axes) trains once the flag gives them, and without the flag, or with a shape that contradicts the file,
// the CLI says so in one line. Runs the built executable (test/support/cli.ts).

import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeModel, TensorDataType } from "../../src/onnx/onnx-proto";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";
import { seededValues } from "../support/twin-heaps";

describe("train --from --input-shape", () => {
  const { dir } = isolatedBinary();
  const bytes = encodeModel({
    irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "pytorch", producerVersion: "1.13.0",
    graph: {
      name: "dynamic", initializers: [{ name: "fc.weight", dataType: TensorDataType.FLOAT, dims: [10, 784], data: seededValues(7840, 3, -0.05, 0.05) }],
      nodes: [
        { name: "/Flatten", opType: "Flatten", domain: "", inputs: ["input"], outputs: ["f"], attributes: [{ name: "axis", type: "INT", i: 1 }] },
        { name: "/fc/Gemm", opType: "Gemm", domain: "", inputs: ["f", "fc.weight"], outputs: ["logits"], attributes: [{ name: "transB", type: "INT", i: 1 }] },
      ],
      inputs: [{ name: "input", elemType: TensorDataType.FLOAT, shape: ["batch", 1, "height", "width"] }],
      outputs: [{ name: "logits", elemType: TensorDataType.FLOAT, shape: ["batch", 10] }],
    },
  });
  writeFileSync(join(dir, "dynamic.onnx"), bytes);

  test("the flag gives the open sizes; without it, or against the file, one clear line", () => {
    const r = runCli(["train", "--from", "dynamic.onnx", "--input-shape", "1,28,28", "--epochs", "1", "--no-progress", "--json"]);
    expect({ code: r.code, stderr: r.code ? r.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout).test.accuracy).toBeGreaterThan(0.5);
    expect(expectCleanError(runCli(["train", "--from", "dynamic.onnx", "--epochs", "1"]))).toContain("input 'input' is [batch, 1, height, width], with sizes left open: give its per-sample shape in the file's layout (inputShape [1, …, …]; on the command line --input-shape 1,N,N)");
    expect(expectCleanError(runCli(["train", "--from", "dynamic.onnx", "--input-shape", "3,28,28"]))).toContain("contradicts the file's 1");
    expect(expectCleanError(runCli(["train", "--from", "dynamic.onnx", "--input-shape", "1,x,28"]))).toContain("--input-shape 1,x,28: expected positive sizes separated by commas");
    expect(expectCleanError(runCli(["train", "--model", "mlp", "--input-shape", "1,28,28"]))).toContain("use it with --from model.onnx");
  });
});
