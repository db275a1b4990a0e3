// The data-movement layers' backward passes against central finite differences of their own forward
// passes (LayerProbe: L = Σ r ⊙ forward(x) for a fixed random r, so backward(r) must be ∂L/∂x). Cases:
//   Reshape — [3, 4] → [2, −1], [12] → [3, 2, 2], [2, 3, 2] → [−1];
//   Permute — every order of a [2, 3, 4] sample, [4, 5] by [2, 1], [2, 3, 2, 3] by [4, 1, 3, 2] and
//             [2, 3, 4, 1], and [1, 5] by [2, 1] (moves only a 1: the free path);
//   ZeroPadding2D, Cropping2D — on [5, 6, 3]: margins 1, [2, 1], [[0, 2], [3, 1]] and 0 (the free path);
//   UpSampling2D — nearest by 2×2, 3×2, 1×3; bilinear with half-pixel centers by 2×2, 3×2, 1×3 and without
//             by 2×2, 3×2, on [4, 5, 3] and a 1×1 image.
// Batches of 2; x ∈ [−1, 1]; every input element is probed (the largest input has 180). Each case runs on
// both WebAssembly builds and on the reference; each analytic pass follows one with a different r, so a
// layer that accumulated into its gradient buffer instead of overwriting it would fail.
//
// Tolerance: |analytic − numeric| ≤ 1e-4 + 1e-3·|numeric|, ten times tighter than the other layers'
// (test/layers/gradients.test.ts): every layer here is linear, so central differences have no truncation
// error at all and h = 0.01 costs nothing. What remains is rounding: copies are exact, and bilinear outputs
// carry one f32 rounding each (~6e-8·|y|, |y| ≤ 1); an input moves at most ~16 outputs, so the quotient is
// off by ≲ 4·6e-8 / 0.02 ≈ 1e-5 at worst. A misrouted or dropped gradient is off by O(0.1–1) and fails
// by far, as the last test shows.

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Cropping2D } from "../../src/layers/cropping2d";
import type { EdgeSpec } from "../../src/layers/edges";
import type { Layer, SingleInputLayer } from "../../src/layers/layer";
import { Permute } from "../../src/layers/permute";
import { Reshape } from "../../src/layers/reshape";
import { UpSampling2D } from "../../src/layers/up-sampling2d";
import { ZeroPadding2D } from "../../src/layers/zero-padding2d";
import { LayerProbe, compareGradients, probeIndices, type Tolerance } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const TOL: Tolerance = { atol: 1e-4, rtol: 1e-3 };
const H = 1e-2;
const MAX_PROBES = 256;

interface Backend {
  name: string;
  make: () => Kernels;
}

const BACKENDS: Backend[] = [
  ...wasmVariants().map((v) => ({ name: `wasm ${v.name}`, make: v.make })),
  { name: "reference", make: () => createReferenceKernels() },
];

interface LayerCase {
  label: string;
  make: () => Layer;
  inputShape: number[];
}

function layerCases(): LayerCase[] {
  const cases: LayerCase[] = [];
  for (const [inputShape, targetShape] of [[[3, 4], [2, -1]], [[12], [3, 2, 2]], [[2, 3, 2], [-1]]]) {
    cases.push({ label: `Reshape [${inputShape}] → [${targetShape}]`, make: () => new Reshape({ targetShape }), inputShape });
  }
  const orders = [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]];
  for (const dims of orders) cases.push({ label: `Permute [2,3,4] by [${dims}]`, make: () => new Permute({ dims }), inputShape: [2, 3, 4] });
  for (const [inputShape, dims] of [[[4, 5], [2, 1]], [[2, 3, 2, 3], [4, 1, 3, 2]], [[2, 3, 2, 3], [2, 3, 4, 1]], [[1, 5], [2, 1]]]) {
    cases.push({ label: `Permute [${inputShape}] by [${dims}]`, make: () => new Permute({ dims }), inputShape });
  }
  const margins: EdgeSpec[] = [1, [2, 1], [[0, 2], [3, 1]], 0];
  for (const padding of margins) {
    cases.push({ label: `ZeroPadding2D ${JSON.stringify(padding)}`, make: () => new ZeroPadding2D({ padding }), inputShape: [5, 6, 3] });
  }
  for (const cropping of margins) {
    cases.push({ label: `Cropping2D ${JSON.stringify(cropping)}`, make: () => new Cropping2D({ cropping }), inputShape: [5, 6, 3] });
  }
  const upsamplings: [string, [number, number][], boolean | undefined][] = [
    ["nearest", [[2, 2], [3, 2], [1, 3]], undefined],
    ["bilinear", [[2, 2], [3, 2], [1, 3]], true],
    ["bilinear", [[2, 2], [3, 2]], false],
  ];
  for (const [interpolation, sizes, halfPixelCenters] of upsamplings)
    for (const size of sizes)
      for (const inputShape of [[4, 5, 3], [1, 1, 2]]) {
        const mode = halfPixelCenters === false ? " asymmetric" : halfPixelCenters ? " half-pixel" : "";
        cases.push({
          label: `UpSampling2D ${interpolation}${mode} ${size.join("×")} on [${inputShape}]`,
          make: () => new UpSampling2D({ size, interpolation: interpolation as "nearest" | "bilinear", halfPixelCenters }),
          inputShape,
        });
      }
  return cases;
}

