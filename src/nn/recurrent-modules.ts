// PyTorch's modules for sequences: nn.Embedding, and nn.RNN, nn.LSTM and nn.GRU with PyTorch's constructor
// (input_size, hidden_size, { numLayers, bias, batchFirst, dropout, bidirectional, nonlinearity }) over
// wasmgrad's Embedding, SimpleRNN/LSTM/GRU (GRU's reset-after form is PyTorch's) and Bidirectional (concat:
// forwards then backwards, PyTorch's layout). The weights map onto PyTorch's as in
// test/layers/recurrent-pytorch.test.ts: W = weight_ihᵀ, U = weight_hhᵀ, the LSTM's and RNN's one bias is
// bias_ih + bias_hh, the GRU's gates r, z, n are z, r, h here and its two biases the two rows of ours.
//
// What differs from PyTorch, and why:
//  - Layout. wasmgrad's tensors are batch-major, always: a sequence is [batch, steps, features]. So these
//    modules are batch_first, and `batchFirst: false` (PyTorch's default, [steps, batch, features]) is
//    refused rather than accepted and ignored: data here cannot be time-major.
//  - The final states hN (and cN) are [batch, numLayers·D, hidden], D = 2 when bidirectional: PyTorch's
//    h_n [numLayers·D, batch, hidden] with the batch first, as every value here; entry l·D + d is layer l,
//    direction d (0 forwards, 1 backwards), as in PyTorch. Initial states h0 (c0) are given the same way:
//    values computed in forward() shaped [numLayers·D, hidden] per sample; zeros without them.
//  - Calling returns [output, hN] (RNN, GRU) or [output, [hN, cN]] (LSTM), output [batch, steps, D·hidden];
//    so such a module is called inside another module's forward(), which returns one value.
//  - Initialisation is PyTorch's: every weight U(±1/√hidden) (the torchRecurrent initializer), the GRU's
//    two bias rows too. The LSTM's and RNN's single bias stands for PyTorch's b_ih + b_hh, so it starts as
//    the sum of two U(±1/√hidden) draws (torchRecurrentBiasSum, triangular on ±2/√hidden): the model at
//    initialisation is distributed as PyTorch's. No forget-gate bias of 1 (PyTorch has none).
//  - dropout: a Dropout layer after every layer but the last, active in training mode only (with
//    numLayers 1 it does nothing, as in PyTorch); its masks are not PyTorch's random numbers.
//  - nn.Embedding: weights N(0, 1); paddingIdx's row starts at zero and is never trained (the layer's
//    paddingIndex); maxNorm, scaleGradByFreq and sparse are refused.

import { InputError } from "../errors";
import { boolean, checkOptions, positiveInteger, probability, refuseTimeMajor } from "./module-options";
import { Bidirectional } from "../layers/bidirectional";
import { Dropout as DropoutLayer } from "../layers/dropout";
import { Embedding as EmbeddingLayer } from "../layers/embedding";
import { GRU as GRULayer } from "../layers/gru";
import type { Layer } from "../layers/layer";
import { LSTM as LSTMLayer } from "../layers/lstm";
import { Concatenate } from "../layers/merge";
import type { RecurrentLayer, RecurrentOptions } from "../layers/recurrent";
import { Reshape } from "../layers/reshape";
import { SimpleRNN } from "../layers/simple-rnn";
import type { InputData } from "../data/samples";
import type { Tensor } from "../tensor";
import { LayerModule, Module } from "./modules";
import { Value } from "./trace";

export interface EmbeddingOptions {
  /** This index's row starts at zero and is never trained; negative counts from the end, as in PyTorch. */
  paddingIdx?: number;
}

/** nn.Embedding(numEmbeddings, embeddingDim, { paddingIdx }): integer indices (held as floats) → rows. */
export class Embedding extends LayerModule {
  readonly paddingIdx?: number;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, readonly options: EmbeddingOptions = {}) {
    super();
    const who = this.who;
    positiveInteger(numEmbeddings, "numEmbeddings", who);
    positiveInteger(embeddingDim, "embeddingDim", who);
    checkOptions(options, ["paddingIdx"], who);
    const pad = options.paddingIdx;
    if (pad !== undefined) {
      if (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings) {
        throw new InputError(`${who}: paddingIdx must be an integer in [−${numEmbeddings}, ${numEmbeddings - 1}], got ${pad}`);
      }
      this.paddingIdx = pad < 0 ? pad + numEmbeddings : pad;
    }
  }

  private get who(): string {
    return `Embedding(${this.numEmbeddings}, ${this.embeddingDim})`;
  }

  protected makeLayer(): Layer {
    return new EmbeddingLayer({
      inputDim: this.numEmbeddings, outputDim: this.embeddingDim, embeddingsInitializer: "standardNormal", paddingIndex: this.paddingIdx,
    });
  }
}

