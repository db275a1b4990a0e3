// .npy in and out: every dtype parseNpy reads keeps its raw values (what an integer or bool model input is
// fed), and encodeNpy writes files parseNpy (and NumPy's header rules) read back unchanged.

import { describe, expect, test } from "bun:test";
import { parseNpy } from "../../src/data/array-file";
import { floatToHalf, halfToFloat } from "../../src/data/float16";
import { encodeNpy } from "../../src/data/npy-writer";

describe(".npy dtypes", () => {
  const cases: [string, ArrayBufferView & { length: number }, number[]][] = [
    ["float16", new Uint16Array([0x3e00, 0xc000, 0, 0x7bff, 0x2e66, 0x0001]), [1.5, -2, 0, 65504, 0.0999755859375, 2 ** -24].map(Math.fround)],
    ["float32", new Float32Array([1.5, -2, 0, 3.25, 7, 8]), [1.5, -2, 0, 3.25, 7, 8]],
    ["float64", new Float64Array([0.1, 2, -3, 4, 5, 6]), [0.1, 2, -3, 4, 5, 6].map(Math.fround)],
    ["int32", new Int32Array([-1, 2, 3, 2147483647, 0, 9]), [-1, 2, 3, 2147483647, 0, 9].map(Math.fround)],
    ["int64", new BigInt64Array([-1n, 2n, 9007199254740993n, 4n, 5n, 6n]), [-1, 2, 9007199254740992, 4, 5, 6]],
    ["uint8", new Uint8Array([0, 255, 51, 1, 2, 3]), [0, 1, 0.2, 1 / 255, 2 / 255, 3 / 255].map(Math.fround)],
    ["int8", new Int8Array([-128, 127, 0, 1, 2, 3]), [-128, 127, 0, 1, 2, 3]],
    ["bool", new Uint8Array([1, 0, 1, 1, 0, 0]), [1, 0, 1, 1, 0, 0]],
  ];
  for (const [dtype, data, floats] of cases) {
    test(`${dtype}: read raw and as float32, and written back byte for byte`, () => {
      const bytes = encodeNpy(dtype, [2, 3], data);
      expect(bytes.length % 64).toBe((data.byteLength) % 64);
      const array = parseNpy(bytes, `${dtype}.npy`);
      expect(array.dims).toEqual([2, 3]);
      expect(array.raw?.dtype).toBe(dtype as never);
      expect(Array.from(array.raw!.data as ArrayLike<number | bigint>)).toEqual(Array.from(data as unknown as ArrayLike<number | bigint>));
      const values = Array.from(array.values(0, 6));
      for (const [i, v] of values.entries()) expect(v).toBeCloseTo(floats[i], 6);
      expect(encodeNpy(dtype, array.dims, array.raw!.data)).toEqual(bytes);
    });
  }

  test("header: version 1.0, 64-byte aligned data, NumPy's shape tuples for 0, 1 and 3 dims", () => {
    for (const [dims, shape] of [[[], "()"], [[4], "(4,)"], [[1, 2, 2], "(1, 2, 2)"]] as [number[], string][]) {
      const count = dims.reduce((a, b) => a * b, 1);
      const bytes = encodeNpy("float32", dims, new Float32Array(count));
      const headerLength = bytes[8] | (bytes[9] << 8);
      expect((10 + headerLength) % 64).toBe(0);
      const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
      expect(header).toContain(`'shape': ${shape}`);
      expect(header.endsWith("\n")).toBe(true);
      expect(parseNpy(bytes, "x.npy").dims).toEqual(dims);
    }
  });

  test("float16 rounding: nearest, ties to even, overflow to Inf, subnormals kept", () => {
    expect(floatToHalf(1.5)).toBe(0x3e00);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(-Infinity)).toBe(0xfc00);
    expect(halfToFloat(floatToHalf(NaN))).toBeNaN();
    expect(floatToHalf(2 ** -24)).toBe(1);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // a tie: to the even 1.0
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // a tie: to the even 1 + 2^-9
    for (let bits = 0; bits < 0x7c00; bits += 7) expect(floatToHalf(halfToFloat(bits))).toBe(bits);
  });

  test("bool bytes other than 0 and 1 are written as True", () => {
    const bytes = encodeNpy("bool", [3], new Uint8Array([0, 7, 1]));
    expect(Array.from(bytes.subarray(bytes.length - 3))).toEqual([0, 1, 1]);
  });
});
