// Transformer blocks as graph fragments: functions that apply layers to symbolic tensors, so a block is
// ordinary LayerNormalization, MultiHeadAttention, Dense, Dropout and Add nodes in the model (summary shows
// them, checkpoints hold them, every gradient is already checked per layer). Pre-norm, as GPT-2 and most
// trained-from-scratch models use: x + Attention(LN(x)), then x + FFN(LN(x)).

import { Add } from "./merge";
import { Dense } from "./dense";
import { Dropout } from "./dropout";
import { LayerNormalization } from "./layer-normalization";
import { MultiHeadAttention } from "./multi-head-attention";
import type { ActivationSpec } from "./activation-function";
import type { SymbolicTensor } from "./symbolic";

export interface TransformerBlockOptions {
  numHeads: number;
  /** Per-head query/key size (default: the model width / numHeads). */
  keyDim?: number;
  /** Hidden width of the feed-forward part (default: 4 × the model width). */
  ffDim?: number;
  /** After attention and after the feed-forward part, during training. */
  dropout?: number;
  /** Feed-forward activation (default gelu). */
  activation?: ActivationSpec;
  /** Layer normalization's ε (default 1e-5, PyTorch's and GPT-2's). */
  epsilon?: number;
  /** Prefix of the blocks' layer names. */
  name?: string;
}

function width(x: SymbolicTensor): number {
  return x.shape[x.shape.length - 1];
}

/** x + Dropout(Dense(Dense(LN(x), ffDim, activation), width)). */
function feedForward(x: SymbolicTensor, o: TransformerBlockOptions, name: (part: string) => string | undefined): SymbolicTensor {
  const d = width(x);
  let y = new LayerNormalization({ epsilon: o.epsilon ?? 1e-5, name: name("ffn_norm") }).apply(x);
  y = new Dense({ units: o.ffDim ?? 4 * d, activation: o.activation ?? "gelu", name: name("ffn_inner") }).apply(y);
  y = new Dense({ units: d, name: name("ffn_outer") }).apply(y);
  if (o.dropout) y = new Dropout({ rate: o.dropout, name: name("ffn_dropout") }).apply(y);
  return new Add({ name: name("ffn_residual") }).apply([x, y]);
}

/** x + Dropout(MultiHeadAttention(LN(x), LN(x) or memory)). */
function attention(x: SymbolicTensor, memory: SymbolicTensor | undefined, causal: boolean, o: TransformerBlockOptions, name: (part: string) => string | undefined, part: string): SymbolicTensor {
  const d = width(x);
  const normed = new LayerNormalization({ epsilon: o.epsilon ?? 1e-5, name: name(`${part}_norm`) }).apply(x);
  const mha = new MultiHeadAttention({ numHeads: o.numHeads, keyDim: o.keyDim ?? Math.max(1, Math.floor(d / o.numHeads)), useCausalMask: causal, name: name(part) });
  let y = mha.apply(memory ? [normed, memory] : normed);
  if (o.dropout) y = new Dropout({ rate: o.dropout, name: name(`${part}_dropout`) }).apply(y);
  return new Add({ name: name(`${part}_residual`) }).apply([x, y]);
}

const namer = (o: TransformerBlockOptions) => (part: string) => (o.name ? `${o.name}_${part}` : undefined);

/** An encoder block (self-attention over the whole sequence, or causal with `causal: true`, as a GPT block). */
export function transformerEncoderBlock(x: SymbolicTensor, options: TransformerBlockOptions & { causal?: boolean }): SymbolicTensor {
  const name = namer(options);
  return feedForward(attention(x, undefined, options.causal ?? false, options, name, "self_attention"), options, name);
}

/** A decoder block: causal self-attention, attention to the encoder's output `memory`, feed-forward. */
export function transformerDecoderBlock(x: SymbolicTensor, memory: SymbolicTensor, options: TransformerBlockOptions): SymbolicTensor {
  const name = namer(options);
  const self = attention(x, undefined, true, options, name, "self_attention");
  return feedForward(attention(self, memory, false, options, name, "cross_attention"), options, name);
}
