// What SimpleRNN, LSTM and GRU share: options, shapes, masks, dropout, and backprop through time around
// a cell that each subclass supplies (its GEMM for one step and its kernel from assembly/recurrent.ts).
//
// Input [T, features] → output [T, units] (returnSequences) or [units] (the last step), then, with
// returnState, the final states [units] (h, and c for the LSTM). Optional inputs after the sequence are the
// initial states (Keras' initial_state), zeros otherwise.
//
// Inside, everything is time-major and in processing order (step s reads input time t(s), reversed with
// goBackwards), so a step's rows are contiguous:
//   xt     [T, n, F]      the input, copied in processing order (input dropout applied here)
//   gates  [T, n, G·u]    all steps' input projections x·W + b in ONE GEMM; each step adds its recurrent
//                         projection h·U in a GEMM of its own, then the cell kernel replaces it with the
//                         gate activations, and backward replaces those with the gate gradients
//   h      [T + 1, n, u]  slot 0 the initial state, slot s + 1 the state after step s (also c for the LSTM)
// Backward walks the steps in reverse, carrying dh (and dc); then dU = Σ_s h_sᵀ·dz_s, dW = Σ xtᵀ·dz and db
// are one GEMM (or column sum) each over all T·n rows, and dx one GEMM back through W. (GRU's reset-before
// form overrides the two places U's gradients are formed: recurrentInputGradient, recurrentKernelGradient.)
//
// Masks: a padded step leaves a sample's state as it was; with returnSequences its output there is zero
// (Keras' zero_output_for_mask) and the output carries the mask on; the last output is the last real
// step's. Dropout (Keras' semantics): one mask per sequence on the input features and, with
// recurrentDropout, one on the state entering U, the same at every step.

import { Act, type Pointer } from "../engine/kernels";
import type { Rng } from "../engine/rng";
import { InputError } from "../errors";
import type { ConfigReader } from "./config-reader";
import { parseInitializer, type InitializerContext, type InitializerName } from "./initializers";
import { Layer, type ForwardMode, type Parameter, type Regularizer } from "./layer";

export interface RecurrentOptions {
  units: number;
  /** Output every step ([T, units]) instead of the last ([units]). */
  returnSequences?: boolean;
  /** Also output the final states. */
  returnState?: boolean;
  /** Process the sequence from its end; with returnSequences the output is in processing order, as Keras. */
  goBackwards?: boolean;
  /** Fraction of input features dropped during training (one mask per sequence). */
  dropout?: number;
  /** Fraction of state units dropped on the way into the recurrent kernel during training. */
  recurrentDropout?: number;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  recurrentInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  kernelRegularizer?: Regularizer;
  recurrentRegularizer?: Regularizer;
  biasRegularizer?: Regularizer;
  name?: string;
}

/** The JSON keys of RecurrentOptions, for the subclasses' config readers. */
export const RECURRENT_OPTION_KEYS = [
  "units", "returnSequences", "returnState", "goBackwards", "dropout", "recurrentDropout", "useBias",
  "kernelInitializer", "recurrentInitializer", "biasInitializer", "kernelRegularizer", "recurrentRegularizer", "biasRegularizer",
];

export abstract class RecurrentLayer extends Layer {
  readonly units: number;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly dropout: number;
  readonly recurrentDropout: number;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerName;
  readonly recurrentInitializer: InitializerName;
  readonly biasInitializer: InitializerName;
  readonly kernelRegularizer?: Regularizer;
  readonly recurrentRegularizer?: Regularizer;
  readonly biasRegularizer?: Regularizer;
  kernel!: Parameter;
  recurrentKernel!: Parameter;
  bias?: Parameter;

  /** Gate blocks per step: 1 (SimpleRNN), 3 (GRU), 4 (LSTM). */
  protected abstract readonly gateCount: number;
  /** States the cell carries: 1 (h), 2 for the LSTM (h, c). */
  protected abstract readonly stateCount: number;

