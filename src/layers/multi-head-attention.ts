// MultiHeadAttention (Keras' layer; PyTorch's nn.MultiheadAttention): applied to [query, value] or
// [query, value, key] (one input: self-attention, query = value = key),
//   Q = query·Wq + bq, K = key·Wk + bk, V = value·Wv + bv        (one GEMM each over all positions)
//   A_h = softmax(Q_h·K_hᵀ / √keyDim, masked)                     (per sample and head; assembly/attention.ts)
//   O_h = dropout(A_h)·V_h,  output = concat_h(O_h)·Wo + bo
// Weights as Keras lays them out: query/kernel [dq, heads, keyDim], query/bias [heads, keyDim], the same for
// key and value (valueDim), attention_output/kernel [heads, valueDim, dOut], attention_output/bias [dOut].
// Q, K, V and O stay [batch, T, heads·dim]: a head is a strided view (row stride heads·dim), and each of the
// six per-head products is one batchedMatmul call over every sample and head (assembly/batched-matmul.ts),
// reading and writing in place: heads are never copied apart.
//
// Masks: the key's (or value's) mask leaves padded keys out of every softmax; useCausalMask lets query i
// see keys j ≤ i only (Keras takes it per call; here it is a layer option). The query's mask passes to the
// output. With returnAttentionScores the second output is A, [heads, tq, tk] per sample.
//
// kernelInitializer "torchAttention" is PyTorch's nn.MultiheadAttention._reset_parameters: the query, key
// and value kernels xavier_uniform over the fans of PyTorch's matrices (in_proj_weight [3E, E] when the
// three inputs have the query's width E, else q/k/v_proj_weight [E, width] each), the output kernel
// out_proj's Linear default U(±1/√(heads·valueDim)). PyTorch's biases start at zero (biasInitializer zeros).

