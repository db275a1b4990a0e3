// Image augmentation: each transformation checked on images whose correct result is known exactly
// (identity, whole-pixel shifts, a 90° rotation, a zoom that fixes the centre), plus reproducibility and
// its use in fit().

import { describe, expect, test } from "bun:test";
import { ImageAugmenter } from "../../src/data/augmentation";
import { Rng } from "../../src/engine/rng";
import { Dense, Flatten, Sequential } from "../../src/index";
import { InputError } from "../../src/errors";

const H = 7, W = 5;
/** A distinct value at every pixel, one channel. */
const ramp = () => Float32Array.from({ length: H * W }, (_, i) => i + 1);

/** Replaces the random draws with fixed ones: uniform(lo, hi) returns lo + t·(hi − lo). */
function fixedRng(t: number): Rng {
  const rng = new Rng(1);
  rng.uniform = (lo: number, hi: number) => lo + t * (hi - lo);
  return rng;
}

describe("image augmentation", () => {
  test("no transformation (or draws at the range centre) is the identity", () => {
    const out = new Float32Array(H * W);
    new ImageAugmenter({}).apply(ramp(), out, 1, [H, W, 1], new Rng(3));
    expect(Array.from(out)).toEqual(Array.from(ramp()));
    new ImageAugmenter({ rotation: 30, shift: 0.2, zoom: 0.2 }).apply(ramp(), out, 1, [H, W, 1], fixedRng(0.5));
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(ramp()[i], 4);
  });

  test("a shift of exactly one pixel moves the content one pixel down and right, filling with zeros", () => {
    const n = 5;
    const img = Float32Array.from({ length: n * n }, (_, i) => i + 1);
    const out = new Float32Array(n * n);
    new ImageAugmenter({ shift: 1 / n }).apply(img, out, 1, [n, n, 1], fixedRng(1));
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) expect(out[y * n + x]).toBeCloseTo(y === 0 || x === 0 ? 0 : img[(y - 1) * n + x - 1], 5);
  });

  test("a 90° rotation of a square image maps rows to columns", () => {
    const n = 5;
    const img = Float32Array.from({ length: n * n }, (_, i) => i);
    const out = new Float32Array(n * n);
    new ImageAugmenter({ rotation: 90 }).apply(img, out, 1, [n, n, 1], fixedRng(1));
    // output (y, x) samples input (cos·py − sin·px + c, sin·py + cos·px + c) with θ = 90°: (−px + c, py + c).
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) expect(out[y * n + x]).toBeCloseTo(img[(n - 1 - x) * n + y], 4);
  });

  test("zoom keeps the centre pixel and spreads the rest", () => {
    const out = new Float32Array(H * W);
    new ImageAugmenter({ zoom: 0.5 }).apply(ramp(), out, 1, [H, W, 1], fixedRng(1));
    expect(out[3 * W + 2]).toBeCloseTo(ramp()[3 * W + 2], 5);
    expect(out[0]).not.toBeCloseTo(ramp()[0], 2);
  });

  test("elastic distortion is smooth, seeded, and moves pixels by about alpha at most", () => {
    const aug = new ImageAugmenter({ elastic: { alpha: 2, sigma: 2 } });
    const a = new Float32Array(H * W), b = new Float32Array(H * W), c = new Float32Array(H * W);
    aug.apply(ramp(), a, 1, [H, W, 1], new Rng(9));
    aug.apply(ramp(), b, 1, [H, W, 1], new Rng(9));
    aug.apply(ramp(), c, 1, [H, W, 1], new Rng(10));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(Array.from(a)).not.toEqual(Array.from(ramp()));
  });

  test("the --augment spec parses, and bad specs are one clear error", () => {
    expect(ImageAugmenter.parse("rotation=10,shift=0.1,zoom=0.1,elastic=34:4").describe()).toBe("rotation ±10°, shift ±0.1, zoom ±0.1, elastic α 34 σ 4");
    expect(() => ImageAugmenter.parse("rotate=10")).toThrow(/unknown transformation 'rotate'/);
    expect(() => ImageAugmenter.parse("shift=abc")).toThrow(InputError);
    expect(() => ImageAugmenter.parse("zoom=3")).toThrow(/zoom must be in/);
    expect(() => ImageAugmenter.parse("elastic=3")).toThrow(/alpha:sigma/);
  });

  test("fit() with augmentation is reproducible, differs from plain training, and leaves the data alone", async () => {
    const x = Float32Array.from({ length: 32 * 36 }, (_, i) => ((i * 7919) % 97) / 97);
    const y = Int32Array.from({ length: 32 }, (_, i) => i % 3);
    const copy = x.slice();
    const train = async (augment?: ImageAugmenter) => {
      const model = new Sequential({ inputShape: [6, 6, 1], seed: 4, layers: [new Flatten(), new Dense({ units: 3, activation: "softmax" })] });
      model.compile({ optimizer: "sgd", loss: "sparseCategoricalCrossentropy" });
      await model.fit(x, y, { epochs: 2, batchSize: 8, augment });
      return model.getWeights()[0].data;
    };
    const aug = () => new ImageAugmenter({ rotation: 15, shift: 0.1, elastic: { alpha: 1, sigma: 1 } });
    const first = await train(aug()), second = await train(aug()), plain = await train();
    expect(Array.from(first)).toEqual(Array.from(second));
    expect(Array.from(first)).not.toEqual(Array.from(plain));
    expect(Array.from(x)).toEqual(Array.from(copy));
  });
});
