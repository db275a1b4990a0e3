// The ONNX protobuf codec: wire-level details checked against hand-written bytes, round trips of every
// attribute and tensor kind, the encodings other exporters use (typed repeated fields, unpacked runs,
// unknown fields), hostile input (every truncation, random and mutated bytes, lying length fields), and
// onnxruntime-web as the outside oracle that our bytes are a model a real runtime accepts and runs.

import { describe, expect, test } from "bun:test";
import * as ort from "onnxruntime-web";
import { InputError } from "../../src/errors";
import { Rng } from "../../src/engine/rng";
import { MAX_NESTING_DEPTH, ProtobufReader, ProtobufWriter, WireType } from "../../src/onnx/protobuf";
import {
  TensorDataType, attribute, decodeModel, encodeModel, type AttributeProto, type ModelProto, type NodeProto, type TensorProto,
} from "../../src/onnx/onnx-proto";
import { mutate } from "../fuzz/mutators";

const SOURCE = "model.onnx";

function expectInputError(run: () => unknown, message?: RegExp | string): InputError {
  try {
    run();
  } catch (error) {
    if (!(error instanceof InputError)) throw new Error(`expected an InputError, got ${(error as Error)?.name}: ${(error as Error)?.message}`);
    if (message !== undefined) expect(error.message).toMatch(message);
    expect(error.message.split("\n")).toHaveLength(1);
    return error;
  }
  throw new Error("expected an InputError, but decoding succeeded");
}

/** Decoding must either succeed or fail with an InputError; anything else is a crash. */
function decodeOutcome(bytes: Uint8Array): "ok" | "InputError" | string {
  try {
    decodeModel(bytes, SOURCE);
    return "ok";
  } catch (error) {
    return error instanceof InputError ? "InputError" : `${(error as Error)?.name}: ${(error as Error)?.message}`;
  }
}

const float = (dims: number[], values: number[], name = ""): TensorProto => ({ name, dataType: TensorDataType.FLOAT, dims, data: Float32Array.from(values) });

function modelWith(graph: Partial<ModelProto["graph"]>, extra: Partial<ModelProto> = {}): ModelProto {
  return {
    irVersion: 8,
    opsetImports: [{ domain: "", version: 13 }],
    producerName: "wasmgrad-test",
    producerVersion: "0.1.0",
    graph: { name: "g", nodes: [], initializers: [], inputs: [], outputs: [], ...graph },
    ...extra,
  };
}

/** Hand-assembles a model around one graph body, for encodings encodeModel never produces. */
function rawModel(writeGraph: (graph: ProtobufWriter) => void, irVersion = 8): Uint8Array {
  const w = new ProtobufWriter();
  w.varintField(1, irVersion);
  w.messageField(7, writeGraph);
  w.messageField(8, (opset) => opset.varintField(2, 13));
  return w.finish();
}

