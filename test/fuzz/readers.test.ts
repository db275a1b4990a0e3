// Fuzzing every file reader wasmgrad has with a bounded, seeded corpus of damaged inputs. Every case must end
// either in success or in a WasmgradError (a clear message: bad input, or a model too big) — never in another
// exception (a crash), a hang, or a huge allocation. N = FUZZ_CASES (default 1,000; CI runs the default):
//   IDX, raw and gzipped (parseIdx)                                              N cases
//   checkpoints (decodeCheckpoint): bytes, checksum broken or recomputed         N, then N on the JSON header
//   model JSON files (parseModelJson + buildModel)                               N
//   ONNX (decodeModel and importOnnx on the same bytes): byte mutations of
//     wasmgrad-exported CNN and MLP, a PyTorch-style CNN and a PyTorch-style     N each, then N well-formed
//     graph (skip Add, Pad, Concat, shape folding), models with hostile sizes
//     (input dims, attributes, integer constants, empty [n, 0] weights) re-encoded, through both
//   CSV (parseCsv, then splitTarget with a real or hostile target)               N each
//   arrays for infer (readArrayFile: .npy, JSON nested lists, IDX)               N, then N on the .npy header
//                                                                                and JSON text (half each)
//   JSON nested deep (33 to 10⁵ levels of lists or objects put in place of a value) in model files,
//     arrays for infer and checkpoint headers (checksum recomputed)             N/4 each
//   checkpoints whose header lies (checksum recomputed): tensor shapes, offsets and lengths, duplicated,
//     missing and extra tensors, training state, optimizer type, layer states,
//     duplicated layer names, truncated data; NaN/±Inf in the weights         N (each lie must be refused)
//   non-finite inputs: .npy float32/float64 with NaN, ±Inf or values past float32's range, JSON lists
//     with such values (each must be refused, and accepted with allowNonFinite)   N/4
//   names from Object.prototype ("__proto__", "constructor", "toString", …) in every slot of a model file
//     that names a registered thing: layer type, activation, initializer, loss, metric, optimizer,
//     schedule type and monitor (each must be refused)                        all of them
//   ONNX graphs that onnx.checker refuses, well-formed protobuf: duplicated or colliding names, no or two
//     default opset imports, wrong-domain opsets, string/int64/untyped inputs, zero or lying input dims,
//     nodes out of order or reading undefined values (each must be refused)    N/4
//   special paths (readUserFile, then the parser): folders, a fifo with no
//     writer, a socket, devices, /proc pseudo-files, a sparse file over the limit  every one, every reader
// A failure names the reader, case number and mutation, so it replays exactly.

import { describe, expect, test } from "bun:test";
import { BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Sequential } from "../../src/index";
import { parseCsv, splitTarget } from "../../src/data/csv";
import { readArrayFile } from "../../src/data/array-file";
import { exportOnnx } from "../../src/onnx/export";
import { importOnnx } from "../../src/onnx/import";
import { decodeModel, encodeModel, TensorDataType, type AttributeProto, type ModelProto, type NodeProto, type TensorProto } from "../../src/onnx/onnx-proto";
import { encodeIdx, parseIdx } from "../../src/data/idx";
import { gzip } from "../../src/data/gzip";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/model/checkpoint";
import { crc32 } from "../../src/model/crc32";
import { buildModel, parseModelJson } from "../../src/model/model-file";
import { WasmgradError } from "../../src/errors";
import { Rng } from "../../src/engine/rng";
import { mutate, mutateText } from "./mutators";
import { readUserFile, setInputLimit, DEFAULT_INPUT_LIMIT } from "../../src/io/user-file";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

const pick = (rng: Rng, n: number) => Math.floor(rng.next() * n);

// ---- ONNX seeds and well-formed hostile models --------------------------------------------------------

const intsAttr = (name: string, values: number[]): AttributeProto => ({ name, type: "INTS", ints: values });
const intAttr = (name: string, i: number): AttributeProto => ({ name, type: "INT", i });
const onnxNode = (opType: string, inputs: string[], output: string, attributes: AttributeProto[] = []): NodeProto => ({ name: `/${opType}_${output}`, opType, domain: "", inputs, outputs: [output], attributes });
const f32Tensor = (name: string, dims: number[]): TensorProto => ({
  name, dataType: TensorDataType.FLOAT, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + 1) / 4),
});

