// Every layer's backward pass against central finite differences of its own forward pass, and the loss
// gradients of small models (model.computeGradients) against finite differences of model.evaluate.
//
// Layers: for L = Σ r ⊙ forward(x) with a fixed random r, backward(r) must give ∂L/∂x and ∂L/∂θ. Swept:
//   Dense — every activation (linear, relu, sigmoid, tanh, softmax, relu6, leakyRelu, elu, gelu, geluTanh,
//            swish, hardSigmoid, hardSwish; leakyRelu α = 0.05 and elu α = 0.4 besides their defaults), with
//            and without bias;
//   Conv2D — kernels 1×1 (the pointwise GEMM shortcut when stride 1 / 'valid'), 3×3 and 3×2; strides 1 and 2;
//            'valid' and 'same'; 1 and 3 input channels; activations linear, tanh, relu (72 cases); and relu6
//            (fused in the GEMM), gelu and hardSwish (pre-activation kept per output position), leakyRelu
//            α = 0.05 (a separate pass), 3×3 'same' and 1×1, on 3 channels;
//   MaxPool2D — pools 2 and 3, strides 1 (overlapping windows) and 2, 'valid' and 'same';
//   AveragePool2D — as MaxPool2D (padding excluded from the mean); GlobalAveragePool2D;
//   BatchNormalization — on images [5, 6, 3] and features [4], training (batch statistics, whose
//            gradient couples every row) and inference (random running statistics);
//   Flatten; Dropout (inference; training with the RNG state replayed via setState before every forward, so
//            the mask is fixed and the layer is linear; and training-mode backward == dy ⊙ mask exactly);
//   Activation — every activation (and the two α) on flat [7] and on [3, 4] inputs (softmax over the last
//            axis); the newer ones on inputs over [−8, 8], so every tail and saturation is probed.
// Inputs are 5×6 images in batches of 2 (3 for flat inputs); x ∈ [−1, 1], kernels ∈ [−1, 1], biases
// ∈ [−0.5, 0.5]. Every element of the input and of every parameter is probed (the largest tensor has 180).
// Each case runs on both WebAssembly builds (plain SIMD and, where the engine has it, relaxed SIMD with
// fused multiply-add) and on the plain reference kernels. Each analytic pass is preceded by one with a
// different r, so a layer that accumulated into a gradient buffer instead of overwriting it would fail.
//
// Kinks: finite differences are meaningless across a kink, so inputs are chosen to keep every probe ±h on
// one side of it. The kinks: relu, leakyRelu and elu at 0 (elu with α = 1 is only C¹ there, which costs
// an O(h) error), relu6 at 0 and 6, hardSigmoid and hardSwish at ±3. Dense, Conv2D: inputs and parameters
// are redrawn until every pre-activation (read by switching the layer to emit logits) is farther than
// 1.5·h·max(1, |x|max, |W|max) from every kink — one element moved by h moves any pre-activation by at
// most h times one weight, one input or 1 (bias) — and until some pre-activation lies in every piece
// between kinks; for relu6 the kernel is scaled ×4 and for the hard ones ×2.5 first, so pre-activations
// reach the saturations. Activation layer: relu |x| ≥ 0.05 > h; the newer ones x ∈ [−8, 8] at least 0.05
// from a kink. MaxPool2D: inputs are a random permutation of distinct multiples of 0.05, so any two values
// in a window differ by ≥ 0.05 > 2h and no argmax can switch.
//
// Steps: h = 1e-2 on the wasm kernels, whose forward pass is f32 throughout; h = 1e-3 on the reference,
// which accumulates in f64 and rounds each output to f32 only once, so it can afford a step 10× smaller
// (it still stores every output in f32, so the step cannot go much lower). Numeric slopes divide by the
// perturbation actually stored, fround(v + h) − fround(v − h), so rounding the perturbed value costs nothing.
//
// Tolerance: |analytic − numeric| ≤ 1e-3 + 1e-2·|numeric|. Error budget: truncation, h²/6·|∂³L|, is ≲ 2e-5
// at h = 1e-2 (tanh/sigmoid/softmax third derivatives are O(1), inputs and weights ≤ 1; ReLU, max-pool and
// linear layers are piecewise linear, so there it is 0). Rounding: each output the probe moves carries an
// f32 error of a few 1e-8–1e-7; a weight probe moves all of them (up to 120), so the difference quotient
// picks up ~√120·1e-7 / 2h ≈ 5e-5 on wasm and up to ~3e-4 at the reference's smaller step (more where a
// scaled kernel makes outputs reach 20). Worst |error| / tolerance observed over the sweep: 0.05 on wasm,
// 0.28 on the reference (Conv2D relu6, kernel ×4). A real bug — a missing activation derivative, a slope
// taken at the output instead of the input, a lost α, an off-by-one index, a lost bias or stride term —
// moves gradients by O(0.1–1) and fails by far, as the last tests show.
//
// Models: loss and gradients from model.computeGradients(x, y, {training: false}) against central
// differences of model.evaluate(x, y).loss over every weight (weights set through setWeights, |w| ≥ 0.1 so
// the L1 penalty's kink at 0 is never crossed). Cases: softmax + sparse and one-hot categorical
// cross-entropy (fused into the loss), the same from logits, soft categorical targets, sigmoid + binary
// cross-entropy (fused), from logits, and on probabilities (a trailing linear Activation keeps the loss from
// fusing), mean squared error on a linear and a two-layer tanh model, L2 and L1 kernel regularizers
// (0.01), and a Conv2D → Flatten → Dropout → Dense CNN with an L2-regularized convolution. Tolerance
// |Δ| ≤ 2e-4 + 2e-3·|numeric|: the loss is a batch mean returned in f32 (one rounding, ~1e-7, over 2h) and
// these models are shallow (worst observed 0.11 of it on wasm, 0.25 on the reference, where h = 1e-3);
// tight enough that omitting a 0.01 penalty gradient (L2: 2·0.01·|w| ≥ 2e-3; L1: 0.01) fails, as a test shows.