  protected xt: Pointer = 0;
  protected gates: Pointer = 0;
  /** States per step, [T + 1, n, u] each: states[0] is h, states[1] the LSTM's c. */
  protected states: Pointer[] = [];
  /** What entered U at each step, [T, n, u]: the h slots themselves, or their dropped-out copies. */
  protected recurrentInputs: Pointer = 0;
  /** Running gradients of the states during backward, [n, u] each (returned as the initial states'). */
  protected stateGrads: Pointer[] = [];
  private sequenceOutput: Pointer = 0;
  /** Uᵀ [G·u, u], copied once per backward pass for the per-step dh += dz·Uᵀ. */
  protected recurrentKernelTransposed: Pointer = 0;
  private inputGrad: Pointer = 0;
  /** The output's mask in processing order (goBackwards reverses the input's), [n, T]. */
  private reversedMask: Pointer = 0;
  private inputDropoutMask: Pointer = 0;
  private recurrentDropoutMask: Pointer = 0;
  private recurrentScratch: Pointer = 0;
  private rngState = 1;
  /** What the last forward pass did, which backward must mirror. */
  private last = { batch: 0, mask: 0 as Pointer, inputDropout: false, recurrentDropout: false, initialStates: false };

  /** typeName: the subclass's type, for messages (its own field is not set yet while this runs). */
  constructor(options: RecurrentOptions, typeName: string) {
    super();
    this.name = options.name ?? "";
    this.units = options.units;
    this.returnSequences = options.returnSequences ?? false;
    this.returnState = options.returnState ?? false;
    this.goBackwards = options.goBackwards ?? false;
    this.dropout = options.dropout ?? 0;
    this.recurrentDropout = options.recurrentDropout ?? 0;
    this.useBias = options.useBias ?? true;
    this.kernelInitializer = options.kernelInitializer ?? "glorotUniform";
    this.recurrentInitializer = options.recurrentInitializer ?? "orthogonal";
    this.biasInitializer = options.biasInitializer ?? "zeros";
    this.kernelRegularizer = options.kernelRegularizer;
    this.recurrentRegularizer = options.recurrentRegularizer;
    this.biasRegularizer = options.biasRegularizer;
    const who = `${this.name || "layer"} (${typeName})`;
    if (!Number.isInteger(this.units) || this.units < 1) throw new InputError(`${who}: 'units' must be a positive integer, got ${this.units}`);
    for (const [key, rate] of [["dropout", this.dropout], ["recurrentDropout", this.recurrentDropout]] as const) {
      if (!(rate >= 0 && rate < 1)) throw new InputError(`${who}: '${key}' must be in [0, 1), got ${rate}`);
    }
  }

  protected static readRecurrentOptions(c: ConfigReader, raw: Record<string, unknown>): RecurrentOptions {
    return {
      units: c.int("units", { min: 1, max: 1 << 16 }),
      returnSequences: c.bool("returnSequences", false),
      returnState: c.bool("returnState", false),
      goBackwards: c.bool("goBackwards", false),
      dropout: c.number("dropout", { min: 0, max: 0.99, default: 0 }),
      recurrentDropout: c.number("recurrentDropout", { min: 0, max: 0.99, default: 0 }),
      useBias: c.bool("useBias", true),
      kernelInitializer: parseInitializer(c.string("kernelInitializer", "glorotUniform"), c.where),
      recurrentInitializer: parseInitializer(c.string("recurrentInitializer", "orthogonal"), c.where),
      biasInitializer: parseInitializer(c.string("biasInitializer", "zeros"), c.where),
      kernelRegularizer: c.regularizer("kernelRegularizer"),
      recurrentRegularizer: c.regularizer("recurrentRegularizer"),
      biasRegularizer: c.regularizer("biasRegularizer"),
      name: raw.name as string | undefined,
    };
  }

  get arity(): { min: number; max: number } {
    return { min: 1, max: 1 + this.stateCount };
  }

  protected get steps(): number {
    return this.inputShape[0];
  }

  protected get features(): number {
    return this.inputShape[1];
  }

  /** Width of one step's gate block: gateCount·units. */
  protected get gateWidth(): number {
    return this.gateCount * this.units;
  }

  /** Input time step read at processing step s. */
  protected timeAt(s: number): number {
    return this.goBackwards ? this.steps - 1 - s : s;
  }

  outputShapeFor(inputShapes: number[][]): number[] {
    return this.outputShapesFor(inputShapes)[0];
  }

  override outputShapesFor(inputShapes: number[][]): number[][] {
    const who = `${this.name} (${this.type})`;
    const [sequence, ...initial] = inputShapes;
    if (sequence.length !== 2) throw new InputError(`${who} needs sequences shaped [steps, features] but gets [${sequence}]`);
    if (initial.length > 0 && initial.length !== this.stateCount) {
      throw new InputError(`${who} takes ${this.stateCount === 1 ? "one initial state" : `${this.stateCount} initial states (h, c)`} after the sequence, got ${initial.length}`);
    }
    initial.forEach((shape, i) => {
      if (shape.join() !== String(this.units)) throw new InputError(`${who}: initial state ${i + 1} must be shaped [${this.units}], got [${shape}]`);
    });
    const output = this.returnSequences ? [sequence[0], this.units] : [this.units];
    return this.returnState ? [output, ...Array.from({ length: this.stateCount }, () => [this.units])] : [output];
  }