/** As PyTorch exports it: NCHW input, Conv with explicit pads, Flatten of a multi-channel image, Gemm with transB = 1. */
function torchStyleCnn(): ModelProto {
  return {
    irVersion: 8, opsetImports: [{ domain: "", version: 17 }], producerName: "pytorch", producerVersion: "2.5.0",
    graph: {
      name: "main_graph",
      nodes: [
        onnxNode("Conv", ["input", "conv.weight", "conv.bias"], "c", [intsAttr("kernel_shape", [3, 3]), intsAttr("pads", [1, 1, 1, 1]), intsAttr("strides", [1, 1]), intAttr("group", 1)]),
        onnxNode("Relu", ["c"], "r"),
        onnxNode("Flatten", ["r"], "f", [intAttr("axis", 1)]),
        onnxNode("Gemm", ["f", "fc.weight", "fc.bias"], "logits", [{ name: "alpha", type: "FLOAT", f: 1 }, intAttr("transB", 1)]),
      ],
      initializers: [f32Tensor("conv.weight", [3, 2, 3, 3]), f32Tensor("conv.bias", [3]), f32Tensor("fc.weight", [4, 3 * 6 * 6]), f32Tensor("fc.bias", [4])],
      inputs: [{ name: "input", elemType: TensorDataType.FLOAT, shape: ["batch_size", 2, 6, 6] }],
      outputs: [{ name: "logits", elemType: TensorDataType.FLOAT, shape: ["batch_size", 4] }],
    },
  };
}

/** A graph as PyTorch exports residual/inception nets: a skip Add, Pad + AveragePool, a channel Concat, x.view(x.size(0), -1). */
function torchStyleGraph(): ModelProto {
  const i64 = (name: string, values: number[], dims = [values.length]): TensorProto => ({ name, dataType: TensorDataType.INT64, dims, data: BigInt64Array.from(values.map(BigInt)) });
  const cube: AttributeProto[] = [intsAttr("kernel_shape", [3, 3]), intsAttr("pads", [1, 1, 1, 1])];
  return {
    irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "pytorch", producerVersion: "1.13.0",
    graph: {
      name: "main_graph",
      nodes: [
        onnxNode("Sub", ["input", "mean"], "s"),
        onnxNode("Conv", ["s", "c1.weight", "c1.bias"], "c1", cube), onnxNode("Relu", ["c1"], "r1"),
        onnxNode("Conv", ["r1", "c2.weight"], "c2", cube), onnxNode("Add", ["r1", "c2"], "sum"),
        onnxNode("Pad", ["sum", "pads"], "p"), onnxNode("AveragePool", ["p"], "avg", [intsAttr("kernel_shape", [3, 3]), intsAttr("strides", [1, 1])]),
        onnxNode("Concat", ["sum", "avg"], "cat", [intAttr("axis", 1)]),
        onnxNode("Shape", ["cat"], "shape"), onnxNode("Gather", ["shape", "zero"], "n", [intAttr("axis", 0)]),
        onnxNode("Unsqueeze", ["n", "axes"], "n1"), onnxNode("Concat", ["n1", "minus"], "target", [intAttr("axis", 0)]),
        onnxNode("Reshape", ["cat", "target"], "flat"),
        onnxNode("Gemm", ["flat", "fc.weight", "fc.bias"], "logits", [intAttr("transB", 1)]),
      ],
      initializers: [
        f32Tensor("mean", [1, 2, 1, 1]), f32Tensor("c1.weight", [3, 2, 3, 3]), f32Tensor("c1.bias", [3]), f32Tensor("c2.weight", [3, 3, 3, 3]),
        i64("pads", [0, 0, 1, 1, 0, 0, 1, 1]), i64("zero", [0], []), i64("axes", [0]), i64("minus", [-1]),
        f32Tensor("fc.weight", [4, 6 * 5 * 5]), f32Tensor("fc.bias", [4]),
      ],
      inputs: [{ name: "input", elemType: TensorDataType.FLOAT, shape: ["batch_size", 2, 5, 5] }],
      outputs: [{ name: "logits", elemType: TensorDataType.FLOAT, shape: ["batch_size", 4] }],
    },
  };
}

function onnxSeeds(): { name: string; model: ModelProto; bytes: Uint8Array }[] {
  const cnn = new Sequential({
    inputShape: [6, 6, 1], seed: 4,
    layers: [new Conv2D({ filters: 2, kernelSize: 3, activation: "relu" }), new BatchNormalization(), new MaxPool2D(), new Flatten(), new Dense({ units: 3, activation: "softmax" })],
  });
  const mlp = new Sequential({ inputShape: [5], seed: 5, layers: [new Dense({ units: 4, activation: "tanh" }), new Dense({ units: 2 })] });
  const seeds = [
    { name: "wasmgrad CNN", bytes: (cnn.build(), exportOnnx(cnn)) },
    { name: "wasmgrad MLP", bytes: (mlp.build(), exportOnnx(mlp)) },
    { name: "PyTorch-style CNN", bytes: encodeModel(torchStyleCnn()) },
    { name: "PyTorch-style graph", bytes: encodeModel(torchStyleGraph()) },
  ];
  // Each seed must import as it is, so that mutations explore the importer past its first check.
  for (const s of seeds) importOnnx(s.bytes, { source: s.name });
  return seeds.map((s) => ({ ...s, model: decodeModel(s.bytes, s.name) }));
}

