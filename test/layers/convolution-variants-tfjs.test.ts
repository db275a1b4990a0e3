// The convolution variants against TensorFlow.js (tfjs-layers on the cpu backend) on identical weights and
// inputs: outputs, ∂L/∂x and every parameter gradient for L = Σ r ⊙ y with a fixed random r.
//   DepthwiseConv2D   vs tf.layers.depthwiseConv2d: kernels 3×3, 5×5, 1×3; strides 1, 2, [1, 2]; 'valid' and
//                     'same'; multipliers 1, 2 and 3; 4, 5 and 8 channels; linear, relu, tanh; without bias;
//                     explicit padding as tf.layers.zeroPadding2d + 'valid'; dilation 2 (which the tfjs
//                     layer ignores) vs the tfjs-core op tf.depthwiseConv2d with dilations — outputs only, as
//                     tfjs has no gradients for dilated convolutions (finite differences check ours).
//   Conv2DTranspose   vs tf.layers.conv2dTranspose: kernels 3×3, 2×2, 3×2, 4×4; strides 1, 2, [2, 1], 3;
//                     'valid' and 'same'; linear, relu, tanh, sigmoid, softmax; without bias. (The tfjs layer
//                     has no outputPadding or dilation; those are checked by finite differences.)
//   Conv2D            explicit padding p and [[top, bottom], [left, right]] at strides 1 and 2 vs
//                     tf.layers.zeroPadding2d + tf.layers.conv2d 'valid'; dilation 2 vs conv2d's dilationRate
//                     (outputs only, as above).
//   AveragePool2D     countIncludePad with explicit padding vs zeroPadding2d + averagePooling2d 'valid'
//                     (zeros counted in every window, as PyTorch's default).
// Our side runs on both WebAssembly builds and on the reference kernels.
//
// Tolerance: outputs |Δ| ≤ 1e-5 + 1e-5·|y|, gradients |Δ| ≤ 1e-4 + 1e-4·|g| (test/model/tfjs-equivalence's
// reasoning: f32 on both sides in different summation orders; a gradient sums up to batch·positions ≈ 200
// products of values ≤ 1, so honest differences stay near 1e-5; a misplaced tap or a padding off by one
// moves results by whole terms, ≥ 1e-2).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import * as tfl from "@tensorflow/tfjs-layers";
import { Heap } from "../../src/engine/heap";
import type { Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { AveragePool2D } from "../../src/layers/average-pool2d";
import { Conv2D } from "../../src/layers/conv2d";
import { Conv2DTranspose } from "../../src/layers/conv2d-transpose";
import { DepthwiseConv2D } from "../../src/layers/depthwise-conv2d";
import type { Layer } from "../../src/layers/layer";
import { LayerProbe } from "../support/gradient-check";
import { seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const BATCH = 2;
/** Worst |ours − tfjs| / tolerance seen, for the report (WASMGRAD_REPORT=1). */
const worst = { outputs: 0, gradients: 0 };
const OUTPUT_TOL = { atol: 1e-5, rtol: 1e-5 };
const GRAD_TOL = { atol: 1e-4, rtol: 1e-4 };

/** The tfjs side: a function of the input, and the variables that hold its weights in our parameter order. */
interface Theirs {
  apply: (x: tf.Tensor) => tf.Tensor;
  variables: tf.Variable[];
}

interface Case {
  label: string;
  ours: () => Layer;
  /** Builds the tfjs side for this input shape, with our weights (kernel, then bias if any). */
  theirs: (inputShape: number[], weights: Float32Array[]) => Theirs;
  inputShape: number[];
  /** tfjs has no gradient for dilated convolutions: compare outputs only (finite differences check ours). */
  forwardOnly?: boolean;
}

/** tfjs layers applied in order; the one holding weights gets ours. */
function layers(...stack: tfl.layers.Layer[]): (inputShape: number[], weights: Float32Array[]) => Theirs {
  return (inputShape, weights) => {
    let h: tf.Tensor = tf.zeros([1, ...inputShape]);
    for (const l of stack) h = l.apply(h) as tf.Tensor;
    const holder = stack.find((l) => l.getWeights().length > 0);
    if (holder) holder.setWeights(holder.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)));
    return {
      apply: (x) => stack.reduce((t, l) => l.apply(t) as tf.Tensor, x),
      variables: holder ? holder.trainableWeights.map((w) => w.read() as tf.Variable) : [],
    };
  };
}

