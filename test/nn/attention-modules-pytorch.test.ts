// nn.MultiheadAttention and nn.TransformerEncoderLayer against PyTorch itself: the same modules in torch.nn
// (fixtures/make-attention-modules-reference.py, Debian's python3-torch; batch_first, dropout 0) and in
// wasmgrad's nn API, on PyTorch's weights re-laid as ours (in_proj_weight's q, k, v blocks and
// out_proj.weight transposed into the query/key/value/attention_output kernels, heads as consecutive
// blocks; Linear weights transposed; LayerNorm's weight and bias as gamma and beta):
//   mha, mhaCausal — self-attention without and with the causal mask: output, the attention weights
//                    averaged over heads and per head;
//   post_relu, post_gelu, pre_relu, pre_gelu — TransformerEncoderLayer post-norm (PyTorch's default) and
//                    pre-norm (normFirst), relu and gelu; pre_gelu_causal — with srcMask "causal".
// For each: the output in eval mode (PyTorch's under no_grad, where the encoder layer takes its fused
// fast path) and in train mode, the loss (MSE to a fixed target), every parameter's gradient, and every
// parameter after one optim.AdamW step (torch.optim.AdamW(lr 1e-3, weight_decay 0.01, eps 1e-8)).
//
// Tolerances (f32 on both sides, sums in other orders): outputs and weights |Δ| ≤ 1e-5 + 1e-4·|want|;
// loss 1e-5·(1 + loss); gradients |Δ| ≤ 1e-5 + 1e-3·|g|; parameters after the step |Δ| ≤ 1e-6 + 1e-5·|want|,
// except the key third of in_proj_bias: its true gradient is zero (a softmax does not change when every
// score moves by the same q·b_k), both sides hold rounding noise under 1e-8 there, and Adam's first step
// lr·g/(|g| + ε) on such noise is anything within ±lr — so those are held to |Δ| ≤ 2·lr, and the test
// checks that they are the only gradients under 1e-7. Without python3-torch the tests skip with the
// reason, except under CI=true, where they fail.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nn, optim, tensor, type Tensor } from "../../src/index";
import type { Layer, Parameter } from "../../src/layers/layer";
import type { Value } from "../../src/nn/trace";
import { runPython, torchAvailable, torchRequired, transposed, TORCH_MISSING } from "../onnx/torch-support";
import { worstMismatch } from "../support/twin-heaps";

interface Flat {
  shape: number[];
  data: number[];
}
type Name = "mha" | "mhaCausal" | "post_relu" | "post_gelu" | "pre_relu" | "pre_gelu" | "pre_gelu_causal";
interface Case {
  name: Name;
  x: Flat;
  target: Flat;
  params: Record<string, Flat>;
  weights?: Flat;
  weightsPerHead?: Flat;
  evalOutput: Flat;
  trainOutput: Flat;
  loss: number;
  grads: Record<string, Flat>;
  stepped: Record<string, Flat>;
}

const NAMES: Name[] = ["mha", "mhaCausal", "post_relu", "post_gelu", "pre_relu", "pre_gelu", "pre_gelu_causal"];
const [E, H, FF, LR] = [8, 2, 16, 1e-3];

const hasTorch = torchAvailable();
const dir = mkdtempSync(join(tmpdir(), "wasmgrad-torch-nn-attention-"));
const generated = hasTorch ? await runPython([join(import.meta.dir, "fixtures", "make-attention-modules-reference.py"), join(dir, "reference.json")]) : undefined;
const cases: Case[] = generated?.code === 0 ? JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")).cases : [];

/** What the self-attention module returns as its one value. */
type Pick = "output" | "weights" | "weightsPerHead";

class SelfAttention extends nn.Module {
  mha = new nn.MultiheadAttention(E, H);
  constructor(readonly causal: boolean, readonly pick: Pick = "output") {
    super();
  }
  forward(x: Value): Value {
    const [out, weights] = this.mha.call(x, x, x, { attnMask: this.causal ? "causal" : null, averageAttnWeights: this.pick !== "weightsPerHead" });
    return this.pick === "output" ? out : weights!;
  }
}

class Encoder extends nn.Module {
  layer: nn.TransformerEncoderLayer;
  constructor(normFirst: boolean, activation: "relu" | "gelu", readonly causal: boolean) {
    super();
    this.layer = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: FF, dropout: 0, activation, normFirst });
  }
  forward(x: Value): Value {
    return this.layer.call(x, { srcMask: this.causal ? "causal" : null });
  }
}

