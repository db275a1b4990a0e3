// The attention family → ONNX: LayerNormalization, MultiHeadAttention, PositionEmbedding,
// SinePositionEncoding and Cropping1D (what a transformer such as models/char_transformer.json is made of).
//
// LayerNormalization: ONNX's LayerNormalization operator (opset 17) when the export's opset has it, else the
// decomposition PyTorch writes below 17 — mean = ReduceMean(x), d = x − mean, y = d / √(ReduceMean(d·d) + ε),
// then ·γ and +β — over the same trailing axes (our axes are trailing, so ONNX's axis is the first of them).
// Without γ (scale false) the operator still takes a scale: ones (a Constant node).
//
// MultiHeadAttention, on [batch, T, features] in our order: each projection a MatMul (+ Add), reshaped to
// [batch, T, heads, dim] and transposed to [batch, heads, T, dim] (K to [batch, heads, dim, T]); scores =
// MatMul(Q, Kᵀ) · (1/√keyDim, the f32 constant our kernel multiplies by); Softmax over the keys; MatMul with
// V; transposed back and reshaped to [batch, Tq, heads·valueDim] — the concat of heads our
// attention_output/kernel [heads, valueDim, out] reads as [heads·valueDim, out] — then MatMul (+ Add).
// Masks, as ours: useCausalMask adds a constant [Tq, Tk] of 0 (key j ≤ query i) and −∞ (j > i); every row
// keeps key 0, so no row is all −∞ and exp(−∞) = 0 gives masked keys exactly weight 0, as our kernel does. A
// key padding mask (the key's mask, which the graph carries as [batch, Tk] of 1/0) makes the visible set
// mask·causal: masked scores become −∞ (Where), and rows with no visible key — a sample all padding, or a
// causal row whose keys are all padding — are zeros (a second Where; Softmax gives NaN there), as our
// kernel's are. returnAttentionScores: the weights [batch, heads, Tq, Tk] are the second output.
//
// PositionEmbedding / SinePositionEncoding output the positions whatever the input holds: a constant [T, D]
// (the table's first T rows, or the sine encoding computed here in f64 and stored in f32 as the layer does)
// broadcast to the input's shape by Expand(constant, Shape(x)). Expand copies the values exactly; adding
// 0·x instead would turn an infinite or NaN input into NaN positions, which ours never are.
//
// Cropping1D: Slice on the steps axis (axis 1), the mask sliced with it.

import { InputError } from "../errors";
import { Cropping1D } from "../layers/cropping1d";
import { LayerNormalization } from "../layers/layer-normalization";
import { MultiHeadAttention } from "../layers/multi-head-attention";
import { PositionEmbedding, SinePositionEncoding } from "../layers/position-embedding";
import type { Layer } from "../layers/layer";
import type { GraphWriter, Ref } from "./export";
import { TensorDataType, type AttributeProto } from "./onnx-proto";

const ints = (name: string, values: number[]): AttributeProto => ({ name, type: "INTS", ints: values });
const int = (name: string, i: number): AttributeProto => ({ name, type: "INT", i });
const float = (name: string, f: number): AttributeProto => ({ name, type: "FLOAT", f });

/** The first opset with the LayerNormalization operator. */
export const LAYER_NORMALIZATION_OPSET = 17;

export type AttentionFamily = LayerNormalization | MultiHeadAttention | PositionEmbedding | SinePositionEncoding | Cropping1D;

export function isAttentionFamily(layer: Layer): layer is AttentionFamily {
  return layer instanceof LayerNormalization || layer instanceof MultiHeadAttention || layer instanceof PositionEmbedding || layer instanceof SinePositionEncoding || layer instanceof Cropping1D;
}

export function exportAttentionFamily(g: GraphWriter, layer: AttentionFamily, inputs: Ref[]): Ref | Ref[] {
  if (layer instanceof LayerNormalization) return layerNormalization(g, layer, inputs[0]);
  if (layer instanceof MultiHeadAttention) return multiHeadAttention(g, layer, inputs);
  if (layer instanceof Cropping1D) return cropping1D(g, layer, inputs[0]);
  return positions(g, layer, inputs[0]);
}

/** A parameter's values by its suffix ("query/kernel"), and its index among the layer's parameters. */
function param(g: GraphWriter, layer: Layer, suffix: string): Float32Array | undefined {
  const i = layer.params.findIndex((p) => p.name.endsWith(`/${suffix}`) || p.name === suffix);
  return i < 0 ? undefined : g.values(layer, i);
}

