// `wasmgrad infer` on models as people meet them: several inputs fed by name and of their declared types
// (float32, int64, int32, uint8, bool), symbolic and unnamed dynamic dims taken from the data, and every
// output reported raw (--json, --output FILE.npy, --output DIR/), top-k only for [N, C] float outputs.
// Models are built here with wasmgrad's ONNX encoder; expected values are computed by hand.

import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseNpy } from "../../src/data/array-file";
import { encodeNpy } from "../../src/data/npy-writer";
import { encodeModel, TensorDataType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from "../../src/onnx/onnx-proto";
import { expectCleanError, isolatedBinary, runCli } from "../support/cli";

const { dir } = isolatedBinary();
const { FLOAT, INT64, INT32, UINT8, BOOL } = TensorDataType;

function model(file: string, nodes: Omit<NodeProto, "domain" | "attributes" | "name">[], inputs: ValueInfoProto[], outputs: ValueInfoProto[], initializers: TensorProto[] = []): string {
  const m: ModelProto = {
    irVersion: 8, opsetImports: [{ domain: "", version: 17 }], producerName: "test", producerVersion: "1",
    graph: { name: "g", nodes: nodes.map((n, i) => ({ name: `n${i}`, domain: "", attributes: [], ...n })), initializers, inputs, outputs },
  };
  writeFileSync(join(dir, file), encodeModel(m));
  return file;
}

function npy(file: string, dtype: string, dims: number[], data: ArrayBufferView & { length: number }): string {
  writeFileSync(join(dir, file), encodeNpy(dtype, dims, data));
  return file;
}

function json(args: string[]) {
  const r = runCli([...args, "--ep", "wasm", "--json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

// y = x + table[ids]: a float input and an int64 one.
const table = Float32Array.from({ length: 15 }, (_, i) => i * 10);
const twoInputs = model("two-inputs.onnx", [
  { opType: "Gather", inputs: ["table", "ids"], outputs: ["rows"] },
  { opType: "Add", inputs: ["x", "rows"], outputs: ["y"] },
], [{ name: "x", elemType: FLOAT, shape: ["N", 3] }, { name: "ids", elemType: INT64, shape: ["N"] }],
[{ name: "y", elemType: FLOAT, shape: ["N", 3] }], [{ name: "table", dataType: FLOAT, dims: [5, 3], data: table }]);
const x = npy("x.npy", "float32", [2, 3], new Float32Array([0.5, 1, 1.5, 2, 2.5, 3]));
const ids = npy("ids.npy", "int64", [2], new BigInt64Array([4n, 1n]));
const expectedY = [120.5, 131, 141.5, 32, 42.5, 53];

// Two outputs: softmax probabilities and the logits (x * 2), the second with a name no file can have.
const twoOutputs = model("two-outputs.onnx", [
  { opType: "Mul", inputs: ["x", "two"], outputs: ["logits:0"] },
  { opType: "Softmax", inputs: ["logits:0"], outputs: ["probs"] },
], [{ name: "x", elemType: FLOAT, shape: ["N", 3] }],
[{ name: "probs", elemType: FLOAT, shape: ["N", 3] }, { name: "logits:0", elemType: FLOAT, shape: ["N", 3] }],
[{ name: "two", dataType: FLOAT, dims: [], data: new Float32Array([2]) }]);
const softmax = (row: number[]) => {
  const e = row.map((v) => Math.exp(v - Math.max(...row)));
  return e.map((v) => v / e.reduce((a, b) => a + b, 0));
};
const logits = [[1, 2, 3], [4, 5, 6]];
const probs = logits.map(softmax);

describe("inputs fed by name, as their declared types", () => {
  test("a float and an int64 input: y = x + table[ids], with the int64 ids from .npy, JSON or an integer-valued float .npy", () => {
    const r = json(["infer", twoInputs, "--input", `x=${x}`, "--input", `ids=${ids}`]);
    expect(r.inputs).toEqual([{ name: "x", dtype: "float32", dims: [2, 3], declared: ["N", 3] }, { name: "ids", dtype: "int64", dims: [2], declared: ["N"] }]);
    expect(r.outputs).toHaveLength(1);
    expect(r.outputs[0].name).toBe("y");
    expect(r.outputs[0].dims).toEqual([2, 3]);
    expect(r.outputs[0].dtype).toBe("float32");
    expect(r.outputs[0].values).toEqual(expectedY);
    writeFileSync(join(dir, "ids.json"), "[4, 1]");
    expect(json(["infer", twoInputs, "--input", "ids=ids.json", "--input", `x=${x}`]).outputs[0].values).toEqual(expectedY);
    npy("ids-float.npy", "float32", [2], new Float32Array([4, 1]));
    expect(json(["infer", twoInputs, "--input", `x=${x}`, "--input", "ids=ids-float.npy"]).outputs[0].values).toEqual(expectedY);
  });

  test("--batch-size splits every input along the batch and stitches the outputs; an output without the batch axis runs whole", () => {
    expect(json(["infer", twoInputs, "--input", `x=${x}`, "--input", `ids=${ids}`, "--batch-size", "1"]).outputs[0].values).toEqual(expectedY);
    const file = model("with-total.onnx", [
      { opType: "Relu", inputs: ["x"], outputs: ["y"] },
      { opType: "ReduceSum", inputs: ["x"], outputs: ["total"], attributes: [{ name: "keepdims", type: "INT", i: 0 }] } as never,
    ], [{ name: "x", elemType: FLOAT, shape: ["N", 3] }], [{ name: "y", elemType: FLOAT, shape: ["N", 3] }, { name: "total", elemType: FLOAT, shape: [] }]);
    const r = json(["infer", file, "--input", x, "--batch-size", "1"]);
    expect(r.outputs[0]).toEqual({ name: "y", dims: [2, 3], dtype: "float32", probabilities: "softmax", values: [0.5, 1, 1.5, 2, 2.5, 3] });
    expect(r.outputs[1]).toEqual({ name: "total", dims: [], dtype: "float32", values: [10.5] });
  });

  test("int32, uint8 and bool inputs are fed as they are (bytes not scaled)", () => {
    const file = model("cast-sum.onnx", [
      { opType: "Cast", inputs: ["i"], outputs: ["fi"], attributes: [{ name: "to", type: "INT", i: FLOAT }] } as never,
      { opType: "Cast", inputs: ["u"], outputs: ["fu"], attributes: [{ name: "to", type: "INT", i: FLOAT }] } as never,
      { opType: "Cast", inputs: ["b"], outputs: ["fb"], attributes: [{ name: "to", type: "INT", i: FLOAT }] } as never,
      { opType: "Add", inputs: ["fi", "fu"], outputs: ["s"] },
      { opType: "Add", inputs: ["s", "fb"], outputs: ["out"] },
    ], [{ name: "i", elemType: INT32, shape: ["N"] }, { name: "u", elemType: UINT8, shape: ["N"] }, { name: "b", elemType: BOOL, shape: ["N"] }],
    [{ name: "out", elemType: FLOAT, shape: ["N"] }]);
    npy("i.npy", "int32", [3], new Int32Array([-100000, 7, 0]));
    npy("u.npy", "uint8", [3], new Uint8Array([255, 1, 0]));
    npy("b.npy", "bool", [3], new Uint8Array([1, 0, 1]));
    const r = json(["infer", file, "--input", "i=i.npy", "--input", "u=u.npy", "--input", "b=b.npy"]);
    expect(r.inputs.map((i: { dtype: string }) => i.dtype)).toEqual(["int32", "uint8", "bool"]);
    expect(r.outputs[0].values).toEqual([-100000 + 255 + 1, 8, 1]);
  });

  test("float16 in and out: a float16 .npy fed as it is, float32 data rounded to float16; outputs shown as numbers, saved as '<f2'", () => {
    const FLOAT16 = 10;
    const file = model("half.onnx", [
      { opType: "Cast", inputs: ["h"], outputs: ["f"], attributes: [{ name: "to", type: "INT", i: FLOAT }] } as never,
      { opType: "Add", inputs: ["f", "f"], outputs: ["twice"] },
      { opType: "Cast", inputs: ["twice"], outputs: ["back"], attributes: [{ name: "to", type: "INT", i: FLOAT16 }] } as never,
    ], [{ name: "h", elemType: FLOAT16, shape: ["N"] }], [{ name: "twice", elemType: FLOAT, shape: ["N"] }, { name: "back", elemType: FLOAT16, shape: ["N"] }]);
    npy("h.npy", "float16", [3], new Uint16Array([0x3e00, 0xc000, 0x3555])); // 1.5, -2, 0.333251953125
    const r = json(["infer", file, "--input", "h.npy"]);
    expect(r.inputs[0].dtype).toBe("float16");
    expect(r.outputs[0].values).toEqual([3, -4, 0.66650390625]);
    expect(r.outputs[1]).toEqual({ name: "back", dims: [3], dtype: "float16", values: [3, -4, 0.66650390625] });
    npy("h32.npy", "float32", [3], new Float32Array([1.5, -2, 1 / 3]));
    expect(json(["infer", file, "--input", "h32.npy"]).outputs[0].values).toEqual([3, -4, 0.66650390625]);
    expect(runCli(["infer", file, "--input", "h.npy", "--ep", "wasm", "--output", "half/"]).code).toBe(0);
    const back = readFileSync(join(dir, "half", "back.npy"));
    expect(new TextDecoder().decode(back.subarray(10, 40))).toContain("'descr': '<f2'");
    expect(Array.from(new Uint16Array(back.buffer.slice(back.byteOffset + back.length - 6, back.byteOffset + back.length)))).toEqual([0x4200, 0xc400, 0x3955]);
  });

  test("symbolic and unnamed dynamic dims come from the data", () => {
    const file = model("dynamic.onnx", [{ opType: "Relu", inputs: ["x"], outputs: ["y"] }],
      [{ name: "x", elemType: FLOAT, shape: ["batch", "", 2] }], [{ name: "y", elemType: FLOAT, shape: ["batch", "", 2] }]);
    const data = Float32Array.from({ length: 12 }, (_, i) => i - 6);
    npy("dyn.npy", "float32", [2, 3, 2], data);
    const r = json(["infer", file, "--input", "dyn.npy"]);
    expect(r.outputs[0].dims).toEqual([2, 3, 2]);
    expect(r.inputs[0].declared).toEqual(["batch", "?", 2]);
    expect(r.outputs[0].values).toEqual(Array.from(data, (v) => Math.max(0, v)));
    npy("dyn5.npy", "float32", [1, 5, 2], new Float32Array(10).fill(1));
    expect(json(["infer", file, "--input", "dyn5.npy"]).outputs[0].dims).toEqual([1, 5, 2]);
    // The wrong fixed size is named by axis; the message shows the unnamed dim as "?".
    npy("dyn-wrong.npy", "float32", [1, 5, 3], new Float32Array(15));
    expect(expectCleanError(runCli(["infer", file, "--input", "dyn-wrong.npy", "--ep", "wasm"])))
      .toContain("input 'x' has 2 on axis 2, but dyn-wrong.npy has 3 there (data shaped [1, 5, 3], the input [batch, ?, 2])");
  });

  test("each mistake is one line naming the model's inputs with their types and dims", () => {
    const err = (...args: string[]) => expectCleanError(runCli(["infer", twoInputs, ...args, "--ep", "wasm"]));
    const listed = "(its inputs: x float32 [N, 3], ids int64 [N])";
    expect(err("--input", x)).toContain(`two-inputs.onnx has 2 inputs; give each as --input NAME=FILE ${listed}`);
    expect(err("--input", `x=${x}`, "--input", `idz=${ids}`)).toContain(`has no input 'idz'`);
    expect(err("--input", `x=${x}`, "--input", `idz=${ids}`)).toContain(listed);
    expect(err("--input", `x=${x}`)).toContain(`needs input 'ids' too: give each as --input NAME=FILE ${listed}`);
    expect(err("--input", `x=${x}`, "--input", `x=${x}`, "--input", `ids=${ids}`)).toContain("--input x is given twice");
    npy("ids-frac.npy", "float32", [2], new Float32Array([4, 1.5]));
    expect(err("--input", `x=${x}`, "--input", "ids=ids-frac.npy")).toContain("ids-frac.npy: input 'ids' takes int64, but value 1 (1.5) is not an integer");
    npy("x4.npy", "float32", [2, 4], new Float32Array(8));
    expect(err("--input", "x=x4.npy", "--input", `ids=${ids}`)).toContain("input 'x' has 3 on axis 1, but x4.npy has 4 there");
  });
});

describe("every output, raw", () => {
  npy("logits.npy", "float32", [2, 3], new Float32Array(logits.flat().map((v) => v / 2)));

  test("--json gives each output's name, dims, dtype and values; top-k says whether it applied softmax", () => {
    const r = json(["infer", twoOutputs, "--input", "logits.npy"]);
    expect(r.outputs.map((o: { name: string }) => o.name)).toEqual(["probs", "logits:0"]);
    expect(r.outputs[1].values).toEqual(logits.flat());
    expect(r.outputs[0].dtype).toBe("float32");
    for (const [i, v] of r.outputs[0].values.entries()) expect(v).toBeCloseTo(probs.flat()[i], 6);
    expect(r.outputs[0].probabilities).toBe("as given");
    expect(r.outputs[1].probabilities).toBe("softmax");
    // The first output's top-k are the probabilities themselves, not a softmax of them.
    expect(r.predictions[0].top[0].class).toBe(2);
    expect(r.predictions[0].top[0].probability).toBeCloseTo(probs[0][2], 6);
    const human = runCli(["infer", twoOutputs, "--input", "logits.npy", "--ep", "wasm"]).stdout;
    expect(human).toContain("output 'probs' [2, 3] float32: top 3 per sample, probabilities as given");
    expect(human).toContain("output 'logits:0' [2, 3] float32: top 3 per sample, softmax of logits");
  });

  test("--output DIR/ writes NAME.npy per output (file-safe names); --output FILE.npy with --output-name one", () => {
    const r = runCli(["infer", twoOutputs, "--input", "logits.npy", "--ep", "wasm", "--output", "outs/"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("saved 'logits:0' to outs/logits_0.npy");
    const saved = parseNpy(readFileSync(join(dir, "outs", "logits_0.npy")), "logits_0.npy");
    expect(saved.dims).toEqual([2, 3]);
    expect(Array.from(saved.values(0, 6))).toEqual(logits.flat());
    const p = parseNpy(readFileSync(join(dir, "outs", "probs.npy")), "probs.npy");
    for (const [i, v] of p.values(0, 6).entries()) expect(v).toBeCloseTo(probs.flat()[i], 6);
    expect(runCli(["infer", twoOutputs, "--input", "logits.npy", "--ep", "wasm", "--output", "p.npy", "--output-name", "probs"]).code).toBe(0);
    expect(readFileSync(join(dir, "p.npy"))).toEqual(readFileSync(join(dir, "outs", "probs.npy")));
    // int64 outputs stay int64: ids passed through Identity.
    const id = model("identity64.onnx", [{ opType: "Identity", inputs: ["ids"], outputs: ["same"] }],
      [{ name: "ids", elemType: INT64, shape: ["N"] }], [{ name: "same", elemType: INT64, shape: ["N"] }]);
    expect(runCli(["infer", id, "--input", ids, "--ep", "wasm", "--output", "same.npy"]).code).toBe(0);
    expect(readFileSync(join(dir, "same.npy"))).toEqual(readFileSync(join(dir, ids)));
    expect(json(["infer", id, "--input", ids]).outputs[0]).toEqual({ name: "same", dims: [2], dtype: "int64", values: [4, 1] });
  });

  test("--output mistakes are one line", () => {
    const err = (...args: string[]) => expectCleanError(runCli(["infer", twoOutputs, "--input", "logits.npy", "--ep", "wasm", ...args]));
    expect(err("--output", "one.npy")).toContain("two-outputs.onnx has 2 outputs (probs float32 [N, 3], logits:0 float32 [N, 3]); save them all with --output DIR/, or one with --output-name NAME");
    expect(err("--output", "one.npy", "--output-name", "prob")).toContain("has no output 'prob'");
    expect(err("--output-name", "probs")).toContain("give --output too");
  });
});
