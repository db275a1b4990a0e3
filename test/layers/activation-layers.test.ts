// The newer activations as layers: names and aliases, `{ name, alpha }`, Keras' ReLU / LeakyReLU / ELU and
// their configs through layerFromConfig and model files; the pre-activation buffer that only gelu, geluTanh,
// swish and hardSwish cost; PyTorch-style modules and F functions; and TensorFlow.js (tfjs-core ops on the
// cpu backend, and tfjs-layers' activations) on identical weights, forward and gradients.
//
// TensorFlow.js counterparts: tf.relu6, tf.leakyRelu(x, α), tf.elu (α = 1 only), tfjs-layers' 'gelu' (erf),
// 'gelu_new' (the tanh approximation) and 'swish'. None for hardSwish; tfjs' 'hardSigmoid' is Keras 2's
// clip(0.2x + 0.5, 0, 1), not relu6(x + 3)/6 (Keras 3, PyTorch, wasmgrad) — a test pins the difference.
//
// Tolerance against tfjs: outputs |Δ| ≤ 2e-6 + 1e-5·|y|, gradients |Δ| ≤ 1e-5 + 1e-4·|g|. Both sides are
// f32 with different summation orders in x·W (6 terms) and in the gradient sums over the batch (4 rows);
// tfjs' cpu erf is Abramowitz–Stegun 7.1.26 (error 1.5e-7, so gelu differs by up to ~1e-6 at |x| ≈ 10).
// Worst seen: 0.08 of it (gelu's forward, from tfjs' erf). A wrong activation or slope is off by 1e-2 or more.

import { beforeAll, describe, expect, test } from "bun:test";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { Gelu, GeluNew, HardSigmoid as TfjsHardSigmoid, Swish } from "@tensorflow/tfjs-layers/dist/activations";
import { Activation, Conv2D, Dense, ELU, F, InputError, LAYER_TYPES, LeakyReLU, ReLU, Sequential, layerFromConfig, nn, tensor } from "../../src/index";
import { Heap } from "../../src/engine/heap";
import { Act, type Kernels } from "../../src/engine/kernels";
import { createReferenceKernels } from "../../src/engine/reference-kernels";
import { activate } from "../../src/engine/reference-activations";
import { Rng } from "../../src/engine/rng";
import { parseActivation, type ActivationName, type ActivationSpec } from "../../src/layers/activation-function";
import type { Layer } from "../../src/layers/layer";
import type { Value } from "../../src/nn/trace";
import { LayerProbe } from "../support/gradient-check";
import { seededValues, wasmVariants, worstMismatch } from "../support/twin-heaps";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const backends: { name: string; make: () => Kernels }[] = [...wasmVariants(), { name: "reference", make: createReferenceKernels }];