function layerNormalization(g: GraphWriter, layer: LayerNormalization, x: Ref): Ref {
  const input = g.ours(x);
  const rank = input.shape.length;
  const axes = layer.normalizedAxes(input.shape).map((a) => a + 1);
  const normalized = axes.map((a) => input.shape[a - 1]);
  const size = normalized.reduce((a, b) => a * b, 1);
  const gamma = layer.scale ? g.weight(`${layer.name}/gamma`, normalized, param(g, layer, "gamma")!) : undefined;
  const beta = layer.center ? g.weight(`${layer.name}/beta`, normalized, param(g, layer, "beta")!) : undefined;
  const out = (name: string): Ref => ({ name, layout: "ours", shape: input.shape });
  if (g.opset >= LAYER_NORMALIZATION_OPSET) {
    // Without γ the operator still takes a scale: ones, as a Constant node (not an initializer), which the
    // importer reads as no scale rather than a parameter.
    const ones = { name: "value", type: "TENSOR" as const, t: { name: "", dataType: TensorDataType.FLOAT, dims: normalized, data: new Float32Array(size).fill(1) } };
    const scale = gamma ?? g.node("Constant", [], [ones], "ones");
    const attributes = [int("axis", rank + 1 - axes.length), float("epsilon", layer.epsilon)];
    return out(g.node("LayerNormalization", beta ? [input.name, scale, beta] : [input.name, scale], attributes, layer.name));
  }
  const mean = g.node("ReduceMean", [input.name], [ints("axes", axes), int("keepdims", 1)]);
  const d = g.node("Sub", [input.name, mean]);
  const variance = g.node("ReduceMean", [g.node("Mul", [d, d])], [ints("axes", axes), int("keepdims", 1)]);
  const std = g.node("Sqrt", [g.node("Add", [variance, g.floats([layer.epsilon], [])])]);
  let y = g.node("Div", [d, std], [], gamma || beta ? "div" : layer.name);
  if (gamma) y = g.node("Mul", [y, gamma], [], beta ? "mul" : layer.name);
  if (beta) y = g.node("Add", [y, beta], [], layer.name);
  return out(y);
}

function multiHeadAttention(g: GraphWriter, layer: MultiHeadAttention, inputs: Ref[]): Ref[] {
  // The key's mask: of the key input, else the value's, else (self-attention) the query's.
  const keyMask = inputs[Math.min(inputs.length, 3) - 1].mask;
  const [query, value = query, key = value] = inputs.map((r) => g.ours(r));
  const h = layer.numHeads, dk = layer.keyDim, dv = layer.valueDim;
  const [tq] = query.shape, [tk] = key.shape;
  const name = layer.name;
  const project = (x: Ref, role: "query" | "key" | "value", dim: number, perm: number[]) => {
    const kernel = g.weight(`${name}/${role}/kernel`, [x.shape[1], h * dim], param(g, layer, `${role}/kernel`)!);
    let z = g.node("MatMul", [x.name, kernel], [], `${role}_matmul`);
    if (layer.useBias) z = g.node("Add", [z, g.weight(`${name}/${role}/bias`, [h * dim], param(g, layer, `${role}/bias`)!)], [], `${role}_bias`);
    const heads = g.node("Reshape", [z, g.int64s([0, 0, h, dim])], [], `${role}_heads`);
    return g.node("Transpose", [heads], [ints("perm", perm)], role);
  };
  const q = project(query, "query", dk, [0, 2, 1, 3]); // [batch, heads, Tq, dk]
  const k = project(key, "key", dk, [0, 2, 3, 1]); // [batch, heads, dk, Tk]
  const v = project(value, "value", dv, [0, 2, 1, 3]); // [batch, heads, Tk, dv]
  const scores = g.node("Mul", [g.node("MatMul", [q, k], [], "scores"), g.floats([1 / Math.sqrt(dk)], [])], [], "scaled_scores");
  const causal = layer.useCausalMask ? causalMask(tq, tk) : undefined;
  let weights: string;
  if (!keyMask) {
    const masked = causal ? g.node("Add", [scores, g.floats(Array.from(causal, (c) => (c ? 0 : -Infinity)), [tq, tk])], [], "causal_scores") : scores;
    weights = g.node("Softmax", [masked], [int("axis", -1)], "attention_weights");
  } else {
    // visible [batch, 1, Tq or 1, Tk]: the key mask, times the causal mask.
    let visible = g.node("Reshape", [keyMask, g.int64s([0, 1, 1, tk])], [], "key_mask");
    if (causal) visible = g.node("Mul", [visible, g.floats(Array.from(causal), [tq, tk])], [], "visible");
    const masked = g.node("Where", [g.node("Cast", [visible], [int("to", TensorDataType.BOOL)]), scores, g.floats([-Infinity], [])], [], "masked_scores");
    const softmax = g.node("Softmax", [masked], [int("axis", -1)]);
    const any = g.node("Cast", [g.node("ReduceMax", [visible], [ints("axes", [3]), int("keepdims", 1)])], [int("to", TensorDataType.BOOL)], "any_visible");
    weights = g.node("Where", [any, softmax, g.floats([0], [])], [], "attention_weights");
  }
  const attended = g.node("MatMul", [weights, v], [], "attended"); // [batch, heads, Tq, dv]
  const merged = g.node("Reshape", [g.node("Transpose", [attended], [ints("perm", [0, 2, 1, 3])]), g.int64s([0, 0, h * dv])], [], "merged_heads");
  const width = layer.outputShape[1];
  let out = g.node("MatMul", [merged, g.weight(`${name}/attention_output/kernel`, [h * dv, width], param(g, layer, "attention_output/kernel")!)], [], layer.useBias ? "output_matmul" : name);
  if (layer.useBias) out = g.node("Add", [out, g.weight(`${name}/attention_output/bias`, [width], param(g, layer, "attention_output/bias")!)], [], name);
  const result: Ref[] = [{ name: out, layout: "ours", shape: [tq, width] }];
  if (layer.returnAttentionScores) result.push({ name: weights, layout: "ours", shape: [h, tq, tk] });
  return result;
}