export interface RecurrentModuleOptions {
  /** Recurrent layers stacked, each reading the previous one's whole output sequence (default 1). */
  numLayers?: number;
  bias?: boolean;
  /** Must be true (the default here): wasmgrad's sequences are [batch, steps, features]. */
  batchFirst?: boolean;
  /** Dropout on every layer's output but the last's, in training mode (default 0). */
  dropout?: number;
  bidirectional?: boolean;
}

export interface RNNOptions extends RecurrentModuleOptions {
  nonlinearity?: "tanh" | "relu";
}

const RECURRENT_KEYS = ["numLayers", "bias", "batchFirst", "dropout", "bidirectional"];

/**
 * What RNN, LSTM and GRU share. State is what h0 and hN are: one value (RNN, GRU) or [h, c] (LSTM), each
 * shaped [numLayers·D, hidden] per sample.
 */
abstract class RecurrentModule<State> extends Module<[Value, State]> {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** One layer per level of the stack (a Bidirectional when bidirectional), made on the first call. */
  private stack?: Layer[];
  private dropouts?: DropoutLayer[];
  /** The states each layer has: 1 (h) or 2 (h, c). */
  protected abstract readonly stateCount: number;

  constructor(readonly inputSize: number, readonly hiddenSize: number, readonly options: RecurrentModuleOptions = {}, extraKeys: string[] = []) {
    super();
    const who = this.who;
    positiveInteger(inputSize, "inputSize", who);
    positiveInteger(hiddenSize, "hiddenSize", who);
    checkOptions(options, [...RECURRENT_KEYS, ...extraKeys], who);
    this.numLayers = options.numLayers ?? 1;
    positiveInteger(this.numLayers, "numLayers", who);
    for (const key of ["bias", "bidirectional"] as const) boolean(options[key], key, who);
    refuseTimeMajor(options.batchFirst, who);
    this.bias = options.bias ?? true;
    this.bidirectional = options.bidirectional ?? false;
    this.dropout = probability(options.dropout ?? 0, "dropout", who);
  }

  /** "LSTM(10, 20)", for messages. */
  protected get who(): string {
    return `${this.constructor.name}(${this.inputSize}, ${this.hiddenSize})`;
  }

  /** The layers of the stack, one per level (a Bidirectional when bidirectional); empty before the first call. */
  get layers(): readonly Layer[] {
    return this.stack ?? [];
  }

  /** D: 2 when bidirectional. */
  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** One direction of one layer, with PyTorch's initialisation. */
  protected abstract makeCell(options: RecurrentOptions): RecurrentLayer;

  /** h0 (or [h0, c0]) as a list of values, one per state. */
  protected abstract stateValues(hx: State): unknown[];

  /** A list of values, one per state, as hN (or [hN, cN]). */
  protected abstract packStates(states: Value[]): State;

  private build(): Layer[] {
    const cellOptions = (): RecurrentOptions => ({
      units: this.hiddenSize, returnSequences: true, returnState: true, useBias: this.bias,
      kernelInitializer: "torchRecurrent", recurrentInitializer: "torchRecurrent",
    });
    this.dropouts = Array.from({ length: this.numLayers - 1 }, () => new DropoutLayer({ rate: this.dropout }));
    return Array.from({ length: this.numLayers }, () => {
      const cell = this.makeCell(cellOptions());
      return this.bidirectional ? new Bidirectional({ layer: cell }) : cell;
    });
  }

  override call(x: Value, hx?: State): [Value, State];
  override call(x: Tensor | InputData): Tensor;
  override call(x: Value | Tensor | InputData, hx?: State): [Value, State] | Tensor {
    if (x instanceof Value) return this.forward(x, hx);
    return super.call(x);
  }

