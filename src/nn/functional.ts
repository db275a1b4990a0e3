// torch.nn.functional's counterparts for traced forward() code: F.relu(x), F.log_softmax(x, 1), …

import { Activation } from "../layers/activation";
import type { ActivationName } from "../layers/activation-function";
import { Dropout } from "../layers/dropout";
import { ELU } from "../layers/elu";
import { LeakyReLU } from "../layers/leaky-relu";
import { MaxPool2D } from "../layers/max-pool2d";
import { InputError } from "../errors";
import { concatenate, type Value } from "./trace";

function activation(x: Value, name: ActivationName): Value {
  return x.trace.apply(x, new Activation({ activation: name }), name);
}

export const relu = (x: Value) => activation(x, "relu");
export const sigmoid = (x: Value) => activation(x, "sigmoid");
export const tanh = (x: Value) => activation(x, "tanh");
export const relu6 = (x: Value) => activation(x, "relu6");
export const silu = (x: Value) => activation(x, "swish");
export const hardsigmoid = (x: Value) => activation(x, "hardSigmoid");
export const hardswish = (x: Value) => activation(x, "hardSwish");

/** F.gelu(x) (erf form) or F.gelu(x, { approximate: "tanh" }), as PyTorch's approximate= argument. */
export function gelu(x: Value, options: { approximate?: "none" | "tanh" } = {}): Value {
  const approximate = options.approximate ?? "none";
  if (approximate !== "none" && approximate !== "tanh") throw new InputError(`gelu: approximate must be 'none' or 'tanh', got '${approximate}'`);
  return activation(x, approximate === "tanh" ? "geluTanh" : "gelu");
}

export function leakyRelu(x: Value, negativeSlope = 0.01): Value {
  return x.trace.apply(x, new LeakyReLU({ alpha: negativeSlope }, "leaky_relu"), "leaky_relu");
}
export const leaky_relu = leakyRelu;

export function elu(x: Value, alpha = 1): Value {
  return x.trace.apply(x, new ELU({ alpha }, "elu"), "elu");
}

/** Softmax over the features (dim 1, or −1). */
export function softmax(x: Value, dim = -1): Value {
  checkLastDim(x, dim, "softmax");
  return activation(x, "softmax");
}

/**
 * log(softmax(x)) as the model's last step, for use with NLLLoss (PyTorch's MNIST example). The model
 * keeps its logits inside (so the pair trains exactly as cross-entropy on logits does) and returns
 * log-probabilities from call().
 */
export function logSoftmax(x: Value, dim = -1): Value {
  checkLastDim(x, dim, "log_softmax");
  return x.asLogSoftmax();
}
export const log_softmax = logSoftmax;

/** F.dropout(x, p, training): active while the module is in training mode. */
export function dropout(x: Value, p = 0.5): Value {
  return x.trace.apply(x, new Dropout({ rate: p }), "dropout");
}

export function maxPool2d(x: Value, kernelSize: number, stride = kernelSize): Value {
  return x.trace.apply(x, new MaxPool2D({ poolSize: kernelSize, strides: stride }), "max_pool2d");
}
export const max_pool2d = maxPool2d;

function checkLastDim(x: Value, dim: number, what: string): void {
  if (x.shape.length !== 1 || (dim !== 1 && dim !== -1)) throw new InputError(`${what}: supported over the features of flat [batch, n] values (dim 1)`);
}

/** x + y, element-wise (torch.add). */
export const add = (x: Value, y: Value) => x.add(y);
export const sub = (x: Value, y: Value) => x.sub(y);
export const mul = (x: Value, y: Value) => x.mul(y);

/** torch.cat(values, dim): dim 1 is the channels of images and the features of flat values. */
export const cat = (values: Value[], dim = 1) => concatenate(values, dim);
