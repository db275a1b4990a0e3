// The convolution variants' backward passes against central finite differences of their own forward
// passes, as in gradients.test.ts (same probe, steps and tolerance; see there for the error budget), plus
// config round trips through layerFromConfig and the errors a person can cause.
//
// Layers swept (inputs 5×6 or 6×7 images, batch 2; every element of the input and every parameter probed):
//   Conv2D — explicit padding 1 at strides 1 and 2 (PyTorch's padding=1, which at stride 2 is not 'same'),
//            asymmetric [[0,2],[1,0]], [padH, padW] = [2, 0]; strides [2, 1] and [1, 2]; dilation 2 and [1, 2]
//            with 'same' and explicit padding; groups 2 and 3 (3×3, and 1×1 on the pointwise path); tanh, relu;
//   MaxPool2D / AveragePool2D — explicit padding 1 (pool 3, stride 2) and [[0,1],[1,0]] (pool 2); average
//            pooling with and without countIncludePad, and 'same' with countIncludePad;
//   DepthwiseConv2D — kernels 3×3, 1×3, 5×5 (on 6×7); strides 1, 2, [1, 2]; 'valid', 'same', 1, [[0,2],[1,0]];
//            multipliers 1 and 2; 3 and 5 channels; dilation 2; linear, tanh, relu; with and without bias;
//   Conv2DTranspose — kernels 3×3, 2×2, 3×2; strides 1, 2, [2, 1]; 'valid', 'same', explicit 1 and
//            [[1,0],[0,2]]; outputPadding 1; dilation 2; linear, tanh, relu; without bias.
// Each case runs on both WebAssembly builds and on the reference kernels. ReLU cases redraw x and θ until
// every pre-activation is farther from 0 than one probe can move it (gradients.test.ts, avoidReluKinks);
// max pooling gets distinct inputs 0.05 apart.
//
// Tolerance: |analytic − numeric| ≤ 1e-3 + 1e-2·|numeric|, h = 1e-2 on wasm and 1e-3 on the reference,
// the budget of gradients.test.ts (these layers are the same sums of products in f32). The worst ratio
// seen is printed with WASMGRAD_REPORT=1.

import { afterAll, describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Rng } from "../../src/engine/rng";
import type { ActivationName } from "../../src/layers/activation-function";
import { AveragePool2D } from "../../src/layers/average-pool2d";
import { Conv2D } from "../../src/layers/conv2d";
import { Conv2DTranspose } from "../../src/layers/conv2d-transpose";
import { DepthwiseConv2D } from "../../src/layers/depthwise-conv2d";
import type { Layer, SingleInputLayer } from "../../src/layers/layer";
import { MaxPool2D } from "../../src/layers/max-pool2d";
import { layerFromConfig } from "../../src/layers/registry";
import type { Padding } from "../../src/layers/spatial";
import { LayerProbe, compareGradients, probeIndices, worstSeen, type Tolerance } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const LAYER_TOL: Tolerance = { atol: 1e-3, rtol: 1e-2 };
const MAX_PROBES = 512;

interface Backend { name: string; make: () => Kernels; h: number }

const BACKENDS: Backend[] = [
  ...wasmVariants().map((v) => ({ name: `wasm ${v.name}`, make: v.make, h: 1e-2 })),
  { name: "reference", make: () => createReferenceKernels(), h: 1e-3 },
];

interface LayerCase {
  label: string;
  make: () => Layer;
  inputShape: number[];
  prepare?: (probe: LayerProbe, h: number) => void;
}

type Affine = Conv2D | DepthwiseConv2D | Conv2DTranspose;

const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const minAbs = (v: Float32Array) => v.reduce((m, x) => Math.min(m, Math.abs(x)), Infinity);

function fillUniform(probe: LayerProbe, seed: number): void {
  probe.inputView().set(seededValues(probe.inputCount, seed * 7919 + 1));
  probe.layer.params.forEach((p, k) => {
    const isBias = p.name.endsWith("/bias");
    probe.paramView(p).set(seededValues(p.size, seed * 7919 + 17 * (k + 2), isBias ? -0.5 : -1, isBias ? 0.5 : 1));
  });
}

