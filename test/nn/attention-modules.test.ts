// nn.MultiheadAttention, nn.TransformerEncoderLayer and nn.TransformerEncoder without PyTorch (their values
// are checked against torch.nn in attention-modules-pytorch.test.ts): PyTorch's initialisation (the
// torchAttention initializer: xavier_uniform over in_proj_weight's fans, out_proj U(±1/√E), zero biases),
// the shapes and meaning of what a call returns (weights rows summing to one, the average of the per-head
// weights, the causal mask's zeros), which inputs the layer gets (self-, key = value and cross-attention),
// the encoder layer's parts (dropout only in training mode, bias false), a stack's layers, a short
// training run, nn.Linear on sequences, and the refusals, each an InputError naming the module.
//
// Tolerance: moments of n = 40,000 draws within 4% (variance) and 0.02·limit (mean); the layers' own
// kernels (n = 4,096 each) within 10%; their standard errors are under 1% and 2%.

import { describe, expect, test } from "bun:test";
import { moments } from "../support/moments";
import { expectRefused } from "../support/refused";
import { Rng } from "../../src/engine/rng";
import { nn, optim, tensor, type Model, type Tensor } from "../../src/index";
import { Dense } from "../../src/layers/dense";
import { Reshape } from "../../src/layers/reshape";
import { initialize } from "../../src/layers/initializers";
import type { Parameter } from "../../src/layers/layer";
import type { Value } from "../../src/nn/trace";
import { seededValues } from "../support/twin-heaps";

const N = 3, T = 5, E = 8;
const x = tensor(seededValues(N * T * E, 11), [N, T, E]);

const valuesOf = (model: Model, p: Parameter) => new Float32Array(model.kernels.memory.buffer, p.value, p.size).slice();

/** A root module whose forward() is the given function. */
function rooted(forward: (v: Value) => Value): nn.Module {
  return new (class extends nn.Module {
    forward(v: Value): Value {
      return forward(v);
    }
  })();
}

describe("PyTorch's initialisation", () => {
  test("torchAttention: U(±√(6 / (fan_in + fan_out))) over the fans it is given, refused without them", () => {
    const out = new Float32Array(40000);
    initialize(out, [100, 400], "torchAttention", new Rng(3), { fans: [24, 72] });
    const limit = Math.sqrt(6 / 96), m = moments(out);
    expect(m.min).toBeGreaterThanOrEqual(-limit);
    expect(m.max).toBeLessThanOrEqual(limit);
    expect(m.max).toBeGreaterThan(0.99 * limit);
    expect(Math.abs(m.variance / ((limit * limit) / 3) - 1)).toBeLessThan(0.04);
    expect(Math.abs(m.mean)).toBeLessThan(0.02 * limit);
    expectRefused(() => initialize(out, [100, 400], "torchAttention", new Rng(3)), "initializer 'torchAttention' is for MultiHeadAttention's kernels");
    const dense = rooted((v) => v.trace.apply(v, new Dense({ units: 3, kernelInitializer: "torchAttention" }), "dense"));
    expectRefused(() => dense.call(tensor(new Float32Array(8), [2, 4])), "is for MultiHeadAttention's kernels");
  });

  /** The module's four kernels and four biases after its first call on [N, T, embed] queries (and keys, values). */
  function attentionParams(mha: nn.MultiheadAttention, widths: [number, number, number]): { model: Model; params: Parameter[] } {
    const [e, kdim, vdim] = widths;
    const steps = 4;
    const module = rooted((v) => {
      if (kdim === e && vdim === e) return mha.call(v, v, v)[0];
      // Keys and values of other widths: projections of the query.
      const key = new nn.Linear(e, kdim).call(v), value = new nn.Linear(e, vdim).call(v);
      return mha.call(v, key, value)[0];
    });
    module.call(tensor(seededValues(2 * steps * e, 5), [2, steps, e]));
    return { model: module.model, params: [...mha.attention!.params] };
  }

  test("embedDim = kdim = vdim: the query, key and value kernels as thirds of one xavier_uniform [3E, E], out_proj U(±1/√E), biases zero", () => {
    const e = 64;
    const { model, params } = attentionParams(new nn.MultiheadAttention(e, 4), [e, e, e]);
    const [wq, bq, wk, bk, wv, bv, wo, bo] = params;
    expect([wq, wk, wv, wo].map((p) => p.shape)).toEqual([[64, 4, 16], [64, 4, 16], [64, 4, 16], [4, 16, 64]]);
    const inLimit = Math.sqrt(6 / (e + 3 * e));
    for (const w of [wq, wk, wv]) {
      const m = moments(valuesOf(model, w));
      expect(Math.max(m.max, -m.min)).toBeLessThanOrEqual(inLimit);
      expect(Math.max(m.max, -m.min)).toBeGreaterThan(0.98 * inLimit);
      expect(Math.abs(m.variance / ((inLimit * inLimit) / 3) - 1)).toBeLessThan(0.1);
    }
    const out = moments(valuesOf(model, wo)), outLimit = 1 / Math.sqrt(e);
    expect(Math.max(out.max, -out.min)).toBeLessThanOrEqual(outLimit);
    expect(Math.max(out.max, -out.min)).toBeGreaterThan(0.98 * outLimit);
    expect(Math.abs(out.variance / ((outLimit * outLimit) / 3) - 1)).toBeLessThan(0.1);
    for (const b of [bq, bk, bv, bo]) expect(valuesOf(model, b).every((v) => v === 0)).toBe(true);
  });

  test("kdim and vdim: each of q/k/v_proj_weight xavier_uniform on its own [E, width]", () => {
    const e = 64, kdim = 16, vdim = 256;
    const mha = new nn.MultiheadAttention(e, 4, { kdim, vdim });
    const { model, params } = attentionParams(mha, [e, kdim, vdim]);
    const [wq, , wk, , wv] = params;
    expect([wq, wk, wv].map((p) => p.shape)).toEqual([[64, 4, 16], [16, 4, 16], [256, 4, 16]]);
    for (const [w, width] of [[wq, e], [wk, kdim], [wv, vdim]] as const) {
      const limit = Math.sqrt(6 / (e + width)), m = moments(valuesOf(model, w));
      expect(Math.max(m.max, -m.min)).toBeLessThanOrEqual(limit);
      expect(Math.max(m.max, -m.min)).toBeGreaterThan(0.95 * limit);
      expect(Math.abs(m.variance / ((limit * limit) / 3) - 1)).toBeLessThan(0.1);
    }
  });
});