import { describe, expect, test } from "bun:test";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { Rng } from "../../src/engine/rng";
import { Activation } from "../../src/layers/activation";
import { ACTIVATIONS, ActivationFunction, type ActivationName, type ActivationSpec } from "../../src/layers/activation-function";
import { Conv2D } from "../../src/layers/conv2d";
import { Dense } from "../../src/layers/dense";
import { Dropout } from "../../src/layers/dropout";
import { Flatten } from "../../src/layers/flatten";
import type { Layer, SingleInputLayer } from "../../src/layers/layer";
import { MaxPool2D } from "../../src/layers/max-pool2d";
import { AveragePool2D, GlobalAveragePool2D } from "../../src/layers/average-pool2d";
import { BatchNormalization } from "../../src/layers/batch-normalization";
import type { LossSpec } from "../../src/model/losses";
import { Sequential } from "../../src/model/sequential";
import { LayerProbe, compareGradients, probeIndices, type Tolerance } from "../support/gradient-check";
import { seededValues, wasmVariants } from "../support/twin-heaps";

const LAYER_TOL: Tolerance = { atol: 1e-3, rtol: 1e-2 };
const MODEL_TOL: Tolerance = { atol: 2e-4, rtol: 2e-3 };
/** More than any tensor here has (the largest, a 2×5×6×3 input, has 180): every element is probed. */
const MAX_PROBES = 256;

interface Backend {
  name: string;
  make: () => Kernels;
  h: number;
}

const BACKENDS: Backend[] = [
  ...wasmVariants().map((v) => ({ name: `wasm ${v.name}`, make: v.make, h: 1e-2 })),
  { name: "reference", make: () => createReferenceKernels(), h: 1e-3 },
];