/** Worst |analytic − numeric| / tolerance over this file's untampered cases (the shared worstSeen also sees other files' deliberate failures). */
let worst = { ratio: 0, label: "" };

/** Failure lines; `tamper` may corrupt the layer (to show the check can fail). */
function checkLayer(heap: Heap, backend: Backend, c: LayerCase, tamper?: (probe: LayerProbe) => void): string[] {
  const mark = heap.mark();
  try {
    const probe = new LayerProbe(c.make(), heap, c.inputShape, 2, 3);
    probe.inputView().set(seededValues(probe.inputCount, 7919 + probe.inputCount));
    tamper?.(probe);
    const analytic = probe.analytic();
    const indices = probeIndices(probe.inputCount, MAX_PROBES, 11);
    const numeric = probe.numeric(probe.input, probe.inputCount, indices, H);
    const label = `${c.label} [${backend.name}] ∂/∂input`;
    if (!tamper) {
      indices.forEach((index, j) => {
        const ratio = Math.abs(analytic.input[index] - numeric[j]) / (TOL.atol + TOL.rtol * Math.abs(numeric[j]));
        if (!(ratio <= worst.ratio)) worst = { ratio, label };
      });
    }
    return compareGradients(label, analytic.input, numeric, indices, TOL);
  } finally {
    heap.release(mark);
  }
}

const cases = layerCases();

for (const backend of BACKENDS) {
  describe(`data-movement layer gradients vs finite differences (${backend.name})`, () => {
    for (const type of ["Reshape", "Permute", "ZeroPadding2D", "Cropping2D", "UpSampling2D nearest", "UpSampling2D bilinear"]) {
      test(`${type}: every configuration`, () => {
        const heap = new Heap(backend.make());
        const failures = cases.filter((c) => c.label.startsWith(type + " ")).flatMap((c) => checkLayer(heap, backend, c));
        expect(failures).toEqual([]);
      });
    }
  });
}

test("the worst |error| / tolerance over the sweep (printed) is within bounds", () => {
  console.log(`worst gradient error / tolerance: ${worst.ratio.toExponential(2)} (${worst.label})`);
  expect(worst.ratio).toBeLessThanOrEqual(1);
});

describe("the check can fail", () => {
  test("an UpSampling2D bilinear backward with its gradient routed to the wrong pixels is caught", () => {
    const backend = BACKENDS[0];
    const heap = new Heap(backend.make());
    const c = cases.find((k) => k.label === "UpSampling2D bilinear half-pixel 2×2 on [4,5,3]")!;
    const tamper = (probe: LayerProbe) => {
      const layer = probe.layer as SingleInputLayer;
      const backward = layer.backward.bind(layer);
      layer.backward = (dy, batch, need) => {
        const dx = backward(dy, batch, need);
        const g = heap.f32(dx, batch * layer.inputSize);
        g.set(Float32Array.from(g).reverse());
        return dx;
      };
    };
    expect(checkLayer(heap, backend, c, tamper).length).toBeGreaterThan(0);
  });
});