import { Act, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import { ConfigReader } from "./config-reader";
import { parseInitializer, type InitializerContext, type InitializerName } from "./initializers";
import { Layer, type ForwardMode, type LayerConfig, type Parameter, type Regularizer } from "./layer";

export interface MultiHeadAttentionOptions {
  numHeads: number;
  keyDim: number;
  /** Per-head size of values (default keyDim). */
  valueDim?: number;
  /** Dropout on the attention weights during training. */
  dropout?: number;
  useBias?: boolean;
  /** Last axis of the output (default: the query's). */
  outputShape?: number;
  /** Query i attends to keys j ≤ i only (a decoder's self-attention). */
  useCausalMask?: boolean;
  /** Also output the attention weights, [heads, tq, tk] per sample. */
  returnAttentionScores?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  kernelRegularizer?: Regularizer;
  name?: string;
}

/** One projection: x [rows, inputs] · W [inputs, width] + b. */
interface Projection {
  kernel: Parameter;
  bias?: Parameter;
}

export class MultiHeadAttention extends Layer {
  readonly type = "MultiHeadAttention";
  readonly arity = { min: 1, max: 3 };
  readonly numHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly dropout: number;
  readonly useBias: boolean;
  readonly useCausalMask: boolean;
  readonly returnAttentionScores: boolean;
  readonly kernelInitializer: InitializerName;
  readonly biasInitializer: InitializerName;
  readonly kernelRegularizer?: Regularizer;
  private readonly requestedOutput?: number;
  private projections!: { query: Projection; key: Projection; value: Projection; output: Projection };
  private q = 0;
  private k = 0;
  private v = 0;
  private weights = 0;
  private dropped = 0;
  private dropoutMask = 0;
  private attended = 0;
  private output = 0;
  private grads = { q: 0, k: 0, v: 0, weights: 0, attended: 0, query: 0, key: 0, value: 0 };
  private rngState = 1;
  private last = { inputs: [] as Pointer[], dropout: false, keyMask: 0 as Pointer };

  constructor(options: MultiHeadAttentionOptions) {
    super();
    this.name = options.name ?? "";
    const who = `${this.name || "layer"} (MultiHeadAttention)`;
    for (const key of ["numHeads", "keyDim"] as const) {
      if (!Number.isInteger(options[key]) || options[key] < 1) throw new InputError(`${who}: '${key}' must be a positive integer, got ${options[key]}`);
    }
    this.numHeads = options.numHeads;
    this.keyDim = options.keyDim;
    this.valueDim = options.valueDim ?? options.keyDim;
    this.dropout = options.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new InputError(`${who}: 'dropout' must be in [0, 1), got ${this.dropout}`);
    this.useBias = options.useBias ?? true;
    this.useCausalMask = options.useCausalMask ?? false;
    this.returnAttentionScores = options.returnAttentionScores ?? false;
    this.requestedOutput = options.outputShape;
    this.kernelInitializer = options.kernelInitializer ?? "glorotUniform";
    this.biasInitializer = options.biasInitializer ?? "zeros";
    this.kernelRegularizer = options.kernelRegularizer;
  }

  static fromConfig(raw: Record<string, unknown>, where: string): MultiHeadAttention {
    const c = new ConfigReader(raw, where, [
      "numHeads", "keyDim", "valueDim", "dropout", "useBias", "outputShape", "useCausalMask", "returnAttentionScores",
      "kernelInitializer", "biasInitializer", "kernelRegularizer",
    ]);
    return new MultiHeadAttention({
      numHeads: c.int("numHeads", { min: 1, max: 1024 }),
      keyDim: c.int("keyDim", { min: 1, max: 1 << 16 }),
      valueDim: c.has("valueDim") ? c.int("valueDim", { min: 1, max: 1 << 16 }) : undefined,
      dropout: c.number("dropout", { min: 0, max: 0.99, default: 0 }),
      useBias: c.bool("useBias", true),
      outputShape: c.has("outputShape") ? c.int("outputShape", { min: 1, max: 1 << 20 }) : undefined,
      useCausalMask: c.bool("useCausalMask", false),
      returnAttentionScores: c.bool("returnAttentionScores", false),
      kernelInitializer: parseInitializer(c.string("kernelInitializer", "glorotUniform"), where),
      biasInitializer: parseInitializer(c.string("biasInitializer", "zeros"), where),
      kernelRegularizer: c.regularizer("kernelRegularizer"),
      name: raw.name as string | undefined,
    });
  }

  /** [query, value, key] shapes, the missing ones filled in (key = value, value = query). */
  private roles(shapes: number[][]): { query: number[]; value: number[]; key: number[] } {
    const [query, value = query, key = value] = shapes;
    return { query, value, key };
  }

  private get tq(): number {
    return this.roles(this.inputShapes).query[0];
  }

  private get tk(): number {
    return this.roles(this.inputShapes).key[0];
  }

  private get outputWidth(): number {
    return this.requestedOutput ?? this.roles(this.inputShapes).query[1];
  }

  outputShapeFor(inputShapes: number[][]): number[] {
    return this.outputShapesFor(inputShapes)[0];
  }

  override outputShapesFor(inputShapes: number[][]): number[][] {
    const who = `${this.name} (MultiHeadAttention)`;
    const { query, value, key } = this.roles(inputShapes);
    for (const [role, shape] of [["query", query], ["value", value], ["key", key]] as const) {
      if (shape.length !== 2) throw new InputError(`${who} needs sequences shaped [steps, features]; its ${role} is [${shape}]`);
    }
    if (value[0] !== key[0]) throw new InputError(`${who}: value and key must have the same number of steps, got ${value[0]} and ${key[0]}`);
    const out = [query[0], this.requestedOutput ?? query[1]];
    return this.returnAttentionScores ? [out, [this.numHeads, query[0], key[0]]] : [out];
  }

  /** The key's mask leaves padded keys out; the query's passes on to the output. */
  override acceptMasks(masked: boolean[]): boolean {
    return masked[0];
  }

  override outputMask(): Pointer {
    return this.inputMasks[0] ?? 0;
  }

  protected override createParameters(rng: Rng): void {
    const { query, value, key } = this.roles(this.inputShapes);
    const h = this.numHeads;
    const torch = this.kernelInitializer === "torchAttention";
    // PyTorch's in_proj_weight [h·(2·keyDim + valueDim), E] when key and value are as wide as the query.
    const packed = key[1] === query[1] && value[1] === query[1];
    const fans = (inputs: number, width: number): InitializerContext => ({ fans: packed ? [query[1], h * (2 * this.keyDim + this.valueDim)] : [inputs, width] });
    const projection = (name: string, inputs: number, kernelShape: number[], biasShape: number[]): Projection => ({
      kernel: this.addParameter(`${name}/kernel`, [inputs, ...kernelShape], this.kernelInitializer, rng, this.kernelRegularizer, fans(inputs, h * kernelShape[1])),
      bias: this.useBias ? this.addParameter(`${name}/bias`, biasShape, this.biasInitializer, rng) : undefined,
    });
    this.projections = {
      query: projection("query", query[1], [h, this.keyDim], [h, this.keyDim]),
      key: projection("key", key[1], [h, this.keyDim], [h, this.keyDim]),
      value: projection("value", value[1], [h, this.valueDim], [h, this.valueDim]),
      output: {
        // [heads, valueDim, out]: torchUniform's fan-in is heads·valueDim, out_proj's in_features.
        kernel: this.addParameter("attention_output/kernel", [h, this.valueDim, this.outputWidth], torch ? "torchUniform" : this.kernelInitializer, rng, this.kernelRegularizer),
        bias: this.useBias ? this.addParameter("attention_output/bias", [this.outputWidth], this.biasInitializer, rng) : undefined,
      },
    };
    this.rngState = rng.nextUint32() || 1;
  }

  allocate(maxBatch: number): void {
    const { query, value, key } = this.roles(this.inputShapes);
    const n = maxBatch, h = this.numHeads, tq = this.tq, tk = this.tk;
    const f = (count: number) => this.heap.allocFloats(count);
    this.q = f(n * tq * h * this.keyDim);
    this.k = f(n * tk * h * this.keyDim);
    this.v = f(n * tk * h * this.valueDim);
    this.weights = f(n * h * tq * tk);
    this.dropped = this.dropout > 0 ? f(n * h * tq * tk) : 0;
    this.dropoutMask = this.dropout > 0 ? f(n * h * tq * tk) : 0;
    this.attended = f(n * tq * h * this.valueDim);
    this.output = f(n * tq * this.outputWidth);
    this.grads = {
      q: f(n * tq * h * this.keyDim), k: f(n * tk * h * this.keyDim), v: f(n * tk * h * this.valueDim),
      weights: f(n * h * tq * tk), attended: f(n * tq * h * this.valueDim),
      query: f(n * query[0] * query[1]), key: f(n * key[0] * key[1]), value: f(n * value[0] * value[1]),
    };
  }

  forwardAll(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer {
    return this.forwardOutputs(inputs, batch, mode)[0];
  }

  override forwardOutputs(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer[] {
    const [query, value = query, key = value] = inputs;
    const { query: qs, value: vs, key: ks } = this.roles(this.inputShapes);
    const k = this.kernels, n = batch, h = this.numHeads, dk = this.keyDim, dv = this.valueDim, tq = this.tq, tk = this.tk;
    const masks = this.inputMasks;
    const keyMask = (inputs.length === 3 ? masks[2] : inputs.length === 2 ? masks[1] : masks[0]) ?? 0;
    this.last = { inputs: [query, value, key], dropout: mode.training && this.dropout > 0, keyMask };
    const { query: pq, key: pk, value: pv, output: po } = this.projections;
    k.gemm(n * tq, h * dk, qs[1], query, qs[1], 1, pq.kernel.value, h * dk, 1, this.q, h * dk, false, pq.bias?.value ?? 0, Act.linear);
    k.gemm(n * tk, h * dk, ks[1], key, ks[1], 1, pk.kernel.value, h * dk, 1, this.k, h * dk, false, pk.bias?.value ?? 0, Act.linear);
    k.gemm(n * tk, h * dv, vs[1], value, vs[1], 1, pv.kernel.value, h * dv, 1, this.v, h * dv, false, pv.bias?.value ?? 0, Act.linear);
    // Scores of every sample and head in one call: Q_h [tq × dk] · K_hᵀ, both read with row stride h·dk.
    k.batchedMatmul(n, h, tq, tk, dk, this.q, tq * h * dk, dk, h * dk, 1, this.k, tk * h * dk, dk, 1, h * dk, this.weights, h * tq * tk, tq * tk, tk, false);
    k.attentionSoftmaxForward(this.weights, n, h, tq, tk, 1 / Math.sqrt(dk), keyMask, this.useCausalMask, this.weights);
    let used = this.weights;
    if (this.last.dropout) {
      this.rngState = k.dropoutMask(this.dropoutMask, n * h * tq * tk, this.dropout, this.rngState);
      k.multiply(this.weights, this.dropoutMask, this.dropped, n * h * tq * tk);
      used = this.dropped;
    }
    // O_h = A_h [tq × tk] · V_h [tk × dv], written into its columns of O [n, tq, h·dv].
    k.batchedMatmul(n, h, tq, dv, tk, used, h * tq * tk, tq * tk, tk, 1, this.v, tk * h * dv, dv, h * dv, 1, this.attended, tq * h * dv, dv, h * dv, false);
    const width = this.outputWidth;
    k.gemm(n * tq, width, h * dv, this.attended, h * dv, 1, po.kernel.value, width, 1, this.output, width, false, po.bias?.value ?? 0, Act.linear);
    return this.returnAttentionScores ? [this.output, this.weights] : [this.output];
  }

  backwardAll(outputGrad: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    return this.backwardOutputs([outputGrad], batch, needInputGrad);
  }

  override backwardOutputs(outputGrads: Pointer[], batch: number, needInputGrad: boolean[]): Pointer[] {
    const [dOut, dScores = 0] = outputGrads;
    const { query: qs, value: vs, key: ks } = this.roles(this.inputShapes);
    const k = this.kernels, n = batch, h = this.numHeads, dk = this.keyDim, dv = this.valueDim, tq = this.tq, tk = this.tk;
    const g = this.grads, width = this.outputWidth;
    const { query: pq, key: pk, value: pv, output: po } = this.projections;
    const [query, value, key] = this.last.inputs;
    const used = this.last.dropout ? this.dropped : this.weights;
    const zero = (ptr: Pointer, count: number) => new Float32Array(k.memory.buffer, ptr, count).fill(0);
    // Output projection: dWo = Oᵀ·dOut, dbo = Σ dOut, dO = dOut·Woᵀ.
    if (dOut !== 0) {
      k.gemm(h * dv, width, n * tq, this.attended, 1, h * dv, dOut, width, 1, po.kernel.grad, width, false, 0, Act.linear);
      if (po.bias) k.columnSums(dOut, n * tq, width, po.bias.grad);
      k.gemm(n * tq, h * dv, width, dOut, width, 1, po.kernel.value, 1, width, g.attended, h * dv, false, 0, Act.linear);
    } else {
      zero(po.kernel.grad, po.kernel.size);
      if (po.bias) zero(po.bias.grad, po.bias.size);
      zero(g.attended, n * tq * h * dv);
    }
    // Every head: dA_h = dO_h·V_hᵀ, dV_h = A_hᵀ·dO_h.
    k.batchedMatmul(n, h, tq, tk, dv, g.attended, tq * h * dv, dv, h * dv, 1, this.v, tk * h * dv, dv, 1, h * dv, g.weights, h * tq * tk, tq * tk, tk, false);
    k.batchedMatmul(n, h, tk, dv, tq, used, h * tq * tk, tq * tk, 1, tk, g.attended, tq * h * dv, dv, h * dv, 1, g.v, tk * h * dv, dv, h * dv, false);
    const count = n * h * tq * tk;
    if (this.last.dropout) k.multiply(g.weights, this.dropoutMask, g.weights, count);
    // The attention weights as an output were read as they were before dropout.
    if (dScores !== 0) k.axpy(count, 1, dScores, g.weights);
    // Through the softmax and its scale: dS = scale·A ⊙ (dA − Σ dA ⊙ A); masked weights are 0, so are their gradients.
    k.softmaxBackward(this.weights, g.weights, g.weights, n * h * tq, tk);
    k.scale(g.weights, 1 / Math.sqrt(dk), g.weights, count);
    // Every head: dQ_h = dS_h·K_h, dK_h = dS_hᵀ·Q_h.
    k.batchedMatmul(n, h, tq, dk, tk, g.weights, h * tq * tk, tq * tk, tk, 1, this.k, tk * h * dk, dk, h * dk, 1, g.q, tq * h * dk, dk, h * dk, false);
    k.batchedMatmul(n, h, tk, dk, tq, g.weights, h * tq * tk, tq * tk, 1, tk, this.q, tq * h * dk, dk, h * dk, 1, g.k, tk * h * dk, dk, h * dk, false);
    // The three input projections, each role's input gradient into its input's buffer: with one input all
    // three add into it, with [query, value] the key's adds into the value's.
    const bufferOf = [g.query, g.value, g.key];
    const inputs = this.inputShapes.length;
    const inputOf = (role: "query" | "key" | "value") => (role === "query" || inputs === 1 ? 0 : role === "value" || inputs === 2 ? 1 : 2);
    const written = new Set<number>();
    const roles: ["query" | "key" | "value", Projection, Pointer, Pointer, number[], number][] = [
      ["query", pq, query, g.q, qs, h * dk], ["key", pk, key, g.k, ks, h * dk], ["value", pv, value, g.v, vs, h * dv],
    ];
    for (const [role, projection, x, dz, shape, cols] of roles) {
      const rows = n * shape[0];
      k.gemm(shape[1], cols, rows, x, 1, shape[1], dz, cols, 1, projection.kernel.grad, cols, false, 0, Act.linear);
      if (projection.bias) k.columnSums(dz, rows, cols, projection.bias.grad);
      const input = inputOf(role);
      if (!needInputGrad[input]) continue;
      k.gemm(rows, shape[1], cols, dz, cols, 1, projection.kernel.value, 1, cols, bufferOf[input], shape[1], written.has(input), 0, Act.linear);
      written.add(input);
    }
    return this.inputShapes.map((_, i) => (needInputGrad[i] ? bufferOf[i] : 0));
  }

  override getState(): number[] {
    return [this.rngState];
  }

  override setState(state: number[]): void {
    if (state.length === 1) this.rngState = state[0] >>> 0;
  }

  getConfig(): LayerConfig {
    return {
      type: this.type, name: this.name, numHeads: this.numHeads, keyDim: this.keyDim, valueDim: this.valueDim, dropout: this.dropout,
      useBias: this.useBias, ...(this.requestedOutput !== undefined ? { outputShape: this.requestedOutput } : {}),
      useCausalMask: this.useCausalMask, returnAttentionScores: this.returnAttentionScores,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
      ...(this.kernelRegularizer ? { kernelRegularizer: this.kernelRegularizer } : {}),
    };
  }
}