// ---- layer cases ---------------------------------------------------------------------------------------

interface LayerCase {
  label: string;
  make: () => Layer;
  inputShape: number[];
  batch: number;
  training?: boolean;
  /** Fills the input and parameters; the default is uniform x, kernels in [−1, 1], biases in [−0.5, 0.5]. */
  prepare?: (probe: LayerProbe, h: number) => void;
  /** Called once after build (Dropout pins its RNG state here). */
  setup?: (probe: LayerProbe) => void;
}

const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const minAbs = (v: Float32Array) => v.reduce((m, x) => Math.min(m, Math.abs(x)), Infinity);

function fillUniform(probe: LayerProbe, seed: number): void {
  probe.inputView().set(seededValues(probe.inputCount, seed * 7919 + 1));
  probe.layer.params.forEach((p, k) => {
    const isBias = p.name.endsWith("/bias");
    probe.paramView(p).set(seededValues(p.size, seed * 7919 + 17 * (k + 2), isBias ? -0.5 : -1, isBias ? 0.5 : 1));
  });
}

/** Where an activation's slope jumps: finite differences must not straddle these. */
const KINKS: Partial<Record<ActivationName, number[]>> = {
  relu: [0], relu6: [0, 6], leakyRelu: [0], elu: [0], hardSigmoid: [-3, 3], hardSwish: [-3, 3],
};
/** Kernel scale for Dense/Conv2D, so pre-activations reach past relu6's cap and the hard ones' ±3. */
const KERNEL_SCALE: Partial<Record<ActivationName, number>> = { relu6: 4, hardSigmoid: 2.5, hardSwish: 2.5 };
/** The activations added after relu/sigmoid/tanh/softmax, whose Activation-layer inputs span [−8, 8]. */
const NEWER: ActivationName[] = ["relu6", "leakyRelu", "elu", "gelu", "geluTanh", "swish", "hardSigmoid", "hardSwish"];
/** Non-default parameters, swept besides the defaults. */
const WITH_ALPHA: ActivationSpec[] = [{ name: "leakyRelu", alpha: 0.05 }, { name: "elu", alpha: 0.4 }];

const specName = (spec: ActivationSpec) => (typeof spec === "string" ? spec : spec.name);
const specLabel = (spec: ActivationSpec) => (typeof spec === "string" ? spec : `${spec.name} α=${spec.alpha}`);

/**
 * Redraws x and θ (kernel × scale) until every pre-activation is clear of every kink by more than one probe
 * can move it, and lands on every side of every kink (so each piece of the activation is exercised).
 */
function avoidKinks(kinks: number[], scale = 1) {
  return (probe: LayerProbe, h: number): void => {
    const layer = probe.layer as Dense | Conv2D;
    for (let attempt = 0; attempt < 20000; attempt++) {
      fillUniform(probe, 100 + attempt);
      const w = probe.paramView(layer.kernel);
      w.set(w.map((v) => v * scale));
      probe.logits = true;
      const z = probe.forward();
      probe.logits = false;
      const reach = h * Math.max(1, maxAbs(probe.inputView()), maxAbs(w));
      const clear = kinks.every((k) => minAbs(z.map((v) => v - k)) > 1.5 * reach);
      const pieces = [-Infinity, ...kinks].every((lo, i) => z.some((v) => v > lo && v < (kinks[i] ?? Infinity)));
      if (clear && pieces) return;
    }
    throw new Error(`no kink-free draw found for ${layer.name}`);
  };
}
const avoidReluKinks = avoidKinks([0]);

/** Dense/Conv2D inputs for an activation: drawn clear of its kinks, or uniform when it has none. */
function affinePrepare(spec: ActivationSpec) {
  const name = specName(spec);
  return KINKS[name] ? avoidKinks(KINKS[name]!, KERNEL_SCALE[name]) : undefined;
}

