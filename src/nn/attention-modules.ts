// PyTorch's attention modules: nn.MultiheadAttention over wasmgrad's MultiHeadAttention layer, and
// nn.TransformerEncoderLayer / nn.TransformerEncoder built from it, nn.LayerNorm, nn.Linear and nn.Dropout
// exactly as torch.nn builds them. PyTorch's weights map onto ours as in
// test/layers/multi-head-attention-pytorch.test.ts: in_proj_weight's three [E, E] blocks (q, k, v), each
// transposed, are the query/key/value kernels [E, heads, E/heads] (head h is block h of E/heads columns),
// in_proj_bias's three thirds their biases [heads, E/heads], out_proj.weight transposed the output kernel
// [heads, E/heads, E]; with kdim/vdim, q/k/v_proj_weight transposed.
//
// What differs from PyTorch, and why:
//  - Layout: wasmgrad's sequences are batch-major, [batch, steps, features]; batchFirst is true here and
//    `batchFirst: false` is refused, as nn.LSTM refuses it.
//  - Masks: attnMask (srcMask, mask) is "causal" or nothing — nn.Transformer.generate_square_subsequent_mask
//    (query i sees keys j ≤ i; PyTorch's triu(ones(T, S), diagonal=1) when T ≠ S); isCausal true means the
//    same. A tensor mask cannot reach a traced forward(), so other masks are refused, and so is
//    keyPaddingMask (srcKeyPaddingMask): the layer leaves out padded keys only from a mask carried by its
//    inputs (Embedding with maskZero, Masking), which nn.Embedding's paddingIdx does not make. The mask is
//    part of the layer: a module first called causal cannot be called without it, and the other way round.
//  - Attention weights: [out, weights], weights averaged over heads ([T, S] per sample, PyTorch's [N, T, S]),
//    or with averageAttnWeights false per head ([heads, T, S], PyTorch's [N, heads, T, S]); null with
//    needWeights false. They are the softmax before dropout; PyTorch returns them after its dropout, so the
//    two differ only in training mode with dropout > 0 (where the masks differ from PyTorch's anyway).
//  - Initialisation is PyTorch's (kernelInitializer torchAttention): xavier_uniform over in_proj_weight
//    [3E, E] (or each of q/k/v_proj_weight), out_proj.weight U(±1/√E), every bias zero. The encoder's
//    Linear layers are nn.Linear here, whose biases start at zero (PyTorch's at U(±1/√fan_in)).
//  - nn.TransformerEncoder(layer, numLayers) stacks numLayers new layers configured as `layer`, each
//    initialised on its own; PyTorch deep-copies `layer`, so its copies start from equal weights.
//  - Refused by name: addBiasKv, addZeroAttn (MultiheadAttention); activation other than "relu"/"gelu".

import { InputError } from "../errors";
import { boolean, checkOptions, positiveInteger, probability, refuseTimeMajor } from "./module-options";
import { GlobalAveragePool1D } from "../layers/global-pool1d";
import { MultiHeadAttention as MultiHeadAttentionLayer } from "../layers/multi-head-attention";
import { Reshape } from "../layers/reshape";
import type { InputData } from "../data/samples";
import type { Tensor } from "../tensor";
import { gelu, relu } from "./functional";
import { Dropout, LayerNorm, Linear, Module } from "./modules";
import { Value } from "./trace";

/** PyTorch's attn_mask as wasmgrad takes it: whether it is the causal mask. */
function isCausalMask(mask: unknown, isCausal: unknown, maskName: string, who: string): boolean {
  boolean(isCausal, "isCausal", who);
  if (mask !== undefined && mask !== null && mask !== "causal") {
    throw new InputError(`${who}: ${maskName} must be "causal" (nn.Transformer.generate_square_subsequent_mask) or left out; other masks are not supported (a traced forward() has no tensor to read one from)`);
  }
  return mask === "causal" || isCausal === true;
}

