// BatchNormalization → wasmgrad's BatchNormalization (over our last axis, which must be the file's channel
// axis), and per-channel constant arithmetic (x·s + t from Mul, Div, Add and Sub by constants) as a frozen
// BatchNormalization with mean 0 and variance 1, whose scale and shift are s and t and never train: ONNX
// constants are not parameters.

import type { NodeReader } from "../context";
import { channelsLast, dataValue } from "../data";
import { copyOf } from "../weights";
import type { DataValue, Value } from "../values";

export function batchNormalization(r: NodeReader): Value {
  r.onlyFirstOutput("running statistics");
  const x = r.data(0);
  const c = channelsLast(x);
  if (c === undefined) r.fail(`normalizes the channel axis of [batch, ${x.shape}], which is not the last axis in wasmgrad's layout`);
  const [gamma, beta, mean, variance] = (["scale", "bias", "mean", "variance"] as const).map((what, k) => r.floats(k + 1, what));
  if ([gamma, beta, mean, variance].some((t) => t.data.length !== c)) r.fail(`its parameters must have one value per channel (${c})`);
  if (r.opset < 9 && r.int("spatial", 1) !== 1) r.fail("spatial = 0 (statistics per position) is not supported");
  const epsilon = Math.max(r.float("epsilon", 1e-5), 1e-12);
  const momentum = r.float("momentum", 0.9);
  if (!(momentum >= 0 && momentum <= 1)) r.fail(`momentum ${momentum} is not between 0 and 1`);
  const source = (t: typeof gamma) => (t.initializer ? { initializer: t.initializer, toWasmgrad: copyOf } : undefined);
  const { output } = r.ctx.addLayer(r.at, { type: "BatchNormalization", epsilon, momentum }, [x.sym], {
    values: [gamma.data.slice(), beta.data.slice()],
    sources: [source(gamma), source(beta)],
    state: [...mean.data, ...variance.data],
  });
  return dataValue(output, x.shape, x.layout);
}

/**
 * x·scale + shift per channel. Where x is the output of a constant affine made earlier and this node is its
 * only reader, the two are one: the earlier layer's scale and shift change instead.
 */
export function constantAffine(r: NodeReader, x: DataValue, xName: string, channels: number, scale: Float32Array, shift: Float32Array): Value {
  const earlier = r.ctx.constantAffines.get(x.sym);
  if (earlier && r.ctx.soleConsumer(xName) === r.node) {
    for (let i = 0; i < channels; i++) {
      earlier.shift[i] = earlier.shift[i] * scale[i] + shift[i];
      earlier.scale[i] *= scale[i];
    }
    return x;
  }
  const s = scale.slice(), t = shift.slice();
  // Mean 0, variance 1 and the smallest epsilon: 1/√(1 + 1e-12) is 1 in float32, so y = x·s + t exactly.
  const { output } = r.ctx.addLayer(r.at, { type: "BatchNormalization", epsilon: 1e-12, momentum: 0.99 }, [x.sym], {
    values: [s, t],
    state: [...new Float32Array(channels), ...new Float32Array(channels).fill(1)],
    trainable: false,
  });
  r.ctx.constantAffines.set(output, { scale: s, shift: t });
  return dataValue(output, x.shape, x.layout);
}