  forward(x: Value, hx?: State): [Value, State] {
    const who = this.who, shape = x.shape;
    if (shape.length !== 2 || shape[1] !== this.inputSize) {
      throw new InputError(`${who} gets inputs shaped [${shape}] per sample; it needs sequences [steps, ${this.inputSize}] (batch first: [batch, steps, ${this.inputSize}])`);
    }
    const slots = this.numLayers * this.directions;
    // initial[s][l·D + d]: state s of layer l, direction d.
    const initial = hx === undefined ? undefined : this.splitStates(hx, x, slots);
    this.stack ??= this.build();
    const finals: Value[][] = Array.from({ length: this.stateCount }, () => []);
    let sequence = x;
    this.stack.forEach((layer, l) => {
      // A layer's initial states: (h, c) of its forward direction, then of its backward one.
      const states = initial ? Array.from({ length: this.directions }, (_, d) => initial.map((s) => s[l * this.directions + d])).flat() : [];
      const [output, ...ends] = x.trace.applyAll([sequence, ...states], layer, `${who} layer ${l}`);
      ends.forEach((end, i) => finals[i % this.stateCount].push(end));
      sequence = output;
      if (l < this.numLayers - 1 && this.dropout > 0) sequence = x.trace.apply(sequence, this.dropouts![l], `${who} dropout`);
    });
    return [sequence, this.packStates(finals.map((ends) => this.stackStates(ends)))];
  }

  /** Values [hidden] of every layer and direction → one value [numLayers·D, hidden], l·D + d in order. */
  private stackStates(ends: Value[]): Value {
    const joined = ends.length === 1 ? ends[0] : ends[0].trace.apply(ends, new Concatenate({ axis: -1 }), `${this.who} states`);
    return joined.trace.apply(joined, new Reshape({ targetShape: [ends.length, this.hiddenSize] }), `${this.who} states`);
  }

  /** h0 (c0) values [numLayers·D, hidden] → per state, one value [hidden] per layer and direction. */
  private splitStates(hx: State, x: Value, slots: number): Value[][] {
    const values = this.stateValues(hx);
    const names = this.stateCount === 1 ? ["h0"] : ["h0", "c0"];
    return values.map((v, s) => {
      if (!(v instanceof Value) || v.trace !== x.trace) {
        throw new InputError(`${this.who}: ${names[s]} must be a value computed inside this forward() from its input`);
      }
      if (v.shape.join() !== `${slots},${this.hiddenSize}`) {
        throw new InputError(`${this.who}: ${names[s]} must be shaped [${slots}, ${this.hiddenSize}] per sample (numLayers·directions, hidden; PyTorch's [${slots}, batch, ${this.hiddenSize}] batch first), got [${v.shape}]`);
      }
      return Array.from({ length: slots }, (_, i) => v.select(1, i));
    });
  }
}

/** nn.RNN(inputSize, hiddenSize, { nonlinearity: 'tanh' | 'relu', … }): returns [output, hN]. */
export class RNN extends RecurrentModule<Value> {
  protected readonly stateCount = 1;
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super(inputSize, hiddenSize, options, ["nonlinearity"]);
    this.nonlinearity = options.nonlinearity ?? "tanh";
    if (this.nonlinearity !== "tanh" && this.nonlinearity !== "relu") {
      throw new InputError(`${this.who}: nonlinearity must be 'tanh' or 'relu', got '${String(options.nonlinearity)}'`);
    }
  }

  protected makeCell(options: RecurrentOptions): RecurrentLayer {
    return new SimpleRNN({ ...options, activation: this.nonlinearity, biasInitializer: "torchRecurrentBiasSum" });
  }

  protected stateValues(hx: Value): unknown[] {
    return [hx];
  }

  protected packStates([h]: Value[]): Value {
    return h;
  }
}

/** nn.LSTM(inputSize, hiddenSize, { … }): returns [output, [hN, cN]]; call(x, [h0, c0]) starts from given states. */
export class LSTM extends RecurrentModule<[Value, Value]> {
  protected readonly stateCount = 2;

  protected makeCell(options: RecurrentOptions): RecurrentLayer {
    return new LSTMLayer({ ...options, biasInitializer: "torchRecurrentBiasSum", unitForgetBias: false });
  }

  protected stateValues(hx: [Value, Value]): unknown[] {
    if (!Array.isArray(hx) || hx.length !== 2) throw new InputError(`${this.who}: the initial states are a pair [h0, c0]`);
    return hx;
  }

  protected packStates([h, c]: Value[]): [Value, Value] {
    return [h, c];
  }
}

/** nn.GRU(inputSize, hiddenSize, { … }): returns [output, hN]. */
export class GRU extends RecurrentModule<Value> {
  protected readonly stateCount = 1;

  protected makeCell(options: RecurrentOptions): RecurrentLayer {
    // Two bias rows, PyTorch's bias_ih and bias_hh (in our gate order), each U(±1/√hidden).
    return new GRULayer({ ...options, biasInitializer: "torchRecurrent" });
  }

  protected stateValues(hx: Value): unknown[] {
    return [hx];
  }

  protected packStates([h]: Value[]): Value {
    return h;
  }
}