/** Redraws x and θ until every pre-activation is clear of ReLU's kink by more than one probe can move it. */
function avoidReluKinks(probe: LayerProbe, h: number): void {
  const layer = probe.layer as Affine;
  for (let attempt = 0; attempt < 20000; attempt++) {
    fillUniform(probe, 100 + attempt);
    probe.logits = true;
    const z = probe.forward();
    probe.logits = false;
    // One probed element enters each pre-activation at most once (every variant here maps an input and
    // a tap to one output), so it moves it by at most h times one weight, one input, or 1 (bias).
    const reach = h * Math.max(1, maxAbs(probe.inputView()), maxAbs(probe.paramView(layer.kernel)));
    if (minAbs(z) > 1.5 * reach) return;
  }
  throw new Error(`no kink-free draw found for ${layer.name}`);
}

function distinctInputs(probe: LayerProbe): void {
  const n = probe.inputCount;
  const order = Array.from({ length: n }, (_, i) => i);
  new Rng(n * 31 + 5).shuffle(order);
  probe.inputView().set(order.map((k) => (k - n / 2) * 0.05));
}

const pad = (p: Padding) => (typeof p === "string" ? p : JSON.stringify(p));
const withKinks = (activation: ActivationName) => (activation === "relu" ? avoidReluKinks : undefined);

