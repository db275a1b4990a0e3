// nn.Embedding, nn.LSTM, nn.GRU and nn.RNN against PyTorch itself: the same models written with torch.nn
// (fixtures/make-recurrent-modules-reference.py, Debian's python3-torch) and with wasmgrad's nn API, on
// PyTorch's weights re-laid as ours (W = weight_ihᵀ, U = weight_hhᵀ, the LSTM's and RNN's one bias
// bias_ih + bias_hh, GRU gates r, z, n → z, r, h with its two biases as two rows):
//   lstm   — Embedding(padding_idx 0) → 2-layer bidirectional LSTM → Linear on out[:, -1] (out.select(1, -1)):
//            logits, loss, every parameter's gradient (the padding row's is zero on both sides), and h_n, c_n
//            against hN, cN ([batch, numLayers·2, hidden] here, PyTorch's [numLayers·2, batch, hidden]);
//   gruRnn — a 2-layer bidirectional GRU's h_n as h0 of a 2-layer bidirectional ReLU RNN: logits, loss and
//            gradients, which checks that h0 is split by layer and direction as PyTorch reads it.
// Tolerance as test/layers/recurrent-pytorch.test.ts: values |Δ| ≤ 1e-5 + 1e-4·|want|, loss
// 1e-5·(1 + loss), gradients |Δ| ≤ 1e-5 + 1e-3·|g| (f32 on both sides, sums in other orders). Without
// python3-torch the tests skip with the reason, except under CI=true, where they fail.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nn, tensor, type Bidirectional, type Model } from "../../src/index";
import type { Parameter } from "../../src/layers/layer";
import type { Value } from "../../src/nn/trace";
import { gruGateOrder, runPython, torchAvailable, torchRequired, transposed, TORCH_MISSING } from "../onnx/torch-support";
import { worstMismatch } from "../support/twin-heaps";

interface Flat {
  shape: number[];
  data: number[];
}
interface Case {
  name: "lstm" | "gruRnn";
  ids: Flat;
  labels: number[];
  params: Record<string, Flat>;
  logits: Flat;
  loss: number;
  grads: Record<string, Flat>;
  states: Record<string, Flat>;
}

const hasTorch = torchAvailable();
const dir = mkdtempSync(join(tmpdir(), "wasmgrad-torch-nn-recurrent-"));
const generated = hasTorch ? await runPython([join(import.meta.dir, "fixtures", "make-recurrent-modules-reference.py"), join(dir, "reference.json")]) : undefined;
const cases: Case[] = generated?.code === 0 ? JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")).cases : [];

const [V, E, H, C] = [11, 5, 4, 3];

type Recurrent = nn.LSTM | nn.GRU | nn.RNN;

/** PyTorch's tensors (weights or their gradients) for one module's layers, keyed by our parameters. */
function recurrentValues(module: Recurrent, prefix: string, from: Record<string, Flat>, forGradients: boolean): [Parameter, Float32Array][] {
  const gru = module instanceof nn.GRU;
  const order = gru ? (v: Float32Array) => gruGateOrder(v, H) : (v: Float32Array) => v;
  return (module.layers as Bidirectional[]).flatMap((level, l) =>
    [level.forwardLayer, level.backwardLayer].flatMap((cell, d) => {
      const key = (name: string) => from[`${prefix}.${name}_l${l}${d ? "_reverse" : ""}`];
      const [bih, bhh] = [Float32Array.from(key("bias_ih").data), Float32Array.from(key("bias_hh").data)];
      // One bias for LSTM and RNN: the sum of PyTorch's two, whose gradients are equal (each is ours).
      const bias = gru ? Float32Array.from([...order(bih), ...order(bhh)]) : forGradients ? bih : bih.map((v, i) => v + bhh[i]);
      return [[cell.kernel, order(transposed(key("weight_ih")))], [cell.recurrentKernel, order(transposed(key("weight_hh")))], [cell.bias!, bias]] as [Parameter, Float32Array][];
    }),
  );
}

/** Every parameter of the model from PyTorch's tensors (weights or gradients); the head only if the model has one. */
function allValues(model: Model, recurrent: [Recurrent, string][], from: Record<string, Flat>, forGradients: boolean): Map<Parameter, Float32Array> {
  const table = model.layers.find((l) => l.type === "Embedding")!.params[0];
  const dense = model.layers.find((l) => l.type === "Dense")?.params;
  return new Map([
    [table, Float32Array.from(from["emb.weight"].data)],
    ...recurrent.flatMap(([m, prefix]) => recurrentValues(m, prefix, from, forGradients)),
    ...(dense ? ([[dense[0], transposed(from["fc.weight"])], [dense[1], Float32Array.from(from["fc.bias"].data)]] as [Parameter, Float32Array][]) : []),
  ]);
}