/** Distinct multiples of 0.05 in random order: no near-ties inside any pooling window. */
function distinctInputs(probe: LayerProbe): void {
  const n = probe.inputCount;
  const order = Array.from({ length: n }, (_, i) => i);
  new Rng(n * 31 + 5).shuffle(order);
  probe.inputView().set(order.map((k) => (k - n / 2) * 0.05));
}

/** Uniform over [−8, 8] (both tails, every saturation), moved to ≥ 0.05 > h from the nearest kink. */
function spreadAwayFromKinks(kinks: number[]) {
  return (probe: LayerProbe): void => {
    const u = seededValues(probe.inputCount, 79, -8, 8);
    probe.inputView().set(Array.from(u, (v) => kinks.reduce((x, k) => (Math.abs(x - k) < 0.05 ? k + Math.sign(x - k || 1) * 0.05 : x), v)));
  };
}

/** Uniform in ±[0.05, 1]: away from ReLU's kink at 0. */
function awayFromZero(probe: LayerProbe): void {
  const u = seededValues(probe.inputCount, 77);
  probe.inputView().set(Array.from(u, (v) => Math.sign(v || 1) * (0.05 + 0.95 * Math.abs(v))));
}

function layerCases(): LayerCase[] {
  const cases: LayerCase[] = [];
  for (const activation of [...ACTIVATIONS, ...WITH_ALPHA])
    for (const useBias of [true, false]) {
      cases.push({
        label: `Dense 5→4 ${specLabel(activation)}${useBias ? "" : " no-bias"}`,
        make: () => new Dense({ units: 4, activation, useBias }),
        inputShape: [5], batch: 3,
        prepare: affinePrepare(activation),
      });
    }
  const kernelSizes: [number, number][] = [[1, 1], [3, 3], [3, 2]];
  for (const kernelSize of kernelSizes)
    for (const strides of [1, 2])
      for (const padding of ["valid", "same"] as const)
        for (const channels of [1, 3])
          for (const activation of ["linear", "tanh", "relu"] as ActivationName[]) {
            cases.push({
              label: `Conv2D 5×6×${channels} k=${kernelSize.join("×")} s=${strides} ${padding} ${activation}`,
              make: () => new Conv2D({ filters: 2, kernelSize, strides, padding, activation }),
              inputShape: [5, 6, channels], batch: 2,
              prepare: activation === "relu" ? avoidReluKinks : undefined,
            });
          }
  for (const poolSize of [2, 3])
    for (const strides of [1, 2])
      for (const padding of ["valid", "same"] as const) {
        cases.push({
          label: `MaxPool2D 5×6×2 pool=${poolSize} s=${strides} ${padding}`,
          make: () => new MaxPool2D({ poolSize, strides, padding }),
          inputShape: [5, 6, 2], batch: 2,
          prepare: distinctInputs,
        });
      }
  for (const poolSize of [2, 3])
    for (const strides of [1, 2])
      for (const padding of ["valid", "same"] as const) {
        cases.push({
          label: `AveragePool2D 5×6×2 pool=${poolSize} s=${strides} ${padding}`,
          make: () => new AveragePool2D({ poolSize, strides, padding }),
          inputShape: [5, 6, 2], batch: 2,
        });
      }
  cases.push({ label: "GlobalAveragePool2D 5×6×3", make: () => new GlobalAveragePool2D(), inputShape: [5, 6, 3], batch: 2 });
  for (const training of [true, false])
    for (const inputShape of [[5, 6, 3], [4]]) {
      cases.push({
        label: `BatchNormalization [${inputShape}] ${training ? "training (batch statistics)" : "inference (running statistics)"}`,
        make: () => new BatchNormalization(),
        inputShape, batch: inputShape.length === 1 ? 5 : 2, training,
        setup: (probe) => {
          const c = inputShape[inputShape.length - 1];
          probe.layer.setState([...seededValues(c, 5, -0.5, 0.5), ...seededValues(c, 6, 0.5, 2)]);
        },
      });
    }
  cases.push({ label: "Flatten 3×2×2", make: () => new Flatten(), inputShape: [3, 2, 2], batch: 2 });
  for (const training of [false, true]) {
    cases.push({
      label: `Dropout 0.5 ${training ? "training (mask replayed)" : "inference"}`,
      make: () => new Dropout({ rate: 0.5 }),
      inputShape: [4, 3], batch: 3, training,
      setup: (probe) => {
        const state = probe.layer.getState();
        probe.beforeForward = () => probe.layer.setState(state);
      },
    });
  }
  // The newer activations on the GEMM's two paths (im2col, pointwise): the pre-activation buffer is per
  // output position, and relu6 is fused into the epilogue.
  for (const activation of ["relu6", "gelu", "hardSwish", { name: "leakyRelu", alpha: 0.05 }] as ActivationSpec[])
    for (const kernelSize of [[3, 3], [1, 1]] as [number, number][]) {
      cases.push({
        label: `Conv2D 5×6×3 k=${kernelSize.join("×")} s=1 same ${specLabel(activation)}`,
        make: () => new Conv2D({ filters: 2, kernelSize, padding: kernelSize[0] === 1 ? "valid" : "same", activation }),
        inputShape: [5, 6, 3], batch: 2,
        prepare: affinePrepare(activation),
      });
    }
  for (const activation of [...ACTIVATIONS, ...WITH_ALPHA])
    for (const inputShape of [[7], [3, 4]]) {
      const name = specName(activation);
      cases.push({
        label: `Activation ${specLabel(activation)} [${inputShape}]`,
        make: () => new Activation({ activation }),
        inputShape, batch: 3,
        prepare: name === "relu" ? awayFromZero : NEWER.includes(name) ? spreadAwayFromKinks(KINKS[name] ?? []) : undefined,
      });
    }
  return cases;
}