function layerCases(): LayerCase[] {
  const cases: LayerCase[] = [];
  // Conv2D
  const convs: { kernelSize: number | [number, number]; strides?: number | [number, number]; padding?: Padding; dilationRate?: number | [number, number]; groups?: number; channels: number; filters: number }[] = [
    { kernelSize: 3, strides: 1, padding: 1, channels: 2, filters: 2 },
    { kernelSize: 3, strides: 2, padding: 1, channels: 2, filters: 2 },
    { kernelSize: [3, 2], strides: 2, padding: [[0, 2], [1, 0]], channels: 2, filters: 3 },
    { kernelSize: 3, strides: [2, 1], padding: [[2, 2], [0, 0]], channels: 1, filters: 2 },
    { kernelSize: [2, 3], strides: [1, 2], padding: "same", channels: 3, filters: 2 },
    { kernelSize: 3, dilationRate: 2, padding: "same", channels: 2, filters: 2 },
    { kernelSize: 2, dilationRate: [1, 2], strides: 2, padding: 1, channels: 2, filters: 2 },
    { kernelSize: 3, groups: 2, padding: 1, channels: 4, filters: 4 },
    { kernelSize: 3, groups: 3, strides: 2, padding: "same", channels: 3, filters: 6 },
    { kernelSize: 1, groups: 2, channels: 4, filters: 6 },
    { kernelSize: 2, groups: 2, dilationRate: 2, strides: [1, 2], padding: [[1, 0], [0, 1]], channels: 6, filters: 2 },
  ];
  for (const o of convs)
    for (const activation of ["tanh", "relu"] as ActivationName[]) {
      const { channels, ...options } = o;
      cases.push({
        label: `Conv2D 5×6×${channels}→${o.filters} k=${o.kernelSize} s=${o.strides ?? 1} pad=${pad(o.padding ?? "valid")} d=${o.dilationRate ?? 1} groups=${o.groups ?? 1} ${activation}`,
        make: () => new Conv2D({ ...options, activation }),
        inputShape: [5, 6, channels], prepare: withKinks(activation),
      });
    }
  // Pools
  const pools: { poolSize: number; strides: number; padding: Padding }[] = [
    { poolSize: 3, strides: 2, padding: 1 }, { poolSize: 2, strides: 2, padding: [[0, 1], [1, 0]] }, { poolSize: 3, strides: 1, padding: [[2, 0], [1, 1]] },
  ];
  for (const o of pools) {
    cases.push({ label: `MaxPool2D 5×6×2 pool=${o.poolSize} s=${o.strides} pad=${pad(o.padding)}`, make: () => new MaxPool2D(o), inputShape: [5, 6, 2], prepare: distinctInputs });
    for (const countIncludePad of [false, true]) {
      cases.push({ label: `AveragePool2D 5×6×3 pool=${o.poolSize} s=${o.strides} pad=${pad(o.padding)} countIncludePad=${countIncludePad}`, make: () => new AveragePool2D({ ...o, countIncludePad }), inputShape: [5, 6, 3] });
    }
  }
  cases.push({ label: "AveragePool2D 5×6×5 pool=3 s=2 same countIncludePad=true", make: () => new AveragePool2D({ poolSize: 3, strides: 2, padding: "same", countIncludePad: true }), inputShape: [5, 6, 5] });
  // DepthwiseConv2D
  const depthwise: { kernelSize: number | [number, number]; strides?: number | [number, number]; padding?: Padding; depthMultiplier?: number; dilationRate?: number; channels: number; image?: number[]; useBias?: boolean }[] = [
    { kernelSize: 3, padding: "same", channels: 5 },
    { kernelSize: 3, strides: 2, padding: 1, channels: 3 },
    { kernelSize: 3, strides: 2, padding: "same", channels: 5, useBias: false },
    { kernelSize: [1, 3], strides: [1, 2], padding: [[0, 2], [1, 0]], channels: 3 },
    { kernelSize: 5, padding: "valid", channels: 3, image: [6, 7] },
    { kernelSize: 5, strides: 2, padding: 2, channels: 5, image: [6, 7] },
    { kernelSize: 3, depthMultiplier: 2, padding: 1, channels: 3 },
    { kernelSize: [3, 2], depthMultiplier: 2, strides: 2, padding: "same", channels: 5 },
    { kernelSize: 3, dilationRate: 2, padding: "same", channels: 5 },
  ];
  for (const o of depthwise)
    for (const activation of ["linear", "tanh", "relu"] as ActivationName[]) {
      const { channels, image, ...options } = o;
      const [h, w] = image ?? [5, 6];
      cases.push({
        label: `DepthwiseConv2D ${h}×${w}×${channels} k=${o.kernelSize} s=${o.strides ?? 1} pad=${pad(o.padding ?? "valid")} M=${o.depthMultiplier ?? 1} d=${o.dilationRate ?? 1}${o.useBias === false ? " no-bias" : ""} ${activation}`,
        make: () => new DepthwiseConv2D({ ...options, activation }),
        inputShape: [h, w, channels], prepare: withKinks(activation),
      });
    }
  // Conv2DTranspose (inputs smaller: the output is the upsampled image)
  const transposed: { kernelSize: number | [number, number]; strides?: number | [number, number]; padding?: Padding; outputPadding?: number | [number, number]; dilationRate?: number; useBias?: boolean; image: number[]; channels: number; filters: number }[] = [
    { kernelSize: 3, strides: 2, padding: "valid", image: [3, 4], channels: 2, filters: 3 },
    { kernelSize: 3, strides: 2, padding: "same", image: [3, 4], channels: 3, filters: 2 },
    { kernelSize: 3, strides: 2, padding: "same", outputPadding: 1, image: [3, 4], channels: 2, filters: 2 },
    { kernelSize: 2, strides: 2, padding: "valid", image: [3, 3], channels: 2, filters: 2, useBias: false },
    { kernelSize: [3, 2], strides: [2, 1], padding: 1, outputPadding: [1, 0], image: [3, 4], channels: 2, filters: 2 },
    { kernelSize: 3, strides: 1, padding: [[1, 0], [0, 2]], image: [4, 4], channels: 3, filters: 2 },
    { kernelSize: 2, strides: 3, padding: "valid", image: [2, 3], channels: 2, filters: 2 },
    { kernelSize: 3, strides: 1, dilationRate: 2, padding: "same", image: [4, 5], channels: 2, filters: 2 },
    { kernelSize: 3, strides: 2, dilationRate: 2, padding: 1, image: [3, 3], channels: 2, filters: 2 },
  ];
  for (const o of transposed)
    for (const activation of ["linear", "tanh", "relu"] as ActivationName[]) {
      const { image, channels, ...options } = o;
      cases.push({
        label: `Conv2DTranspose ${image.join("×")}×${channels}→${o.filters} k=${o.kernelSize} s=${o.strides ?? 1} pad=${pad(o.padding ?? "valid")} op=${o.outputPadding ?? "none"} d=${o.dilationRate ?? 1}${o.useBias === false ? " no-bias" : ""} ${activation}`,
        make: () => new Conv2DTranspose({ ...options, activation }),
        inputShape: [...image, channels], prepare: withKinks(activation),
      });
    }
  return cases;
}

function checkLayer(heap: Heap, backend: Backend, c: LayerCase, tamper?: (probe: LayerProbe) => void): string[] {
  const mark = heap.mark();
  // A tampered layer's errors are meant to be large; keep them out of the reported worst ratio.
  const honestWorst = { ...worstSeen };
  try {
    const probe = new LayerProbe(c.make(), heap, c.inputShape, 2, 3);
    if (c.prepare) c.prepare(probe, backend.h);
    else fillUniform(probe, 1);
    tamper?.(probe);
    const analytic = probe.analytic();
    const label = `${c.label} [${backend.name}]`;
    const xi = probeIndices(probe.inputCount, MAX_PROBES, 11);
    const failures = compareGradients(`${label} ∂/∂input`, analytic.input, probe.numeric(probe.input, probe.inputCount, xi, backend.h), xi, LAYER_TOL);
    probe.layer.params.forEach((p, k) => {
      const pi = probeIndices(p.size, MAX_PROBES, 13 + k);
      failures.push(...compareGradients(`${label} ∂/∂${p.name.split("/")[1]}`, analytic.params[k], probe.numeric(p.value, p.size, pi, backend.h), pi, LAYER_TOL));
    });
    return failures;
  } finally {
    heap.release(mark);
    if (tamper) Object.assign(worstSeen, honestWorst);
  }
}