class LstmTagger extends nn.Module {
  emb = new nn.Embedding(V, E, { paddingIdx: 0 });
  lstm = new nn.LSTM(E, H, { numLayers: 2, bidirectional: true, batchFirst: true });
  fc = new nn.Linear(2 * H, C);
  constructor(readonly pick: "logits" | "h" | "c" = "logits") {
    super();
  }
  forward(x: Value): Value {
    const [out, [h, c]] = this.lstm.call(this.emb.call(x));
    return this.pick === "logits" ? this.fc.call(out.select(1, -1)) : this.pick === "h" ? h : c;
  }
}

class GruRnn extends nn.Module {
  emb = new nn.Embedding(V, E);
  gru = new nn.GRU(E, H, { numLayers: 2, bidirectional: true });
  rnn = new nn.RNN(E, H, { numLayers: 2, bidirectional: true, nonlinearity: "relu" });
  fc = new nn.Linear(2 * H, C);
  forward(x: Value): Value {
    const e = this.emb.call(x);
    const [, h] = this.gru.call(e);
    const [out] = this.rnn.call(e, h);
    return this.fc.call(out.select(1, -1));
  }
}

if (torchRequired && !hasTorch) {
  test("PyTorch is installed for /usr/bin/python3 (CI=true requires it)", () => {
    throw new Error(`${TORCH_MISSING}; under CI=true the PyTorch comparison tests must run`);
  });
}

describe.skipIf(!hasTorch)(`nn's recurrent modules equal torch.nn's${hasTorch ? "" : ` — SKIPPED: ${TORCH_MISSING}`}`, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the generator ran", () => {
    expect({ code: generated?.code, stderr: generated?.code ? generated.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(cases.map((c) => c.name)).toEqual(["lstm", "gruRnn"]);
  });

  for (const name of ["lstm", "gruRnn"] as const)
    test(`${name}: logits, loss and every parameter's gradient`, () => {
      const c = cases.find((k) => k.name === name)!;
      const ids = tensor(Float32Array.from(c.ids.data), c.ids.shape);
      const module = name === "lstm" ? new LstmTagger() : new GruRnn();
      module.call(ids);
      const recurrent: [Recurrent, string][] = module instanceof LstmTagger ? [[module.lstm, "lstm"]] : [[module.gru, "gru"], [module.rnn, "rnn"]];
      const weights = allValues(module.model, recurrent, c.params, false);
      expect(weights.size).toBe(module.model.params.length);
      module.model.setWeights(module.model.params.map((p) => weights.get(p)!));

      const failures: string[] = [];
      const output = module.call(ids);
      const logits = worstMismatch(output.data, c.logits.data, 1e-5, 1e-4);
      if (logits.worst > 1) failures.push(`logits [${logits.at}] ${logits.got} vs ${logits.want}`);
      const loss = new nn.CrossEntropyLoss().call(output, Int32Array.from(c.labels));
      if (Math.abs(loss.item() - c.loss) > 1e-5 * (1 + c.loss)) failures.push(`loss ${loss.item()} vs ${c.loss}`);
      loss.backward();
      const want = allValues(module.model, recurrent, c.grads, true);
      const heap = module.model.kernels.memory.buffer;
      for (const p of module.model.params) {
        const r = worstMismatch(new Float32Array(heap, p.grad, p.size), want.get(p)!, 1e-5, 1e-3);
        if (r.worst > 1) failures.push(`${p.name}[${r.at}]: ours ${r.got}, PyTorch ${r.want}`);
      }
      expect(failures).toEqual([]);
      if (name === "lstm") {
        const table = module.model.params[0];
        expect(Array.from(new Float32Array(heap, table.grad, E))).toEqual(new Array(E).fill(0));
      }
    });

  test("lstm: hN and cN are PyTorch's h_n and c_n with the batch first", () => {
    const c = cases.find((k) => k.name === "lstm")!;
    const ids = tensor(Float32Array.from(c.ids.data), c.ids.shape);
    for (const pick of ["h", "c"] as const) {
      const module = new LstmTagger(pick);
      module.call(ids);
      const weights = allValues(module.model, [[module.lstm, "lstm"]], c.params, false);
      module.model.setWeights(module.model.params.map((p) => weights.get(p)!));
      const got = module.call(ids);
      expect(got.shape).toEqual(c.states[pick].shape);
      const r = worstMismatch(got.data, c.states[pick].data, 1e-5, 1e-4);
      expect({ pick, worst: r.worst > 1 ? `[${r.at}] ${r.got} vs ${r.want}` : "ok" }).toEqual({ pick, worst: "ok" });
    }
  });
});
