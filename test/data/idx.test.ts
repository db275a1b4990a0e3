// The IDX reader on well-formed files (raw and gzipped) and on every way a file can be wrong: each must
// end in an InputError naming the file, never in a crash or an allocation of what a header claims.

import { describe, expect, test } from "bun:test";
import { encodeIdx, parseIdx } from "../../src/data/idx";
import { gzip } from "../../src/data/gzip";
import { datasetFromIdx } from "../../src/data/image-dataset";
import { InputError } from "../../src/errors";

const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i);
const images = encodeIdx([3, 4, 5], pixels);
const labels = encodeIdx([3], Uint8Array.of(1, 2, 3));

describe("IDX reader", () => {
  test("reads raw and gzipped files alike", async () => {
    for (const bytes of [images, await gzip(images)]) {
      const idx = await parseIdx(bytes, "x");
      expect(idx.dims).toEqual([3, 4, 5]);
      expect(Array.from(idx.data)).toEqual(Array.from(pixels));
    }
  });

  test("a dataset pairs images with labels", async () => {
    const ds = await datasetFromIdx(images, labels, "images", "labels");
    expect(ds.count).toBe(3);
    expect(ds.shape).toEqual([4, 5, 1]);
    await expect(datasetFromIdx(images, encodeIdx([2], Uint8Array.of(1, 2)), "images", "labels")).rejects.toThrow("holds 3 images but labels holds 2 labels");
    await expect(datasetFromIdx(labels, labels, "labels-as-images", "labels")).rejects.toThrow("expected images shaped [count, rows, cols]");
  });

  const broken: [string, () => Promise<Uint8Array> | Uint8Array, string][] = [
    ["empty", () => new Uint8Array(0), "too short"],
    ["wrong magic", () => Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0), "not an IDX file"],
    ["float data type", () => Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0), "not supported"],
    ["zero rank", () => Uint8Array.of(0, 0, 8, 0), "0 dimensions"],
    ["header cut", () => images.subarray(0, 9), "header is truncated"],
    ["data cut", () => images.subarray(0, images.length - 1), "truncated"],
    ["zero dimension", () => encodeIdx([0, 4, 5], new Uint8Array(0)), "dimension 0 is zero"],
    ["huge claimed size", () => Uint8Array.of(0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9, 1, 2, 3), "truncated"],
    ["trailing bytes", () => Uint8Array.from([...images, 7]), "unexpected bytes"],
    ["corrupt gzip", async () => (await gzip(images)).map((b, i) => (i === 20 ? b ^ 0xff : b)), "corrupt or truncated"],
    ["truncated gzip", async () => (await gzip(images)).subarray(0, 25), "corrupt or truncated"],
  ];
  for (const [name, make, message] of broken) {
    test(`refuses: ${name}`, async () => {
      const error = await parseIdx(await make(), "bad.idx").catch((e) => e);
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toStartWith("bad.idx: ");
      expect(error.message).toContain(message);
    });
  }
});