type Pad = [[number, number], [number, number]];
const padLabel = (p: unknown) => (typeof p === "string" ? p : JSON.stringify(p));

function cases(): Case[] {
  const out: Case[] = [];
  // DepthwiseConv2D vs tf.layers.depthwiseConv2d
  const dw: { k: number | [number, number]; s: number | [number, number]; padding: "valid" | "same"; m: number; c: number; activation: "linear" | "relu" | "tanh" | "sigmoid" | "softmax"; useBias?: boolean }[] = [
    { k: 3, s: 1, padding: "same", m: 1, c: 8, activation: "linear" },
    { k: 3, s: 2, padding: "same", m: 1, c: 5, activation: "relu" },
    { k: 3, s: 2, padding: "valid", m: 1, c: 4, activation: "tanh" },
    { k: 5, s: 1, padding: "same", m: 1, c: 5, activation: "linear", useBias: false },
    { k: [1, 3], s: [1, 2], padding: "same", m: 2, c: 5, activation: "tanh" },
    { k: 3, s: 1, padding: "valid", m: 3, c: 4, activation: "linear" },
    { k: 5, s: 2, padding: "same", m: 2, c: 3, activation: "relu" },
  ];
  for (const o of dw) {
    out.push({
      label: `DepthwiseConv2D 9×8×${o.c} k=${o.k} s=${o.s} ${o.padding} M=${o.m} ${o.activation}${o.useBias === false ? " no-bias" : ""}`,
      ours: () => new DepthwiseConv2D({ kernelSize: o.k, strides: o.s, padding: o.padding, depthMultiplier: o.m, activation: o.activation, useBias: o.useBias }),
      theirs: layers(tfl.layers.depthwiseConv2d({ kernelSize: o.k, strides: o.s, padding: o.padding, depthMultiplier: o.m, activation: o.activation, useBias: o.useBias })),
      inputShape: [9, 8, o.c],
    });
  }
  for (const [p, s] of [[1, 2], [[[0, 2], [1, 0]], 1], [[[2, 1], [1, 2]], 2]] as [number | Pad, number][]) {
    const zero = typeof p === "number" ? p : p;
    out.push({
      label: `DepthwiseConv2D 9×8×5 k=3 s=${s} padding=${padLabel(p)} (zeroPadding2d + valid)`,
      ours: () => new DepthwiseConv2D({ kernelSize: 3, strides: s, padding: p, activation: "tanh" }),
      theirs: layers(tfl.layers.zeroPadding2d({ padding: zero as number }), tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: s, padding: "valid", activation: "tanh" })),
      inputShape: [9, 8, 5],
    });
  }
  for (const [m, padding] of [[1, "same"], [2, "valid"]] as const) {
    out.push({
      label: `DepthwiseConv2D 9×8×5 k=3 dilation 2 ${padding} M=${m} (tf.depthwiseConv2d)`,
      ours: () => new DepthwiseConv2D({ kernelSize: 3, dilationRate: 2, padding, depthMultiplier: m }),
      theirs: (_shape, [kernel, bias]) => {
        const k = tf.variable(tf.tensor(kernel, [3, 3, 5, m])), b = tf.variable(tf.tensor(bias));
        return { apply: (x) => tf.add(tf.depthwiseConv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, padding, "NHWC", 2), b), variables: [k, b] };
      },
      inputShape: [9, 8, 5], forwardOnly: true,
    });
  }
  // Conv2DTranspose vs tf.layers.conv2dTranspose
  const tr: { k: number | [number, number]; s: number | [number, number]; padding: "valid" | "same"; c: number; f: number; activation: "linear" | "relu" | "tanh" | "sigmoid" | "softmax"; useBias?: boolean }[] = [
    { k: 3, s: 2, padding: "same", c: 3, f: 4, activation: "linear" },
    { k: 3, s: 2, padding: "valid", c: 2, f: 3, activation: "relu" },
    { k: 2, s: 2, padding: "valid", c: 4, f: 2, activation: "tanh" },
    { k: [3, 2], s: [2, 1], padding: "same", c: 3, f: 2, activation: "sigmoid" },
    { k: 4, s: 2, padding: "same", c: 2, f: 5, activation: "softmax" },
    { k: 3, s: 1, padding: "same", c: 3, f: 3, activation: "linear", useBias: false },
    { k: 2, s: 3, padding: "valid", c: 2, f: 2, activation: "linear" },
    { k: 3, s: 3, padding: "same", c: 2, f: 3, activation: "tanh" },
  ];
  for (const o of tr) {
    out.push({
      label: `Conv2DTranspose 4×5×${o.c}→${o.f} k=${o.k} s=${o.s} ${o.padding} ${o.activation}${o.useBias === false ? " no-bias" : ""}`,
      ours: () => new Conv2DTranspose({ filters: o.f, kernelSize: o.k, strides: o.s, padding: o.padding, activation: o.activation, useBias: o.useBias }),
      theirs: layers(tfl.layers.conv2dTranspose({ filters: o.f, kernelSize: o.k, strides: o.s, padding: o.padding, activation: o.activation, useBias: o.useBias })),
      inputShape: [4, 5, o.c],
    });
  }
  // Conv2D with explicit padding vs zeroPadding2d + valid, and dilation
  for (const [p, s] of [[1, 1], [1, 2], [[[0, 2], [1, 0]], 2], [[[2, 1], [0, 3]], 1]] as [number | Pad, number][]) {
    out.push({
      label: `Conv2D 9×8×3→4 k=3 s=${s} padding=${padLabel(p)} (zeroPadding2d + valid)`,
      ours: () => new Conv2D({ filters: 4, kernelSize: 3, strides: s, padding: p, activation: "tanh" }),
      theirs: layers(tfl.layers.zeroPadding2d({ padding: p as number }), tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: s, padding: "valid", activation: "tanh" })),
      inputShape: [9, 8, 3],
    });
  }
  for (const padding of ["same", "valid"] as const) {
    out.push({
      label: `Conv2D 9×8×3→4 k=3 dilation 2 ${padding}`,
      ours: () => new Conv2D({ filters: 4, kernelSize: 3, dilationRate: 2, padding }),
      theirs: layers(tfl.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding })),
      inputShape: [9, 8, 3], forwardOnly: true,
    });
  }
  // AveragePool2D countIncludePad vs zeroPadding2d + average pooling
  for (const [pool, s, p] of [[3, 2, 1], [2, 2, [[0, 1], [1, 0]]], [3, 1, [[2, 0], [1, 1]]]] as [number, number, number | Pad][]) {
    out.push({
      label: `AveragePool2D 9×8×5 pool=${pool} s=${s} padding=${padLabel(p)} countIncludePad`,
      ours: () => new AveragePool2D({ poolSize: pool, strides: s, padding: p, countIncludePad: true }),
      theirs: layers(tfl.layers.zeroPadding2d({ padding: p as number }), tfl.layers.averagePooling2d({ poolSize: pool, strides: s, padding: "valid" })),
      inputShape: [9, 8, 5],
    });
  }
  return out;
}