/** 1 where query i sees key j (j ≤ i, Keras' causal mask on [Tq, Tk]), 0 elsewhere. */
function causalMask(tq: number, tk: number): Float32Array {
  const out = new Float32Array(tq * tk);
  for (let i = 0; i < tq; i++) for (let j = 0; j <= Math.min(i, tk - 1); j++) out[i * tk + j] = 1;
  return out;
}

/** The layer's positions [T, D] broadcast to the input's [batch, T, D]. */
function positions(g: GraphWriter, layer: PositionEmbedding | SinePositionEncoding, x: Ref): Ref {
  const input = g.ours(x);
  const [steps, width] = input.shape;
  let constant: string;
  if (layer instanceof PositionEmbedding) {
    const table = g.weight(`${layer.name}/embeddings`, [layer.sequenceLength, width], param(g, layer, "embeddings")!);
    // The first T rows: the whole table when it has T.
    constant = steps === layer.sequenceLength ? table : g.node("Slice", [table, g.int64s([0]), g.int64s([steps]), g.int64s([0])], [], "positions");
  } else {
    constant = g.weight(`${layer.name}/encoding`, [steps, width], sineEncoding(steps, width, layer.maxWavelength));
  }
  return { name: g.node("Expand", [constant, g.node("Shape", [input.name])], [], layer.name), layout: "ours", shape: input.shape };
}

/** SinePositionEncoding's values, computed as the layer computes them (f64, stored in f32). */
export function sineEncoding(steps: number, width: number, maxWavelength: number): Float32Array {
  const values = new Float32Array(steps * width);
  for (let p = 0; p < steps; p++)
    for (let i = 0; i < width; i++) {
      const angle = p * Math.pow(maxWavelength, -(2 * Math.floor(i / 2)) / width);
      values[p * width + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  return values;
}

function cropping1D(g: GraphWriter, layer: Cropping1D, x: Ref): Ref {
  const input = g.ours(x);
  const [start, end] = layer.cropping;
  const steps = input.shape[0];
  if (input.shape.length !== 2) throw new InputError(`layer ${layer.name} (Cropping1D) has no ONNX export for inputs shaped [${input.shape}]`);
  const slice = (name: string, hint: string) => g.node("Slice", [name, g.int64s([start]), g.int64s([steps - end]), g.int64s([1])], [], hint);
  const out: Ref = { name: slice(input.name, layer.name), layout: "ours", shape: layer.outputShape };
  return x.mask ? { ...out, mask: slice(x.mask, "mask") } : out;
}