describe("nn.MultiheadAttention", () => {
  class Attend extends nn.Module {
    mha: nn.MultiheadAttention;
    constructor(readonly pick: (out: Value, weights: Value | null) => Value, readonly options: nn.MultiheadAttentionCallOptions = {}, heads = 2) {
      super();
      this.mha = new nn.MultiheadAttention(E, heads);
    }
    forward(v: Value): Value {
      const [out, weights] = this.mha.call(v, v, v, this.options);
      return this.pick(out, weights);
    }
  }

  test("self-attention: [output [T, E], weights averaged over heads [T, T]], or per head [heads, T, T]; rows sum to one", () => {
    const output = new Attend((out) => out).call(x);
    expect(output.shape).toEqual([N, T, E]);
    const averaged = new Attend((_, w) => w!), perHead = new Attend((_, w) => w!, { averageAttnWeights: false });
    perHead.seed = averaged.seed = 5;
    const mean = averaged.call(x), heads = perHead.call(x);
    expect(mean.shape).toEqual([N, T, T]);
    expect(heads.shape).toEqual([N, 2, T, T]);
    for (let r = 0; r < N * 2 * T; r++) expect(heads.data.subarray(r * T, (r + 1) * T).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // The averaged weights are the mean of the per-head ones (same seed, same weights).
    for (let n = 0; n < N; n++)
      for (let i = 0; i < T * T; i++) {
        const want = (heads.data[(n * 2 + 0) * T * T + i] + heads.data[(n * 2 + 1) * T * T + i]) / 2;
        expect(mean.data[n * T * T + i]).toBeCloseTo(want, 6);
      }
    // One head: its weights, as [T, T].
    expect(new Attend((_, w) => w!, {}, 1).call(x).shape).toEqual([N, T, T]);
  });

  test('attnMask "causal" (or isCausal): query i gets no weight on keys j > i', () => {
    for (const options of [{ attnMask: "causal" }, { isCausal: true }] as const) {
      const weights = new Attend((_, w) => w!, { ...options, averageAttnWeights: false }).call(x);
      for (let r = 0; r < N * 2; r++)
        for (let i = 0; i < T; i++)
          for (let j = 0; j < T; j++) {
            const w = weights.data[(r * T + i) * T + j];
            if (j > i) expect(w).toBe(0);
            else expect(w).toBeGreaterThan(0);
          }
    }
  });

  test("needWeights false returns null for the weights", () => {
    let seen: Value | null | undefined;
    new Attend((out, w) => ((seen = w), out), { needWeights: false }).call(x);
    expect(seen).toBeNull();
  });

  test("the layer gets one input for self-attention, two when key = value, three otherwise; kdim and vdim shape its kernels", () => {
    const self = new nn.MultiheadAttention(E, 2), shared = new nn.MultiheadAttention(E, 2, { kdim: 6, vdim: 6 });
    const cross = new nn.MultiheadAttention(E, 2, { kdim: 6, vdim: 3 });
    const memory = new nn.Linear(E, 6), other = new nn.Linear(E, 3);
    const module = rooted((v) => {
      const m = memory.call(v);
      const a = self.call(v, v, v)[0];
      const b = shared.call(a, m, m)[0];
      return cross.call(b, m, other.call(v))[0];
    });
    expect(module.call(x).shape).toEqual([N, T, E]);
    expect([self, shared, cross].map((m) => m.attention!.inputShapes.length)).toEqual([1, 2, 3]);
    expect(cross.attention!.params.map((p) => p.shape)).toEqual([[8, 2, 4], [2, 4], [6, 2, 4], [2, 4], [3, 2, 4], [2, 4], [2, 4, 8], [8]]);
    // Cross-attention to a sequence of another length S = 10: weights [T, S].
    const longer = new nn.MultiheadAttention(E, 2, { kdim: 4, vdim: 4 });
    const toLonger = rooted((v) => {
      const s = v.trace.apply(v, new Reshape({ targetShape: [2 * T, E / 2] }), "reshape");
      return longer.call(v, s, s)[1]!;
    });
    expect(toLonger.call(x).shape).toEqual([N, T, 2 * T]);
  });

  test("dropout on the attention weights acts in training mode only", () => {
    const m = new (class extends nn.Module {
      mha = new nn.MultiheadAttention(E, 2, { dropout: 0.5 });
      forward(v: Value): Value {
        return this.mha.call(v, v, v)[0];
      }
    })();
    const a = m.call(x).data.slice(), b = m.call(x).data.slice();
    expect(a).not.toEqual(b);
    m.eval();
    expect(m.call(x).data).toEqual(m.call(x).data);
  });
});

describe("nn.TransformerEncoderLayer and nn.TransformerEncoder", () => {
  test("PyTorch's defaults and parts: dimFeedforward 2048, dropout 0.1, relu, ε 1e-5, post-norm", () => {
    const layer = new nn.TransformerEncoderLayer(E, 2);
    expect([layer.dimFeedforward, layer.dropoutRate, layer.activation, layer.layerNormEps, layer.normFirst, layer.bias]).toEqual([2048, 0.1, "relu", 1e-5, false, true]);
    expect(layer.call(x).shape).toEqual([N, T, E]);
    const types = layer.model.layers.map((l) => l.type);
    expect(types.filter((t) => t === "Dropout").length).toBe(3);
    expect(types.filter((t) => t === "LayerNormalization").length).toBe(2);
    expect(layer.model.params.map((p) => p.shape)).toContainEqual([E, 2048]);
    // Dropout in training mode only.
    expect(layer.call(x).data).not.toEqual(layer.call(x).data);
    layer.eval();
    expect(layer.call(x).data).toEqual(layer.call(x).data);
  });

  test("dropout 0 adds no Dropout layers; bias false leaves out every bias (Linear, attention, LayerNorm)", () => {
    const plain = new nn.TransformerEncoderLayer(E, 2, { dimFeedforward: 16, dropout: 0, bias: false, activation: "gelu", normFirst: true });
    plain.call(x);
    expect(plain.model.layers.some((l) => l.type === "Dropout")).toBe(false);
    expect(plain.model.params.map((p) => p.name.split("/").slice(1).join("/"))).toEqual([
      "gamma", "query/kernel", "key/kernel", "value/kernel", "attention_output/kernel", "gamma", "kernel", "kernel",
    ]);
  });

  test("nn.TransformerEncoder: numLayers layers of their own (configured alike, weighted apart), causal mask to each, then norm", () => {
    const encoder = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(E, 2, { dimFeedforward: 16, dropout: 0 }), 3, { norm: new nn.LayerNorm(E) });
    class Causal extends nn.Module {
      constructor(readonly inner: nn.TransformerEncoder) {
        super();
      }
      forward(v: Value): Value {
        return this.inner.call(v, { mask: "causal" });
      }
    }
    const module = new Causal(encoder);
    expect(module.call(x).shape).toEqual([N, T, E]);
    expect(encoder.layers.length).toBe(3);
    const attentions = encoder.layers.map((l) => l.selfAttn.attention!);
    expect(new Set(attentions).size).toBe(3);
    expect(attentions.every((a) => a.useCausalMask)).toBe(true);
    expect(module.model.layers.filter((l) => l.type === "LayerNormalization").length).toBe(7);
    const kernels = attentions.map((a) => valuesOf(module.model, a.params[0]));
    expect(kernels[0]).not.toEqual(kernels[1]);
    // Causal: the first step's output depends on the first step only.
    const changed = x.data.slice();
    for (let i = E; i < T * E; i++) changed[i] += 1;
    module.eval();
    const a = module.call(x).data.slice(0, E), b = module.call(tensor(changed, x.shape)).data.slice(0, E);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 6));
  });

  test("training: an encoder layer under optim.AdamW fits a fixed batch", () => {
    const target = seededValues(N * T * E, 17);
    const layer = new nn.TransformerEncoderLayer(E, 2, { dimFeedforward: 32, dropout: 0, normFirst: true });
    layer.seed = 3;
    layer.call(x);
    const optimizer = new optim.AdamW(layer.parameters(), { lr: 0.01 });
    const criterion = new nn.MSELoss();
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      optimizer.zeroGrad();
      const loss = criterion.call(layer.call(x), target);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
  });
});