  /** The sequence's mask is used (padded steps are skipped) and, with returnSequences, passed on. */
  override acceptMasks(masked: boolean[]): boolean {
    if (masked.slice(1).some(Boolean)) throw new InputError(`${this.name} (${this.type}): an initial state cannot carry a mask`);
    return masked[0] && this.returnSequences;
  }

  override outputMask(): Pointer {
    return this.goBackwards ? this.reversedMask : this.inputMasks[0];
  }

  protected override createParameters(rng: Rng): void {
    this.kernel = this.addParameter("kernel", [this.features, this.gateWidth], this.kernelInitializer, rng, this.kernelRegularizer, this.initializerContext);
    this.recurrentKernel = this.addParameter("recurrent_kernel", [this.units, this.gateWidth], this.recurrentInitializer, rng, this.recurrentRegularizer, this.initializerContext);
    if (this.useBias) this.bias = this.createBias(rng);
    this.rngState = rng.nextUint32() || 1;
  }

  /** The bias parameter; GRU's reset-after form has two rows. */
  protected createBias(rng: Rng): Parameter {
    return this.addParameter("bias", [this.gateWidth], this.biasInitializer, rng, this.biasRegularizer, this.initializerContext);
  }

  /** What the initializers learn of the layer: its units (the torchRecurrent ones scale by 1/√units). */
  protected get initializerContext(): InitializerContext {
    return { units: this.units };
  }

  allocate(maxBatch: number): void {
    const { steps: T, features: F, units: u } = this;
    const n = maxBatch;
    this.xt = this.heap.allocFloats(T * n * F);
    this.gates = this.heap.allocFloats(T * n * this.gateWidth);
    this.recurrentKernelTransposed = this.heap.allocFloats(u * this.gateWidth);
    this.states = Array.from({ length: this.stateCount }, () => this.heap.allocFloats((T + 1) * n * u));
    this.stateGrads = Array.from({ length: this.stateCount }, () => this.heap.allocFloats(n * u));
    this.sequenceOutput = this.returnSequences ? this.heap.allocFloats(n * T * u) : 0;
    this.inputGrad = this.heap.allocFloats(n * T * F);
    this.reversedMask = this.goBackwards && this.returnSequences ? this.heap.allocFloats(n * T) : 0;
    this.inputDropoutMask = this.dropout > 0 ? this.heap.allocFloats(n * F) : 0;
    if (this.recurrentDropout > 0) {
      this.recurrentDropoutMask = this.heap.allocFloats(n * u);
      this.recurrentInputs = this.heap.allocFloats(T * n * u);
      this.recurrentScratch = this.heap.allocFloats(n * u);
    }
    this.allocateCell(maxBatch);
  }

  /** Buffers of the subclass's own (GRU's recurrent projections). */
  protected allocateCell(_maxBatch: number): void {}

  /** Slot s of a [T(+1), n, width] time-major buffer. */
  protected slot(buffer: Pointer, s: number, n: number, width: number): Pointer {
    return buffer + 4 * s * n * width;
  }

  /** The mask column of processing step s ([n] values, row stride T), or 0. */
  protected maskAt(s: number): Pointer {
    return this.last.mask === 0 ? 0 : this.last.mask + 4 * this.timeAt(s);
  }

  /** What enters U at step s: h_s itself, or its dropped-out copy (s = 0: the start of all T·n rows). */
  protected recurrentInput(s: number, n: number): Pointer {
    return this.last.recurrentDropout ? this.slot(this.recurrentInputs, s, n, this.units) : this.slot(this.states[0], s, n, this.units);
  }

  /** Whether step s has a previous state to project (the zero initial state adds nothing to skip). */
  protected hasPreviousState(s: number): boolean {
    return s > 0 || this.last.initialStates;
  }

  /** The input projection's bias (GRU's reset-after form: its input row). */
  protected get inputBias(): Pointer {
    return this.bias?.value ?? 0;
  }

  /** Runs processing step s: adds h·U into its gates and applies the cell kernel, writing the states of slot s + 1. */
  protected abstract stepForward(s: number, n: number): void;