describe("wire format", () => {
  test("varints match the bytes protobuf specifies, including 10-byte negatives", () => {
    const bytesOf = (value: number) => Array.from(new ProtobufWriter().rawVarint(value).finish());
    expect(bytesOf(0)).toEqual([0]);
    expect(bytesOf(1)).toEqual([1]);
    expect(bytesOf(300)).toEqual([0xac, 0x02]);
    expect(bytesOf(2 ** 32)).toEqual([0x80, 0x80, 0x80, 0x80, 0x10]);
    expect(bytesOf(-1)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(bytesOf(-2)).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(bytesOf(Number.MAX_SAFE_INTEGER)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => new ProtobufWriter().rawVarint(0.5)).toThrow();
  });

  test("int64 varints read back exactly across the safe range", () => {
    const values = [0, 1, -1, 127, 128, -128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 32 + 1,
      -(2 ** 32 + 1), 2 ** 52 + 3, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    const w = new ProtobufWriter();
    for (const value of values) w.rawVarint(value);
    const r = new ProtobufReader(w.finish(), SOURCE);
    expect(values.map(() => r.readInt64("v"))).toEqual(values);
    expect(r.atEnd).toBe(true);
  });

  test("int64 values beyond ±(2^53 − 1) fail rather than round", () => {
    const twoPow53 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    expectInputError(() => new ProtobufReader(Uint8Array.from(twoPow53), SOURCE).readInt64("dims"), /dims is out of range/);
    const minInt64 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
    expectInputError(() => new ProtobufReader(Uint8Array.from(minInt64), SOURCE).readInt64("i"), /out of range/);
    expect(new ProtobufReader(Uint8Array.from(minInt64), SOURCE).readInt64Exact()).toBe(-(2n ** 63n));
  });

  test("varints longer than 10 bytes, and truncated ones, are errors", () => {
    expectInputError(() => new ProtobufReader(new Uint8Array(11).fill(0x80), SOURCE).readInt64("x"), /model.onnx: corrupt varint at byte 0 \(longer than 10 bytes\)/);
    expectInputError(() => new ProtobufReader(Uint8Array.of(0x80, 0x80), SOURCE).readInt64("x"), /truncated varint at byte 0/);
  });

  test("group wire types (3, 4) and the undefined ones (6, 7) are errors", () => {
    for (const wireType of [3, 4]) expectInputError(() => new ProtobufReader(Uint8Array.of((5 << 3) | wireType), SOURCE).readTag(), /group/);
    for (const wireType of [6, 7]) expectInputError(() => new ProtobufReader(Uint8Array.of((5 << 3) | wireType), SOURCE).readTag(), /wire type/);
    expectInputError(() => new ProtobufReader(Uint8Array.of(0 << 3), SOURCE).readTag(), /field number 0/);
  });

  test("unknown fields of every wire type are skipped exactly", () => {
    const w = new ProtobufWriter();
    w.varintField(100, -5).doubleField(101, 1.5).bytesField(102, Uint8Array.of(1, 2, 3)).floatField(103, 2.5).fixed64Field(104, -1n).fixed32Field(105, 7);
    w.varintField(1, 42);
    const r = new ProtobufReader(w.finish(), SOURCE);
    for (;;) {
      const { field, wireType } = r.readTag();
      if (field === 1) {
        expect(r.int64Field(wireType, "answer")).toBe(42);
        break;
      }
      r.skipField(wireType);
    }
    expect(r.atEnd).toBe(true);
  });

  test("nesting deeper than the bound is an error, not a stack overflow", () => {
    let inner: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < MAX_NESTING_DEPTH + 5; i++) inner = new ProtobufWriter().bytesField(1, inner).finish();
    const descend = () => {
      let r = new ProtobufReader(inner, SOURCE);
      while (!r.atEnd) r = r.messageField(r.readTag().wireType, "m");
    };
    expectInputError(descend, /nested more than 32 deep/);
  });

  test("the writer copies nested and large payloads correctly", () => {
    const big = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const bytes = new ProtobufWriter().varintField(1, 7).messageField(2, (m) => m.bytesField(3, big).stringField(4, "é")).finish();
    const r = new ProtobufReader(bytes, SOURCE);
    expect(r.int64Field(r.readTag().wireType, "a")).toBe(7);
    const m = r.messageField(r.readTag().wireType, "m");
    expect(m.bytesField(m.readTag().wireType, "b")).toEqual(big);
    expect(m.stringField(m.readTag().wireType, "s")).toBe("é");
    expect(r.atEnd && m.atEnd).toBe(true);
  });
});

/** A model that uses every attribute kind, every tensor kind, and every shape form. */
function everythingModel(): ModelProto {
  const tensors: TensorProto[] = [
    float([2, 3], [0, 1.5, -2.25, 1e-30, 3.4e38, -Infinity], "floats"),
    { name: "doubles", dataType: TensorDataType.DOUBLE, dims: [3], data: Float64Array.of(0.1, -1e300, Math.PI) },
    { name: "longs", dataType: TensorDataType.INT64, dims: [2, 2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n) },
    { name: "ints", dataType: TensorDataType.INT32, dims: [3], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0) },
    { name: "bytes", dataType: TensorDataType.INT8, dims: [2], data: Int32Array.of(-128, 127) },
    { name: "ubytes", dataType: TensorDataType.UINT8, dims: [3], data: Int32Array.of(0, 128, 255) },
    float([], [42], "scalar"),
    float([0, 3], [], "empty"),
  ];
  const attributes: AttributeProto[] = [
    { name: "alpha", type: "FLOAT", f: Math.fround(0.1) },
    { name: "zero", type: "FLOAT", f: 0 },
    { name: "axis", type: "INT", i: -1 },
    { name: "big", type: "INT", i: Number.MIN_SAFE_INTEGER },
    { name: "mode", type: "STRING", s: "constant ✓" },
    { name: "value", type: "TENSOR", t: float([2], [1, -1], "v") },
    { name: "scales", type: "FLOATS", floats: [1, Math.fround(0.3), -2] },
    { name: "pads", type: "INTS", ints: [0, -1, Number.MAX_SAFE_INTEGER, 300] },
    { name: "none", type: "INTS", ints: [] },
    { name: "names", type: "STRINGS", strings: ["a", "", "ü"] },
  ];
  return modelWith(
    {
      name: "everything",
      nodes: [
        { name: "n0", opType: "Custom", domain: "ai.wasmgrad", inputs: ["x", "", "floats"], outputs: ["y"], attributes },
        { name: "", opType: "Relu", domain: "", inputs: ["y"], outputs: ["z"], attributes: [] },
      ],
      initializers: tensors,
      inputs: [
        { name: "x", elemType: TensorDataType.FLOAT, shape: ["batch", 3, ""] },
        { name: "s", elemType: TensorDataType.INT64, shape: [] },
      ],
      outputs: [{ name: "z", elemType: TensorDataType.FLOAT }],
    },
    { opsetImports: [{ domain: "", version: 13 }, { domain: "ai.wasmgrad", version: 1 }] },
  );
}

