// The data-movement layers' configs: every form Keras accepts reads to the same layer, getConfig round-trips
// through layerFromConfig (and the rebuilt layer computes the very same outputs), and every config a user
// can get wrong — a Reshape whose sizes disagree, a crop larger than the image, a Permute that is not a
// permutation, a malformed margin — is one InputError whose single line names the layer and the shapes.

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Rng } from "../../src/engine/rng";
import { InputError } from "../../src/errors";
import { Cropping2D } from "../../src/layers/cropping2d";
import { type Layer, INFERENCE } from "../../src/layers/layer";
import { Permute } from "../../src/layers/permute";
import { layerFromConfig } from "../../src/layers/registry";
import { Reshape } from "../../src/layers/reshape";
import { UpSampling2D } from "../../src/layers/up-sampling2d";
import { ZeroPadding2D } from "../../src/layers/zero-padding2d";
import { Sequential } from "../../src/model/sequential";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const make = wasmVariants()[0].make;

/** Builds the layer alone on a [5, 6, 3] (or given) input and returns forward(x) for a batch of 2. */
function outputs(layer: Layer, inputShape: number[]): Float32Array {
  const heap = new Heap(make());
  layer.name ||= "probe";
  layer.build([inputShape], heap, new Rng(1));
  layer.allocate(2);
  const count = 2 * layer.inputSize;
  const x = heap.allocFloats(count);
  heap.f32(x, count).set(seededValues(count, 5));
  return heap.f32(layer.forwardAll([x], 2, INFERENCE), 2 * layer.outputSize).slice();
}

const ROUND_TRIPS: [Layer, number[]][] = [
  [new Reshape({ targetShape: [3, -1] }), [5, 6, 3]],
  [new Reshape({ targetShape: [90] }), [5, 6, 3]],
  [new Permute({ dims: [3, 1, 2] }), [5, 6, 3]],
  [new ZeroPadding2D({ padding: [[0, 2], [3, 1]] }), [5, 6, 3]],
  [new ZeroPadding2D(), [5, 6, 3]],
  [new Cropping2D({ cropping: [1, 2] }), [5, 6, 3]],
  [new UpSampling2D({ size: [3, 2] }), [5, 6, 3]],
  [new UpSampling2D({ interpolation: "bilinear" }), [5, 6, 3]],
  [new UpSampling2D({ size: 2, interpolation: "bilinear", halfPixelCenters: false }), [5, 6, 3]],
];

describe("data-movement layer configs", () => {
  test("getConfig round-trips through layerFromConfig, and the rebuilt layer computes the same outputs", () => {
    for (const [layer, shape] of ROUND_TRIPS) {
      layer.name = `${layer.type.toLowerCase()}_1`;
      const config = layer.getConfig();
      const rebuilt = layerFromConfig(JSON.parse(JSON.stringify(config)), "layers[0]");
      expect(rebuilt.getConfig()).toEqual(config);
      expect(outputs(rebuilt, shape)).toEqual(outputs(layer, shape));
    }
  });

  test("Keras' three margin forms read to [[top, bottom], [left, right]]", () => {
    const read = (padding: unknown) => layerFromConfig({ type: "ZeroPadding2D", padding }, "l").getConfig().padding;
    expect(read(2)).toEqual([[2, 2], [2, 2]]);
    expect(read([2, 1])).toEqual([[2, 2], [1, 1]]);
    expect(read([[0, 2], [3, 1]])).toEqual([[0, 2], [3, 1]]);
    expect(layerFromConfig({ type: "ZeroPadding2D" }, "l").getConfig().padding).toEqual([[1, 1], [1, 1]]);
    expect(layerFromConfig({ type: "Cropping2D" }, "l").getConfig().cropping).toEqual([[0, 0], [0, 0]]);
    expect(layerFromConfig({ type: "UpSampling2D" }, "l").getConfig()).toEqual({ type: "UpSampling2D", name: "", size: [2, 2], interpolation: "nearest" });
  });

  test("shapes: −1 is inferred, Permute takes Keras' 1-based axes, margins and factors apply to rows and columns", () => {
    const shapeOf = (layer: Layer, shape: number[]) => {
      const model = new Sequential({ inputShape: shape, kernels: createReferenceKernels(), layers: [layer] });
      model.build();
      return model.layers[0].outputShape;
    };
    expect(shapeOf(new Reshape({ targetShape: [-1, 9] }), [5, 6, 3])).toEqual([10, 9]);
    expect(shapeOf(new Permute({ dims: [2, 1] }), [4, 7])).toEqual([7, 4]);
    expect(shapeOf(new Permute({ dims: [3, 1, 2] }), [5, 6, 3])).toEqual([3, 5, 6]);
    expect(shapeOf(new ZeroPadding2D({ padding: [[0, 2], [3, 1]] }), [5, 6, 3])).toEqual([7, 10, 3]);
    expect(shapeOf(new Cropping2D({ cropping: [[0, 2], [3, 1]] }), [5, 6, 3])).toEqual([3, 2, 3]);
    expect(shapeOf(new UpSampling2D({ size: [3, 2] }), [5, 6, 3])).toEqual([15, 12, 3]);
  });
});

