// How a layer's activation maps onto kernels. Element-wise activations the GEMM epilogue can apply cheaply
// (relu, sigmoid, tanh, relu6) fuse into it; the others, and row-wise softmax, run after it. When the model
// fuses the output activation into the loss (softmax + cross-entropy, sigmoid + binary cross-entropy), the
// forward mode asks for logits instead, and the layer passes its `logits` flag to every call here.
//
// Backward: most activations' slope is a function of their output, so the layer keeps only y. gelu,
// geluTanh, swish and hardSwish are not monotonic, so theirs needs the pre-activation x; for those
// (backwardNeedsInput) the layer keeps x as well.

import { InputError, didYouMean } from "../errors";
import { Act, type ActCode, type Kernels, type Pointer } from "../engine/kernels";

export const ACTIVATIONS = [
  "linear", "relu", "sigmoid", "tanh", "softmax",
  "relu6", "leakyRelu", "elu", "gelu", "geluTanh", "swish", "hardSigmoid", "hardSwish",
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** An activation and, for leakyRelu (negative slope) and elu (scale), its parameter. */
export type ActivationSpec = ActivationName | { name: ActivationName; alpha?: number };

/**
 * Other spellings accepted when parsing: Keras' snake_case names, PyTorch's, and tfjs' 'gelu_new' (its
 * name for the tanh approximation). Configs are always written with the canonical name.
 */
export const ACTIVATION_ALIASES: Readonly<Record<string, ActivationName>> = {
  silu: "swish",
  leaky_relu: "leakyRelu",
  hard_sigmoid: "hardSigmoid",
  hard_swish: "hardSwish",
  hard_silu: "hardSwish",
  hardSilu: "hardSwish",
  gelu_tanh: "geluTanh",
  gelu_new: "geluTanh",
};

/**
 * The parameter's default when a config names the activation alone: Keras' activation-function defaults
 * (keras.activations.leaky_relu's negative_slope 0.2, as tf.leakyRelu; elu's alpha 1). The layer classes
 * have their own: Keras' LeakyReLU layer 0.3, PyTorch's LeakyReLU 0.01.
 */
export const DEFAULT_ALPHA: Readonly<Partial<Record<ActivationName, number>>> = { leakyRelu: 0.2, elu: 1 };

/** The activations the GEMM epilogue applies (the rest run as a separate pass over its output). */
const FUSED_IN_GEMM: readonly ActivationName[] = ["linear", "relu", "sigmoid", "tanh", "relu6"];
/** The activations whose slope their output does not determine. */
const BACKWARD_FROM_INPUT: readonly ActivationName[] = ["gelu", "geluTanh", "swish", "hardSwish"];

export function parseActivation(name: string, where: string): ActivationName {
  const canonical = ACTIVATION_ALIASES[name] ?? name;
  if (!ACTIVATIONS.includes(canonical as ActivationName)) {
    throw new InputError(`${where}: unknown activation '${name}'${didYouMean(name, [...ACTIVATIONS, ...Object.keys(ACTIVATION_ALIASES)])}`);
  }
  return canonical as ActivationName;
}

/** Reads an activation from a config or from user code: a name, or {"name": "leakyRelu", "alpha": 0.1}. */
export function parseActivationSpec(raw: unknown, where: string): { name: ActivationName; alpha?: number } {
  if (typeof raw === "string") return { name: parseActivation(raw, where) };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || typeof (raw as { name?: unknown }).name !== "string") {
    throw new InputError(`${where}: an activation is a name like "relu" or an object like {"name": "leakyRelu", "alpha": 0.1}, not ${JSON.stringify(raw)}`);
  }
  const { name: rawName, alpha, ...rest } = raw as { name: string; alpha?: unknown };
  const name = parseActivation(rawName, where);
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new InputError(`${where}: '${extra}' is not an activation option${didYouMean(extra, ["name", "alpha"])}`);
  if (alpha === undefined) return { name };
  if (DEFAULT_ALPHA[name] === undefined) throw new InputError(`${where}: activation '${name}' takes no alpha (only leakyRelu and elu do)`);
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha < 0) {
    // Their backward passes read the slope off the output, which needs y > 0 exactly where x > 0.
    throw new InputError(`${where}: ${name}'s alpha must be a finite number ≥ 0, got ${JSON.stringify(alpha)}`);
  }
  return { name, alpha };
}