describe("round trip", () => {
  test("every attribute and tensor kind decodes to what was encoded", () => {
    const model = everythingModel();
    const bytes = encodeModel(model);
    const decoded = decodeModel(bytes, SOURCE);
    expect(decoded).toEqual(model);
    for (const [index, tensor] of decoded.graph.initializers.entries()) {
      expect(tensor.data.constructor).toBe(model.graph.initializers[index].data.constructor);
    }
    // Encoding is deterministic, so a decoded model re-encodes to the same bytes.
    expect(encodeModel(decoded)).toEqual(bytes);
  });

  test("attribute() finds by name", () => {
    const node = everythingModel().graph.nodes[0];
    expect(attribute(node, "axis")).toEqual({ name: "axis", type: "INT", i: -1 });
    expect(attribute(node, "missing")).toBeUndefined();
  });

  test("encodeModel refuses tensors whose data disagrees with their dims or type", () => {
    expect(() => encodeModel(modelWith({ initializers: [float([2, 2], [1, 2, 3])] }))).toThrow(/call for 4 values/);
    const wrongArray: TensorProto = { name: "w", dataType: TensorDataType.INT64, dims: [1], data: Int32Array.of(1) };
    expect(() => encodeModel(modelWith({ initializers: [wrongArray] }))).toThrow(/BigInt64Array/);
  });
});