/** Returns failure lines; `tamper` may corrupt the layer (for the tests that prove the check can fail). */
function checkLayer(heap: Heap, backend: Backend, c: LayerCase, tamper?: (probe: LayerProbe) => void): string[] {
  const mark = heap.mark();
  try {
    const probe = new LayerProbe(c.make(), heap, c.inputShape, c.batch, 3);
    probe.training = c.training ?? false;
    c.setup?.(probe);
    if (c.prepare) c.prepare(probe, backend.h);
    else fillUniform(probe, 1);
    tamper?.(probe);
    const analytic = probe.analytic();
    const label = `${c.label} [${backend.name}]`;
    const failures: string[] = [];
    const xi = probeIndices(probe.inputCount, MAX_PROBES, 11);
    const dx = probe.numeric(probe.input, probe.inputCount, xi, backend.h);
    failures.push(...compareGradients(`${label} ∂/∂input`, analytic.input, dx, xi, LAYER_TOL));
    probe.layer.params.forEach((p, k) => {
      const pi = probeIndices(p.size, MAX_PROBES, 13 + k);
      const dp = probe.numeric(p.value, p.size, pi, backend.h);
      failures.push(...compareGradients(`${label} ∂/∂${p.name.split("/")[1]}`, analytic.params[k], dp, pi, LAYER_TOL));
    });
    return failures;
  } finally {
    heap.release(mark);
  }
}

// ---- model cases ---------------------------------------------------------------------------------------

interface ModelCase {
  label: string;
  layers: () => Layer[];
  inputShape: number[];
  loss: LossSpec | string;
  x: Float32Array;
  y: number[] | Float32Array;
}