function refusePaddingMask(mask: unknown, name: string, who: string): void {
  if (mask !== undefined && mask !== null) {
    throw new InputError(`${who}: ${name} is not supported: padded keys are left out only through a mask carried by the inputs (Embedding with maskZero, or Masking), which nn's modules do not make`);
  }
}

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights, in training mode (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Must be true (the default here): wasmgrad's sequences are [batch, steps, features]. */
  batchFirst?: boolean;
  /** The key's features (default embedDim). */
  kdim?: number;
  /** The value's features (default embedDim). */
  vdim?: number;
  /** Refused when true: wasmgrad's layer has no extra key/value bias rows. */
  addBiasKv?: boolean;
  /** Refused when true: wasmgrad's layer appends no zero key/value. */
  addZeroAttn?: boolean;
}

export interface MultiheadAttentionCallOptions {
  /** "causal": query i attends to keys j ≤ i only. */
  attnMask?: "causal" | null;
  /** true: the causal mask (with or without attnMask "causal"). */
  isCausal?: boolean;
  /** Return the attention weights as the second value (default true); false returns null there. */
  needWeights?: boolean;
  /** Average the weights over the heads (default true): [T, S] per sample; false: [heads, T, S]. */
  averageAttnWeights?: boolean;
  /** Refused: see the notes at the top of this file. */
  keyPaddingMask?: never;
}

const MHA_CALL_KEYS = ["attnMask", "isCausal", "needWeights", "averageAttnWeights", "keyPaddingMask"];

/**
 * nn.MultiheadAttention(embedDim, numHeads, { dropout, bias, batchFirst, kdim, vdim }):
 * call(query, key, value, { attnMask, isCausal, needWeights, averageAttnWeights }) returns
 * [attnOutput [T, embedDim], attnWeights] per sample; pass the query as key and value for self-attention.
 */
export class MultiheadAttention extends Module<[Value, Value | null]> {
  readonly dropout: number;
  readonly bias: boolean;
  readonly kdim: number;
  readonly vdim: number;
  readonly headDim: number;
  private layer?: MultiHeadAttentionLayer;

  constructor(readonly embedDim: number, readonly numHeads: number, readonly options: MultiheadAttentionOptions = {}) {
    super();
    const who = this.who;
    positiveInteger(embedDim, "embedDim", who);
    positiveInteger(numHeads, "numHeads", who);
    checkOptions(options, ["dropout", "bias", "batchFirst", "kdim", "vdim", "addBiasKv", "addZeroAttn"], who);
    if (embedDim % numHeads !== 0) throw new InputError(`${who}: embedDim must be divisible by numHeads (each head gets embedDim / numHeads features)`);
    this.headDim = embedDim / numHeads;
    for (const key of ["bias", "addBiasKv", "addZeroAttn"] as const) boolean(options[key], key, who);
    refuseTimeMajor(options.batchFirst, who);
    if (options.addBiasKv) throw new InputError(`${who}: addBiasKv is not supported (wasmgrad's attention has no extra key and value bias rows)`);
    if (options.addZeroAttn) throw new InputError(`${who}: addZeroAttn is not supported (wasmgrad's attention appends no zero key and value)`);
    this.dropout = probability(options.dropout ?? 0, "dropout", who);
    this.bias = options.bias ?? true;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    positiveInteger(this.kdim, "kdim", who);
    positiveInteger(this.vdim, "vdim", who);
  }

  /** "MultiheadAttention(16, 4)", for messages. */
  protected get who(): string {
    return `MultiheadAttention(${this.embedDim}, ${this.numHeads})`;
  }

  /** The wasmgrad layer (query/key/value/attention_output kernels and biases); made on the first call. */
  get attention(): MultiHeadAttentionLayer | undefined {
    return this.layer;
  }

  override call(query: Value, key?: Value, value?: Value, options?: MultiheadAttentionCallOptions): [Value, Value | null];
  override call(x: Tensor | InputData): Tensor;
  override call(query: Value | Tensor | InputData, key?: Value, value?: Value, options?: MultiheadAttentionCallOptions): [Value, Value | null] | Tensor {
    if (query instanceof Value) return this.forward(query, key, value, options);
    return super.call(query);
  }

