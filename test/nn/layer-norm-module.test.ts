// nn.LayerNorm: what it traces to (LayerNormalization over the trailing axes, PyTorch's eps 1e-5, weight and
// bias per elementwiseAffine and bias), that on the same weights it gives bit for bit the outputs, loss and
// gradients of the Keras-style model with that layer, a short training run with optim.Adam, and the
// refusals, each an InputError naming the module. It is held against PyTorch itself in
// test/layers/layer-normalization-pytorch.test.ts.

import { describe, expect, test } from "bun:test";
import { Dense, Flatten, Input, LayerNormalization, Model, nn, optim, tensor, type Tensor } from "../../src/index";
import { InputError } from "../../src/errors";
import type { Value } from "../../src/nn/trace";
import { seededValues } from "../support/twin-heaps";

const [N, T, F, C] = [4, 5, 6, 3];
const x = tensor(seededValues(N * T * F, 3, -2, 2), [N, T, F]);
const labels = Int32Array.from([0, 2, 1, 2]);

class Tagger extends nn.Module {
  norm: nn.LayerNorm;
  fc = new nn.Linear(T * F, C);
  constructor(shape: number | number[], options?: nn.LayerNormOptions) {
    super();
    this.norm = new nn.LayerNorm(shape, options);
  }
  forward(v: Value): Value {
    return this.fc.call(this.norm.call(v).flatten());
  }
}

function layerOf(module: nn.Module): LayerNormalization {
  return module.model.layers.find((l) => l instanceof LayerNormalization) as LayerNormalization;
}

describe("nn.LayerNorm", () => {
  test("traces to LayerNormalization over the trailing axes with PyTorch's defaults", () => {
    for (const [shape, options, axis, params] of [
      [F, undefined, -1, [[F], [F]]],
      [[F], {}, -1, [[F], [F]]],
      [[T, F], { eps: 1e-6 }, [-2, -1], [[T, F], [T, F]]],
      [F, { elementwiseAffine: false }, -1, []],
      [F, { bias: false }, -1, [[F]]],
    ] as [number | number[], nn.LayerNormOptions | undefined, number | number[], number[][]][]) {
      const module = new Tagger(shape, options);
      module.call(x);
      const layer = layerOf(module);
      expect(layer.getConfig()).toMatchObject({ axis, epsilon: options?.eps ?? 1e-5, scale: options?.elementwiseAffine ?? true, center: (options?.elementwiseAffine ?? true) && (options?.bias ?? true) });
      expect(layer.params.map((p) => p.shape)).toEqual(params);
      // PyTorch's start: weight ones, bias zeros.
      const heap = module.model.kernels.memory.buffer;
      layer.params.forEach((p, i) => expect(Array.from(new Float32Array(heap, p.value, p.size))).toEqual(new Array(p.size).fill(i === 0 && layer.scale ? 1 : 0)));
    }
  });

  test("equals the Keras-style model on the same weights, bit for bit", () => {
    const module = new Tagger([T, F], { eps: 1e-5 });
    module.call(x);
    const input = Input({ shape: [T, F] });
    const twin = new Model({ inputs: input, outputs: new Dense({ units: C }).apply(new Flatten().apply(new LayerNormalization({ axis: [-2, -1], epsilon: 1e-5 }).apply(input))) });
    const weights = module.model.getWeights().map((w, i) => seededValues(w.data.length, 10 + i, -1, 1));
    module.model.setWeights(weights);
    twin.setWeights(weights);
    const out = module.call(x);
    expect(Array.from(out.data)).toEqual(Array.from((twin.predict(x) as Tensor).data));
    const loss = new nn.CrossEntropyLoss().call(out, labels);
    loss.backward();
    twin.compile({ optimizer: "sgd", loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
    const want = twin.computeGradients(x, labels);
    expect(loss.item()).toBe(want.loss);
    const heap = module.model.kernels.memory.buffer;
    module.model.params.forEach((p, i) => expect({ name: p.name, grad: Array.from(new Float32Array(heap, p.grad, p.size)) }).toEqual({ name: p.name, grad: Array.from(want.grads[i].data) }));
  });

  test("trains: optim.Adam lowers the loss of a small tagger", () => {
    const module = new Tagger(F);
    module.seed = 3;
    const optimizer = new optim.Adam(module.parameters(), { lr: 0.05 });
    const criterion = new nn.CrossEntropyLoss();
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      optimizer.zeroGrad();
      const loss = criterion.call(module.call(x), labels);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
    expect(losses[losses.length - 1]).toBeLessThan(0.2 * losses[0]);
    // γ and β moved away from their start.
    const layer = layerOf(module), heap = module.model.kernels.memory.buffer;
    expect(new Float32Array(heap, layer.gamma!.value, F).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
    expect(new Float32Array(heap, layer.beta!.value, F).some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  test("refusals", () => {
    expect(() => new Tagger(4).call(x)).toThrow(/LayerNorm\(\[4\]\) gets inputs shaped \[5,6\]; normalizedShape must be the inputs' last axis/);
    expect(() => new Tagger([6, 5]).call(x)).toThrow(/must be the inputs' last 2 axes \(wasmgrad is channels last/);
    expect(() => new Tagger([2, 5, 6]).call(x)).toThrow(InputError);
    expect(() => new nn.LayerNorm(0)).toThrow(/LayerNorm\(0\): normalizedShape must be a positive integer or a non-empty list/);
    expect(() => new nn.LayerNorm([])).toThrow(/normalizedShape must be/);
    expect(() => new nn.LayerNorm(6, { eps: 0 })).toThrow(/eps must be a positive number/);
    expect(() => new nn.LayerNorm(6, { elementwise_affine: false } as nn.LayerNormOptions)).toThrow(/option 'elementwise_affine' is not supported \(the options are eps, elementwiseAffine, bias\)/);
    expect(() => new nn.LayerNorm(6, { bias: 1 } as unknown as nn.LayerNormOptions)).toThrow(/bias must be true or false/);
  });
});
