// `wasmgrad inspect model.onnx`: producer, IR version, opsets, inputs and outputs (symbolic dims kept,
// unnamed ones "?"), parameter count, the operator histogram, and which operators the importer can map.

import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { IMPORTABLE_OPS } from "../../src/onnx/import";
import { encodeModel, TensorDataType, type ModelProto } from "../../src/onnx/onnx-proto";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();
const { FLOAT, INT64 } = TensorDataType;

const model: ModelProto = {
  irVersion: 8, opsetImports: [{ domain: "", version: 17 }, { domain: "com.microsoft", version: 1 }], producerName: "pytorch", producerVersion: "2.5",
  graph: {
    name: "g",
    nodes: [
      { name: "g0", opType: "Gather", domain: "", inputs: ["table", "ids"], outputs: ["rows"], attributes: [] },
      { name: "a0", opType: "Add", domain: "", inputs: ["x", "rows"], outputs: ["s"], attributes: [] },
      { name: "a1", opType: "Add", domain: "", inputs: ["s", "rows"], outputs: ["t"], attributes: [] },
      { name: "e0", opType: "Erf", domain: "", inputs: ["t"], outputs: ["u"], attributes: [] },
      { name: "f0", opType: "FusedGemm", domain: "com.microsoft", inputs: ["u", "w"], outputs: ["y"], attributes: [] },
    ],
    initializers: [
      { name: "table", dataType: FLOAT, dims: [5, 3], data: new Float32Array(15) },
      { name: "w", dataType: FLOAT, dims: [3, 2], data: new Float32Array(6) },
    ],
    inputs: [{ name: "x", elemType: FLOAT, shape: ["batch", "", 3] }, { name: "ids", elemType: INT64, shape: ["batch", ""] }],
    outputs: [{ name: "y", elemType: FLOAT, shape: ["batch", "", 2] }],
  },
};
writeFileSync(join(dir, "mixed.onnx"), encodeModel(model));

describe("inspect", () => {
  test("--json: producer, IR version, opsets, inputs and outputs, parameters, operator histogram, importability", () => {
    const r = runCli(["inspect", "mixed.onnx", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.producer).toEqual({ name: "pytorch", version: "2.5" });
    expect(j.irVersion).toBe(8);
    expect(j.opsets).toEqual([{ domain: "ai.onnx", version: 17 }, { domain: "com.microsoft", version: 1 }]);
    expect(j.inputs).toEqual([{ name: "x", dtype: "float32", dims: ["batch", "?", 3] }, { name: "ids", dtype: "int64", dims: ["batch", "?"] }]);
    expect(j.outputs).toEqual([{ name: "y", dtype: "float32", dims: ["batch", "?", 2] }]);
    expect(j.parameters).toBe(21);
    expect(j.initializers).toBe(2);
    expect(j.nodes).toBe(5);
    expect(j.operators).toEqual([
      { op: "Add", domain: "", count: 2, importable: true },
      { op: "Erf", domain: "", count: 1, importable: IMPORTABLE_OPS.includes("Erf") },
      { op: "FusedGemm", domain: "com.microsoft", count: 1, importable: false },
      { op: "Gather", domain: "", count: 1, importable: true },
    ]);
    expect(j.notImportable).toContain("com.microsoft.FusedGemm");
  });

  test("human output says the same, and what training could not map", () => {
    const r = runCli(["inspect", "mixed.onnx"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("mixed.onnx: produced by pytorch 2.5, IR version 8, opsets ai.onnx 17, com.microsoft 1");
    expect(r.stdout).toMatch(/x\s+float32\s+\[batch, \?, 3\]/);
    expect(r.stdout).toMatch(/ids\s+int64\s+\[batch, \?\]/);
    expect(r.stdout).toContain("parameters: 21 in 2 initializers");
    expect(r.stdout).toMatch(/Add\s+2\s+importable/);
    expect(r.stdout).toMatch(/com\.microsoft\.FusedGemm\s+1\s+not importable/);
    expect(r.stdout).toContain("training: wasmgrad train --from cannot map Erf, com.microsoft.FusedGemm;".replace("Erf, ", IMPORTABLE_OPS.includes("Erf") ? "" : "Erf, "));
    expect(runCli(["inspect", "--help"]).stdout).toContain("inspect <model.onnx>");
  });

  test("a model the importer maps whole says so; a file that is not ONNX is one line", () => {
    const plain: ModelProto = { ...model, opsetImports: [{ domain: "", version: 17 }], graph: { ...model.graph, nodes: model.graph.nodes.slice(0, 2), outputs: [{ name: "s", elemType: FLOAT, shape: ["batch", "", 3] }] } };
    writeFileSync(join(dir, "plain.onnx"), encodeModel(plain));
    expect(runCli(["inspect", "plain.onnx"]).stdout).toContain("training: wasmgrad's importer maps every operator");
    writeFileSync(join(dir, "junk.onnx"), "not a model at all");
    expect(expectCleanError(runCli(["inspect", "junk.onnx"]))).toContain("junk.onnx");
    expect(expectCleanError(runCli(["inspect", "missing.onnx"]))).toContain("missing.onnx");
  });
});
