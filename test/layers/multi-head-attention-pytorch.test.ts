// MultiHeadAttention against PyTorch's nn.MultiheadAttention (batch_first) on the same weights and inputs,
// from fixtures/make-attention-reference.py (Debian's python3-torch): the output, the per-head attention
// weights, the loss (mean squared error to a fixed target) and the gradient of every parameter, for
//   causal — self-attention with a causal mask (PyTorch's attn_mask, our useCausalMask);
//   padded — cross-attention from a query to values of another width (kdim = vdim = 5), two samples padded
//            at the end: Masking here, key_padding_mask there.
// PyTorch's layouts re-laid: our query/key/value kernels [in, heads, dim] are its projection matrices
// transposed (in_proj_weight's three blocks, or q/k/v_proj_weight), heads being consecutive blocks of the
// embedding; attention_output/kernel [heads, dim, out] is out_proj.weight transposed.
//
// Tolerance: outputs and weights |Δ| ≤ 1e-5 + 1e-4·|want|, loss 1e-5·(1 + loss), gradients |Δ| ≤ 1e-5 +
// 1e-3·|g| — f32 on both sides, summed in different orders. Without python3-torch the tests skip with the
// reason, except under CI=true, where they fail.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Input, Masking, Model, MultiHeadAttention } from "../../src/index";
import { runPython, torchAvailable, torchRequired, TORCH_MISSING } from "../onnx/torch-support";
import { worstMismatch } from "../support/twin-heaps";

interface Flat {
  shape: number[];
  data: number[];
}
interface Case {
  name: "causal" | "padded";
  query: Flat;
  value: Flat;
  target: Flat;
  params: Record<string, Flat>;
  output: Flat;
  weights: Flat;
  loss: number;
  grads: Record<string, Flat>;
}

const hasTorch = torchAvailable();
const dir = mkdtempSync(join(tmpdir(), "wasmgrad-torch-attention-"));
const generated = hasTorch ? await runPython([join(import.meta.dir, "fixtures", "make-attention-reference.py"), join(dir, "reference.json")]) : undefined;
const cases: Case[] = generated?.code === 0 ? JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")).cases : [];

/** Rows [from, to) of a [rows, cols] matrix, transposed to [cols, to − from]. */
function transposedRows({ shape: [, cols], data }: Flat, from: number, to: number): Float32Array {
  const out = new Float32Array((to - from) * cols);
  for (let r = from; r < to; r++) for (let c = 0; c < cols; c++) out[c * (to - from) + (r - from)] = data[r * cols + c];
  return out;
}

/** Our eight parameters (query, key, value, output: kernel then bias) from PyTorch's parameters or gradients. */
function ours(c: Case, from: Record<string, Flat>): Float32Array[] {
  const e = from["out_proj.weight"].shape[0];
  const bias = from.in_proj_bias.data;
  const [wq, wk, wv] = c.name === "causal"
    ? [0, 1, 2].map((i) => transposedRows(from.in_proj_weight, i * e, (i + 1) * e))
    : ["q_proj_weight", "k_proj_weight", "v_proj_weight"].map((n) => transposedRows(from[n], 0, e));
  const b = (i: number) => Float32Array.from(bias.slice(i * e, (i + 1) * e));
  return [wq, b(0), wk, b(1), wv, b(2), transposedRows(from["out_proj.weight"], 0, e), Float32Array.from(from["out_proj.bias"].data)];
}

function build(c: Case, returnAttentionScores: boolean): { model: Model; feeds: Float32Array[] } {
  const [, tq, e] = c.query.shape, [, tk, dv] = c.value.shape;
  const options = { numHeads: 2, keyDim: e / 2, returnAttentionScores };
  const q = Input({ shape: [tq, e], name: "query" });
  let model: Model;
  const feeds = [Float32Array.from(c.query.data)];
  if (c.name === "causal") {
    const outs = new MultiHeadAttention({ ...options, useCausalMask: true }).applyAll(q);
    model = new Model({ inputs: q, outputs: returnAttentionScores ? outs : outs[0] });
  } else {
    const v = Input({ shape: [tk, dv], name: "value" });
    const outs = new MultiHeadAttention(options).applyAll([q, new Masking({ maskValue: 0 }).apply(v)]);
    model = new Model({ inputs: [q, v], outputs: returnAttentionScores ? outs : outs[0] });
    feeds.push(Float32Array.from(c.value.data));
  }
  model.setWeights(ours(c, c.params));
  return { model, feeds };
}

if (torchRequired && !hasTorch) {
  test("PyTorch is installed for /usr/bin/python3 (CI=true requires it)", () => {
    throw new Error(`${TORCH_MISSING}; under CI=true the PyTorch comparison tests must run`);
  });
}

describe.skipIf(!hasTorch)(`MultiHeadAttention equals PyTorch's nn.MultiheadAttention${hasTorch ? "" : ` — SKIPPED: ${TORCH_MISSING}`}`, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the generator ran", () => {
    expect({ code: generated?.code, stderr: generated?.code ? generated.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(cases.map((c) => c.name)).toEqual(["causal", "padded"]);
  });

  for (const name of ["causal", "padded"] as const)
    test(`${name}: output, attention weights, loss and every parameter's gradient`, () => {
      const c = cases.find((k) => k.name === name)!;
      const failures: string[] = [];
      const scored = build(c, true);
      const [output, weights] = scored.model.predictAll(scored.feeds);
      const o = worstMismatch(output.data, c.output.data, 1e-5, 1e-4);
      if (o.worst > 1) failures.push(`output [${o.at}] ${o.got} vs ${o.want}`);
      const w = worstMismatch(weights.data, c.weights.data, 1e-5, 1e-4);
      if (w.worst > 1) failures.push(`weights [${w.at}] ${w.got} vs ${w.want}`);
      const { model, feeds } = build(c, false);
      model.compile({ optimizer: "sgd", loss: "meanSquaredError" });
      const mine = model.computeGradients(feeds, Float32Array.from(c.target.data));
      if (Math.abs(mine.loss - c.loss) > 1e-5 * (1 + c.loss)) failures.push(`loss ${mine.loss} vs ${c.loss}`);
      const want = ours(c, c.grads);
      model.params.forEach((p, i) => {
        const r = worstMismatch(mine.grads[i].data, want[i], 1e-5, 1e-3);
        if (r.worst > 1) failures.push(`${p.name}[${r.at}]: ours ${r.got}, PyTorch ${r.want}`);
      });
      expect(failures).toEqual([]);
    });

  test("the check can fail: without the causal mask the outputs differ", () => {
    const c = cases.find((k) => k.name === "causal")!;
    const q = Input({ shape: c.query.shape.slice(1) });
    const model = new Model({ inputs: q, outputs: new MultiHeadAttention({ numHeads: 2, keyDim: 4 }).apply(q) });
    model.setWeights(ours(c, c.params));
    expect(worstMismatch(model.predictAll([Float32Array.from(c.query.data)])[0].data, c.output.data, 1e-5, 1e-4).worst).toBeGreaterThan(1);
  });
});