const ALL = layerCases();
const TYPES = ["Conv2D", "MaxPool2D", "AveragePool2D", "DepthwiseConv2D", "Conv2DTranspose"];

for (const backend of BACKENDS) {
  describe(`convolution variants: gradients vs finite differences (${backend.name})`, () => {
    for (const type of TYPES) {
      const cases = ALL.filter((c) => c.label.startsWith(type + " "));
      test(`${type}: ${cases.length} configurations`, () => {
        const heap = new Heap(backend.make());
        expect(cases.flatMap((c) => checkLayer(heap, backend, c))).toEqual([]);
      });
    }
  });
}

describe("convolution variants: the gradient checks can fail", () => {
  const backend = BACKENDS[0];

  test("a Conv2DTranspose whose backward pads by one pixel more than its forward is caught", () => {
    const c = ALL.find((k) => k.label.startsWith("Conv2DTranspose 3×4×3→2 k=3 s=2 pad=same") && k.label.endsWith("linear"))!;
    const tamper = (probe: LayerProbe) => {
      const layer = probe.layer as unknown as { rows: { padBefore: number }; backward: SingleInputLayer["backward"] };
      const backward = layer.backward.bind(layer);
      layer.backward = (dy, batch, need) => {
        layer.rows.padBefore += 1;
        try {
          return backward(dy, batch, need);
        } finally {
          layer.rows.padBefore -= 1;
        }
      };
    };
    const failures = checkLayer(new Heap(backend.make()), backend, c, tamper);
    expect(failures.join("\n")).toContain("∂/∂kernel");
    expect(failures.join("\n")).toContain("∂/∂input");
  });

  test("a DepthwiseConv2D backward that skips tanh's derivative is caught", () => {
    const c = ALL.find((k) => k.label.startsWith("DepthwiseConv2D 5×6×5 k=3 s=1 pad=same M=1") && k.label.endsWith("tanh"))!;
    const tamper = (probe: LayerProbe) => {
      const layer = probe.layer as DepthwiseConv2D;
      const backward = layer.backward.bind(layer);
      layer.backward = (dy, batch, need) => {
        (layer as unknown as { emittedLogits: boolean }).emittedLogits = true; // backward now treats the layer as linear
        return backward(dy, batch, need);
      };
    };
    const failures = checkLayer(new Heap(backend.make()), backend, c, tamper);
    expect(failures.length).toBeGreaterThanOrEqual(3); // input, kernel and bias
  });
});