const BATCH = 4;
const flatX = seededValues(BATCH * 3, 501);
const labels = [0, 2, 1, 2];
const oneHot = Float32Array.from({ length: BATCH * 3 }, (_, i) => (labels[Math.floor(i / 3)] === i % 3 ? 1 : 0));
const softTargets = (() => {
  const raw = seededValues(BATCH * 3, 503, 0.1, 1);
  for (let r = 0; r < BATCH; r++) {
    const row = raw.subarray(r * 3, r * 3 + 3);
    const total = row[0] + row[1] + row[2];
    for (let j = 0; j < 3; j++) row[j] /= total;
  }
  return raw;
})();
const binaryTargets = Float32Array.from(seededValues(BATCH * 3, 507), (v) => (v > 0 ? 1 : 0));
const regressionTargets = seededValues(BATCH * 3, 509);

function modelCases(): ModelCase[] {
  const dense = (activation: ActivationName, extra: Partial<ConstructorParameters<typeof Dense>[0]> = {}) => () => [new Dense({ units: 3, activation, ...extra })];
  const flat = { inputShape: [3], x: flatX };
  return [
    { label: "Dense softmax + sparseCategoricalCrossentropy", layers: dense("softmax"), loss: "sparseCategoricalCrossentropy", y: labels, ...flat },
    { label: "Dense linear + sparseCategoricalCrossentropy fromLogits", layers: dense("linear"), loss: { type: "sparseCategoricalCrossentropy", fromLogits: true }, y: labels, ...flat },
    { label: "Dense softmax + categoricalCrossentropy one-hot", layers: dense("softmax"), loss: "categoricalCrossentropy", y: oneHot, ...flat },
    { label: "Dense linear + categoricalCrossentropy fromLogits one-hot", layers: dense("linear"), loss: { type: "categoricalCrossentropy", fromLogits: true }, y: oneHot, ...flat },
    { label: "Dense softmax + categoricalCrossentropy soft targets", layers: dense("softmax"), loss: "categoricalCrossentropy", y: softTargets, ...flat },
    { label: "Dense sigmoid + binaryCrossentropy", layers: dense("sigmoid"), loss: "binaryCrossentropy", y: binaryTargets, ...flat },
    { label: "Dense linear + binaryCrossentropy fromLogits", layers: dense("linear"), loss: { type: "binaryCrossentropy", fromLogits: true }, y: binaryTargets, ...flat },
    {
      label: "Dense sigmoid → Activation linear + binaryCrossentropy on probabilities",
      layers: () => [new Dense({ units: 3, activation: "sigmoid" }), new Activation({ activation: "linear" })],
      loss: "binaryCrossentropy", y: binaryTargets, ...flat,
    },
    { label: "Dense linear + meanSquaredError", layers: dense("linear"), loss: "meanSquaredError", y: regressionTargets, ...flat },
    {
      label: "Dense tanh → Dense linear + meanSquaredError",
      layers: () => [new Dense({ units: 4, activation: "tanh" }), new Dense({ units: 3 })],
      loss: "meanSquaredError", y: regressionTargets, ...flat,
    },
    { label: "Dense softmax L2 0.01 + sparseCategoricalCrossentropy", layers: dense("softmax", { kernelRegularizer: { l2: 0.01 } }), loss: "sparseCategoricalCrossentropy", y: labels, ...flat },
    { label: "Dense softmax L1 0.01 + sparseCategoricalCrossentropy", layers: dense("softmax", { kernelRegularizer: { l1: 0.01 } }), loss: "sparseCategoricalCrossentropy", y: labels, ...flat },
    { label: "Dense linear L1+L2 0.01 + meanSquaredError", layers: dense("linear", { kernelRegularizer: { l1: 0.01, l2: 0.01 } }), loss: "meanSquaredError", y: regressionTargets, ...flat },
    {
      label: "Conv2D tanh L2 0.01 → Flatten → Dropout → Dense softmax + sparseCategoricalCrossentropy",
      layers: () => [
        new Conv2D({ filters: 2, kernelSize: 3, padding: "same", activation: "tanh", kernelRegularizer: { l2: 0.01 } }),
        new Flatten(), new Dropout({ rate: 0.5 }), new Dense({ units: 3, activation: "softmax" }),
      ],
      inputShape: [4, 4, 1], x: seededValues(BATCH * 16, 511), loss: "sparseCategoricalCrossentropy", y: labels,
    },
  ];
}