/** Failure lines for one case on one backend; `tamper` edits our results (to show the check can fail). */
function check(c: Case, kernels: Kernels, tamper?: (ours: { y: Float32Array; dx: Float32Array }) => void): string[] {
  const heap = new Heap(kernels);
  const probe = new LayerProbe(c.ours(), heap, c.inputShape, BATCH, 5);
  probe.inputView().set(seededValues(probe.inputCount, 21));
  const weights = probe.layer.params.map((p, k) => seededValues(p.size, 31 + k, p.name.endsWith("/bias") ? -0.5 : -1, p.name.endsWith("/bias") ? 0.5 : 1));
  probe.layer.params.forEach((p, k) => probe.paramView(p).set(weights[k]));
  const y = probe.forward();
  const analytic = probe.analytic();
  tamper?.({ y, dx: analytic.input });

  return tf.tidy(() => {
    const theirs = c.theirs(c.inputShape, weights);
    const x = tf.tensor(probe.inputView().slice(), [BATCH, ...c.inputShape]);
    const yT = theirs.apply(x);
    const failures: string[] = [];
    const compare = (what: string, a: Float32Array, b: tf.Tensor, tol: { atol: number; rtol: number }) => {
      const want = b.dataSync() as Float32Array;
      if (a.length !== want.length) return failures.push(`${c.label} ${what}: ${a.length} values, tfjs has ${want.length}`);
      const m = worstMismatch(a, want, tol.atol, tol.rtol);
      if (!tamper) worst[what === "y" ? "outputs" : "gradients"] = Math.max(worst[what === "y" ? "outputs" : "gradients"], m.worst);
      if (!(m.worst <= 1)) failures.push(`${c.label} ${what}[${m.at}]: ours ${m.got}, tfjs ${m.want}`);
    };
    if (JSON.stringify(yT.shape.slice(1)) !== JSON.stringify(probe.layer.outputShape)) failures.push(`${c.label}: output shape [${probe.layer.outputShape}], tfjs [${yT.shape.slice(1)}]`);
    compare("y", y, yT, OUTPUT_TOL);
    if (theirs.variables.length !== probe.layer.params.length) failures.push(`${c.label}: ${probe.layer.params.length} parameters, tfjs ${theirs.variables.length}`);
    if (c.forwardOnly) return failures;
    const r = tf.tensor(probe.r, yT.shape);
    const loss = (input: tf.Tensor) => tf.sum(tf.mul(theirs.apply(input), r)) as tf.Scalar;
    compare("∂/∂x", analytic.input, tf.grad(loss)(x), GRAD_TOL);
    if (theirs.variables.length === 0) return failures;
    const { grads } = tf.variableGrads(() => loss(x), theirs.variables);
    theirs.variables.forEach((v, k) => compare(`∂/∂${probe.layer.params[k].name.split("/")[1]}`, analytic.params[k], grads[v.name], GRAD_TOL));
    return failures;
  });
}