describe("convolution variants: configs", () => {
  test("every swept layer survives a round trip through getConfig and layerFromConfig, with the same outputs", () => {
    const failures: string[] = [];
    const kernels = BACKENDS[0].make();
    for (const c of ALL) {
      const heap = new Heap(kernels);
      const original = new LayerProbe(c.make(), heap, c.inputShape, 2, 3);
      fillUniform(original, 1);
      const config = original.layer.getConfig();
      const copy = layerFromConfig(JSON.parse(JSON.stringify(config)), "test");
      const again = new LayerProbe(copy, heap, c.inputShape, 2, 3);
      if (JSON.stringify(copy.getConfig()) !== JSON.stringify(config)) failures.push(`${c.label}: ${JSON.stringify(copy.getConfig())} ≠ ${JSON.stringify(config)}`);
      again.inputView().set(original.inputView());
      original.layer.params.forEach((p, k) => again.paramView(again.layer.params[k]).set(original.paramView(p)));
      const a = original.forward(), b = again.forward();
      if (a.length !== b.length || a.some((v, i) => v !== b[i])) failures.push(`${c.label}: outputs differ after the round trip`);
      if ("pads" in original.layer && JSON.stringify(original.layer.pads) !== JSON.stringify((copy as unknown as { pads: number[] }).pads)) failures.push(`${c.label}: pads differ`);
    }
    expect(failures).toEqual([]);
  });

  test("Keras spellings: DepthwiseConv2D with depthwiseInitializer, Deconvolution2D, a per-axis padding pair, outputPadding null", () => {
    const d = layerFromConfig({ type: "DepthwiseConv2D", kernelSize: 3, depthwiseInitializer: "he_normal", depthMultiplier: 2, padding: [1, 2] }, "t") as DepthwiseConv2D;
    expect(d.kernelInitializer).toBe("heNormal");
    expect(d.padding).toEqual([[1, 1], [2, 2]]);
    const t = layerFromConfig({ type: "Deconvolution2D", filters: 4, kernelSize: 3, strides: 2, padding: "same", outputPadding: null }, "t");
    expect(t).toBeInstanceOf(Conv2DTranspose);
    expect(layerFromConfig({ type: "Conv2DTranspose", filters: 4, kernelSize: 3 }, "t").getConfig().padding).toBe("valid");
  });

  test("explicit pads are reported as given, [top, left, bottom, right], even where the output size leaves one unused", () => {
    const heap = new Heap(BACKENDS[0].make());
    const conv = new Conv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 1, name: "c" });
    conv.build([[6, 6, 1]], heap, new Rng(1));
    expect(conv.outputShape).toEqual([3, 3, 2]);
    expect(conv.pads).toEqual([1, 1, 1, 1]);
    const pool = new MaxPool2D({ poolSize: 2, strides: 2, padding: [[0, 1], [1, 0]], name: "p" });
    pool.build([[5, 6, 1]], heap, new Rng(1));
    expect(pool.outputShape).toEqual([3, 3, 1]);
    expect(pool.pads).toEqual([0, 1, 1, 0]);
    const same = new Conv2D({ filters: 2, kernelSize: 4, strides: 2, padding: "same", name: "s" });
    same.build([[7, 7, 1]], heap, new Rng(1));
    expect(same.pads).toEqual([1, 1, 2, 2]);
  });

  test("mistakes are one-line InputErrors naming the layer and the shapes", () => {
    const heap = new Heap(BACKENDS[0].make());
    const build = (layer: Layer, shape: number[]) => () => layer.build([shape], heap, new Rng(1));
    expect(build(new Conv2D({ filters: 4, kernelSize: 3, groups: 3, name: "g" }), [5, 5, 6])).toThrow("g (Conv2D): 3 groups must divide both the 6 input channels and the 4 filters");
    expect(build(new MaxPool2D({ poolSize: 2, padding: 2, name: "m" }), [5, 5, 1])).toThrow("m (MaxPool2D): padding 2 must be smaller than the 2×2 pool on every side");
    expect(build(new Conv2D({ filters: 1, kernelSize: 3, dilationRate: 3, name: "d" }), [5, 5, 1])).toThrow("d (Conv2D): a 7×7 window does not fit a 5×5 input with padding 'valid'");
    expect(build(new Conv2DTranspose({ filters: 1, kernelSize: 1, padding: 1, name: "t" }), [2, 2, 1])).toThrow("t (Conv2DTranspose): padding 1 crops the whole 2-pixel height away");
    expect(() => new Conv2DTranspose({ filters: 1, kernelSize: 3, strides: 2, outputPadding: 2 })).toThrow("outputPadding 2 must be smaller than the stride 2");
    expect(() => new Conv2D({ filters: 1, kernelSize: 3, padding: -1 as unknown as Padding })).toThrow("'padding' must be 'valid', 'same', a number of pixels");
    expect(() => layerFromConfig({ type: "Conv2D", filters: 1, kernelSize: 3, padding: [[1, 2, 3]] }, "layers[0]")).toThrow("layers[0] (Conv2D): 'padding' must be");
    expect(() => layerFromConfig({ type: "DepthwiseConv2D", kernelSize: 3, depthMultiplier: 0 }, "layers[1]")).toThrow("layers[1] (DepthwiseConv2D): 'depthMultiplier' must be in [1, 4096], got 0");
    const unequal = new Conv2D({ filters: 1, kernelSize: 1, strides: [2, 1], name: "u" });
    expect(() => unequal.strides).toThrow("u (Conv2D) has strides [2, 1]");
    expect(unequal.stridePair).toEqual([2, 1]);
  });
});

afterAll(() => {
  if (process.env.WASMGRAD_REPORT) console.log(`worst gradient error / tolerance: ${worstSeen.ratio.toFixed(3)} (${worstSeen.label})`);
});
