// LSTM and GRU against PyTorch's nn.LSTM and nn.GRU (batch_first) on the same weights and inputs, from
// fixtures/make-recurrent-reference.py (Debian's python3-torch): logits, loss and the gradient of every
// parameter, for two models per cell:
//   states — initial states given as model inputs; returnSequences and returnState at once, the head
//            reading the mean over steps and the final h (Concatenate);
//   packed — sequences of lengths 5, 2 and 4 (zero steps after the end, Masking here, pack_padded_sequence
//            there), the head reading the final state, which is each sequence's last real step;
//   bidirectional — two stacked Bidirectional layers (concat) against num_layers=2, bidirectional=True,
//            the head reading the mean over steps.
// PyTorch's layouts are re-laid here: W = weight_ihᵀ, U = weight_hhᵀ; the LSTM's two biases are one here
// (their sum; each has the same gradient as ours); GRU gates r, z, n become z, r, h and its two biases the
// two rows of ours. This checks the GRU's reset-after form, which tfjs-layers lacks.
//
// Tolerance: logits |Δ| ≤ 1e-5 + 1e-4·|want|, loss 1e-5·(1 + loss), gradients |Δ| ≤ 1e-5 + 1e-3·|g| — f32
// on both sides, with the steps' sums in different orders. Without python3-torch the tests skip with the
// reason, except under CI=true, where they fail.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bidirectional, Concatenate, Dense, GRU, GlobalAveragePool1D, Input, LSTM, Masking, Model } from "../../src/index";
import { gruGateOrder, runPython, torchAvailable, torchRequired, transposed as transpose, TORCH_MISSING } from "../onnx/torch-support";
import { worstMismatch } from "../support/twin-heaps";

interface Flat {
  shape: number[];
  data: number[];
}
interface Case {
  kind: "lstm" | "gru";
  variant: "states" | "packed" | "bidirectional";
  labels: number[];
  inputs: Record<string, Flat>;
  params: Record<string, Flat>;
  logits: Flat;
  loss: number;
  grads: Record<string, Flat>;
}

const hasTorch = torchAvailable();
const dir = mkdtempSync(join(tmpdir(), "wasmgrad-torch-recurrent-"));
const generated = hasTorch ? await runPython([join(import.meta.dir, "fixtures", "make-recurrent-reference.py"), join(dir, "reference.json")]) : undefined;
const cases: Case[] = generated?.code === 0 ? JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")).cases : [];

/** Our parameters from PyTorch's parameters or their gradients: (W, U, b) per direction and layer, then the head. */
function ours(c: Case, from: Record<string, Flat>, units: number, forGradients: boolean): Float32Array[] {
  const order = c.kind === "gru" ? (v: Float32Array) => gruGateOrder(v, units) : (v: Float32Array) => v;
  const cell = (suffix: string): Float32Array[] => {
    const [bih, bhh] = [Float32Array.from(from[`bias_ih_${suffix}`].data), Float32Array.from(from[`bias_hh_${suffix}`].data)];
    // LSTM: one bias, the sum of PyTorch's two (whose gradients are equal, each the gradient of ours).
    const bias = c.kind === "gru" ? Float32Array.from([...order(bih), ...order(bhh)]) : forGradients ? bih : bih.map((v, i) => v + bhh[i]);
    return [order(transpose(from[`weight_ih_${suffix}`])), order(transpose(from[`weight_hh_${suffix}`])), bias];
  };
  const cells = c.variant === "bidirectional" ? ["l0", "l0_reverse", "l1", "l1_reverse"] : ["l0"];
  return [...cells.flatMap(cell), transpose(from["head.weight"]), Float32Array.from(from["head.bias"].data)];
}