const BACKENDS = [...wasmVariants(), { name: "reference", make: () => createReferenceKernels() }];
const ALL = cases();

for (const backend of BACKENDS) {
  describe(`convolution variants vs TensorFlow.js (${backend.name})`, () => {
    for (const type of ["DepthwiseConv2D", "Conv2DTranspose", "Conv2D", "AveragePool2D"]) {
      const some = ALL.filter((c) => c.label.startsWith(type + " "));
      test(`${type}: outputs and gradients agree over ${some.length} configurations`, () => {
        expect(some.flatMap((c) => check(c, backend.make()))).toEqual([]);
      });
    }
  });
}

test("the comparison can fail: a shifted output or gradient element is caught", () => {
  const c = ALL.find((k) => k.label.startsWith("DepthwiseConv2D 9×8×5 k=3 s=2 same"))!;
  expect(check(c, BACKENDS[0].make())).toEqual([]);
  expect(check(c, BACKENDS[0].make(), (ours) => { ours.y[3] += 1e-3; }).join("\n")).toContain(" y[3]");
  expect(check(c, BACKENDS[0].make(), (ours) => { ours.dx[40] -= 1e-2; }).join("\n")).toContain("∂/∂x[40]");
});

afterAll(() => {
  if (process.env.WASMGRAD_REPORT) console.log(`worst |ours − tfjs| / tolerance: outputs ${worst.outputs.toFixed(3)}, gradients ${worst.gradients.toFixed(3)}`);
});