test("nn.Linear on sequences [T, in] acts on every step; images and other widths are refused", () => {
  const linear = new nn.Linear(E, 3);
  const module = rooted((v) => linear.call(v));
  const y = module.call(x);
  expect(y.shape).toEqual([N, T, 3]);
  const [kernel, bias] = linear.layer!.params.map((p) => valuesOf(module.model, p));
  for (let r = 0; r < N * T; r++)
    for (let o = 0; o < 3; o++) {
      let want = bias[o];
      for (let i = 0; i < E; i++) want += x.data[r * E + i] * kernel[i * 3 + o];
      expect(y.data[r * 3 + o]).toBeCloseTo(want, 5);
    }
  expectRefused(() => rooted((v) => new nn.Linear(7, 3).call(v)).call(x), "Linear(7, 3) gets inputs shaped [5,8]; on sequences [steps, features] it applies to every step, whose features must be 7");
  expectRefused(() => rooted((v) => new nn.Linear(40, 3).call(v)).call(x), "Linear(40, 3) gets inputs shaped [5,8]; flatten first");
  expectRefused(() => rooted((v) => new nn.Linear(2, 3).call(v)).call(tensor(new Float32Array(16), [2, 2, 2, 2])), "Linear(2, 3) gets inputs shaped [2,2,2]; flatten first");
});