/** Sizes a hostile or careless writer puts where a small count belongs. */
const HOSTILE_SIZES = [0, 1, 2, 7, 65535, 1 << 20, 50_000_000, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1, -1, -(2 ** 31)];
const HOSTILE_FLOATS = [0, -1, 1e-30, 1e38, Number.NaN, Number.POSITIVE_INFINITY];

/** A copy of the model, still well-formed protobuf, with one size claim (or all of the input's) made hostile. */
function hostileModel(seed: ModelProto, rng: Rng): { name: string; model: ModelProto } {
  const model = structuredClone(seed);
  const size = HOSTILE_SIZES[pick(rng, HOSTILE_SIZES.length)];
  const shape = model.graph.inputs[0].shape!;
  const attributes = model.graph.nodes.flatMap((n) => n.attributes.map((a) => ({ node: n.name, a })));
  const integerTensors = model.graph.initializers.filter((t) => t.data instanceof BigInt64Array);
  const choice = pick(rng, 6);
  switch (attributes.length === 0 && (choice === 2 || choice === 3) ? 0 : choice) {
    case 0: {
      const k = 1 + pick(rng, shape.length - 1);
      shape[k] = size;
      return { name: `input dim ${k} = ${size}`, model };
    }
    case 1: {
      for (let k = 1; k < shape.length; k++) shape[k] = size;
      return { name: `every input dim = ${size}`, model };
    }
    case 2:
    case 3: {
      const { node, a } = attributes[pick(rng, attributes.length)];
      if (a.type === "INTS" && a.ints.length > 0) {
        const k = pick(rng, a.ints.length);
        a.ints[k] = size;
        return { name: `${node} ${a.name}[${k}] = ${size}`, model };
      }
      if (a.type === "INT") a.i = size;
      else if (a.type === "FLOAT") a.f = HOSTILE_FLOATS[pick(rng, HOSTILE_FLOATS.length)];
      else return { name: `${node} ${a.name} unchanged`, model };
      return { name: `${node} ${a.name} = ${a.type === "INT" ? a.i : a.f}`, model };
    }
    case 4: {
      // Empty but huge: dims [n, 0] hold no values whatever n claims, so they pass the count check; half the
      // time the input claims n features too, so that the weight matches what arrives.
      const matrices = model.graph.initializers.filter((t) => t.dims.length >= 2);
      const t = matrices[pick(rng, matrices.length)];
      const n = Math.abs(size);
      const empty = pick(rng, t.dims.length);
      t.dims = t.dims.map((_, k) => (k === empty ? 0 : n));
      t.data = new (t.data.constructor as new (length: number) => TensorProto["data"])(0);
      const inputToo = rng.next() < 0.5;
      if (inputToo) for (let k = 1; k < shape.length; k++) shape[k] = n;
      return { name: `tensor ${t.name} dims [${t.dims.join(", ")}]${inputToo ? `, every input dim = ${n}` : ""}`, model };
    }
    default: {
      if (integerTensors.length === 0) {
        const k = 1 + pick(rng, shape.length - 1);
        shape[k] = size;
        return { name: `input dim ${k} = ${size}`, model };
      }
      const t = integerTensors[pick(rng, integerTensors.length)];
      const k = pick(rng, t.data.length);
      (t.data as BigInt64Array)[k] = BigInt(size);
      return { name: `tensor ${t.name}[${k}] = ${size}`, model };
    }
  }
}

// ---- .npy ----------------------------------------------------------------------------------------------