  /**
   * Step s backward: adds dOut's rows (0: none; batch-major, row stride T·u) into the state gradients, turns
   * the step's gates into their gradients, and leaves in stateGrads what reaches the previous states other
   * than through U (the layer adds dz·Uᵀ itself).
   */
  protected abstract stepBackward(s: number, n: number, dOut: Pointer): void;

  /** Gradients of x·W + b per step ([T, n, G·u]): the gates buffer after backward. GRU keeps two. */
  protected get inputGateGrads(): Pointer {
    return this.gates;
  }

  /** Gradients of h·U per step, whose Σ hᵀ·dz is dU. */
  protected get recurrentGateGrads(): Pointer {
    return this.gates;
  }

  /**
   * Step s's gradient of what entered U (hIn), into target [n, u] (added with accumulate, else written):
   * dz_s·Uᵀ. GRU's reset-before form adds the part through r ⊙ hIn too.
   */
  protected recurrentInputGradient(s: number, n: number, target: Pointer, accumulate: boolean): void {
    const width = this.gateWidth;
    const dz = this.slot(this.recurrentGateGrads, s, n, width);
    // Uᵀ from its copy made when backward began: the GEMM packs contiguous rows four lanes at a time,
    // where reading U by columns would pack it one float at a time at every step.
    this.kernels.gemm(n, this.units, width, dz, width, 1, this.recurrentKernelTransposed, this.units, 1, target, this.units, accumulate, 0, Act.linear);
  }

  /** dU from what entered U at every step (entered [T, n, u], rows = T·n): enteredᵀ·dz in one GEMM. */
  protected recurrentKernelGradient(entered: Pointer, rows: number): void {
    const width = this.gateWidth;
    this.kernels.gemm(this.units, width, rows, entered, 1, this.units, this.recurrentGateGrads, width, 1, this.recurrentKernel.grad, width, false, 0, Act.linear);
  }

  /** Column sums of the gate gradients into db. */
  protected biasGradient(rows: number): void {
    if (this.bias) this.kernels.columnSums(this.inputGateGrads, rows, this.gateWidth, this.bias.grad);
  }

