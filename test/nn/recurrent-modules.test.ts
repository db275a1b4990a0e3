// nn.Embedding, nn.RNN, nn.LSTM and nn.GRU: PyTorch-style models (class extends nn.Module) written with them
// trace to the Keras-style layers and, on the same weights, give exactly (bit for bit) the outputs, loss and
// parameter gradients of the equivalent Keras-style Model — those layers are checked against PyTorch itself
// in test/layers/recurrent-pytorch.test.ts. Covered: a stacked bidirectional LSTM read at its last step
// (out.select(1, -1)); hN/cN laid out [numLayers·D, hidden] per sample with entry l·D + d = layer l,
// direction d, checked against the Keras layers' returned states; h0/c0 from an encoder's final states into a
// decoder (a GRU into an RNN, and a two-layer bidirectional LSTM into another); PyTorch's initialisation;
// inter-layer dropout in training mode only; a seeded training run; and the refusals, each an InputError
// naming the module.

import { describe, expect, test } from "bun:test";
import { expectRefused } from "../support/refused";
import {
  Bidirectional, Cropping2D, Dense, Embedding, GRU, Input, LSTM, Model, Reshape, SimpleRNN, nn, optim, tensor,
  type SymbolicTensor, type Tensor,
} from "../../src/index";
import type { Layer } from "../../src/layers/layer";
import type { Value } from "../../src/nn/trace";

const V = 11, E = 5, H = 4, T = 6, N = 3;
/** Token ids [N, T] with the padding id 0 among them. */
const ids = tensor(Float32Array.from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 0, 8, 9, 7, 9, 3, 2]), [N, T]);
const labels = Int32Array.from([0, 2, 1]);

/** A model's parameter values, as f32 copies keyed by parameter object. */
function weightsOf(model: Model): Map<unknown, Float32Array> {
  const heap = model.kernels.memory.buffer;
  return new Map(model.params.map((p) => [p, new Float32Array(heap, p.value, p.size).slice()]));
}

/**
 * Gives the PyTorch-style model the Keras-style twin's weights, layer by layer ([module's layer, twin's layer]
 * pairs: graph orders may differ), and returns, for each twin parameter, the module's parameter.
 */
function copyWeights(module: Model, twin: Model, pairs: [Layer, Layer][]): Map<unknown, unknown> {
  twin.build();
  const twinParams = new Map<unknown, unknown>();
  for (const [mine, theirs] of pairs) {
    expect(mine.params.map((p) => p.shape)).toEqual(theirs.params.map((p) => p.shape));
    mine.params.forEach((p, i) => twinParams.set(p, theirs.params[i]));
  }
  expect(twinParams.size).toBe(module.params.length);
  const values = weightsOf(twin);
  module.setWeights(module.params.map((p) => values.get(twinParams.get(p))!));
  return twinParams;
}

