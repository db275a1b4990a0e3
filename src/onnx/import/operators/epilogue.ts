// What follows a Conv, Gemm or MatMul that its wasmgrad layer can do itself: adding a per-channel
// constant (PyTorch's MatMul + Add; a bias added after the fact) goes into the bias, and one activation
// (GELU's Erf form too) into the layer's activation. Only along a chain where each tensor has that one reader, so nothing else
// sees the intermediate values.

import type { NodeProto } from "../../onnx-proto";
import { NodeReader } from "../context";
import { perChannel } from "../data";
import { isConstant } from "../shape-folding";
import type { Layout } from "../values";
import { ACTIVATION_OPS, activationOf, geluAt, type ActivationSpec } from "./activations";

export interface Epilogue {
  /** Added to the layer's bias (per output channel), or undefined when nothing was folded. */
  biasAdd?: Float32Array;
  activation: ActivationSpec;
  /** The initializer the folded bias is, when it is exactly one initializer added (MatMul + Add). */
  biasInitializer?: string;
  /** The tensor the layer's output stands for: the last absorbed node's output. */
  output: string;
  /** What was absorbed, for keys of shared layers. */
  signature: string;
}

/**
 * Walks the single-reader chain after `r`'s node. `shape` is the file's per-sample shape of the affine
 * output, `ours` our shape of it; `channels` its width, along the file's axis `channelAxis` (counted with the
 * batch: 1, channels first, for images and vectors; the last for a Dense on a sequence).
 */
export function epilogue(r: NodeReader, shape: number[], ours: number[], layout: Layout, channels: number, channelAxis = 1): Epilogue {
  const ctx = r.ctx;
  let output = r.node.outputs[0];
  let biasAdd: Float32Array | undefined;
  const added: (string | undefined)[] = [];
  const parts: string[] = [];
  const absorb = (node: NodeProto) => {
    ctx.absorbed.add(node);
    output = node.outputs[0];
  };
  for (;;) {
    const next = ctx.soleConsumer(output);
    // GELU's Erf form reads the tensor twice (Div and Mul): the layer's gelu where nothing else reads it.
    const gelu = next ? undefined : geluAt(ctx, output);
    if (gelu && ctx.consumersOf(output).length === 2 && !ctx.isGraphOutput(output)) {
      gelu.nodes.forEach(absorb);
      parts.push("act:gelu");
      return { biasAdd, biasInitializer: single(added), activation: "gelu", output, signature: parts.join(",") };
    }
    if (!next || !isDefaultDomain(next)) break;
    const reader = new NodeReader(next, `${ctx.source}: node ${next.name || "(unnamed)"} (${next.opType})`, ctx);
    if (next.opType === "Add" || next.opType === "Sub") {
      const other = next.inputs[0] === output ? 1 : 0;
      const constant = ctx.values.get(next.inputs[other]);
      if (!isConstant(constant) || (next.opType === "Sub" && other === 0)) break;
      const floats = reader.floats(other, "addend");
      const values = perChannel(floats, shape, channels, channelAxis);
      if (!values) break;
      biasAdd ??= new Float32Array(channels);
      const sign = next.opType === "Sub" ? -1 : 1;
      for (let i = 0; i < channels; i++) biasAdd[i] += sign * values[i];
      parts.push(`${next.opType}:${next.inputs[other]}`);
      added.push(next.opType === "Add" && floats.initializer && floats.data.length === channels ? floats.initializer : undefined);
      absorb(next);
      continue;
    }
    if (ACTIVATION_OPS.includes(next.opType) && next.inputs[0] === output) {
      const found = tryActivation(reader, shape, layout, ours);
      // Not one this layer can take: the node maps on its own, and says why there if it cannot.
      if (!found || found.flatten) break;
      absorb(next);
      let activation = found.spec;
      // PyTorch 1.13 writes F.relu6 as Relu then Clip(0, 6): one relu6.
      const clip = activation === "relu" ? ctx.soleConsumer(output) : undefined;
      if (clip?.opType === "Clip" && isDefaultDomain(clip) && clip.inputs[0] === output) {
        const spec = tryActivation(new NodeReader(clip, `${ctx.source}: node ${clip.name || "(unnamed)"} (Clip)`, ctx), shape, layout, ours);
        if (spec?.spec === "relu6" || spec?.spec === "relu") {
          absorb(clip);
          activation = spec.spec;
        }
      }
      parts.push(`act:${JSON.stringify(activation)}`);
      return { biasAdd, biasInitializer: single(added), activation, output, signature: parts.join(",") };
    }
    break;
  }
  return { biasAdd, biasInitializer: single(added), activation: "linear", output, signature: parts.join(",") };
}

const single = (names: (string | undefined)[]) => (names.length === 1 ? names[0] : undefined);

const isDefaultDomain = (node: NodeProto) => !node.domain || node.domain === "ai.onnx";

function tryActivation(r: NodeReader, shape: number[], layout: Layout, ours: number[]): ReturnType<typeof activationOf> | undefined {
  try {
    return activationOf(r, { shape, layout, ours });
  } catch {
    return undefined;
  }
}