function buildModel(c: ModelCase, kernels: Kernels, withoutRegularizers = false): Sequential {
  const layers = c.layers();
  if (withoutRegularizers) for (const l of layers) (l as { kernelRegularizer?: unknown }).kernelRegularizer = undefined;
  const model = new Sequential({ inputShape: c.inputShape, seed: 5, kernels, layers });
  model.compile({ optimizer: "sgd", loss: c.loss });
  // Weights in ±[0.1, 1]: clear of the L1 penalty's kink at 0 by more than any probe step.
  model.setWeights(model.getWeights().map((w, i) => Float32Array.from(seededValues(w.data.length, 600 + i), (v) => Math.sign(v || 1) * (0.1 + 0.9 * Math.abs(v)))));
  return model;
}

/** Failure lines; `analyticFrom` substitutes another model's gradients (to prove the check can fail). */
function checkModel(c: ModelCase, backend: Backend, analyticFrom?: Sequential): string[] {
  const model = buildModel(c, backend.make());
  const label = `${c.label} [${backend.name}]`;
  const { loss, grads } = (analyticFrom ?? model).computeGradients(c.x, c.y, { training: false });
  const evaluated = () => model.evaluate(c.x, c.y, { batchSize: 64 }).loss;
  const failures: string[] = [];
  const base = evaluated();
  if (!(Math.abs(loss - base) <= 1e-5 * (1 + Math.abs(base)))) failures.push(`${label}: computeGradients loss ${loss} vs evaluate ${base}`);
  const weights = model.getWeights().map((w) => w.data);
  weights.forEach((w, t) => {
    const indices = probeIndices(w.length, 200, 17 + t);
    const numeric = indices.map((i) => {
      const original = w[i];
      const plus = Math.fround(original + backend.h);
      const minus = Math.fround(original - backend.h);
      w[i] = plus;
      model.setWeights(weights);
      const lPlus = evaluated();
      w[i] = minus;
      model.setWeights(weights);
      const lMinus = evaluated();
      w[i] = original;
      return (lPlus - lMinus) / (plus - minus);
    });
    model.setWeights(weights);
    failures.push(...compareGradients(`${label} ∂/∂${model.params[t].name}`, grads[t].data, numeric, indices, MODEL_TOL));
  });
  return failures;
}

// ---- tests ---------------------------------------------------------------------------------------------

for (const backend of BACKENDS) {
  describe(`layer gradients vs finite differences (${backend.name})`, () => {
    const all = layerCases();
    for (const type of ["Dense", "Conv2D", "MaxPool2D", "AveragePool2D", "GlobalAveragePool2D", "BatchNormalization", "Flatten", "Dropout", "Activation"]) {
      test(`${type}: every configuration`, () => {
        const heap = new Heap(backend.make());
        const failures = all.filter((c) => c.label.startsWith(type + " ")).flatMap((c) => checkLayer(heap, backend, c));
        expect(failures).toEqual([]);
      });
    }

    test("Dropout training backward is exactly dy ⊙ mask, with a nontrivial mask", () => {
      const heap = new Heap(backend.make());
      const probe = new LayerProbe(new Dropout({ rate: 0.5 }), heap, [4, 3], 3, 3);
      probe.training = true;
      awayFromZero(probe); // so the mask can be read back as y / x
      const x = probe.inputView().slice();
      const y = probe.forward();
      const keep = Math.fround(1 / (1 - 0.5));
      const mask = Array.from(y, (v, i) => v / x[i]);
      const failures: string[] = [];
      mask.forEach((m, i) => {
        if (m !== 0 && m !== keep) failures.push(`mask[${i}] = ${m}, neither 0 nor ${keep}`);
      });
      const dropped = mask.filter((m) => m === 0).length;
      if (dropped === 0 || dropped === mask.length) failures.push(`trivial mask: ${dropped}/${mask.length} dropped`);
      heap.f32(probe.outputGrad, probe.outputCount).set(probe.r);
      const dx = heap.f32((probe.layer as SingleInputLayer).backward(probe.outputGrad, probe.batch, true), probe.inputCount);
      dx.forEach((g, i) => {
        if (g !== Math.fround(probe.r[i] * mask[i])) failures.push(`dx[${i}] = ${g}, want ${probe.r[i]} × ${mask[i]}`);
      });
      expect(failures).toEqual([]);
    });
  });

  describe(`loss gradients of small models vs finite differences (${backend.name})`, () => {
    for (const c of modelCases()) {
      test(c.label, () => {
        expect(checkModel(c, backend)).toEqual([]);
      });
    }
  });
}