/** Logits, loss and every gradient of the module's model equal the twin's, bit for bit. */
function expectSameModel(module: Model, twin: Model, twinParams: Map<unknown, unknown>, inputs: Tensor, targets: Int32Array): void {
  expect(Array.from((module.predict(inputs) as Tensor).data)).toEqual(Array.from((twin.predict(inputs) as Tensor).data));
  for (const m of [module, twin]) m.compile({ optimizer: "sgd", loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
  const a = module.computeGradients(inputs, targets), b = twin.computeGradients(inputs, targets);
  expect(a.loss).toBe(b.loss);
  module.params.forEach((p, i) => {
    const j = twin.params.indexOf(twinParams.get(p) as (typeof twin.params)[number]);
    expect({ name: p.name, grad: Array.from(a.grads[i].data) }).toEqual({ name: p.name, grad: Array.from(b.grads[j].data) });
  });
}

/** The Keras-style counterpart of out.select(1, -1) on [T, F]: a crop between two reshapes. */
function lastStep(x: SymbolicTensor): SymbolicTensor {
  const [steps, features] = x.shape;
  const cropped = new Cropping2D({ cropping: [[0, 0], [steps - 1, 0]] }).apply(new Reshape({ targetShape: [1, steps, features] }).apply(x));
  return new Reshape({ targetShape: [features] }).apply(cropped);
}

class Tagger extends nn.Module {
  emb = new nn.Embedding(V, E, { paddingIdx: 0 });
  lstm = new nn.LSTM(E, H, { batchFirst: true, bidirectional: true, numLayers: 2 });
  fc = new nn.Linear(2 * H, 3);
  forward(x: Value): Value {
    const [out] = this.lstm.call(this.emb.call(x));
    return this.fc.call(out.select(1, -1));
  }
}

const findLayer = (model: Model, type: string) => model.layers.find((l) => l.type === type)!;

describe("nn.LSTM (two layers, bidirectional) behind nn.Embedding, nn.Linear on the last step", () => {
  test("shapes, the traced layers, and exactly the Keras-style model's outputs and gradients", () => {
    const tagger = new Tagger();
    expect(tagger.call(ids).shape).toEqual([N, 3]);
    expect(tagger.model.layers.map((l) => l.type)).toEqual(["Embedding", "Bidirectional", "Bidirectional", "Reshape", "Cropping2D", "Reshape", "Dense"]);
    const [first, second] = tagger.lstm.layers as Bidirectional[];
    expect(first.forwardLayer.kernel.shape).toEqual([E, 4 * H]);
    expect(second.forwardLayer.kernel.shape).toEqual([2 * H, 4 * H]);
    expect(first.forwardLayer.getConfig()).toMatchObject({ unitForgetBias: false, returnSequences: true, returnState: true });

    const x = Input({ shape: [T] });
    const embedding = new Embedding({ inputDim: V, outputDim: E, paddingIndex: 0 });
    const levels = [0, 1].map(() => new Bidirectional({ layer: new LSTM({ units: H, returnSequences: true }) }));
    const dense = new Dense({ units: 3 });
    const twin = new Model({ inputs: x, outputs: dense.apply(lastStep(levels[1].apply(levels[0].apply(embedding.apply(x))))) });
    const pairs: [Layer, Layer][] = [[findLayer(tagger.model, "Embedding"), embedding], [first, levels[0]], [second, levels[1]], [findLayer(tagger.model, "Dense"), dense]];
    expectSameModel(tagger.model, twin, copyWeights(tagger.model, twin, pairs), ids, labels);
  });

  test("hN and cN are [numLayers·D, hidden] per sample, entry l·D + d = layer l, direction d; output is [T, D·hidden]", () => {
    class States extends nn.Module {
      emb = new nn.Embedding(V, E);
      lstm = new nn.LSTM(E, H, { bidirectional: true, numLayers: 2 });
      constructor(readonly pick: "output" | "h" | "c") {
        super();
      }
      forward(x: Value): Value {
        const [out, [h, c]] = this.lstm.call(this.emb.call(x));
        return this.pick === "output" ? out : this.pick === "h" ? h : c;
      }
    }
    const modules = (["output", "h", "c"] as const).map((pick) => new States(pick));
    const results = modules.map((m) => m.call(ids));
    expect(results.map((r) => r.shape)).toEqual([[N, T, 2 * H], [N, 4, H], [N, 4, H]]);

    // The Keras layers' own states, in PyTorch's order: layer 0 forward, layer 0 backward, layer 1 …
    const x = Input({ shape: [T] });
    const embedding = new Embedding({ inputDim: V, outputDim: E });
    const levels = [0, 1].map(() => new Bidirectional({ layer: new LSTM({ units: H, returnSequences: true, returnState: true }) }));
    const [seq0, fh0, fc0, bh0, bc0] = levels[0].applyAll(embedding.apply(x));
    const [seq1, fh1, fc1, bh1, bc1] = levels[1].applyAll(seq0);
    const twin = new Model({ inputs: x, outputs: [seq1, fh0, bh0, fh1, bh1, fc0, bc0, fc1, bc1] });
    for (const m of modules) {
      const [first, second] = m.lstm.layers;
      copyWeights(m.model, twin, [[findLayer(m.model, "Embedding"), embedding], [first, levels[0]], [second, levels[1]]]);
    }
    const want = twin.predictAll(ids);
    const [out, h, c] = modules.map((m) => m.call(ids).data);
    expect(Array.from(out)).toEqual(Array.from(want[0].data));
    for (let n = 0; n < N; n++)
      for (let slot = 0; slot < 4; slot++) {
        const row = (data: Float32Array) => Array.from(data.subarray((n * 4 + slot) * H, (n * 4 + slot + 1) * H));
        expect(row(h)).toEqual(Array.from(want[1 + slot].data.subarray(n * H, (n + 1) * H)));
        expect(row(c)).toEqual(Array.from(want[5 + slot].data.subarray(n * H, (n + 1) * H)));
      }
    // As in PyTorch: the last layer's forward final state is its output at the last step, the backward one's at step 0.
    expect(Array.from(h.subarray(2 * H, 3 * H))).toEqual(Array.from(out.subarray((T - 1) * 2 * H, (T - 1) * 2 * H + H)));
    expect(Array.from(h.subarray(3 * H, 4 * H))).toEqual(Array.from(out.subarray(H, 2 * H)));
  });

  test("initial states: an encoder's [hN, cN] start a decoder, layer by layer and direction by direction", () => {
    class Seq2Seq extends nn.Module {
      emb = new nn.Embedding(V, E);
      encoder = new nn.LSTM(E, H, { bidirectional: true, numLayers: 2 });
      decoder = new nn.LSTM(E, H, { bidirectional: true, numLayers: 2 });
      fc = new nn.Linear(2 * H, 3);
      forward(x: Value): Value {
        const e = this.emb.call(x);
        const [, states] = this.encoder.call(e);
        const [out] = this.decoder.call(e, states);
        return this.fc.call(out.select(1, -1));
      }
    }
    const module = new Seq2Seq();
    expect(module.call(ids).shape).toEqual([N, 3]);

    const x = Input({ shape: [T] });
    const embedding = new Embedding({ inputDim: V, outputDim: E });
    const make = () => new Bidirectional({ layer: new LSTM({ units: H, returnSequences: true, returnState: true }) });
    const [enc0, enc1, dec0, dec1] = [make(), make(), make(), make()];
    const e = embedding.apply(x);
    const [s0, ...states0] = enc0.applyAll(e);
    const [, ...states1] = enc1.applyAll(s0);
    const [d0] = dec0.applyAll([e, ...states0]);
    const [d1] = dec1.applyAll([d0, ...states1]);
    const dense = new Dense({ units: 3 });
    const twin = new Model({ inputs: x, outputs: dense.apply(lastStep(d1)) });
    const pairs: [Layer, Layer][] = [
      [findLayer(module.model, "Embedding"), embedding], [module.encoder.layers[0], enc0], [module.encoder.layers[1], enc1],
      [module.decoder.layers[0], dec0], [module.decoder.layers[1], dec1], [findLayer(module.model, "Dense"), dense],
    ];
    expectSameModel(module.model, twin, copyWeights(module.model, twin, pairs), ids, labels);
  });
});

describe("nn.GRU and nn.RNN", () => {
  class GruThenRnn extends nn.Module {
    emb = new nn.Embedding(V, E);
    gru = new nn.GRU(E, 6);
    rnn = new nn.RNN(6, 6, { nonlinearity: "relu" });
    fc = new nn.Linear(6, 3);
    forward(x: Value): Value {
      const [out, h] = this.gru.call(this.emb.call(x));
      const [, hN] = this.rnn.call(out, h);
      return this.fc.call(hN.view(-1, 6));
    }
  }

  test("a GRU's output and final state into a ReLU RNN: exactly the Keras-style model's outputs and gradients", () => {
    const module = new GruThenRnn();
    expect(module.call(ids).shape).toEqual([N, 3]);
    const gru = module.gru.layers[0] as GRU, rnn = module.rnn.layers[0] as SimpleRNN;
    expect(gru.bias!.shape).toEqual([2, 18]);
    expect(rnn.activation).toBe("relu");

    const x = Input({ shape: [T] });
    const embedding = new Embedding({ inputDim: V, outputDim: E });
    const twinGru = new GRU({ units: 6, returnSequences: true, returnState: true });
    const twinRnn = new SimpleRNN({ units: 6, activation: "relu" });
    const dense = new Dense({ units: 3 });
    const [sequence, h] = twinGru.applyAll(embedding.apply(x));
    const twin = new Model({ inputs: x, outputs: dense.apply(twinRnn.apply([sequence, h])) });
    const pairs: [Layer, Layer][] = [[findLayer(module.model, "Embedding"), embedding], [gru, twinGru], [rnn, twinRnn], [findLayer(module.model, "Dense"), dense]];
    expectSameModel(module.model, twin, copyWeights(module.model, twin, pairs), ids, labels);
  });

  test("bias: false, and a three-layer bidirectional GRU's shapes", () => {
    class Deep extends nn.Module {
      emb = new nn.Embedding(V, E);
      gru = new nn.GRU(E, H, { numLayers: 3, bidirectional: true, bias: false });
      forward(x: Value): Value {
        const [, h] = this.gru.call(this.emb.call(x));
        return h;
      }
    }
    const deep = new Deep();
    expect(deep.call(ids).shape).toEqual([N, 6, H]);
    const levels = deep.gru.layers as Bidirectional[];
    expect(levels.map((l) => l.forwardLayer.kernel.shape)).toEqual([[E, 3 * H], [2 * H, 3 * H], [2 * H, 3 * H]]);
    expect(levels.every((l) => l.forwardLayer.bias === undefined && l.backwardLayer.bias === undefined)).toBe(true);
  });
});

describe("PyTorch's initialisation and dropout", () => {
  test("weights U(±1/√hidden); the LSTM's and RNN's one bias the sum of two (within ±2/√hidden), the GRU's two rows each U(±1/√hidden); no forget bias; Embedding N(0, 1) with the padding row zero", () => {
    class All extends nn.Module {
      emb = new nn.Embedding(50, 16, { paddingIdx: -1 });
      lstm = new nn.LSTM(16, 16);
      gru = new nn.GRU(16, 16);
      rnn = new nn.RNN(16, 16);
      forward(x: Value): Value {
        const e = this.emb.call(x);
        const [a] = this.lstm.call(e);
        const [b] = this.gru.call(a);
        const [c] = this.rnn.call(b);
        return c;
      }
    }
    const m = new All();
    m.call(tensor(new Float32Array(4), [1, 4]));
    const values = weightsOf(m.model);
    const k = 1 / 4;
    const range = (p: { value: number } | undefined) => {
      const v = values.get(p)!;
      return { min: Math.min(...v), max: Math.max(...v), outside: v.filter((x) => Math.abs(x) > k).length };
    };
    for (const module of [m.lstm, m.gru, m.rnn]) {
      const cell = module.layers[0] as LSTM | GRU | SimpleRNN;
      for (const p of [cell.kernel, cell.recurrentKernel]) {
        const r = range(p);
        expect([r.min >= -k, r.max <= k, r.max > 0.9 * k]).toEqual([true, true, true]);
      }
      const b = range(cell.bias);
      if (module === m.gru) expect([b.min >= -k, b.max <= k]).toEqual([true, true]);
      else expect([b.min >= -2 * k, b.max <= 2 * k, b.outside > 0]).toEqual([true, true, true]);
    }
    // No unit forget bias: the forget block's mean is near 0, not 1.
    const lstmBias = values.get((m.lstm.layers[0] as LSTM).bias)!;
    expect(Math.abs(lstmBias.subarray(16, 32).reduce((a, b) => a + b, 0) / 16)).toBeLessThan(0.2);
    const table = values.get((findLayer(m.model, "Embedding") as Embedding).embeddings)!;
    expect(Array.from(table.subarray(49 * 16))).toEqual(new Array(16).fill(0));
    const mean = table.reduce((a, b) => a + b, 0) / (49 * 16);
    const variance = table.reduce((a, b) => a + b * b, 0) / (49 * 16) - mean * mean;
    expect(variance).toBeGreaterThan(0.8);
    expect(variance).toBeLessThan(1.2);
  });

  test("dropout: one Dropout after every layer but the last, active in training mode only", () => {
    class Dropped extends nn.Module {
      emb = new nn.Embedding(V, E);
      gru = new nn.GRU(E, H, { numLayers: 3, dropout: 0.5 });
      forward(x: Value): Value {
        return this.gru.call(this.emb.call(x))[0];
      }
    }
    const m = new Dropped();
    const a = m.call(ids).data, b = m.call(ids).data;
    expect(m.model.layers.map((l) => l.type)).toEqual(["Embedding", "GRU", "Dropout", "GRU", "Dropout", "GRU"]);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    m.eval();
    expect(Array.from(m.call(ids).data)).toEqual(Array.from(m.call(ids).data));
  });
});

test("training: a seeded Embedding → 2-layer bidirectional LSTM (dropout 0.1) → Linear learns to recall the first token; the padding row stays zero", () => {
  // 48 sequences of 6 tokens from 1…7 with some 0s (padding); the class is the first token mod 3.
  const count = 48, seqs = new Float32Array(count * T), targets = new Int32Array(count);
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) / (1 << 24);
  for (let n = 0; n < count; n++) {
    for (let t = 0; t < T; t++) seqs[n * T + t] = t > 0 && next() < 0.2 ? 0 : 1 + Math.floor(next() * 7);
    targets[n] = seqs[n * T] % 3;
  }
  const x = tensor(seqs, [count, T]);
  class Recall extends nn.Module {
    emb = new nn.Embedding(8, 8, { paddingIdx: 0 });
    lstm = new nn.LSTM(8, 8, { numLayers: 2, bidirectional: true, dropout: 0.1 });
    fc = new nn.Linear(16, 3);
    forward(v: Value): Value {
      const [out] = this.lstm.call(this.emb.call(v));
      return this.fc.call(out.select(1, -1));
    }
  }
  const model = new Recall();
  model.seed = 7;
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.02 });
  const criterion = new nn.CrossEntropyLoss();
  const losses: number[] = [];
  for (let step = 0; step < 60; step++) {
    optimizer.zeroGrad();
    const loss = criterion.call(model.call(x), targets);
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  console.log(`nn.LSTM recall: loss ${losses[0].toFixed(3)} → ${losses[losses.length - 1].toFixed(3)}`);
  expect(losses[losses.length - 1]).toBeLessThan(0.3 * losses[0]);
  const table = weightsOf(model.model).get((findLayer(model.model, "Embedding") as Embedding).embeddings)!;
  expect(Array.from(table.subarray(0, 8))).toEqual(new Array(8).fill(0));
  model.eval();
  const out = model.call(x).data;
  let correct = 0;
  for (let n = 0; n < count; n++) {
    const row = Array.from(out.subarray(n * 3, n * 3 + 3));
    if (row.indexOf(Math.max(...row)) === targets[n]) correct++;
  }
  expect(correct / count).toBeGreaterThan(0.9);
});