/** A version 1.0 .npy file: magic, version, u16 header length, the header dict padded to 64 bytes, then the data. */
function encodeNpy(header: string, data: Uint8Array): Uint8Array {
  const padded = header + " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
  const text = new TextEncoder().encode(padded);
  const bytes = new Uint8Array(10 + text.length + data.length);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(bytes.buffer).setUint16(8, text.length, true);
  bytes.set(text, 10);
  bytes.set(data, 10 + text.length);
  return bytes;
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
  test("ONNX: decodeModel and importOnnx on damaged bytes, then on well-formed models with hostile sizes", async () => {
    const seeds = onnxSeeds();
    const rng = new Rng(4);
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const seed = seeds[i % seeds.length];
      const { name, bytes } = mutate(seed.bytes, rng);
      await expectCleanOutcome(() => decodeModel(bytes, "fuzz.onnx"), `onnx decode case ${i} (${seed.name}, ${name})`, failures);
      await expectCleanOutcome(() => importOnnx(bytes, { source: "fuzz.onnx", seed: 1 }), `onnx import case ${i} (${seed.name}, ${name})`, failures);
    }
    for (let i = 0; i < CASES; i++) {
      const seed = seeds[i % seeds.length];
      const { name, model } = hostileModel(seed.model, rng);
      const bytes = encodeModel(model);
      await expectCleanOutcome(() => decodeModel(bytes, "fuzz.onnx"), `onnx decode hostile case ${i} (${seed.name}, ${name})`, failures);
      await expectCleanOutcome(() => importOnnx(bytes, { source: "fuzz.onnx", seed: 1 }), `onnx import hostile case ${i} (${seed.name}, ${name})`, failures);
    }
    expect(failures).toEqual([]);
  }, 240_000);

  test("CSV tables: parseCsv, then splitTarget with real and hostile column names", async () => {
    const seeds = [
      "sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,0\n7.0,3.2,4.7,1.4,1\n6.3,3.3,6.0,2.5,2\n",
      '\uFEFF"x";"y ""quoted""";"label"\r\n1.5;-2e3;1\r\n\r\n  0.25 ; .5 ;0\r\n"3";"+4.0E-2";1\r\n',
      "a\tb\ttarget\n1\t2\t3\n4\t5\t6\n",
    ];
    const seedTables = seeds.map((text) => parseCsv(text, { source: "seed.csv" }));
    const hostileNames = ["", " ", "__proto__", "constructor", "toString", "specie", "Label", "y \"quoted\"", "\u0000"];
    const delimiters = [",", ";", "\t", "", '"', "\n", ",,"];
    const rng = new Rng(5);
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const seedIndex = i % seeds.length;
      const { name, text } = mutateText(seeds[seedIndex], rng);
      const delimiter = rng.next() < 0.15 ? delimiters[pick(rng, delimiters.length)] : undefined;
      let parsed: ReturnType<typeof parseCsv> | undefined;
      const how = `${name}${delimiter === undefined ? "" : `, delimiter ${JSON.stringify(delimiter)}`}`;
      await expectCleanOutcome(() => (parsed = parseCsv(text, { source: "fuzz.csv", delimiter })), `parseCsv case ${i} (${how})`, failures);
      // The mutated table when it parsed, the seed's otherwise: splitTarget gets a case every time.
      const table = parsed ?? seedTables[seedIndex];
      const names = [...table.columns, ...hostileNames];
      const target = names[pick(rng, names.length)];
      const featureChoice = pick(rng, 5);
      const features = featureChoice === 0 ? [] : featureChoice === 1 ? [target] : featureChoice === 2 ? [names[pick(rng, names.length)], names[pick(rng, names.length)]] : undefined;
      await expectCleanOutcome(
        () => splitTarget(table, target, { features, source: "fuzz.csv" }),
        `splitTarget case ${i} (${parsed ? how : "seed table"}, target ${JSON.stringify(target)}, features ${JSON.stringify(features)})`,
        failures,
      );
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test("arrays for infer (.npy, JSON lists, IDX), then the .npy header and the JSON text", async () => {
    const npyHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const npyData = new Uint8Array(Float32Array.from([0.5, -1, 2e-3, 3, 4.25, 5]).buffer);
    const json = "[[0.5, -1, 2e-3], [3, 4.25, 5]]";
    const seeds = [encodeNpy(npyHeader, npyData), new TextEncoder().encode(json), encodeIdx([2, 2, 3], Uint8Array.from({ length: 12 }, (_, i) => i * 20))];
    const rng = new Rng(6);
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const { name, bytes } = mutate(seeds[i % seeds.length], rng);
      await expectCleanOutcome(() => readArrayFile(bytes, "fuzz.array"), `array case ${i} (${["npy", "json", "idx"][i % 3]}, ${name})`, failures);
    }
    for (let i = 0; i < CASES; i++) {
      const npy = i % 2 === 0;
      const { name, text } = mutateText(npy ? npyHeader : json, rng);
      const bytes = npy ? encodeNpy(text, npyData) : new TextEncoder().encode(text);
      await expectCleanOutcome(() => readArrayFile(bytes, "fuzz.array"), `array ${npy ? "npy header" : "json text"} case ${i} (${name})`, failures);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test("special paths: refused by the reader before the parser sees a byte, and never by hanging", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "wasmgrad-fuzz-paths-"));
    try {
      mkdirSync(join(scratch, "folder"));
      Bun.spawnSync(["mkfifo", join(scratch, "fifo")]);
      Bun.spawnSync(["truncate", "-s", "3M", join(scratch, "sparse")]);
      const server = Bun.listen({ unix: join(scratch, "socket"), socket: { data() {} } });
      const paths = [
        join(scratch, "folder"), join(scratch, "fifo"), join(scratch, "socket"), join(scratch, "sparse"), join(scratch, "missing"), join(scratch, "missing", "deeper"),
        "/dev/zero", "/dev/urandom", "/dev/null", "/proc/self/pagemap", "/proc/self/mem", "/proc/self/clear_refs", "/proc/self/status", "/proc/self", "",
      ];
      const readers: [string, (bytes: Uint8Array, source: string) => unknown][] = [
        ["idx", parseIdx], ["checkpoint", decodeCheckpoint], ["array", readArrayFile], ["onnx", (b, s) => importOnnx(b, { source: s })],
        ["model", (b, s) => parseModelJson(new TextDecoder().decode(b), s)], ["csv", (b, s) => parseCsv(new TextDecoder().decode(b), { source: s })],
      ];
      const failures: string[] = [];
      setInputLimit(1 << 20);
      try {
        for (const path of paths) {
          for (const [name, parse] of readers) await expectCleanOutcome(() => parse(readUserFile(path, "fuzz"), path), `special path ${JSON.stringify(path)} → ${name}`, failures);
        }
      } finally {
        setInputLimit(DEFAULT_INPUT_LIMIT);
        server.stop(true);
      }
      expect(failures).toEqual([]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test("JSON nested deep in place of any value: model files, arrays for infer, checkpoint headers", async () => {
    const model = new Sequential({ inputShape: [4], seed: 1, layers: [new Dense({ units: 3, activation: "softmax" })] });
    model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    const checkpoint = encodeCheckpoint(model);
    const headerLength = new DataView(checkpoint.buffer).getUint32(8, true);
    const headerText = new TextDecoder().decode(checkpoint.subarray(12, 12 + headerLength));
    const tensorData = checkpoint.subarray((12 + headerLength + 3) & ~3, checkpoint.length - 4);
    const modelText = JSON.stringify({ name: "deep", inputShape: [4], layers: [{ type: "Dense", units: 3, activation: "softmax" }], training: { metrics: ["accuracy"], loss: "sparseCategoricalCrossentropy", schedule: { type: "step", factor: 0.5 } } });
    const arrayText = "[[0.5, -1, 2], [3, 4.25, 5]]";
    const rng = new Rng(7);
    /** `text` with one value (a number, string, true/false/null, or a list's opening) wrapped n deep. */
    const deepen = (text: string): { name: string; text: string } => {
      const spots = [...text.matchAll(/-?\d+(\.\d+)?|"[^"]*"|true|false|null|\[/g)];
      const spot = spots[pick(rng, spots.length)];
      const n = [33, 200, 5000, 100_000][pick(rng, 4)];
      const objects = rng.next() < 0.5;
      const open = objects ? '{"k": '.repeat(n) : "[".repeat(n), close = objects ? "}".repeat(n) : "]".repeat(n);
      const at = spot.index!, end = spot[0] === "[" ? at : at + spot[0].length;
      const wrapped = spot[0] === "[" ? `${open}[` : `${open}${spot[0]}${close}`;
      const rest = spot[0] === "[" ? text.slice(at + 1).replace("]", `]${close}`) : text.slice(end);
      return { name: `${spot[0]} at ${at} wrapped ${n} deep in ${objects ? "objects" : "lists"}`, text: text.slice(0, at) + wrapped + rest };
    };
    const failures: string[] = [];
    const cases = Math.max(1, CASES >> 2);
    for (let i = 0; i < cases; i++) {
      const m = deepen(modelText);
      await expectCleanOutcome(() => buildModel(parseModelJson(m.text, "deep.json"), "deep.json"), `deep model case ${i} (${m.name})`, failures);
      const a = deepen(arrayText);
      await expectCleanOutcome(() => readArrayFile(new TextEncoder().encode(a.text), "deep-array.json"), `deep array case ${i} (${a.name})`, failures);
      const h = deepen(headerText);
      const header = new TextEncoder().encode(h.text);
      const start = (12 + header.length + 3) & ~3;
      const bytes = new Uint8Array(start + tensorData.length + 4);
      bytes.set(checkpoint.subarray(0, 8));
      new DataView(bytes.buffer).setUint32(8, header.length, true);
      bytes.set(header, 12);
      bytes.set(tensorData, start);
      new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
      await expectCleanOutcome(() => decodeCheckpoint(bytes, "deep.wgd"), `deep checkpoint header case ${i} (${h.name})`, failures);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test("checkpoints whose header lies about the tensors or the training state, or whose weights are not finite", async () => {
    const model = new Sequential({
      inputShape: [6, 6, 1], seed: 3,
      layers: [new Conv2D({ filters: 2, kernelSize: 3, activation: "relu" }), new BatchNormalization(), new Flatten(), new Dropout({ rate: 0.1 }), new Dense({ units: 3, activation: "softmax" })],
    });
    model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    model.trainOnBatch(Float32Array.from({ length: 2 * 36 }, (_, i) => Math.sin(i)), Int32Array.of(0, 2));
    model.epochsTrained = 1;
    const original = encodeCheckpoint(model);
    const headerLength = new DataView(original.buffer).getUint32(8, true);
    const baseHeader = JSON.parse(new TextDecoder().decode(original.subarray(12, 12 + headerLength)));
    const baseData = original.subarray((12 + headerLength + 3) & ~3, original.length - 4);
    const encode = (header: unknown, data: Uint8Array) => {
      const text = new TextEncoder().encode(JSON.stringify(header));
      const start = (12 + text.length + 3) & ~3;
      const bytes = new Uint8Array(start + data.length + 4);
      bytes.set(original.subarray(0, 8));
      new DataView(bytes.buffer).setUint32(8, text.length, true);
      bytes.set(text, 12);
      bytes.set(data, start);
      new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
      return bytes;
    };
    type Header = typeof baseHeader;
    type Tensor = { name: string; shape: number[]; offset: number; length: number };
    const rng = new Rng(8);
    const anyTensor = (h: Header): Tensor => h.tensors[pick(rng, h.tensors.length)];
    /** Each lie edits a copy of the header (and maybe the data) and must be refused; `finite` ones only without allowNonFinite. */
    const lies: Record<string, (h: Header, data: Uint8Array) => Uint8Array | void> = {
      "a tensor's shape transposed or changed": (h) => {
        const t = anyTensor(h);
        t.shape = t.shape.length > 1 && t.shape[0] !== t.shape[t.shape.length - 1] ? [...t.shape].reverse() : [...t.shape, 1].map((d, i) => (i === 0 ? d + 1 : d));
        if (t.shape.length === 1) t.shape = [t.length, 1, 2];
      },
      "a tensor's offset moved": (h) => void (anyTensor(h).offset += [1, -1, 4][pick(rng, 3)]),
      "a tensor's length changed with its shape": (h) => {
        const t = anyTensor(h);
        t.shape = [t.length + 1];
        t.length += 1;
      },
      "a tensor listed twice": (h) => void h.tensors.push({ ...anyTensor(h) }),
      "a tensor dropped from the manifest": (h) => void h.tensors.splice(pick(rng, h.tensors.length), 1),
      "an extra tensor at the end": (h, data) => {
        const end = h.tensors.reduce((n: number, t: Tensor) => n + t.length, 0);
        h.tensors.push({ name: ["dense_1/extra", "conv2d_1/kernel/slot2", "ghost/kernel"][pick(rng, 3)], shape: [2], offset: end, length: 2 });
        const grown = new Uint8Array(data.length + 8);
        grown.set(data);
        return grown;
      },
      "two tensors renamed into each other": (h) => {
        const [a, b] = [anyTensor(h), anyTensor(h)];
        if (a.name === b.name || a.shape.join() === b.shape.join()) a.shape = [...a.shape, 1];
        [a.name, b.name] = [b.name, a.name];
      },
      "more epochs than optimizer steps": (h) => void (h.training.epoch = h.training.iterations + 1 + pick(rng, 5)),
      "a step count that is not a count": (h) => void (h.training.iterations = [-1, 0.5, 1e300, "1", null][pick(rng, 5)]),
      "no optimizer steps but optimizer state": (h) => {
        h.training.iterations = 0;
        h.training.epoch = 0;
      },
      "the optimizer named differently from its state": (h) => void (h.training.optimizer = { type: ["sgd", "rmsprop"][pick(rng, 2)], learningRate: 0.01 }),
      "optimizer state without a training state": (h) => void delete h.training,
      "a layer state of the wrong length": (h) => {
        const key = Object.keys(h.layerStates)[pick(rng, Object.keys(h.layerStates).length)];
        h.layerStates[key] = [...h.layerStates[key], 0];
      },
      "a layer state missing": (h) => void delete h.layerStates[Object.keys(h.layerStates)[pick(rng, Object.keys(h.layerStates).length)]],
      // An own property even for "__proto__" (plain assignment would set the prototype, and JSON.stringify drop it).
      "a layer state for a layer that is not there": (h) => void Object.defineProperty(h.layerStates, ["ghost", "__proto__", "constructor"][pick(rng, 3)], { value: [1], enumerable: true }),
      "a negative moving variance": (h) => {
        const key = Object.keys(h.layerStates).find((k) => h.layerStates[k].length > 1)!;
        h.layerStates[key][h.layerStates[key].length - 1] = -1;
      },
      "a random state that is not a u32": (h) => {
        const key = Object.keys(h.layerStates).find((k) => h.layerStates[k].length === 1)!;
        h.layerStates[key] = [[-1, 0.5, 2 ** 32, "7"][pick(rng, 4)]];
      },
      "two layers with one name": (h) => void (h.model.layers[4].name = h.model.layers[0].name),
      "the data truncated by 1-3 bytes": (_, data) => data.subarray(0, data.length - 1 - pick(rng, 3)),
      "the data truncated by whole floats": (_, data) => data.subarray(0, data.length - 4 * (1 + pick(rng, 8))),
      "the manifest cut to match truncated data": (h, data) => {
        const last = h.tensors[h.tensors.length - 1];
        last.length -= 1;
        return data.subarray(0, data.length - 4);
      },
    };
    const nonFinite = (h: Header, data: Uint8Array) => {
      const floats = new Float32Array(data.slice().buffer);
      const t = anyTensor(h);
      floats[t.offset + pick(rng, t.length)] = [NaN, Infinity, -Infinity][pick(rng, 3)];
      return new Uint8Array(floats.buffer);
    };
    const failures: string[] = [];
    const names = Object.keys(lies);
    for (let i = 0; i < CASES; i++) {
      const name = i % 5 === 4 ? "a weight or optimizer value set to NaN or ±Inf" : names[pick(rng, names.length)];
      const header = structuredClone(baseHeader);
      const data = (name.startsWith("a weight") ? nonFinite(header, baseData) : lies[name](header, baseData)) ?? baseData;
      const bytes = encode(header, data);
      const label = `lying checkpoint case ${i} (${name})`;
      let accepted = false;
      await expectCleanOutcome(() => (decodeCheckpoint(bytes, "lying.wgd"), (accepted = true)), label, failures);
      if (accepted) failures.push(`${label}: accepted`);
      if (name.startsWith("a weight")) await expectCleanOutcome(() => decodeCheckpoint(bytes, "lying.wgd", { allowNonFinite: true }), `${label} with allowNonFinite`, failures);
    }
    // And the untouched file still loads, exactly.
    const reloaded = decodeCheckpoint(encode(baseHeader, baseData), "honest.wgd").model;
    expect(reloaded.getWeights().map((w) => Array.from(w.data))).toEqual(model.getWeights().map((w) => Array.from(w.data)));
    expect(failures).toEqual([]);
  }, 120_000);

  test("arrays for infer holding NaN, ±Inf or values beyond float32's range are refused unless allowed", async () => {
    const rng = new Rng(9);
    const failures: string[] = [];
    const hostile = [Number.NaN, Infinity, -Infinity, 1e39, -3.5e38, 1e300];
    for (let i = 0; i < Math.max(1, CASES >> 2); i++) {
      const count = 1 + pick(rng, 40);
      const values = Array.from({ length: count }, (_, k) => Math.sin(k));
      const bad = hostile[pick(rng, hostile.length)];
      values[pick(rng, count)] = bad;
      // JSON can only carry finite numbers (1e39 is one, and Inf as float32); .npy carries anything.
      const format = ["npy <f4", "npy <f8", "JSON"][Number.isFinite(bad) ? pick(rng, 3) : pick(rng, 2)];
      const bytes = format === "JSON"
        ? new TextEncoder().encode(JSON.stringify([values]))
        : encodeNpy(`{'descr': '${format.slice(4)}', 'fortran_order': False, 'shape': (1, ${count}), }`,
            new Uint8Array((format === "npy <f8" ? Float64Array.from(values) : Float32Array.from(values)).buffer));
      const label = `non-finite case ${i} (${bad} in ${format} of ${count})`;
      let accepted = false;
      await expectCleanOutcome(async () => (await readArrayFile(bytes, "nonfinite.array"), (accepted = true)), label, failures);
      if (accepted) failures.push(`${label}: accepted`);
      const allowed = await readArrayFile(bytes, "nonfinite.array", { allowNonFinite: true }).catch((e: Error) => e);
      if (allowed instanceof Error) failures.push(`${label} with allowNonFinite: ${allowed.message}`);
    }
    expect(failures).toEqual([]);
  });

  test("names from Object.prototype are never found in a registry", async () => {
    const names = [...Object.getOwnPropertyNames(Object.prototype), "prototype", "hasOwnProperty"];
    const slots: Record<string, (name: string) => unknown> = {
      "layer type": (n) => ({ inputShape: [4], layers: [{ type: n }] }),
      activation: (n) => ({ inputShape: [4], layers: [{ type: "Dense", units: 2, activation: n }] }),
      initializer: (n) => ({ inputShape: [4], layers: [{ type: "Dense", units: 2, kernelInitializer: n }] }),
      loss: (n) => ({ inputShape: [4], layers: [{ type: "Dense", units: 2 }], training: { loss: n } }),
      metric: (n) => ({ inputShape: [4], layers: [{ type: "Dense", units: 2 }], training: { metrics: [n] } }),
      optimizer: (n) => ({ inputShape: [4], layers: [{ type: "Dense", units: 2 }], training: { optimizer: n } }),
      "schedule type": (n) => ({ inputShape: [4], layers: [{ type: "Dense", units: 2 }], training: { schedule: { type: n } } }),
      "schedule monitor": (n) => ({ inputShape: [4], layers: [{ type: "Dense", units: 2 }], training: { schedule: { type: "plateau", monitor: n } } }),
    };
    const failures: string[] = [];
    for (const [slot, make] of Object.entries(slots)) {
      for (const name of names) {
        const label = `${slot} ${JSON.stringify(name)}`;
        let accepted = false;
        await expectCleanOutcome(() => {
          const file = parseModelJson(JSON.stringify({ name: "proto", ...(make(name) as object) }), "proto.json");
          const model = buildModel(file, "proto.json");
          if (file.training?.optimizer !== undefined || file.training?.loss !== undefined || file.training?.metrics !== undefined) {
            model.compile({ optimizer: (file.training.optimizer ?? "adam") as string, loss: file.training.loss ?? "meanSquaredError", metrics: file.training.metrics });
          }
          accepted = true;
        }, label, failures);
        if (accepted) failures.push(`${label}: accepted`);
      }
    }
    expect(failures).toEqual([]);
  });

  test("ONNX graphs that break onnx.checker's rules are refused by importOnnx", async () => {
    const seeds = onnxSeeds();
    const rng = new Rng(10);
    type Model = ModelProto;
    const lies: Record<string, (m: Model) => void> = {
      "an initializer duplicated": (m) => void m.graph.initializers.push({ ...m.graph.initializers[pick(rng, m.graph.initializers.length)] }),
      "an initializer renamed after another": (m) => {
        const [a, b] = m.graph.initializers;
        const old = a.name;
        a.name = b.name;
        for (const n of m.graph.nodes) n.inputs = n.inputs.map((x) => (x === old ? b.name : x));
      },
      "a node output named like an initializer": (m) => {
        const node = m.graph.nodes[pick(rng, m.graph.nodes.length - 1)];
        const name = m.graph.initializers[pick(rng, m.graph.initializers.length)].name;
        const old = node.outputs[0];
        node.outputs[0] = name;
        for (const n of m.graph.nodes) if (n !== node) n.inputs = n.inputs.map((x) => (x === old ? name : x));
      },
      "two nodes writing one value": (m) => void (m.graph.nodes[1].outputs = [...m.graph.nodes[0].outputs]),
      "no opset imports": (m) => void (m.opsetImports = []),
      "only a wrong-domain opset import": (m) => void (m.opsetImports = [{ domain: ["com.example", "ai.onnx.ml", "onnx"][pick(rng, 3)], version: 13 }]),
      "two default opset imports": (m) => void m.opsetImports.push({ domain: ["", "ai.onnx"][pick(rng, 2)], version: 11 }),
      "an opset version from the future or zero": (m) => void (m.opsetImports[0].version = [0, 99, 1000][pick(rng, 3)]),
      "a node of a domain not imported": (m) => void (m.graph.nodes[pick(rng, m.graph.nodes.length)].domain = "com.example"),
      "the input declared string, int64, bool or untyped": (m) => void (m.graph.inputs[0].elemType = [8, 7, 9, 0][pick(rng, 4)]),
      "an input dimension of 0": (m) => void (m.graph.inputs[0].shape![1 + pick(rng, m.graph.inputs[0].shape!.length - 1)] = 0),
      "input dimensions multiplying past 2³¹": (m) => void (m.graph.inputs[0].shape = [m.graph.inputs[0].shape![0], 65536, 65536, ...m.graph.inputs[0].shape!.slice(3)]),
      "an initializer listed as an input with other dims": (m) => {
        const t = m.graph.initializers[pick(rng, m.graph.initializers.length)];
        m.graph.inputs.push({ name: t.name, elemType: 1, shape: [...t.dims.map((d) => d + 1)] });
      },
      "an initializer listed as an input with another type": (m) => {
        const t = m.graph.initializers[pick(rng, m.graph.initializers.length)];
        m.graph.inputs.push({ name: t.name, elemType: t.dataType === 1 ? 7 : 1, shape: [...t.dims] });
      },
      "two graph inputs of one name": (m) => void m.graph.inputs.push({ ...m.graph.inputs[0] }),
      "nodes out of order": (m) => void m.graph.nodes.reverse(),
      "a node reading a value nobody defines": (m) => void (m.graph.nodes[m.graph.nodes.length - 1].inputs[0] = "nowhere"),
      "a graph output nobody produces": (m) => void (m.graph.outputs[0].name = "nowhere"),
    };
    const names = Object.keys(lies);
    const failures: string[] = [];
    for (let i = 0; i < Math.max(names.length, CASES >> 2); i++) {
      const seed = seeds[Math.floor(i / names.length) % seeds.length];
      const name = names[i % names.length];
      const model = structuredClone(seed.model);
      lies[name](model);
      const bytes = encodeModel(model);
      const label = `onnx checker case ${i} (${seed.name}, ${name})`;
      let accepted = false;
      await expectCleanOutcome(() => (importOnnx(bytes, { source: "lying.onnx", seed: 1 }), (accepted = true)), label, failures);
      if (accepted) failures.push(`${label}: accepted`);
    }
    for (const seed of seeds) importOnnx(seed.bytes, { source: seed.name, seed: 1 });
    expect(failures).toEqual([]);
  });
});