export class ActivationFunction {
  readonly name: ActivationName;
  /** The parameter as given; `alpha` falls back to the default of whatever `name` is now. */
  private readonly givenAlpha?: number;

  constructor(spec: ActivationSpec, where = "activation") {
    const { name, alpha } = parseActivationSpec(spec, where);
    this.name = name;
    this.givenAlpha = alpha;
  }

  /** Whether the activation, as it stands (with logits emitted or not), leaves values unchanged. */
  isIdentity(logits: boolean): boolean {
    return this.effective(logits) === "linear";
  }

  /** leakyRelu's negative slope or elu's scale; NaN for activations without a parameter. */
  get alpha(): number {
    return this.givenAlpha ?? DEFAULT_ALPHA[this.name] ?? NaN;
  }

  /** How getConfig writes it: the bare name unless a parameter differs from its default. */
  get config(): ActivationSpec {
    const alpha = this.alpha;
    return alpha === (DEFAULT_ALPHA[this.name] ?? NaN) || Number.isNaN(alpha) ? this.name : { name: this.name, alpha };
  }

  /** Whether backward needs the pre-activation x (gelu, geluTanh, swish, hardSwish) besides the output. */
  get backwardNeedsInput(): boolean {
    return BACKWARD_FROM_INPUT.includes(this.name);
  }

  /** With `logits` (the loss applies this activation itself), the layer stops before it. */
  private effective(logits: boolean): ActivationName {
    return logits ? "linear" : this.name;
  }

  /** The code the GEMM epilogue can apply, or linear when the activation is not fused into it. */
  epilogueCode(logits: boolean): ActCode {
    const name = this.effective(logits);
    return FUSED_IN_GEMM.includes(name) ? Act[name as Exclude<ActivationName, "softmax">] : Act.linear;
  }

  /**
   * y[rows × cols] from the GEMM's output z: whatever the epilogue could not do. z is y (in place) unless
   * the layer keeps the pre-activation apart, in which case z ≠ y only for an activation not fused.
   */
  finishForward(kernels: Kernels, z: Pointer, y: Pointer, rows: number, cols: number, logits: boolean): void {
    const name = this.effective(logits);
    if (name === "softmax") kernels.softmaxForward(z, y, rows, cols);
    else if (this.epilogueCode(logits) === Act.linear && (name !== "linear" || z !== y)) kernels.activationForward(Act[name], z, y, rows * cols, this.alpha);
  }

  /** Applies an activation that was not fused anywhere (the Activation layer, or ReLU after a pool). */
  forward(kernels: Kernels, x: Pointer, y: Pointer, rows: number, cols: number, logits: boolean): void {
    const name = this.effective(logits);
    if (name === "softmax") kernels.softmaxForward(x, y, rows, cols);
    else kernels.activationForward(Act[name], x, y, rows * cols, this.alpha);
  }

  /**
   * dz = dy ⊙ f′, written in place over dy: through the pre-activation x when backwardNeedsInput (the
   * layer must have kept it), else through the forward output y (x may then be 0).
   */
  backwardInPlace(kernels: Kernels, x: Pointer, y: Pointer, dy: Pointer, rows: number, cols: number, logits: boolean): void {
    const name = this.effective(logits);
    if (name === "linear") return;
    if (name === "softmax") kernels.softmaxBackward(y, dy, dy, rows, cols);
    else if (this.backwardNeedsInput) kernels.activationBackwardFromInput(Act[name], x, dy, dy, rows * cols);
    else kernels.activationBackward(Act[name], y, dy, dy, rows * cols, this.alpha);
  }
}