  forward(query: Value, key?: Value, value?: Value, options: MultiheadAttentionCallOptions = {}): [Value, Value | null] {
    const who = this.who;
    if (key === undefined || value === undefined) {
      throw new InputError(`${who}: call(query, key, value) needs all three (the query as key and value for self-attention); it returns [output, weights], so call it inside another module's forward()`);
    }
    for (const [role, v] of [["key", key], ["value", value]] as const) {
      if (!(v instanceof Value) || v.trace !== query.trace) throw new InputError(`${who}: the ${role} must be a value computed inside this forward() from its input`);
    }
    checkOptions(options, MHA_CALL_KEYS, `${who} call`);
    refusePaddingMask(options.keyPaddingMask, "keyPaddingMask", who);
    const causal = isCausalMask(options.attnMask, options.isCausal, "attnMask", who);
    boolean(options.needWeights, "needWeights", who);
    boolean(options.averageAttnWeights, "averageAttnWeights", who);
    const [q, k, v] = [query.shape, key.shape, value.shape];
    const expect = (role: string, shape: number[], width: number) => {
      if (shape.length !== 2 || shape[1] !== width) {
        throw new InputError(`${who} gets a ${role} shaped [${shape}] per sample; it needs a sequence [steps, ${width}] (batch first: [batch, steps, ${width}])`);
      }
    };
    expect("query", q, this.embedDim);
    expect("key", k, this.kdim);
    expect("value", v, this.vdim);
    if (k[0] !== v[0]) throw new InputError(`${who}: key and value must have the same number of steps, got ${k[0]} and ${v[0]}`);
    if (this.layer && this.layer.useCausalMask !== causal) {
      throw new InputError(`${who} was first called ${this.layer.useCausalMask ? "with" : "without"} the causal mask; wasmgrad makes the mask part of the layer, so every call must ${this.layer.useCausalMask ? "give" : "leave out"} attnMask "causal"`);
    }
    this.layer ??= new MultiHeadAttentionLayer({
      numHeads: this.numHeads, keyDim: this.headDim, valueDim: this.headDim, dropout: this.dropout, useBias: this.bias,
      useCausalMask: causal, returnAttentionScores: true, kernelInitializer: "torchAttention", biasInitializer: "zeros",
    });
    // The layer's inputs are [query, value, key], shorter where they are the same value.
    const inputs = key === value ? (key === query ? [query] : [query, value]) : [query, value, key];
    const [output, weights] = query.trace.applyAll(inputs, this.layer, who);
    if (options.needWeights === false) return [output, null];
    if (options.averageAttnWeights === false) return [output, weights];
    return [output, this.averageOverHeads(weights, q[0], k[0])];
  }

  /** [heads, T, S] → [T, S]: the heads as the steps of a [heads, T·S] sequence, averaged. */
  private averageOverHeads(weights: Value, t: number, s: number): Value {
    const apply = (from: Value, layer: Reshape | GlobalAveragePool1D) => from.trace.apply(from, layer, `${this.who} weights`);
    if (this.numHeads === 1) return apply(weights, new Reshape({ targetShape: [t, s] }));
    const rows = apply(weights, new Reshape({ targetShape: [this.numHeads, t * s] }));
    return apply(apply(rows, new GlobalAveragePool1D()), new Reshape({ targetShape: [t, s] }));
  }
}

export type TransformerActivation = "relu" | "gelu";

export interface TransformerEncoderLayerOptions {
  /** The feed-forward part's hidden width (default 2048). */
  dimFeedforward?: number;
  /** After attention, inside the feed-forward part and after it, and on the attention weights (default 0.1). */
  dropout?: number;
  /** The feed-forward part's activation (default "relu"; "gelu" is the exact erf form). */
  activation?: TransformerActivation;
  /** LayerNorm's ε (default 1e-5). */
  layerNormEps?: number;
  /** Must be true (the default here): wasmgrad's sequences are [batch, steps, features]. */
  batchFirst?: boolean;
  /** Layer norm before attention and the feed-forward part (pre-norm) instead of after (default false). */
  normFirst?: boolean;
  /** Biases in the Linear layers, the attention and the LayerNorms (default true; PyTorch ≥ 2.1's option). */
  bias?: boolean;
}