function moduleFor(name: Name, pick: Pick = "output", normFirst = name.startsWith("pre")): SelfAttention | Encoder {
  if (name === "mha" || name === "mhaCausal") return new SelfAttention(name === "mhaCausal", pick);
  return new Encoder(normFirst, name.includes("gelu") ? "gelu" : "relu", name.endsWith("causal"));
}

/** Rows [from, to) of a [rows, cols] matrix, transposed to [cols, to − from]. */
function transposedRows({ shape: [, cols], data }: Flat, from: number, to: number): Float32Array {
  const out = new Float32Array((to - from) * cols);
  for (let r = from; r < to; r++) for (let c = 0; c < cols; c++) out[c * (to - from) + (r - from)] = data[r * cols + c];
  return out;
}

const values = (f: Flat) => Float32Array.from(f.data);

/**
 * Our parameters from PyTorch's tensors (weights, gradients or stepped weights), keyed by our Parameter;
 * `blocks` orders in_proj_weight's q, k, v blocks (the failing test swaps them).
 */
function ours(module: SelfAttention | Encoder, from: Record<string, Flat>, blocks = [0, 1, 2]): Map<Parameter, Float32Array> {
  const mha = module instanceof SelfAttention ? module.mha : module.layer.selfAttn;
  const prefix = module instanceof SelfAttention ? "mha." : "layer.self_attn.";
  const inProj = from[`${prefix}in_proj_weight`], inBias = from[`${prefix}in_proj_bias`].data;
  const third = (i: number) => Float32Array.from(inBias.slice(i * E, (i + 1) * E));
  const attention = [
    ...blocks.flatMap((b) => [transposedRows(inProj, b * E, (b + 1) * E), third(b)]),
    transposed(from[`${prefix}out_proj.weight`]), values(from[`${prefix}out_proj.bias`]),
  ];
  const pairs: [Parameter, Float32Array][] = mha.attention!.params.map((p, i) => [p, attention[i]]);
  if (module instanceof Encoder) {
    const layer = (m: { layer: Layer | undefined }) => m.layer!.params;
    for (const name of ["linear1", "linear2"] as const) {
      const [kernel, bias] = layer(module.layer[name]);
      pairs.push([kernel, transposed(from[`layer.${name}.weight`])], [bias, values(from[`layer.${name}.bias`])]);
    }
    for (const name of ["norm1", "norm2"] as const) {
      const [gamma, beta] = layer(module.layer[name]);
      pairs.push([gamma, values(from[`layer.${name}.weight`])], [beta, values(from[`layer.${name}.bias`])]);
    }
  }
  return new Map(pairs);
}

/** A module of this case with PyTorch's weights loaded, in the given mode. */
function loaded(c: Case, x: Tensor, pick: Pick = "output", blocks?: number[], normFirst?: boolean): SelfAttention | Encoder {
  const module = moduleFor(c.name, pick, normFirst);
  module.call(x);
  const weights = ours(module, c.params, blocks);
  expect(weights.size).toBe(module.model.params.length);
  module.model.setWeights(module.model.params.map((p) => weights.get(p)!));
  return module;
}

function mismatch(label: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, failures: string[]): void {
  expect(got.length).toBe(want.length);
  const r = worstMismatch(got, want, atol, rtol);
  if (r.worst > 1) failures.push(`${label}[${r.at}]: ours ${r.got}, PyTorch ${r.want}`);
}

if (torchRequired && !hasTorch) {
  test("PyTorch is installed for /usr/bin/python3 (CI=true requires it)", () => {
    throw new Error(`${TORCH_MISSING}; under CI=true the PyTorch comparison tests must run`);
  });
}