describe("decoding what other exporters write", () => {
  test("typed repeated fields (packed, unpacked, split runs) instead of raw_data", () => {
    const bytes = rawModel((g) => {
      g.messageField(5, (t) => { // FLOAT, float_data one element per tag, dims unpacked
        t.varintField(1, 2).varintField(1, 2).varintField(2, TensorDataType.FLOAT).stringField(8, "unpacked");
        for (const v of [1, -2, 0.5, 8]) t.floatField(4, v);
      });
      g.messageField(5, (t) => { // FLOAT, packed float_data split into two runs
        t.packedVarintField(1, [3]).varintField(2, TensorDataType.FLOAT).stringField(8, "packed");
        t.packedFloatField(4, [1.25, 2.5]).packedFloatField(4, [-3]);
      });
      g.messageField(5, (t) => { // INT64, int64_data with negatives, packed then unpacked
        t.packedVarintField(1, [4]).varintField(2, TensorDataType.INT64).stringField(8, "shape");
        t.packedVarintField(7, [-1, 0, Number.MAX_SAFE_INTEGER]).varintField(7, Number.MIN_SAFE_INTEGER);
      });
      g.messageField(5, (t) => { // INT32 / INT8 / UINT8 all as int32_data
        t.packedVarintField(1, [3]).varintField(2, TensorDataType.INT32).stringField(8, "i32").packedVarintField(5, [-(2 ** 31), -1, 7]);
      });
      g.messageField(5, (t) => t.packedVarintField(1, [2]).varintField(2, TensorDataType.INT8).stringField(8, "i8").varintField(5, -128).varintField(5, 127));
      g.messageField(5, (t) => t.packedVarintField(1, [2]).varintField(2, TensorDataType.UINT8).stringField(8, "u8").packedVarintField(5, [0, 255]));
      g.messageField(5, (t) => { // DOUBLE, double_data packed then unpacked
        t.packedVarintField(1, [3]).varintField(2, TensorDataType.DOUBLE).stringField(8, "f64").packedDoubleField(10, [0.1, -2]).doubleField(10, 1e300);
      });
    });
    const [unpacked, packed, shape, i32, i8, u8, f64] = decodeModel(bytes, SOURCE).graph.initializers;
    expect(unpacked).toEqual(float([2, 2], [1, -2, 0.5, 8], "unpacked"));
    expect(packed).toEqual(float([3], [1.25, 2.5, -3], "packed"));
    expect(shape.data).toEqual(BigInt64Array.of(-1n, 0n, BigInt(Number.MAX_SAFE_INTEGER), BigInt(Number.MIN_SAFE_INTEGER)));
    expect(i32.data).toEqual(Int32Array.of(-(2 ** 31), -1, 7));
    expect(i8.data).toEqual(Int32Array.of(-128, 127));
    expect(u8.data).toEqual(Int32Array.of(0, 255));
    expect(f64.data).toEqual(Float64Array.of(0.1, -2, 1e300));
  });

  test("negative ints from literal bytes: axis = -1 as a 10-byte varint, ints unpacked, no type field", () => {
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    // AttributeProto: name (1) "axis", i (3) = -1, type (20, tag bytes a0 01) = INT (2)
    const axis = [0x0a, 4, ...new TextEncoder().encode("axis"), 0x18, ...minusOne, 0xa0, 0x01, 0x02];
    // AttributeProto without a type: name "perm", ints (8) one per tag: -1, 2
    const perm = [0x0a, 4, ...new TextEncoder().encode("perm"), 0x40, ...minusOne, 0x40, 0x02];
    // NodeProto: op_type (4) "Concat", attribute (5) × 2
    const node = [0x22, 6, ...new TextEncoder().encode("Concat"), 0x2a, axis.length, ...axis, 0x2a, perm.length, ...perm];
    // GraphProto: node (1); ModelProto: ir_version (1) = 8, graph (7)
    const graph = [0x0a, node.length, ...node];
    const model = Uint8Array.from([0x08, 0x08, 0x3a, graph.length, ...graph]);
    const decoded = decodeModel(model, SOURCE);
    expect(decoded.irVersion).toBe(8);
    expect(decoded.graph.nodes[0].attributes).toEqual([
      { name: "axis", type: "INT", i: -1 },
      { name: "perm", type: "INTS", ints: [-1, 2] },
    ]);
  });

  test("unknown fields of every wire type, at every level, are skipped", () => {
    const noise = (w: ProtobufWriter) => w.varintField(999, -7).fixed64Field(998, 1n).bytesField(997, Uint8Array.of(0xff, 0x00)).fixed32Field(996, 3);
    const w = new ProtobufWriter();
    noise(w);
    w.messageField(7, (g) => {
      noise(g);
      g.messageField(1, (n) => {
        noise(n);
        n.stringField(4, "Relu").stringField(1, "x").stringField(2, "y");
        n.messageField(5, (a) => noise(a).stringField(1, "alpha").floatField(2, 0.5).varintField(20, 1));
      });
      g.messageField(5, (t) => noise(t).packedVarintField(1, [1]).varintField(2, 1).floatField(4, 3).stringField(8, "w"));
      g.messageField(11, (v) => {
        noise(v).stringField(1, "x");
        v.messageField(2, (type) => noise(type).messageField(1, (tt) => {
          noise(tt).varintField(1, 1);
          tt.messageField(2, (s) => noise(s).messageField(1, (d) => noise(d).stringField(2, "batch")));
        }));
      });
      g.messageField(13, (valueInfo) => valueInfo.stringField(1, "ignored"));
    });
    w.varintField(1, 7);
    w.messageField(8, (o) => noise(o).varintField(2, 13));
    const decoded = decodeModel(w.finish(), SOURCE);
    expect(decoded.irVersion).toBe(7);
    expect(decoded.opsetImports).toEqual([{ domain: "", version: 13 }]);
    expect(decoded.graph.nodes).toEqual([
      { name: "", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attributes: [{ name: "alpha", type: "FLOAT", f: 0.5 }] },
    ] satisfies NodeProto[]);
    expect(decoded.graph.initializers).toEqual([float([1], [3], "w")]);
    expect(decoded.graph.inputs).toEqual([{ name: "x", elemType: 1, shape: ["batch"] }]);
  });
});