export interface TransformerEncoderCallOptions {
  /** "causal": step i attends to steps j ≤ i only. */
  srcMask?: "causal" | null;
  /** true: the causal mask (with or without srcMask "causal"). */
  isCausal?: boolean;
  /** Refused: see the notes at the top of this file. */
  srcKeyPaddingMask?: never;
}

const ENCODER_LAYER_KEYS = ["dimFeedforward", "dropout", "activation", "layerNormEps", "batchFirst", "normFirst", "bias"];

/**
 * nn.TransformerEncoderLayer(dModel, nhead, { dimFeedforward, dropout, activation, layerNormEps, batchFirst,
 * normFirst, bias }), PyTorch's structure: post-norm by default, x = norm1(x + sa(x)); x = norm2(x + ff(x)),
 * or with normFirst x = x + sa(norm1(x)); x = x + ff(norm2(x)), where sa(x) = dropout1(selfAttn(x, x, x)) and
 * ff(x) = dropout2(linear2(dropout(activation(linear1(x))))). call(src, { srcMask, isCausal }).
 */
export class TransformerEncoderLayer extends Module {
  readonly dimFeedforward: number;
  readonly dropoutRate: number;
  readonly activation: TransformerActivation;
  readonly layerNormEps: number;
  readonly normFirst: boolean;
  readonly bias: boolean;
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout: Dropout;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;

  constructor(readonly dModel: number, readonly nhead: number, readonly options: TransformerEncoderLayerOptions = {}) {
    super();
    const who = this.who;
    positiveInteger(dModel, "dModel", who);
    positiveInteger(nhead, "nhead", who);
    checkOptions(options, ENCODER_LAYER_KEYS, who);
    this.dimFeedforward = options.dimFeedforward ?? 2048;
    positiveInteger(this.dimFeedforward, "dimFeedforward", who);
    this.dropoutRate = probability(options.dropout ?? 0.1, "dropout", who);
    this.activation = options.activation ?? "relu";
    if (this.activation !== "relu" && this.activation !== "gelu") {
      throw new InputError(`${who}: activation must be "relu" or "gelu" (other functions are not supported), got ${JSON.stringify(options.activation)}`);
    }
    this.layerNormEps = options.layerNormEps ?? 1e-5;
    if (!(typeof this.layerNormEps === "number" && Number.isFinite(this.layerNormEps) && this.layerNormEps > 0)) {
      throw new InputError(`${who}: layerNormEps must be a positive number, got ${String(options.layerNormEps)}`);
    }
    for (const key of ["normFirst", "bias"] as const) boolean(options[key], key, who);
    refuseTimeMajor(options.batchFirst, who);
    this.normFirst = options.normFirst ?? false;
    this.bias = options.bias ?? true;
    this.selfAttn = new MultiheadAttention(dModel, nhead, { dropout: this.dropoutRate, bias: this.bias });
    this.linear1 = new Linear(dModel, this.dimFeedforward, { bias: this.bias });
    this.linear2 = new Linear(this.dimFeedforward, dModel, { bias: this.bias });
    this.norm1 = new LayerNorm(dModel, { eps: this.layerNormEps, bias: this.bias });
    this.norm2 = new LayerNorm(dModel, { eps: this.layerNormEps, bias: this.bias });
    this.dropout = new Dropout(this.dropoutRate);
    this.dropout1 = new Dropout(this.dropoutRate);
    this.dropout2 = new Dropout(this.dropoutRate);
  }

  protected get who(): string {
    return `TransformerEncoderLayer(${this.dModel}, ${this.nhead})`;
  }

  /** A new layer with this one's configuration (and weights of its own). */
  clone(): TransformerEncoderLayer {
    return new TransformerEncoderLayer(this.dModel, this.nhead, { ...this.options });
  }