  forwardAll(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer {
    return this.forwardOutputs(inputs, batch, mode)[0];
  }

  override forwardOutputs(inputs: Pointer[], batch: number, mode: ForwardMode): Pointer[] {
    const { steps: T, features: F, units: u, kernels: k } = this;
    const n = batch;
    const [x, ...initial] = inputs;
    const mask = this.inputMasks[0] ?? 0;
    this.last = {
      batch, mask, initialStates: initial.length > 0,
      inputDropout: mode.training && this.dropout > 0, recurrentDropout: mode.training && this.recurrentDropout > 0,
    };
    for (let s = 0; s < T; s++) k.copyRows(x + 4 * this.timeAt(s) * F, n, F, T * F, this.slot(this.xt, s, n, F), F);
    if (this.last.inputDropout) {
      this.rngState = k.dropoutMask(this.inputDropoutMask, n * F, this.dropout, this.rngState);
      for (let s = 0; s < T; s++) k.multiply(this.slot(this.xt, s, n, F), this.inputDropoutMask, this.slot(this.xt, s, n, F), n * F);
    }
    if (this.last.recurrentDropout) this.rngState = k.dropoutMask(this.recurrentDropoutMask, n * u, this.recurrentDropout, this.rngState);
    const width = this.gateWidth;
    k.gemm(T * n, width, F, this.xt, F, 1, this.kernel.value, width, 1, this.gates, width, false, this.inputBias, Act.linear);
    this.states.forEach((buffer, i) => {
      if (initial[i]) k.copyRows(initial[i], n, u, u, buffer, u);
      else new Float32Array(k.memory.buffer, buffer, n * u).fill(0);
    });
    for (let s = 0; s < T; s++) {
      if (this.last.recurrentDropout) k.multiply(this.slot(this.states[0], s, n, u), this.recurrentDropoutMask, this.slot(this.recurrentInputs, s, n, u), n * u);
      this.stepForward(s, n);
    }
    const finals = this.states.map((buffer) => this.slot(buffer, T, n, u));
    let output = finals[0];
    if (this.returnSequences) {
      output = this.sequenceOutput;
      for (let s = 0; s < T; s++) k.copyRows(this.slot(this.states[0], s + 1, n, u), n, u, u, output + 4 * s * u, T * u);
      if (mask !== 0) {
        const outMask = this.goBackwards ? this.reversedMask : mask;
        if (this.goBackwards) for (let s = 0; s < T; s++) k.copyRows(mask + 4 * this.timeAt(s), n, 1, T, outMask + 4 * s, T);
        k.scaleRows(output, outMask, n * T, u, output);
      }
    }
    return this.returnState ? [output, ...finals] : [output];
  }

  backwardAll(outputGrad: Pointer, batch: number, needInputGrad: boolean[]): Pointer[] {
    return this.backwardOutputs([outputGrad], batch, needInputGrad);
  }

  override backwardOutputs(outputGrads: Pointer[], batch: number, needInputGrad: boolean[]): Pointer[] {
    const { steps: T, features: F, units: u, kernels: k, gateWidth: width } = this;
    const n = batch;
    const [outputGrad, ...finalGrads] = outputGrads;
    k.permute(this.recurrentKernel.value, 1, 1, 1, u, width, 0, 1, 3, 2, this.recurrentKernelTransposed);
    this.stateGrads.forEach((g, i) => {
      const fill = new Float32Array(k.memory.buffer, g, n * u);
      fill.fill(0);
      if (finalGrads[i]) k.axpy(n * u, 1, finalGrads[i], g);
    });
    let dSequence: Pointer = 0;
    if (this.returnSequences) {
      dSequence = outputGrad;
      // The output was zeroed on padded steps, so nothing flows back from there.
      if (outputGrad !== 0 && this.last.mask !== 0) k.scaleRows(outputGrad, this.goBackwards ? this.reversedMask : this.last.mask, n * T, u, outputGrad);
    } else if (outputGrad !== 0) {
      k.axpy(n * u, 1, outputGrad, this.stateGrads[0]);
    }
    const dh = this.stateGrads[0];
    for (let s = T - 1; s >= 0; s--) {
      this.stepBackward(s, n, dSequence === 0 ? 0 : dSequence + 4 * s * u);
      if (!this.hasPreviousState(s)) continue;
      // dh_prev += the gradient of what entered U (through the recurrent dropout mask when one was applied).
      if (this.last.recurrentDropout) {
        this.recurrentInputGradient(s, n, this.recurrentScratch, false);
        k.multiply(this.recurrentScratch, this.recurrentDropoutMask, this.recurrentScratch, n * u);
        k.axpy(n * u, 1, this.recurrentScratch, dh);
      } else {
        this.recurrentInputGradient(s, n, dh, true);
      }
    }
    // dU = Σ_s (what entered U at s)ᵀ·dz_s over all T·n rows; dW = xtᵀ·dz; db = Σ dz.
    this.recurrentKernelGradient(this.recurrentInput(0, n), T * n);
    k.gemm(F, width, T * n, this.xt, 1, F, this.inputGateGrads, width, 1, this.kernel.grad, width, false, 0, Act.linear);
    this.biasGradient(T * n);
    const grads: Pointer[] = [0];
    if (needInputGrad[0]) {
      // dxt = dz·Wᵀ into xt (no longer needed), then back to batch-major input order.
      k.gemm(T * n, F, width, this.inputGateGrads, width, 1, this.kernel.value, 1, width, this.xt, F, false, 0, Act.linear);
      for (let s = 0; s < T; s++) {
        const rows = this.slot(this.xt, s, n, F);
        if (this.last.inputDropout) k.multiply(rows, this.inputDropoutMask, rows, n * F);
        k.copyRows(rows, n, F, F, this.inputGrad + 4 * this.timeAt(s) * F, T * F);
      }
      grads[0] = this.inputGrad;
    }
    for (let i = 1; i < needInputGrad.length; i++) grads.push(needInputGrad[i] ? this.stateGrads[i - 1] : 0);
    return grads;
  }

  override getState(): number[] {
    return [this.rngState];
  }

  override setState(state: number[]): void {
    if (state.length === 1) this.rngState = state[0] >>> 0;
  }

  /** The shared part of getConfig(). */
  protected recurrentConfig(): Record<string, unknown> {
    return {
      units: this.units, returnSequences: this.returnSequences, returnState: this.returnState, goBackwards: this.goBackwards,
      dropout: this.dropout, recurrentDropout: this.recurrentDropout, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, recurrentInitializer: this.recurrentInitializer, biasInitializer: this.biasInitializer,
      ...(this.kernelRegularizer ? { kernelRegularizer: this.kernelRegularizer } : {}),
      ...(this.recurrentRegularizer ? { recurrentRegularizer: this.recurrentRegularizer } : {}),
      ...(this.biasRegularizer ? { biasRegularizer: this.biasRegularizer } : {}),
    };
  }
}