describe("activation names, aliases and parameters", () => {
  test("Keras' and PyTorch's spellings parse to the canonical name, which is what configs store", () => {
    const aliases: [string, ActivationName][] = [
      ["leaky_relu", "leakyRelu"], ["hard_sigmoid", "hardSigmoid"], ["hard_swish", "hardSwish"], ["hard_silu", "hardSwish"],
      ["gelu_tanh", "geluTanh"], ["gelu_new", "geluTanh"], ["silu", "swish"], ["relu6", "relu6"], ["gelu", "gelu"],
    ];
    for (const [alias, name] of aliases) {
      expect(parseActivation(alias, "test")).toBe(name);
      const layer = layerFromConfig({ type: "Dense", units: 2, activation: alias }, "layers[0]");
      expect(layer.getConfig().activation).toBe(name);
    }
    expect(new Activation({ activation: "silu" as ActivationName }).getConfig().activation).toBe("swish");
  });

  test("{ name, alpha } reaches Dense, Conv2D and Activation, and a default alpha is written as the bare name", () => {
    const specs: [ActivationSpec, unknown][] = [
      [{ name: "leakyRelu", alpha: 0.05 }, { name: "leakyRelu", alpha: 0.05 }],
      [{ name: "elu", alpha: 0.5 }, { name: "elu", alpha: 0.5 }],
      [{ name: "leakyRelu", alpha: 0.2 }, "leakyRelu"],
      [{ name: "elu" }, "elu"],
      ["gelu", "gelu"],
    ];
    for (const [spec, written] of specs) {
      for (const config of [
        { type: "Dense", units: 3, activation: spec },
        { type: "Conv2D", filters: 2, kernelSize: 3, activation: spec },
        { type: "Activation", activation: spec },
      ]) {
        const layer = layerFromConfig(config, "layers[0]");
        expect(layer.getConfig().activation).toEqual(written);
        expect(layerFromConfig(layer.getConfig(), "again").getConfig()).toEqual(layer.getConfig());
      }
    }
    expect(new Dense({ units: 2, activation: { name: "leakyRelu", alpha: 0.1 } }).activation.alpha).toBeCloseTo(0.1, 12);
    expect(new Dense({ units: 2, activation: "leakyRelu" }).activation.alpha).toBe(0.2); // keras.activations.leaky_relu
    expect(new Dense({ units: 2, activation: "elu" }).activation.alpha).toBe(1);
  });

  test("mistakes are one clear line naming the layer", () => {
    const bad: [unknown, RegExp][] = [
      ["gelu_fast", /layers\[0\] \(Dense\): unknown activation 'gelu_fast' \(did you mean 'gelu_tanh'\?\)/],
      ["leakyrelu", /unknown activation 'leakyrelu' \(did you mean 'leakyRelu'\?\)/],
      [{ name: "relu", alpha: 0.1 }, /activation 'relu' takes no alpha \(only leakyRelu and elu do\)/],
      [{ name: "leakyRelu", alpha: -0.1 }, /leakyRelu's alpha must be a finite number ≥ 0, got -0.1/],
      [{ name: "elu", alpha: "1" }, /elu's alpha must be a finite number ≥ 0, got "1"/],
      [{ name: "elu", slope: 1 }, /'slope' is not an activation option/],
      [{ alpha: 1 }, /an activation is a name like "relu" or an object like/],
      [7, /an activation is a name like "relu"/],
    ];
    for (const [activation, message] of bad) {
      expect(() => layerFromConfig({ type: "Dense", units: 2, activation }, "layers[0]")).toThrow(InputError);
      expect(() => layerFromConfig({ type: "Dense", units: 2, activation }, "layers[0]")).toThrow(message);
    }
  });
});

describe("Keras' ReLU, LeakyReLU and ELU layers", () => {
  test("ReLU maps maxValue 6 to relu6 and negativeSlope to leakyRelu, and refuses what it cannot compute", () => {
    expect(new ReLU().activation.name).toBe("relu");
    expect(new ReLU({ maxValue: 6 }).activation.name).toBe("relu6");
    const leaky = new ReLU({ negativeSlope: 0.1 });
    expect([leaky.activation.name, leaky.activation.alpha]).toEqual(["leakyRelu", 0.1]);
    expect(() => new ReLU({ maxValue: 4 })).toThrow(/ReLU: maxValue 4 is not supported; 6 \(relu6\) is, or leave it out/);
    expect(() => new ReLU({ maxValue: 6, negativeSlope: 0.1 })).toThrow(/maxValue and negativeSlope together are not supported/);
    expect(() => layerFromConfig({ type: "ReLU", threshold: 1 }, "layers[2]")).toThrow(/layers\[2\] \(ReLU\): a threshold other than 0 is not supported/);
    expect(() => layerFromConfig({ type: "ReLU", negativeSlope: -1 }, "layers[2]")).toThrow(/'negativeSlope' must be ≥ 0/);
    expect(() => layerFromConfig({ type: "ReLU", max_value: 6 }, "layers[2]")).toThrow(/'max_value' is not a ReLU option \(did you mean 'maxValue'\?\)/);
  });

  test("LeakyReLU takes alpha or Keras 3's negativeSlope (default 0.3), ELU alpha (default 1)", () => {
    expect(new LeakyReLU().alpha).toBeCloseTo(0.3, 12);
    expect(new LeakyReLU({ negativeSlope: 0.01 }).alpha).toBeCloseTo(0.01, 12);
    expect(() => new LeakyReLU({ alpha: 0.1, negativeSlope: 0.1 })).toThrow(/give alpha or negativeSlope/);
    expect(new ELU().alpha).toBe(1);
    expect(new ELU({ alpha: 0.5 }).alpha).toBe(0.5);
    expect(() => layerFromConfig({ type: "ELU", alpha: -1 }, "layers[1]")).toThrow(/layers\[1\] \(ELU\): 'alpha' must be ≥ 0/);
    for (const type of ["ReLU", "LeakyReLU", "ELU"]) expect(LAYER_TYPES).toContain(type);
  });

  test("configs round-trip through layerFromConfig and a whole model's config, predicting the same", () => {
    const configs = [
      { type: "ReLU", name: "r" }, { type: "ReLU", name: "r6", maxValue: 6 }, { type: "ReLU", name: "rl", negativeSlope: 0.1 },
      { type: "LeakyReLU", name: "l", alpha: 0.3 }, { type: "ELU", name: "e", alpha: 0.7 },
    ];
    for (const config of configs) expect(layerFromConfig(config, "layers[0]").getConfig()).toEqual(config);
    expect(layerFromConfig({ type: "LeakyReLU", negativeSlope: 0.05 }, "x").getConfig()).toEqual({ type: "LeakyReLU", name: "", alpha: 0.05 });

    const model = new Sequential({
      inputShape: [6], seed: 3, layers: [
        new Dense({ units: 8, activation: "gelu" }), new LeakyReLU({ alpha: 0.1 }), new Dense({ units: 8, activation: { name: "elu", alpha: 0.5 } }),
        new ReLU({ maxValue: 6 }), new Dense({ units: 5, activation: "hardSwish" }), new ELU({ alpha: 0.2 }), new Activation({ activation: "swish" }),
        new Dense({ units: 3, activation: "geluTanh" }),
      ],
    });
    const x = seededValues(4 * 6, 5, -3, 3);
    const json = JSON.parse(JSON.stringify(model.toConfig()));
    const again = Sequential.fromConfig(json);
    again.setWeights(model.getWeights());
    expect(again.toConfig()).toEqual(model.toConfig());
    expect(Array.from(again.predict(x).data)).toEqual(Array.from(model.predict(x).data));
  });
});

describe("the pre-activation buffer", () => {
  /** Bytes a layer lays out for a batch. */
  function allocated(layer: Layer, inputShape: number[], batch: number): number {
    const heap = new Heap(createReferenceKernels());
    layer.build([inputShape], heap, new Rng(1));
    const before = heap.mark();
    layer.allocate(batch);
    return heap.mark() - before;
  }

  test("exists only for gelu, geluTanh, swish and hardSwish, one float per output", () => {
    const dense = (activation: ActivationName) => allocated(new Dense({ units: 16, activation }), [8], 4);
    const conv = (activation: ActivationName) => allocated(new Conv2D({ filters: 4, kernelSize: 3, padding: "same", activation }), [4, 4, 2], 2);
    for (const activation of ["relu", "sigmoid", "tanh", "softmax", "relu6", "leakyRelu", "elu", "hardSigmoid"] as ActivationName[]) {
      expect({ activation, dense: dense(activation), conv: conv(activation) }).toEqual({ activation, dense: dense("linear"), conv: conv("linear") });
    }
    for (const activation of ["gelu", "geluTanh", "swish", "hardSwish"] as ActivationName[]) {
      expect({ activation, dense: dense(activation), conv: conv(activation) }).toEqual({ activation, dense: dense("linear") + 4 * 16 * 4, conv: conv("linear") + 4 * 2 * 16 * 4 });
    }
  });
});

describe("PyTorch-style modules and F functions", () => {
  /** A Linear(4, 3) followed by `act`, or by F's `fn`: outputs against the reference formula on x·W + b. */
  function check(label: string, tail: (v: Value) => Value, act: number, alpha: number, fusedInto?: ActivationName) {
    class Net extends nn.Module {
      fc = new nn.Linear(4, 3);
      forward(x: Value): Value {
        return tail(this.fc.call(x));
      }
    }
    const net = new Net();
    const x = seededValues(5 * 4, 9, -3, 3);
    const y = net.call(tensor(x, [5, 4])).data;
    const [w, b] = net.model.getWeights().map((t) => t.data);
    const want = Array.from({ length: 15 }, (_, i) => {
      const [r, j] = [Math.floor(i / 3), i % 3];
      let z = b[j];
      for (let p = 0; p < 4; p++) z += x[r * 4 + p] * w[p * 3 + j];
      return activate(z, act as never, alpha);
    });
    expect({ label, worst: worstMismatch(y, want, 1e-6, 1e-5).worst <= 1 }).toEqual({ label, worst: true });
    const layers = net.model.layers;
    if (fusedInto) expect({ label, layers: layers.length, activation: (layers[0] as Dense).activation.name }).toEqual({ label, layers: 1, activation: fusedInto });
    else expect({ label, layers: layers.length }).toEqual({ label, layers: 2 });
  }

  test("modules fuse into the Linear before them, a parameter (LeakyReLU's slope, ELU's scale) included", () => {
    check("ReLU6", (v) => new nn.ReLU6().call(v), Act.relu6, NaN, "relu6");
    check("SiLU", (v) => new nn.SiLU().call(v), Act.swish, NaN, "swish");
    check("Hardsigmoid", (v) => new nn.Hardsigmoid().call(v), Act.hardSigmoid, NaN, "hardSigmoid");
    check("Hardswish", (v) => new nn.Hardswish().call(v), Act.hardSwish, NaN, "hardSwish");
    check("GELU", (v) => new nn.GELU().call(v), Act.gelu, NaN, "gelu");
    check("GELU tanh", (v) => new nn.GELU({ approximate: "tanh" }).call(v), Act.geluTanh, NaN, "geluTanh");
    check("LeakyReLU()", (v) => new nn.LeakyReLU().call(v), Act.leakyRelu, Math.fround(0.01), "leakyRelu");
    check("LeakyReLU(0.3)", (v) => new nn.LeakyReLU(0.3).call(v), Act.leakyRelu, Math.fround(0.3), "leakyRelu");
    check("ELU(0.5)", (v) => new nn.ELU(0.5).call(v), Act.elu, 0.5, "elu");
    expect(() => new nn.GELU({ approximate: "fast" as "tanh" })).toThrow(/GELU: approximate must be 'none' or 'tanh', got 'fast'/);
  });

  test("F.relu6, F.silu, F.gelu, F.leaky_relu, F.elu, F.hardsigmoid, F.hardswish", () => {
    check("F.relu6", F.relu6, Act.relu6, NaN, "relu6");
    check("F.silu", F.silu, Act.swish, NaN, "swish");
    check("F.gelu", (v) => F.gelu(v), Act.gelu, NaN, "gelu");
    check("F.gelu tanh", (v) => F.gelu(v, { approximate: "tanh" }), Act.geluTanh, NaN, "geluTanh");
    check("F.leaky_relu", (v) => F.leaky_relu(v, 0.25), Act.leakyRelu, 0.25, "leakyRelu");
    check("F.elu", (v) => F.elu(v, 2), Act.elu, 2, "elu");
    check("F.hardsigmoid", F.hardsigmoid, Act.hardSigmoid, NaN, "hardSigmoid");
    check("F.hardswish", F.hardswish, Act.hardSwish, NaN, "hardSwish");
  });
});

describe("against TensorFlow.js: Dense with each activation, outputs and gradients on identical weights", () => {
  const tfjsActivations: [string, ActivationSpec, (z: tf.Tensor) => tf.Tensor][] = [
    ["relu6", "relu6", (z) => tf.relu6(z)],
    ["leakyRelu (α 0.2, tf.leakyRelu's default)", "leakyRelu", (z) => tf.leakyRelu(z)],
    ["leakyRelu α 0.05", { name: "leakyRelu", alpha: 0.05 }, (z) => tf.leakyRelu(z, 0.05)],
    ["elu", "elu", (z) => tf.elu(z)],
    ["gelu (tfjs-layers 'gelu')", "gelu", (z) => new Gelu().apply(z)],
    ["geluTanh (tfjs-layers 'gelu_new')", "geluTanh", (z) => new GeluNew().apply(z)],
    ["swish (tfjs-layers 'swish')", "swish", (z) => new Swish().apply(z)],
  ];
  const [batch, inputs, units] = [4, 6, 5];

  for (const backend of backends)
    for (const [label, activation, tfActivation] of tfjsActivations) {
      test(`${label} [${backend.name}]`, () => {
        const heap = new Heap(backend.make());
        const probe = new LayerProbe(new Dense({ units, activation }), heap, [inputs], batch, 3);
        const layer = probe.layer as Dense;
        const x = seededValues(batch * inputs, 21, -2, 2);
        // Weights ×3 so pre-activations reach past relu6's 6 and into every tail.
        const w = Float32Array.from(seededValues(inputs * units, 22), (v) => 3 * v);
        const b = seededValues(units, 23, -1, 1);
        probe.inputView().set(x);
        probe.paramView(layer.kernel).set(w);
        probe.paramView(layer.bias!).set(b);
        const y = probe.forward();
        const ours = probe.analytic();

        const [tx, tw, tb] = [tf.tensor2d(x, [batch, inputs]), tf.tensor2d(w, [inputs, units]), tf.tensor1d(b)];
        const r = tf.tensor2d(probe.r, [batch, units]);
        const f = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tfActivation(tf.add(tf.matMul(a as tf.Tensor2D, k as tf.Tensor2D), c));
        const want = f(tx, tw, tb).dataSync();
        const grads = tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, k, c), r)))([tx, tw, tb]).map((g) => g.dataSync());

        const z = tf.add(tf.matMul(tx, tw), tb).dataSync();
        expect(Math.max(...z)).toBeGreaterThan(6);
        expect(Math.min(...z)).toBeLessThan(-4);
        const report = (what: string, got: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number) => {
          const m = worstMismatch(got, expected, atol, rtol);
          return { what, ok: m.worst <= 1 ? "ok" : m };
        };
        expect([
          report("y", y, want, 2e-6, 1e-5),
          report("∂/∂x", ours.input, grads[0], 1e-5, 1e-4),
          report("∂/∂kernel", ours.params[0], grads[1], 1e-5, 1e-4),
          report("∂/∂bias", ours.params[1], grads[2], 1e-5, 1e-4),
        ]).toEqual(["y", "∂/∂x", "∂/∂kernel", "∂/∂bias"].map((what) => ({ what, ok: "ok" })));
      });
    }

  test("the comparison can fail: gelu against tfjs' tanh approximation is caught", () => {
    const heap = new Heap(createReferenceKernels());
    const probe = new LayerProbe(new Activation({ activation: "gelu" }), heap, [8], 2, 3);
    const x = seededValues(16, 5, -3, 3);
    probe.inputView().set(x);
    const want = new GeluNew().apply(tf.tensor1d(x)).dataSync();
    expect(worstMismatch(probe.forward(), want, 2e-6, 1e-5).worst).toBeGreaterThan(1);
  });

  test("tfjs' hardSigmoid is Keras 2's 0.2x + 0.5; wasmgrad's is relu6(x + 3)/6 (Keras 3, PyTorch)", () => {
    const x = [-3, -2.5, -1, 0, 1, 2.5, 3];
    const heap = new Heap(createReferenceKernels());
    const probe = new LayerProbe(new Activation({ activation: "hardSigmoid" }), heap, [7], 1, 3);
    probe.inputView().set(x);
    const ours = Array.from(probe.forward(), (v) => Number(v.toFixed(6)));
    const tfjs = Array.from(new TfjsHardSigmoid().apply(tf.tensor1d(x)).dataSync(), (v) => Number(v.toFixed(6)));
    expect(ours).toEqual([0, 0.083333, 0.333333, 0.5, 0.666667, 0.916667, 1]);
    expect(tfjs).toEqual([0, 0, 0.3, 0.5, 0.7, 1, 1]);
  });
});