describe("refusals: InputErrors that name the module", () => {

  test("options PyTorch has that these modules do not, and bad values", () => {
    expectRefused(() => new nn.LSTM(5, 4, { batchFirst: false }), /^LSTM\(5, 4\): batchFirst false .* wasmgrad's sequences are batch-first, \[batch, steps, features\]/);
    expectRefused(() => new nn.LSTM(5, 4, { projSize: 2 } as object), "LSTM(5, 4): option 'projSize' is not supported");
    expectRefused(() => new nn.GRU(5, 4, { nonlinearity: "relu" } as object), "GRU(5, 4): option 'nonlinearity' is not supported");
    expectRefused(() => new nn.RNN(5, 4, { nonlinearity: "sigmoid" as "relu" }), "RNN(5, 4): nonlinearity must be 'tanh' or 'relu', got 'sigmoid'");
    expectRefused(() => new nn.GRU(5, 4, { dropout: 1 }), "GRU(5, 4): dropout must be a probability in [0, 1)");
    expectRefused(() => new nn.RNN(5, 4, { numLayers: 0 }), "RNN(5, 4): numLayers must be a positive integer");
    expectRefused(() => new nn.LSTM(5, 0), "LSTM(5, 0): hiddenSize must be a positive integer");
    expectRefused(() => new nn.LSTM(5, 4, { bidirectional: "yes" as unknown as boolean }), "LSTM(5, 4): bidirectional must be true or false");
    expectRefused(() => new nn.Embedding(10, 3, { paddingIdx: 10 }), "Embedding(10, 3): paddingIdx must be an integer in [−10, 9], got 10");
    expectRefused(() => new nn.Embedding(10, 3, { maxNorm: 1 } as object), "Embedding(10, 3): option 'maxNorm' is not supported");
  });

  test("inputs of the wrong shape, bad initial states, and a module that returns several values called on data", () => {
    const call = (forward: (v: Value) => Value, data: Tensor = ids) => {
      class M extends nn.Module {
        forward(v: Value): Value {
          return forward(v);
        }
      }
      return new M().call(data);
    };
    const emb = () => new nn.Embedding(V, E);
    expectRefused(() => call((v) => new nn.LSTM(7, 4).call(emb().call(v))[0]), "LSTM(7, 4) gets inputs shaped [6,5] per sample; it needs sequences [steps, 7]");
    expectRefused(() => call((v) => new nn.GRU(6, 4).call(v)[0]), "GRU(6, 4) gets inputs shaped [6] per sample");
    expectRefused(() => call((v) => {
      const e = emb().call(v);
      const [, [h]] = new nn.LSTM(E, 4).call(e);
      return new nn.LSTM(E, 4, { numLayers: 2 }).call(e, [h, h])[0];
    }), "LSTM(5, 4): h0 must be shaped [2, 4] per sample (numLayers·directions, hidden; PyTorch's [2, batch, 4] batch first), got [1,4]");
    expectRefused(() => call((v) => {
      const e = emb().call(v);
      const [, h] = new nn.GRU(E, 4).call(e);
      return new nn.LSTM(E, 4).call(e, h as unknown as [Value, Value])[0];
    }), "LSTM(5, 4): the initial states are a pair [h0, c0]");
    expectRefused(() => new nn.LSTM(3, 4).call(tensor(new Float32Array(24), [2, 4, 3])), "LSTM's forward() returns 2 values; a module called on data must return one");
    expectRefused(() => call((v) => emb().call(v).select(0, 1)), "select(0, 1): dim must be one of the per-sample dims 1..2 (dim 0 is the batch)");
    expectRefused(() => call((v) => emb().call(v).select(1, 6)), "select(1, 6): index out of range for dim 1 of size 6");
  });
});