describe("hostile input", () => {
  const small = encodeModel(modelWith({
    nodes: [{ name: "r", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attributes: [{ name: "k", type: "INTS", ints: [-1, 2] }] }],
    initializers: [float([2], [1, 2], "w")],
    inputs: [{ name: "x", elemType: 1, shape: ["n", 2] }],
    outputs: [{ name: "y", elemType: 1 }],
  }));

  test("every truncation of a valid model decodes or fails with an InputError", () => {
    const outcomes = new Map<string, number>();
    for (let length = 0; length < small.length; length++) {
      const outcome = decodeOutcome(small.slice(0, length));
      if (outcome !== "ok" && outcome !== "InputError") throw new Error(`prefix of ${length} bytes: ${outcome}`);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(outcomes.get("InputError")).toBeGreaterThan(small.length / 2);
  });

  test("seeded random bytes fail cleanly", () => {
    const rng = new Rng(7);
    for (let i = 0; i < 3000; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(rng.next() * 200) }, () => Math.floor(rng.next() * 256));
      const outcome = decodeOutcome(bytes);
      if (outcome !== "InputError") throw new Error(`random case ${i}: ${outcome}`);
    }
  });

  test("seeded mutations of a valid model decode or fail with an InputError", () => {
    const rng = new Rng(11);
    const seeds = [small, encodeModel(everythingModel())];
    for (let i = 0; i < 3000; i++) {
      const { name, bytes } = mutate(seeds[i % seeds.length], rng);
      const outcome = decodeOutcome(bytes);
      if (outcome !== "ok" && outcome !== "InputError") throw new Error(`mutation case ${i} (${name}): ${outcome}`);
    }
  });

  test("a length field claiming more than the file holds fails before allocating", () => {
    const graphTooLong = Uint8Array.of(0x08, 0x08, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x0a, 0x00);
    expectInputError(() => decodeModel(graphTooLong, SOURCE), /^model\.onnx: truncated or corrupt at byte 3 \(a length field claims 1099511627776 bytes, 2 remain\)$/);
    const rawTooLong = rawModel((g) => g.messageField(5, (t) => t.varintField(2, 1).tag(9, WireType.LENGTH_DELIMITED).rawVarint(5_000_000)));
    expectInputError(() => decodeModel(rawTooLong, SOURCE), /^model\.onnx: truncated or corrupt at byte \d+ in graph\.initializer\[0\] \(a length field claims 5000000 bytes, 0 remain\)$/);
    const max64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expectInputError(() => decodeModel(Uint8Array.of(0x3a, ...max64), SOURCE), /claims 18446744073709551615 bytes/);
  });

  test("tensors: dims must be sane and match the data", () => {
    const tensorModel = (write: (t: ProtobufWriter) => void) => rawModel((g) => g.messageField(5, (t) => write(t.varintField(2, 1).stringField(8, "w"))));
    expectInputError(() => decodeModel(tensorModel((t) => t.packedVarintField(1, [2, 2]).packedFloatField(4, [1, 2, 3])), SOURCE),
      /tensor 'w': dims \[2, 2\] do not match the 3 values its data holds in graph\.initializer\[0\]/);
    expectInputError(() => decodeModel(tensorModel((t) => t.packedVarintField(1, [-3]).packedFloatField(4, [1])), SOURCE), /dimension -3 is negative/);
    expectInputError(() => decodeModel(tensorModel((t) => t.packedVarintField(1, [2 ** 40, 2 ** 40, 2 ** 40]).packedFloatField(4, [1])), SOURCE), /do not match/);
    expectInputError(() => decodeModel(tensorModel((t) => t.packedVarintField(1, new Array(65).fill(1)).packedFloatField(4, [1])), SOURCE), /more than 64 dimensions/);
    expectInputError(() => decodeModel(tensorModel((t) => t.packedVarintField(1, [1]).bytesField(9, new Uint8Array(6))), SOURCE), /raw_data of 6 bytes is not a whole number of 4-byte FLOAT values/);
    expectInputError(() => decodeModel(tensorModel((t) => t.packedVarintField(1, [1]).bytesField(9, new Uint8Array(4)).floatField(4, 1)), SOURCE), /both raw_data and float_data/);
    expectInputError(() => decodeModel(tensorModel((t) => t.packedVarintField(1, [1]).varintField(7, 1)), SOURCE), /FLOAT but carries int64_data/);
    expectInputError(() => decodeModel(tensorModel((t) => t.bytesField(4, new Uint8Array(7))), SOURCE), /7 bytes is not a whole number of 4-byte values/);
    expectInputError(() => decodeModel(rawModel((g) => g.messageField(5, (t) => t.varintField(2, 3).varintField(5, 300))), SOURCE), /300 does not fit INT8/);
    expectInputError(() => decodeModel(rawModel((g) => g.messageField(5, (t) => t.varintField(2, 9))), SOURCE), /data type BOOL, which is not supported/);
  });

  test("external data is refused, whichever field announces it", () => {
    const byLocation = rawModel((g) => g.messageField(5, (t) => t.varintField(2, 1).stringField(8, "w").varintField(14, 1)));
    expectInputError(() => decodeModel(byLocation, SOURCE), /^model\.onnx: tensor 'w': external data is not supported/);
    const byEntries = rawModel((g) => g.messageField(5, (t) => t.varintField(2, 1).messageField(13, (e) => e.stringField(1, "location").stringField(2, "w.bin"))));
    expectInputError(() => decodeModel(byEntries, SOURCE), /external data is not supported/);
  });

  test("files that are not ONNX models say so", () => {
    expectInputError(() => decodeModel(new Uint8Array(0), SOURCE), "model.onnx: not an ONNX model (no graph)");
    expectInputError(() => decodeModel(new ProtobufWriter().varintField(1, 8).finish(), SOURCE), "model.onnx: not an ONNX model (no graph)");
    expectInputError(() => decodeModel(rawModel(() => {}, 0), SOURCE), /not an ONNX model \(ir_version is missing\)/);
    expectInputError(() => decodeModel(new TextEncoder().encode("{\"layers\": []}"), SOURCE), /^model\.onnx: /);
    expectInputError(() => decodeModel(new ProtobufWriter().stringField(1, "x").finish(), SOURCE), /corrupt field ir_version/);
    expectInputError(() => decodeModel(rawModel(() => {}, -1), SOURCE), /not an ONNX model \(ir_version is -1\)/);
    const irVersionTooBig = Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
    expectInputError(() => decodeModel(irVersionTooBig, SOURCE), /^model\.onnx: ir_version is out of range at byte 1/);
  });

  test("unsupported or inconsistent content is named", () => {
    const nodeWith = (write: (a: ProtobufWriter) => void) => rawModel((g) => g.messageField(1, (n) => n.stringField(3, "If_0").stringField(4, "If").messageField(5, write)));
    expectInputError(() => decodeModel(nodeWith((a) => a.stringField(1, "then_branch").varintField(20, 5)), SOURCE),
      /attribute 'then_branch' has type GRAPH, which is not supported in graph\.node\[0\]\.attribute\[0\]/);
    expectInputError(() => decodeModel(nodeWith((a) => a.stringField(1, "odd")), SOURCE), /attribute 'odd' has no type and no value/);
    expectInputError(() => decodeModel(rawModel((g) => g.messageField(1, (n) => n.stringField(1, "x"))), SOURCE), /node has no op_type/);
    expectInputError(() => decodeModel(rawModel((g) => g.messageField(15, () => {})), SOURCE), /sparse initializers are not supported/);
    expectInputError(() => decodeModel(rawModel((g) => g.messageField(11, (v) => v.stringField(1, "seq").messageField(2, (t) => t.messageField(4, () => {})))), SOURCE),
      /value 'seq' is a sequence/);
    expectInputError(() => decodeModel(rawModel((g) => g.stringField(2, "").bytesField(2, Uint8Array.of(0xff, 0xfe))), SOURCE), /name is not valid UTF-8/);
    const twoGraphs = new ProtobufWriter().varintField(1, 8).messageField(7, () => {}).messageField(7, () => {}).finish();
    expectInputError(() => decodeModel(twoGraphs, SOURCE), /a second graph/);
  });
});