describe.skipIf(!hasTorch)(`nn's attention modules equal torch.nn's${hasTorch ? "" : ` — SKIPPED: ${TORCH_MISSING}`}`, () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the generator ran", () => {
    expect({ code: generated?.code, stderr: generated?.code ? generated.stderr : "" }).toEqual({ code: 0, stderr: "" });
    expect(cases.map((c) => c.name)).toEqual(NAMES);
  });

  for (const name of NAMES)
    test(`${name}: outputs in eval and train mode, loss, every gradient, and the parameters after one AdamW step`, () => {
      const c = cases.find((k) => k.name === name)!;
      const x = tensor(values(c.x), c.x.shape);
      const failures: string[] = [];
      const module = loaded(c, x);

      module.eval();
      const evaluated = module.call(x);
      expect(evaluated.shape).toEqual(c.evalOutput.shape);
      mismatch("eval output", evaluated.data, c.evalOutput.data, 1e-5, 1e-4, failures);

      module.train();
      const optimizer = new optim.AdamW(module.parameters(), { lr: LR, weightDecay: 0.01, eps: 1e-8 });
      optimizer.zeroGrad();
      const output = module.call(x);
      mismatch("train output", output.data, c.trainOutput.data, 1e-5, 1e-4, failures);
      const loss = new nn.MSELoss().call(output, values(c.target));
      if (Math.abs(loss.item() - c.loss) > 1e-5 * (1 + c.loss)) failures.push(`loss ${loss.item()} vs ${c.loss}`);
      loss.backward();

      const heap = () => module.model.kernels.memory.buffer;
      const wantGrads = ours(module, c.grads);
      for (const p of module.model.params) mismatch(`${p.name} gradient`, new Float32Array(heap(), p.grad, p.size), wantGrads.get(p)!, 1e-5, 1e-3, failures);

      // Where PyTorch's gradient is rounding noise: only the key bias, whose true gradient is zero.
      const keyBias = module.model.params.find((p) => p.name.endsWith("/key/bias"))!;
      const noise = [...wantGrads].flatMap(([p, g]) => Array.from(g).flatMap((v, i) => (Math.abs(v) < 1e-7 ? [`${p.name}[${i}]`] : [])));
      expect(noise.every((at) => at.startsWith(keyBias.name))).toBe(true);

      optimizer.step();
      const stepped = ours(module, c.stepped);
      for (const p of module.model.params) {
        const got = new Float32Array(heap(), p.value, p.size).slice(), want = stepped.get(p)!;
        if (p === keyBias) {
          const worst = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
          if (worst > 2 * LR) failures.push(`${p.name} after the step: off by ${worst}, more than Adam's ±lr on a zero gradient allows`);
        } else mismatch(`${p.name} after the step`, got, want, 1e-6, 1e-5, failures);
      }
      expect(failures).toEqual([]);
    });

  for (const name of ["mha", "mhaCausal"] as const)
    test(`${name}: the attention weights, averaged over heads ([T, S]) and per head ([heads, T, S])`, () => {
      const c = cases.find((k) => k.name === name)!;
      const x = tensor(values(c.x), c.x.shape);
      const failures: string[] = [];
      for (const pick of ["weights", "weightsPerHead"] as const) {
        const module = loaded(c, x, pick).eval();
        const got = module.call(x);
        expect(got.shape).toEqual(c[pick]!.shape);
        mismatch(pick, got.data, c[pick]!.data, 1e-5, 1e-4, failures);
      }
      expect(failures).toEqual([]);
    });

  test("the check can fail: query and key blocks swapped, or the other norm placement, give other outputs", () => {
    for (const [name, blocks, normFirst] of [["mha", [1, 0, 2], undefined], ["post_relu", [1, 0, 2], undefined], ["post_relu", undefined, true], ["pre_gelu", undefined, false]] as const) {
      const c = cases.find((k) => k.name === name)!;
      const x = tensor(values(c.x), c.x.shape);
      const module = loaded(c, x, "output", blocks ? [...blocks] : undefined, normFirst).eval();
      expect({ name, blocks, normFirst, worst: worstMismatch(module.call(x).data, c.evalOutput.data, 1e-5, 1e-4).worst > 1 }).toEqual({ name, blocks, normFirst, worst: true });
    }
    // Without the causal mask the causal cases differ too.
    const c = cases.find((k) => k.name === "pre_gelu_causal")!;
    const x = tensor(values(c.x), c.x.shape);
    const plain = moduleFor("pre_gelu");
    plain.call(x);
    const weights = ours(plain, c.params);
    plain.model.setWeights(plain.model.params.map((p) => weights.get(p)!));
    expect(worstMismatch(plain.eval().call(x).data, c.evalOutput.data, 1e-5, 1e-4).worst).toBeGreaterThan(1);
  });
});