  override call(src: Value, options?: TransformerEncoderCallOptions): Value;
  override call(x: Tensor | InputData): Tensor;
  override call(src: Value | Tensor | InputData, options?: TransformerEncoderCallOptions): Value | Tensor {
    if (src instanceof Value) return this.forward(src, options);
    return super.call(src);
  }

  forward(src: Value, options: TransformerEncoderCallOptions = {}): Value {
    const who = this.who;
    checkOptions(options, ["srcMask", "isCausal", "srcKeyPaddingMask"], `${who} call`);
    refusePaddingMask(options.srcKeyPaddingMask, "srcKeyPaddingMask", who);
    const causal = isCausalMask(options.srcMask, options.isCausal, "srcMask", who);
    const shape = src.shape;
    if (shape.length !== 2 || shape[1] !== this.dModel) {
      throw new InputError(`${who} gets inputs shaped [${shape}] per sample; it needs sequences [steps, ${this.dModel}] (batch first: [batch, steps, ${this.dModel}])`);
    }
    const drop = (m: Dropout, x: Value) => (this.dropoutRate > 0 ? m.call(x) : x);
    const sa = (x: Value) => drop(this.dropout1, this.selfAttn.call(x, x, x, { attnMask: causal ? "causal" : null, needWeights: false })[0]);
    const ff = (x: Value) => {
      const hidden = this.linear1.call(x);
      const activated = this.activation === "gelu" ? gelu(hidden) : relu(hidden);
      return drop(this.dropout2, this.linear2.call(drop(this.dropout, activated)));
    };
    let x = src;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.call(x)));
      x = x.add(ff(this.norm2.call(x)));
    } else {
      x = this.norm1.call(x.add(sa(x)));
      x = this.norm2.call(x.add(ff(x)));
    }
    return x;
  }
}

export interface TransformerEncoderOptions {
  /** A module applied to the last layer's output (PyTorch's norm, usually an nn.LayerNorm(dModel)). */
  norm?: Module;
}

export interface TransformerEncoderStackCallOptions {
  /** "causal" for every layer. */
  mask?: "causal" | null;
  isCausal?: boolean;
  /** Refused: see the notes at the top of this file. */
  srcKeyPaddingMask?: never;
}

/** nn.TransformerEncoder(encoderLayer, numLayers, { norm }): numLayers layers configured as encoderLayer, then norm. */
export class TransformerEncoder extends Module {
  readonly layers: TransformerEncoderLayer[];
  readonly norm?: Module;

  constructor(encoderLayer: TransformerEncoderLayer, readonly numLayers: number, readonly options: TransformerEncoderOptions = {}) {
    super();
    const who = `TransformerEncoder(…, ${numLayers})`;
    if (!(encoderLayer instanceof TransformerEncoderLayer)) throw new InputError(`${who}: encoderLayer must be an nn.TransformerEncoderLayer`);
    positiveInteger(numLayers, "numLayers", who);
    checkOptions(options, ["norm"], who);
    if (options.norm !== undefined && !(options.norm instanceof Module)) throw new InputError(`${who}: norm must be a module such as nn.LayerNorm(dModel)`);
    this.layers = Array.from({ length: numLayers }, () => encoderLayer.clone());
    this.norm = options.norm;
  }

  override call(src: Value, options?: TransformerEncoderStackCallOptions): Value;
  override call(x: Tensor | InputData): Tensor;
  override call(src: Value | Tensor | InputData, options?: TransformerEncoderStackCallOptions): Value | Tensor {
    if (src instanceof Value) return this.forward(src, options);
    return super.call(src);
  }

  forward(src: Value, options: TransformerEncoderStackCallOptions = {}): Value {
    const who = `TransformerEncoder(…, ${this.numLayers})`;
    checkOptions(options, ["mask", "isCausal", "srcKeyPaddingMask"], `${who} call`);
    refusePaddingMask(options.srcKeyPaddingMask, "srcKeyPaddingMask", who);
    const causal = isCausalMask(options.mask, options.isCausal, "mask", who);
    const x = this.layers.reduce((v, layer) => layer.call(v, { srcMask: causal ? "causal" : null }), src);
    return this.norm ? this.norm.call(x) : x;
  }
}