describe("the checks can fail", () => {
  const backend = BACKENDS[0];

  test("a Dense backward that skips tanh's derivative is caught", () => {
    const heap = new Heap(backend.make());
    const c = layerCases().find((k) => k.label === "Dense 5→4 tanh")!;
    const tamper = (probe: LayerProbe) => {
      const layer = probe.layer as Dense;
      const backward = layer.backward.bind(layer);
      layer.backward = (dy, batch, need) => {
        (layer as unknown as { emittedLogits: boolean }).emittedLogits = true; // backward now treats the layer as linear
        return backward(dy, batch, need);
      };
    };
    const failures = checkLayer(heap, backend, c, tamper);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.join("\n")).toContain("∂/∂kernel");
  });

  test("a gelu slope taken at the output instead of the pre-activation, and an elu backward that loses α, are caught", () => {
    const heap = new Heap(backend.make());
    const atOutput = (probe: LayerProbe) => {
      const fn = (probe.layer as Dense).activation;
      const backward = fn.backwardInPlace.bind(fn);
      fn.backwardInPlace = (kernels, _x, y, dy, rows, cols, logits) => backward(kernels, y, y, dy, rows, cols, logits);
    };
    expect(checkLayer(heap, backend, layerCases().find((k) => k.label === "Dense 5→4 gelu")!, atOutput).join("\n")).toContain("∂/∂kernel");
    const defaultAlpha = (probe: LayerProbe) => {
      const fn = (probe.layer as Dense).activation;
      const plain = new ActivationFunction("elu");
      fn.backwardInPlace = (...args) => plain.backwardInPlace(...args);
    };
    expect(checkLayer(heap, backend, layerCases().find((k) => k.label === "Dense 5→4 elu α=0.4")!, defaultAlpha).length).toBeGreaterThan(0);
  });

  test("a MaxPool2D backward that routes gradients to the wrong element is caught", () => {
    const heap = new Heap(backend.make());
    const c = layerCases().find((k) => k.label === "MaxPool2D 5×6×2 pool=2 s=2 valid")!;
    const tamper = (probe: LayerProbe) => {
      const layer = probe.layer as SingleInputLayer;
      const backward = layer.backward.bind(layer);
      layer.backward = (dy, batch, need) => {
        const dx = backward(dy, batch, need);
        const g = heap.f32(dx, batch * layer.inputSize);
        g.set(Float32Array.from(g).reverse()); // right gradients, wrong places
        return dx;
      };
    };
    expect(checkLayer(heap, backend, c, tamper).length).toBeGreaterThan(0);
  });

  test("gradients that omit a 0.01 L2 or L1 penalty are caught", () => {
    for (const label of ["Dense softmax L2 0.01 + sparseCategoricalCrossentropy", "Dense softmax L1 0.01 + sparseCategoricalCrossentropy"]) {
      const c = modelCases().find((k) => k.label === label)!;
      const unregularized = buildModel(c, backend.make(), true);
      const failures = checkModel(c, backend, unregularized);
      expect(failures.some((f) => f.includes("/kernel"))).toBe(true);
    }
  });
});