/** The InputError a thunk throws; fails if it throws anything else or nothing. */
function inputError(thunk: () => unknown): string {
  try {
    thunk();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected an InputError, nothing was thrown");
}

const buildOn = (layer: Layer, inputShape: number[]) => () =>
  new Sequential({ inputShape, kernels: createReferenceKernels(), layers: [layer] }).build();

describe("bad data-movement configs are one clear InputError naming the layer and the shapes", () => {
  test("a Reshape whose sizes disagree", () => {
    expect(inputError(buildOn(new Reshape({ targetShape: [5, 5] }), [4, 6]))).toBe(
      "reshape_1 (Reshape) cannot reshape [4,6] (24 values per sample) to [5,5], which needs 25",
    );
    expect(inputError(buildOn(new Reshape({ targetShape: [5, -1] }), [4, 6]))).toBe(
      "reshape_1 (Reshape) cannot reshape [4,6] (24 values per sample) to [5,-1], which needs a multiple of 5",
    );
    expect(inputError(() => layerFromConfig({ type: "Reshape", targetShape: [-1, -1] }, "layers[1]"))).toMatch(/^layers\[1\] \(Reshape\): 'targetShape' must be .* at most one −1.*got \[-1,-1\]$/);
    expect(inputError(() => layerFromConfig({ type: "Reshape", targetShape: [0, 4] }, "layers[1]"))).toContain("got [0,4]");
    expect(inputError(() => layerFromConfig({ type: "Reshape" }, "layers[1]"))).toBe("layers[1] (Reshape): 'targetShape' is required");
  });

  test("a crop larger than the image", () => {
    expect(inputError(buildOn(new Cropping2D({ cropping: [[3, 2], [0, 0]] }), [5, 6, 3]))).toBe(
      "cropping2d_1 (Cropping2D): cropping [[3, 2], [0, 0]] leaves nothing of its 5×6 input [5,6,3] " +
        "(it removes 5 of 5 rows and 0 of 6 columns; at least one of each must remain)",
    );
    expect(inputError(buildOn(new Cropping2D({ cropping: [0, 4] }), [5, 6, 3]))).toContain("removes 0 of 5 rows and 8 of 6 columns");
    expect(inputError(buildOn(new Cropping2D({ cropping: 1 }), [5, 6]))).toBe(
      "cropping2d_1 (Cropping2D) needs images shaped [height, width, channels] but gets [5,6]",
    );
  });

  test("a Permute that is not a permutation, or does not fit its input", () => {
    for (const dims of [[1, 1], [0, 1], [1, 3], [], [1, 2, 3, 4, 5]]) {
      const message = inputError(() => layerFromConfig({ type: "Permute", dims }, "layers[2]"));
      expect(message).toStartWith("layers[2] (Permute): 'dims' must be a permutation of 1..");
      expect(message).toEndWith(`(axes numbered from 1, without the batch; at most 4), got ${JSON.stringify(dims)}`);
    }
    expect(inputError(() => new Permute({ dims: [2, 2], name: "swap" }))).toBe(
      "swap (Permute): 'dims' must be a permutation of 1..2 (axes numbered from 1, without the batch; at most 4), got [2,2]",
    );
    expect(inputError(buildOn(new Permute({ dims: [2, 1] }), [5, 6, 3]))).toBe(
      "permute_1 (Permute) has dims [2,1] for 2 axes but its input [5,6,3] has 3",
    );
  });

  test("malformed margins, factors and interpolations", () => {
    expect(inputError(() => layerFromConfig({ type: "ZeroPadding2D", padding: [1, 2, 3] }, "layers[0]"))).toBe(
      "layers[0] (ZeroPadding2D): 'padding' must be a non-negative integer, [rows, cols] or [[top, bottom], [left, right]], got [1,2,3]",
    );
    expect(inputError(() => new Cropping2D({ cropping: -1 }))).toContain("'cropping' must be a non-negative integer");
    expect(inputError(() => layerFromConfig({ type: "UpSampling2D", size: 0 }, "layers[0]"))).toContain("'size' must be a positive integer or [rows, cols], got 0");
    expect(inputError(() => layerFromConfig({ type: "UpSampling2D", interpolation: "bilinar" }, "layers[0]"))).toBe(
      "layers[0] (UpSampling2D): 'interpolation' cannot be 'bilinar' (did you mean 'bilinear'?)",
    );
    expect(inputError(() => layerFromConfig({ type: "UpSampling2D", halfPixelCenters: false }, "layers[0]"))).toBe(
      "layers[0] (UpSampling2D): 'halfPixelCenters' applies to 'bilinear' interpolation only",
    );
    expect(inputError(() => layerFromConfig({ type: "Permute", dims: [2, 1], axes: [2, 1] }, "layers[0]"))).toContain("'axes' is not a Permute option");
  });
});