describe("refusals: InputErrors that name the module", () => {
  test("options PyTorch has that these modules do not, and bad values", () => {
    expectRefused(() => new nn.MultiheadAttention(8, 2, { batchFirst: false }), /^MultiheadAttention\(8, 2\): batchFirst false .* wasmgrad's sequences are batch-first/);
    expectRefused(() => new nn.TransformerEncoderLayer(8, 2, { batchFirst: false }), /^TransformerEncoderLayer\(8, 2\): batchFirst false/);
    expectRefused(() => new nn.MultiheadAttention(8, 3), "MultiheadAttention(8, 3): embedDim must be divisible by numHeads");
    expectRefused(() => new nn.MultiheadAttention(8, 2, { addBiasKv: true }), "MultiheadAttention(8, 2): addBiasKv is not supported");
    expectRefused(() => new nn.MultiheadAttention(8, 2, { addZeroAttn: true }), "MultiheadAttention(8, 2): addZeroAttn is not supported");
    expectRefused(() => new nn.MultiheadAttention(8, 2, { kdims: 4 } as object), "MultiheadAttention(8, 2): option 'kdims' is not supported (the options are dropout, bias, batchFirst, kdim, vdim, addBiasKv, addZeroAttn)");
    expectRefused(() => new nn.MultiheadAttention(8, 2, { dropout: 1 }), "MultiheadAttention(8, 2): dropout must be a probability in [0, 1), got 1");
    expectRefused(() => new nn.MultiheadAttention(8, 2, { kdim: 0 }), "MultiheadAttention(8, 2): kdim must be a positive integer");
    expectRefused(() => new nn.TransformerEncoderLayer(8, 2, { activation: "tanh" as "relu" }), 'TransformerEncoderLayer(8, 2): activation must be "relu" or "gelu"');
    expectRefused(() => new nn.TransformerEncoderLayer(8, 2, { layerNormEps: 0 }), "TransformerEncoderLayer(8, 2): layerNormEps must be a positive number");
    expectRefused(() => new nn.TransformerEncoderLayer(8, 3), "MultiheadAttention(8, 3): embedDim must be divisible by numHeads");
    expectRefused(() => new nn.TransformerEncoderLayer(8, 2, { dimFeedForward: 16 } as object), "TransformerEncoderLayer(8, 2): option 'dimFeedForward' is not supported");
    expectRefused(() => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2), 0), "TransformerEncoder(…, 0): numLayers must be a positive integer");
    expectRefused(() => new nn.TransformerEncoder(new nn.Linear(8, 8) as unknown as nn.TransformerEncoderLayer, 2), "encoderLayer must be an nn.TransformerEncoderLayer");
  });

  test("masks other than causal, key padding masks, wrong shapes, and calls that cannot be traced", () => {
    const mha = () => new nn.MultiheadAttention(E, 2);
    const call = (forward: (v: Value) => Value, data: Tensor = x) => rooted(forward).call(data);
    expectRefused(() => call((v) => mha().call(v, v, v, { attnMask: [[0, 1], [0, 0]] as unknown as "causal" })[0]), 'MultiheadAttention(8, 2): attnMask must be "causal"');
    expectRefused(() => call((v) => mha().call(v, v, v, { keyPaddingMask: [[true]] as never })[0]), "MultiheadAttention(8, 2): keyPaddingMask is not supported");
    expectRefused(() => call((v) => mha().call(v, v, v, { needWeight: false } as object)[0]), "MultiheadAttention(8, 2) call: option 'needWeight' is not supported");
    expectRefused(() => call((v) => new nn.TransformerEncoderLayer(E, 2).call(v, { srcKeyPaddingMask: [[true]] as never })), "TransformerEncoderLayer(8, 2): srcKeyPaddingMask is not supported");
    expectRefused(() => call((v) => new nn.TransformerEncoderLayer(E, 2).call(v, { srcMask: "square" as "causal" })), 'TransformerEncoderLayer(8, 2): srcMask must be "causal"');
    expectRefused(() => call((v) => mha().call(v)[0]), "MultiheadAttention(8, 2): call(query, key, value) needs all three");
    expectRefused(() => mha().call(x), "MultiheadAttention(8, 2): call(query, key, value) needs all three (the query as key and value for self-attention); it returns [output, weights], so call it inside another module's forward()");
    expectRefused(() => call((v) => new nn.MultiheadAttention(6, 2).call(v, v, v)[0]), "MultiheadAttention(6, 2) gets a query shaped [5,8] per sample; it needs a sequence [steps, 6]");
    expectRefused(() => call((v) => new nn.MultiheadAttention(E, 2, { kdim: 4 }).call(v, v, v)[0]), "MultiheadAttention(8, 2) gets a key shaped [5,8] per sample; it needs a sequence [steps, 4]");
    expectRefused(() => call((v) => new nn.TransformerEncoderLayer(4, 2).call(v)), "TransformerEncoderLayer(4, 2) gets inputs shaped [5,8] per sample; it needs sequences [steps, 4]");
    expectRefused(() => call((v) => {
      const shared = mha();
      const once = shared.call(v, v, v, { attnMask: "causal" })[0];
      return shared.call(once, once, once)[0];
    }), 'MultiheadAttention(8, 2) was first called with the causal mask; wasmgrad makes the mask part of the layer, so every call must give attnMask "causal"');
  });
});