function build(c: Case): { model: Model; feeds: Float32Array[] } {
  const [, T, F] = c.inputs.x.shape;
  const units = c.params.weight_hh_l0.shape[1];
  const classes = c.params["head.bias"].shape[0];
  const x = Input({ shape: [T, F], name: "x" });
  const make = (o: { returnSequences?: boolean; returnState?: boolean }) => (c.kind === "lstm" ? new LSTM({ units, ...o }) : new GRU({ units, ...o }));
  const head = new Dense({ units: classes });
  let model: Model;
  const feeds = [Float32Array.from(c.inputs.x.data)];
  if (c.variant === "states") {
    const states = Object.keys(c.inputs).filter((k) => k !== "x").map((k) => Input({ shape: [units], name: k }));
    for (const k of Object.keys(c.inputs)) if (k !== "x") feeds.push(Float32Array.from(c.inputs[k].data));
    const [sequence, h] = make({ returnSequences: true, returnState: true }).applyAll([x, ...states]);
    const logits = head.apply(new Concatenate().apply([new GlobalAveragePool1D().apply(sequence), h]));
    model = new Model({ inputs: [x, ...states], outputs: logits });
  } else if (c.variant === "bidirectional") {
    let y = x;
    for (let layer = 0; layer < 2; layer++) y = new Bidirectional({ layer: make({ returnSequences: true }) }).apply(y);
    model = new Model({ inputs: x, outputs: head.apply(new GlobalAveragePool1D().apply(y)) });
  } else {
    model = new Model({ inputs: x, outputs: head.apply(make({}).apply(new Masking({ maskValue: 0 }).apply(x))) });
  }
  model.setWeights(ours(c, c.params, units, false));
  model.compile({ optimizer: "sgd", loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
  return { model, feeds };
}

const NAMES = ["lstm states", "lstm packed", "lstm bidirectional", "gru states", "gru packed", "gru bidirectional"];

if (torchRequired && !hasTorch) {
  test("PyTorch is installed for /usr/bin/python3 (CI=true requires it)", () => {
    throw new Error(`${TORCH_MISSING}; under CI=true the PyTorch comparison tests must run`);
  });
}

describe.skipIf(!hasTorch)(`LSTM and GRU equal PyTorch's nn.LSTM and nn.GRU${hasTorch ? "" : ` — SKIPPED: ${TORCH_MISSING}`}`, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the generator ran", () => {
    expect({ code: generated?.code, stderr: generated?.code ? generated.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(cases.map((c) => `${c.kind} ${c.variant}`)).toEqual(NAMES);
  });

  for (const name of NAMES)
    test(`${name}: logits, loss and every parameter's gradient`, () => {
      const c = cases.find((k) => `${k.kind} ${k.variant}` === name)!;
      const { model, feeds } = build(c);
      const failures: string[] = [];
      const logits = worstMismatch(model.predictAll(feeds)[0].data, c.logits.data, 1e-5, 1e-4);
      if (logits.worst > 1) failures.push(`logits [${logits.at}] ${logits.got} vs ${logits.want}`);
      const mine = model.computeGradients(feeds, Int32Array.from(c.labels));
      if (Math.abs(mine.loss - c.loss) > 1e-5 * (1 + c.loss)) failures.push(`loss ${mine.loss} vs ${c.loss}`);
      const units = c.params.weight_hh_l0.shape[1];
      const want = ours(c, c.grads, units, true);
      if (c.kind === "lstm") {
        const equalBiasGrads = worstMismatch(c.grads.bias_ih_l0.data, c.grads.bias_hh_l0.data, 1e-7, 0);
        if (equalBiasGrads.worst > 1) failures.push("PyTorch's two LSTM bias gradients differ");
      }
      model.params.forEach((p, i) => {
        const r = worstMismatch(mine.grads[i].data, want[i], 1e-5, 1e-3);
        if (r.worst > 1) failures.push(`${p.name}[${r.at}]: ours ${r.got}, PyTorch ${r.want}`);
      });
      expect(failures).toEqual([]);
    });

  test("the check can fail: PyTorch's GRU gate order taken as is gives other logits", () => {
    const c = cases.find((k) => k.kind === "gru" && k.variant === "packed")!;
    const { model, feeds } = build(c);
    const weights = model.getWeights().map((w) => w.data);
    // Undo the re-ordering of the input kernel only: [r, z, n] read as [z, r, h].
    weights[0] = transpose(c.params.weight_ih_l0);
    model.setWeights(weights);
    expect(worstMismatch(model.predictAll(feeds)[0].data, c.logits.data, 1e-5, 1e-4).worst).toBeGreaterThan(1);
  });
});