describe("onnxruntime-web runs what encodeModel writes", () => {
  ort.env.wasm.numThreads = 1;

  async function run(model: ModelProto, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    const session = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ["wasm"] });
    try {
      return await session.run(feeds);
    } finally {
      await session.release();
    }
  }

  test("Gemm (B initializer [3,2], C initializer [2], transB=0) then Relu matches a hand computation", async () => {
    const B = [[0.5, -1], [2, 0.25], [-1.5, 1]];
    const C = [0.1, -0.2];
    const model = modelWith({
      name: "gemm-relu",
      nodes: [
        { name: "gemm", opType: "Gemm", domain: "", inputs: ["x", "B", "C"], outputs: ["h"], attributes: [{ name: "transB", type: "INT", i: 0 }] },
        { name: "relu", opType: "Relu", domain: "", inputs: ["h"], outputs: ["y"], attributes: [] },
      ],
      initializers: [float([3, 2], B.flat(), "B"), float([2], C, "C")],
      inputs: [{ name: "x", elemType: TensorDataType.FLOAT, shape: ["batch", 3] }],
      outputs: [{ name: "y", elemType: TensorDataType.FLOAT, shape: ["batch", 2] }],
    });
    const x = [[1, 2, 3], [-1, 0.5, 2], [0, 0, 0], [3, -2, 1]];
    const { y } = await run(model, { x: new ort.Tensor("float32", Float32Array.from(x.flat()), [4, 3]) });
    const expected = x.flatMap((row) => [0, 1].map((j) => Math.max(0, row.reduce((sum, xk, k) => sum + xk * Math.fround(B[k][j]), Math.fround(C[j])))));
    expect(y.dims).toEqual([4, 2]);
    const actual = Array.from(y.data as Float32Array);
    expect(actual.some((v) => v === 0) && actual.some((v) => v > 0)).toBe(true); // Relu clipped something and passed something
    for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(1e-6);
  });

  test("INT64 raw_data, a negative INT, INTS and a TENSOR attribute are read as written", async () => {
    // z = Reshape(Concat(Transpose(x, perm=[1,0]), k, axis=-1), shape=[-1]) with k from a Constant node
    const model = modelWith({
      nodes: [
        { name: "t", opType: "Transpose", domain: "", inputs: ["x"], outputs: ["xt"], attributes: [{ name: "perm", type: "INTS", ints: [1, 0] }] },
        { name: "k", opType: "Constant", domain: "", inputs: [], outputs: ["k"], attributes: [{ name: "value", type: "TENSOR", t: float([3, 1], [7, 8, 9]) }] },
        { name: "c", opType: "Concat", domain: "", inputs: ["xt", "k"], outputs: ["xc"], attributes: [{ name: "axis", type: "INT", i: -1 }] },
        { name: "r", opType: "Reshape", domain: "", inputs: ["xc", "shape"], outputs: ["z"], attributes: [] },
      ],
      initializers: [{ name: "shape", dataType: TensorDataType.INT64, dims: [1], data: BigInt64Array.of(-1n) }],
      inputs: [{ name: "x", elemType: TensorDataType.FLOAT, shape: [2, 3] }],
      outputs: [{ name: "z", elemType: TensorDataType.FLOAT, shape: [9] }],
    });
    const { z } = await run(model, { x: new ort.Tensor("float32", Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) });
    expect(z.dims).toEqual([9]);
    expect(Array.from(z.data as Float32Array)).toEqual([1, 4, 7, 2, 5, 8, 3, 6, 9]);
  });
});
