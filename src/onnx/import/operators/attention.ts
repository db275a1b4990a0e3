// Multi-head attention → one MultiHeadAttention layer, from the subgraph that computes it: PyTorch's
// nn.MultiheadAttention (batch_first or not; its packed in-projection sliced in three, heads merged with the
// batch as [T, B·H, d], the out-projection a Gemm on [T·B, E]) and wasmgrad's own export ([B, H, T, d]).
// wasmgrad has no layer for a product of two computed tensors, so attention is recognised as a whole before
// the walk (findAttention), and the layer is made when the walk reaches the subgraph's last node.
//
// The subgraph, from its core outwards:
//   scores  = MatMul(a, b), then any of Mul/Div by a scalar constant and one Add of a constant mask;
//   weights = Softmax over the last axis; out = MatMul(weights, v);
//   a, b, v = a chain of Transpose, Reshape, Identity and Mul/Div by a scalar from a projection of the query,
//            key and value: MatMul(x, W) (+ bias), or a Slice of the last axis of one such projection shared by
//            the three (PyTorch's in_proj_weight);
//   then Transpose/Reshape to the out-projection (MatMul + bias, or Gemm), and Reshape/Transpose after it to
//   the first tensor that is [batch, T, E] or [T, batch, E] (the subgraph's output).
// What each axis holds is tracked through every reshape and transpose, by labelling the factors of the
// axes (the batch, the query's and key's steps, the projections' features, and the head and per-head parts
// these split into): shapes come from a probe of the graph with a concrete batch size (shape-probe.ts, run
// twice to tell the batch axis), because PyTorch's shapes merge the batch with other axes, which the
// importer's values cannot say. The checks: the heads of a, b and v are the same split of their features
// (so ours, heads·dim, with the columns re-laid where the file puts the head second); the query · key
// product contracts exactly the per-head features; the keys are softmaxed; the batch is never split or
// mixed with heads at the output; the out-projection contracts exactly (head, value dim); the scale is
// 1/√keyDim, as ours (a file scaling otherwise is refused); the mask is zeros or causal (0 where key j ≤
// query i, −∞ or ≤ −10⁴ above: useCausalMask; every row keeps key 0, so this equals our kernel exactly).
// Weights are re-laid into Keras' shapes: query/key/value kernel [in, heads, dim] (a projection without a
// bias gets zeros where others have one), attention_output/kernel [heads, valueDim, out].
// The weights as a graph output laid out as ours, [batch, heads, Tq, Tk] (wasmgrad's export with
// returnAttentionScores; PyTorch's need_weights with average_attn_weights=False, a Reshape of them), are the
// layer's second output. Any other reader of a tensor inside the subgraph (PyTorch's default need_weights,
// which averages the heads) is refused, as is everything else here that does not match, by the Softmax's
// name and the reason. Shape arithmetic that only the subgraph reads (PyTorch computes its reshape targets
// from Shape, Gather, Concat, …, with the batch merged into them) is not walked.
// Key padding masks (key_padding_mask, or the Where wasmgrad's export writes for a masked key) are not
// recognised: their operators are refused where the walk meets them.

import { InputError } from "../../../errors";
import { attribute, type GraphProto, type NodeProto } from "../../onnx-proto";
import type { ImportContext, Mapper, NodeReader } from "../context";
import { dataValue, inFileOrder } from "../data";
import { probeShapes, type Probed } from "../shape-probe";
import { identityLayout, isIdentityLayout, product, type FloatConstant } from "../values";
import { withBatch } from "./structure";

/** Two batch sizes for the probes: large primes, so that no other axis is mistaken for the batch. */
const PROBE_BATCHES = [1009, 1013];

interface Factor {
  id: string;
  size: number;
}
type Groups = Factor[][];

type Role = "q" | "k" | "v";

interface Projection {
  input: string;
  nodes: NodeProto[];
  weight: string;
  bias?: string;
  output: string;
}

interface RoleSource {
  projection: Projection;
  /** Columns [start, end) of the projection (a Slice of a packed one), or all of them. */
  start: number;
  end: number;
  slice?: NodeProto;
  /** The head factor's position in the split of the role's features (0 or 1), or −1 for one head. */
  headAt: number;
}

interface Region {
  roles: Record<Role, RoleSource>;
  heads: number;
  keyDim: number;
  valueDim: number;
  steps: { query: number; key: number };
  outputWidth: number;
  causal: boolean;
  out: { weight: string; transB: boolean; bias?: string; nodes: NodeProto[]; headFirst: boolean };
  softmax: NodeProto;
  /** The tensor that holds the attention weights as a graph output, [batch, heads, Tq, Tk]. */
  scoresOutput?: string;
  exit: NodeProto;
  exitBatchAxis: number;
  nodes: Set<NodeProto>;
}

const isDefault = (n: NodeProto) => !n.domain || n.domain === "ai.onnx";

/**
 * Finds the attention subgraphs: their last nodes get the mapper that makes the layer, the rest are absorbed,
 * and the shape arithmetic that only they read is skipped. Refuses, by the Softmax's name, attention it
 * cannot import.
 */
export function findAttention(ctx: ImportContext, graph: GraphProto, inputShapes: { name: string; shape: number[] }[], opset: number): void {
  const computed = computedTensors(graph, inputShapes.map((i) => i.name));
  const cores = graph.nodes.filter((n) => n.opType === "Softmax" && isDefault(n) && scoresMatMul(ctx, n, computed) !== undefined);
  if (cores.length === 0) return;
  const probes = PROBE_BATCHES.map((b) => probeShapes(graph.nodes, graph.initializers, inputShapes.map((i) => ({ name: i.name, shape: [b, ...i.shape] }))));
  const regions: Region[] = [];
  for (const softmax of cores) {
    const at = `${ctx.source}: node ${softmax.name || "(unnamed)"} (Softmax)`;
    try {
      regions.push(new Matcher(ctx, probes, computed, softmax, opset).match());
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      throw new InputError(`${at}: attention that wasmgrad cannot import as a MultiHeadAttention layer: ${error.message}`);
    }
  }
  for (const region of regions) {
    for (const n of region.nodes) if (n !== region.exit) ctx.absorbed.add(n);
    ctx.specialMappers.set(region.exit, (r) => build(r, region));
  }
  markSupport(ctx, graph, regions);
}

class Refusal extends Error {}
const refuse = (message: string): never => {
  throw new Refusal(message);
};

/** Tensors computed from the data inputs (not from shapes alone: Shape's output is not). */
function computedTensors(graph: GraphProto, inputs: string[]): Set<string> {
  const computed = new Set(inputs);
  for (const n of graph.nodes) {
    if (n.opType === "Shape" || n.opType === "Constant") continue;
    if (n.inputs.some((i) => computed.has(i))) for (const o of n.outputs) if (o) computed.add(o);
  }
  return computed;
}

/** The MatMul of two computed tensors that a Softmax's input comes from (through scalar scales and a mask Add). */
function scoresMatMul(ctx: ImportContext, softmax: NodeProto, computed: Set<string>): { matMul: NodeProto; ops: NodeProto[] } | undefined {
  let t = softmax.inputs[0];
  const ops: NodeProto[] = [];
  for (let depth = 0; depth < 4; depth++) {
    const n = ctx.producerOf(t);
    if (!n || !isDefault(n)) return undefined;
    if (n.opType === "MatMul") return n.inputs.every((i) => computed.has(i)) ? { matMul: n, ops: ops.reverse() } : undefined;
    if (!["Mul", "Div", "Add"].includes(n.opType) || n.inputs.length !== 2) return undefined;
    const data = n.inputs.filter((i) => computed.has(i));
    if (data.length !== 1 || (n.opType === "Div" && n.inputs[0] !== data[0])) return undefined;
    ops.push(n);
    t = data[0];
  }
  return undefined;
}

class Matcher {
  private readonly nodes = new Set<NodeProto>();
  private scale = 1;

  constructor(
    private readonly ctx: ImportContext,
    private readonly probes: Map<string, Probed>[],
    private readonly computed: Set<string>,
    private readonly softmax: NodeProto,
    private readonly opset: number,
  ) {}

  private shape(t: string): number[] {
    return this.probes[0].get(t)?.shape ?? refuse(`the shape of '${t}' cannot be worked out when importing`);
  }

  /**
   * Readers of t other than those that only take its shape (Shape, or a transpose read only by Shape: PyTorch's
   * k.transpose(0, 1).size(1)); that shape arithmetic is skipped with the subgraph.
   */
  private readers(t: string): NodeProto[] {
    return [...new Set(this.ctx.consumersOf(t))].filter((n) => !this.shapeOnly(n));
  }

  private shapeOnly(n: NodeProto, depth = 0): boolean {
    if (n.opType === "Shape") return true;
    if (depth > 8 || !["Transpose", "Reshape", "Identity", "Squeeze", "Unsqueeze", "Cast"].includes(n.opType) || n.outputs.some((o) => this.ctx.isGraphOutput(o))) return false;
    const readers = n.outputs.flatMap((o) => this.ctx.consumersOf(o));
    return readers.length > 0 && readers.every((c) => this.shapeOnly(c, depth + 1));
  }

  private soleReader(t: string): NodeProto | undefined {
    const readers = this.readers(t);
    return readers.length === 1 && !this.ctx.isGraphOutput(t) ? readers[0] : undefined;
  }

  private constant(t: string): FloatConstant | undefined {
    let v = this.ctx.values.get(t);
    // An Identity of a constant (PyTorch de-duplicates equal initializers so): the constant.
    for (let n = this.ctx.producerOf(t); !v && n?.opType === "Identity"; n = this.ctx.producerOf(n.inputs[0])) v = this.ctx.values.get(n.inputs[0]);
    if (!v || v.kind === "data") return undefined;
    if (v.kind === "ints") return v.data.every((d) => typeof d === "number") ? { kind: "floats", dims: v.dims, data: Float32Array.from(v.data as number[]) } : undefined;
    return v.batchAxis === undefined ? v : undefined;
  }

  private scalar(n: NodeProto, data: string): number | undefined {
    const other = n.inputs.find((i) => i !== data);
    const c = other === undefined ? undefined : this.constant(other);
    return c && c.data.length === 1 ? c.data[0] : undefined;
  }

  match(): Region {
    const found = scoresMatMul(this.ctx, this.softmax, this.computed)!;
    const scores = found.matMul;
    this.nodes.add(scores);
    const [a, b] = scores.inputs;
    const q = this.operand(a, "q"), k = this.operand(b, "k");
    // The product contracts the per-head features: a [..., Tq, d], b [..., d, Tk].
    const la = q.groups.slice(0, -2), lb = k.groups.slice(0, -2);
    const [gtq, gd] = q.groups.slice(-2), [gdk, gtk] = k.groups.slice(-2);
    if (!gtq || !gdk) refuse("the query and key products are not matrices per head");
    const tq = this.size("t:q"), tk = this.size("t:k");
    if (!isGroup(gtq, "t:q", tq)) refuse(`the query side of the scores holds [${describe(gtq)}], not the query's steps`);
    if (!isGroup(gtk, "t:k", tk)) refuse(`the key side of the scores holds [${describe(gtk)}], not the key's steps`);
    const queryHeads = this.heads(la, lb, "q", "k");
    if (!mirrors(gd, gdk, "q", "k") || !gd.every((f) => f.id.startsWith("e:q"))) refuse(`the scores contract [${describe(gd)}] with [${describe(gdk)}], not one per-head part of the query's and key's features`);
    const headAt = this.headSplit("q", queryHeads, gd);
    this.headSplit("k", queryHeads.map((f) => ({ ...f, id: f.id.replace("e:q", "e:k") })), gdk);
    // Scores ops: scales and a mask.
    let mask: FloatConstant | undefined;
    for (const op of found.ops) {
      this.nodes.add(op);
      const data = op.inputs.find((i) => this.computed.has(i))!;
      if (op.opType === "Add") {
        if (mask) refuse("adds two masks to the scores");
        mask = this.constant(op.inputs.find((i) => i !== data)!) ?? refuse("adds a computed mask to the scores");
        continue;
      }
      const s = this.scalar(op, data) ?? refuse(`${op.opType} of the scores by something other than one constant number`);
      this.scale *= op.opType === "Mul" ? s : 1 / s;
    }
    const causal = mask ? this.causal(mask, tq, tk) : false;
    // Softmax over the keys.
    this.nodes.add(this.softmax);
    const rank = this.shape(this.softmax.inputs[0]).length;
    const axis = attribute(this.softmax, "axis")?.type === "INT" ? (attribute(this.softmax, "axis") as { i: number }).i : this.opset >= 13 ? -1 : 1;
    if ((axis < 0 ? axis + rank : axis) !== rank - 1) refuse(`the Softmax runs over axis ${axis}, not the keys (the last axis)`);
    const weights = this.softmax.outputs[0];
    const readers = this.readers(weights);
    const attend = readers.find((n) => n.opType === "MatMul" && isDefault(n) && n.inputs[0] === weights) ?? refuse("the attention weights are not multiplied by the values");
    // The weights as an output too: the Softmax's own, or one reached by reshapes alone (PyTorch's
    // need_weights with average_attn_weights=False), laid out as ours, [batch, heads, Tq, Tk].
    let scoreGroups: Groups = [...la, gtq, gtk];
    let scoresOutput = this.ctx.isGraphOutput(weights) ? weights : undefined;
    const others = readers.filter((n) => n !== attend);
    if (others.length > 1 || (others.length === 1 && scoresOutput)) refuse("the attention weights are read more than once besides the product with the values");
    if (others.length === 1) {
      let t = weights, n: NodeProto | undefined = others[0];
      while (n && (n.opType === "Reshape" || n.opType === "Transpose" || n.opType === "Identity") && isDefault(n)) {
        scoreGroups = this.step(n, scoreGroups, t);
        t = n.outputs[0];
        if (this.ctx.isGraphOutput(t)) break;
        n = this.soleReader(t);
      }
      if (!this.ctx.isGraphOutput(t)) refuse(`the attention weights are read by ${others[0].name || "a node"} (${others[0].opType}) besides the product with the values, other than as an output (PyTorch's need_weights averages them over the heads: export with need_weights=False or average_attn_weights=False)`);
      scoresOutput = t;
    }
    if (scoresOutput && !(scoreGroups.length === 4 && isGroup(scoreGroups[0], "b", PROBE_BATCHES[0]) && sameIds(scoreGroups[1], queryHeads) && isGroup(scoreGroups[2], "t:q", tq) && isGroup(scoreGroups[3], "t:k", tk))) {
      refuse(`the attention weights are an output laid out as [${scoreGroups.map(describe).join("], [")}]; wasmgrad's are [batch, heads, Tq, Tk]`);
    }
    this.nodes.add(attend);
    const v = this.operand(attend.inputs[1], "v");
    const lv = v.groups.slice(0, -2);
    const [gtv, gdv] = v.groups.slice(-2);
    if (!gtv || !isGroup(gtv, "t:v", tk)) refuse(`the value side of the product holds [${gtv ? describe(gtv) : ""}], not the value's steps (as many as the key's)`);
    this.heads(la, lv, "q", "v");
    if (gdv.length !== 1 || !gdv[0].id.startsWith("e:v")) refuse(`the product with the values leaves [${describe(gdv)}], not one per-head part of the value's features`);
    const valueHeadAt = this.headSplit("v", queryHeads.map((f) => ({ ...f, id: f.id.replace("e:q", "e:v") })), gdv);
    if (valueHeadAt !== headAt || (this.roles.k && this.roles.k.headAt !== headAt)) refuse("the query, key and value split their features into heads differently");
    // After the product: [..., Tq, dv] to the out-projection.
    let groups: Groups = [...la, gtq, gdv];
    let t = attend.outputs[0];
    let next = this.soleReader(t) ?? refuse("the attended values are read by more than one node");
    while (next.opType === "Transpose" || next.opType === "Reshape" || next.opType === "Identity") {
      groups = this.step(next, groups, t);
      t = next.outputs[0];
      next = this.soleReader(t) ?? refuse("the merged heads are read by more than one node");
    }
    const out = this.outProjection(next, groups, queryHeads, gdv);
    groups = out.groups;
    t = out.output;
    // To the first [batch, T, E] or [T, batch, E].
    let exitAxis = exitBatchAxis(groups, tq);
    let exit = out.last;
    while (exitAxis < 0) {
      const reader = this.soleReader(t);
      if (!reader || !(reader.opType === "Reshape" || reader.opType === "Transpose" || reader.opType === "Identity")) return refuse(`the output of the out-projection [${groups.map(describe).join("], [")}] is not brought back to [batch, T, E] or [T, batch, E]`);
      groups = this.step(reader, groups, t);
      t = reader.outputs[0];
      exit = reader;
      exitAxis = exitBatchAxis(groups, tq);
    }
    const dk = product(gd.map((f) => f.size)), dv = gdv[0].size;
    const heads = product(queryHeads.map((f) => f.size));
    if (!(Math.abs(this.scale * Math.sqrt(dk) - 1) <= 1e-5)) refuse(`the scores are scaled by ${this.scale}, not 1/√${dk} (wasmgrad's MultiHeadAttention scales by 1/√keyDim)`);
    return {
      roles: this.roles as Record<Role, RoleSource>, heads, keyDim: dk, valueDim: dv, steps: { query: tq, key: tk }, outputWidth: out.width, causal,
      out: { weight: out.weight, transB: out.transB, bias: out.bias, nodes: out.nodes, headFirst: out.headFirst }, softmax: this.softmax,
      scoresOutput, exit, exitBatchAxis: exitAxis, nodes: this.nodes,
    };
  }

  private readonly sizes = new Map<string, number>();
  private readonly roles: Partial<Record<Role, RoleSource>> = {};

  private size(id: string): number {
    return this.sizes.get(id)!;
  }

  /** The leading (batched) groups of two matrix products' operands: the batch once, and the heads, mirrored. */
  private heads(la: Groups, lo: Groups, role: Role, other: Role): Factor[] {
    if (la.length !== lo.length || !la.every((g, i) => mirrors(g, lo[i], role, other))) {
      refuse(`the ${role === "q" ? "query" : role} side is batched as [${la.map(describe).join("], [")}] and the ${other === "k" ? "key" : "value"} side as [${lo.map(describe).join("], [")}]`);
    }
    const all = la.flat();
    if (all.filter((f) => f.id === "b").length !== 1) refuse(`the products are batched over [${la.map(describe).join("], [")}], which does not hold the batch once`);
    const heads = all.filter((f) => f.id !== "b");
    if (!heads.every((f) => f.id.startsWith(`e:${role}`))) refuse(`the products are batched over [${la.map(describe).join("], [")}], more than the batch and heads`);
    if (heads.length > 1) refuse("the heads are split over several axes");
    return heads;
  }

  /** Checks that a role's features are exactly heads × dim; the head's position in that split (−1: one head). */
  private headSplit(role: Role, heads: Factor[], dims: Factor[]): number {
    const source = this.roles[role]!;
    const whole = source.end - source.start;
    const parts = [...heads, ...dims];
    if (product(parts.map((f) => f.size)) !== whole || dims.length !== 1) refuse(`the ${roleName(role)}'s ${whole} features are not split into heads × per-head features`);
    if (heads.length === 0) {
      if (dims[0].id !== `e:${role}`) refuse(`the ${roleName(role)}'s features are split but no head axis is batched`);
      source.headAt = -1;
      return -1;
    }
    const ids = [heads[0].id, dims[0].id].sort();
    if (ids.join() !== `e:${role}.0,e:${role}.1`) refuse(`the ${roleName(role)}'s features are split into [${describe(parts)}], not heads and per-head features`);
    source.headAt = heads[0].id.endsWith(".0") ? 0 : 1;
    return source.headAt;
  }

  /** A causal or empty additive mask over [Tq, Tk]. */
  private causal(mask: FloatConstant, tq: number, tk: number): boolean {
    const dims = mask.dims.slice();
    while (dims.length > 2 && dims[0] === 1) dims.shift();
    if (dims.length !== 2 || dims[0] !== tq || dims[1] !== tk) {
      if (mask.data.every((m) => m === 0)) return false;
      refuse(`the mask added to the scores is shaped [${mask.dims}], not [${tq}, ${tk}]; wasmgrad applies a causal mask and key padding masks only`);
    }
    let zeros = true, causal = true;
    for (let i = 0; i < tq; i++)
      for (let j = 0; j < tk; j++) {
        const m = mask.data[i * tk + j];
        if (m !== 0) zeros = false;
        if (j <= i ? m !== 0 : !(m <= -1e4)) causal = false;
      }
    if (zeros) return false;
    if (!causal) refuse("the mask added to the scores is neither causal (0 where key j ≤ query i, −∞ above) nor zeros; wasmgrad applies a causal mask and key padding masks only");
    return true;
  }

  /** Traces an operand of a product back to its projection; its labelled groups, replayed forward. */
  private operand(t: string, role: Role): { groups: Groups } {
    const chain: NodeProto[] = [];
    let cur = t;
    for (;;) {
      const n = this.ctx.producerOf(cur) ?? refuse(`the ${roleName(role)} is not computed by a projection of an input`);
      if (!isDefault(n)) refuse(`the ${roleName(role)} comes from an operator of domain '${n.domain}'`);
      const isScale = (n.opType === "Mul" || n.opType === "Div") && n.inputs.length === 2 && this.computed.has(n.inputs[0]) !== this.computed.has(n.inputs[1]);
      if (n.opType === "Transpose" || n.opType === "Reshape" || n.opType === "Identity" || isScale) {
        if (isScale && n.opType === "Div" && !this.computed.has(n.inputs[0])) refuse(`the ${roleName(role)} is divided into a constant`);
        chain.unshift(n);
        cur = isScale ? n.inputs.find((i) => this.computed.has(i))! : n.inputs[0];
        continue;
      }
      this.roleSource(n, role);
      break;
    }
    // Forward from the role's features [..., e:role] (the projection's input labels, its last axis replaced).
    const source = this.roles[role]!;
    const input = source.projection.input;
    let groups = this.inputGroups(input, role);
    groups = [...groups.slice(0, -1), [{ id: `e:${role}`, size: source.end - source.start }]];
    this.sizes.set(`e:${role}`, source.end - source.start);
    let prev = cur;
    for (const n of chain) {
      const readers = this.readers(prev);
      if (readers.length !== 1 || this.ctx.isGraphOutput(prev)) refuse(`the ${roleName(role)}'s '${prev}' is read outside the attention`);
      if (n.opType === "Mul" || n.opType === "Div") {
        const s = this.scalar(n, prev) ?? refuse(`the ${roleName(role)} is scaled by something other than one constant number`);
        this.scale *= n.opType === "Mul" ? s : 1 / s;
        this.nodes.add(n);
      } else {
        groups = this.step(n, groups, prev);
      }
      prev = n.outputs[0];
    }
    return { groups };
  }

  /** The labelled groups of a projection's input: [batch, T, features] or [T, batch, features]. */
  private inputGroups(input: string, role: Role): Groups {
    const shapes = this.probes.map((p) => p.get(input)?.shape);
    if (!shapes[0] || !shapes[1] || shapes[0].length !== 3) refuse(`the ${roleName(role)}'s input '${input}' is not a sequence [batch, T, features] (or [T, batch, features])`);
    const [s0, s1] = shapes as number[][];
    const batchAxes = s0.map((d, i) => (d !== s1[i] ? i : -1)).filter((i) => i >= 0);
    if (batchAxes.length !== 1 || s0[batchAxes[0]] !== PROBE_BATCHES[0] || batchAxes[0] === 2) refuse(`the ${roleName(role)}'s input '${input}' does not hold the batch at axis 0 or 1`);
    const steps = s0[1 - batchAxes[0]];
    const stepsId = role === "q" ? "t:q" : role === "k" ? "t:k" : "t:v";
    this.sizes.set(stepsId, steps);
    const groups: Groups = [];
    for (let i = 0; i < 3; i++) groups.push(i === batchAxes[0] ? [{ id: "b", size: s0[i] }] : i === 2 ? [{ id: `in:${role}`, size: s0[2] }] : [{ id: stepsId, size: steps }]);
    return groups;
  }

  /** Where a role's features come from: a projection (MatMul + bias), or a Slice of the last axis of one. */
  private roleSource(n: NodeProto, role: Role): void {
    let start: number | undefined, end: number | undefined, slice: NodeProto | undefined;
    let p = n;
    if (n.opType === "Slice") {
      const probe = (i: number) => (n.inputs[i] ? this.probes[0].get(n.inputs[i])?.values : undefined);
      const [starts, ends, axes, steps] = [probe(1), probe(2), n.inputs[3] ? probe(3) : [0], n.inputs[4] ? probe(4) : [1]];
      const packed = this.shape(n.inputs[0]);
      if (!starts || !ends || !axes || !steps || starts.length !== 1 || steps[0] !== 1) return refuse(`the ${roleName(role)} is a Slice wasmgrad cannot read`);
      const axis = axes[0] < 0 ? axes[0] + packed.length : axes[0];
      if (axis !== packed.length - 1) refuse(`the ${roleName(role)} slices axis ${axes[0]} of the projection, not its features`);
      const width = packed[axis];
      const clamp = (e: number) => Math.min(Math.max(e < 0 ? e + width : e, 0), width);
      [start, end] = [clamp(starts[0]), clamp(ends[0])];
      slice = n;
      p = this.ctx.producerOf(n.inputs[0]) ?? refuse(`the ${roleName(role)} slices '${n.inputs[0]}', which no projection computes`);
    }
    const projection = this.projection(p, role);
    const width = this.shape(projection.output).at(-1)!;
    if (slice) this.nodes.add(slice);
    this.roles[role] = { projection, start: start ?? 0, end: end ?? width, slice, headAt: -1 };
  }

  private projection(n: NodeProto, role: Role): Projection {
    const nodes: NodeProto[] = [];
    let bias: string | undefined, matMul = n;
    if (n.opType === "Add") {
      const data = n.inputs.filter((i) => this.computed.has(i));
      if (data.length !== 1 || n.inputs.length !== 2) refuse(`the ${roleName(role)}'s projection adds two computed tensors`);
      bias = n.inputs.find((i) => i !== data[0]);
      matMul = this.ctx.producerOf(data[0]) ?? refuse(`the ${roleName(role)} is not computed by a projection`);
      nodes.push(n);
    }
    if (matMul.opType !== "MatMul" || !isDefault(matMul)) refuse(`the ${roleName(role)} is computed by ${matMul.opType}, not a projection (MatMul by a constant)`);
    const weight = this.constant(matMul.inputs[1]);
    if (!weight || weight.dims.length !== 2 || !this.computed.has(matMul.inputs[0])) return refuse(`the ${roleName(role)}'s projection does not multiply an input by a constant matrix`);
    if (bias !== undefined) {
      const b = this.constant(bias);
      if (!b || b.data.length !== weight.dims[1]) refuse(`the ${roleName(role)}'s projection adds something other than one bias per column`);
      if (this.readers(matMul.outputs[0]).length !== 1) refuse(`the ${roleName(role)}'s projection is read before its bias is added`);
    }
    nodes.unshift(matMul);
    for (const x of nodes) this.nodes.add(x);
    return { input: matMul.inputs[0], nodes, weight: matMul.inputs[1], bias, output: n.outputs[0] };
  }

  /** The out-projection: MatMul by a constant (+ bias), or Gemm. */
  private outProjection(n: NodeProto, groups: Groups, heads: Factor[], gdv: Factor[]) {
    if (!isDefault(n) || !(n.opType === "MatMul" || n.opType === "Gemm")) refuse(`the merged heads go to ${n.opType}, not an out-projection (MatMul or Gemm by a constant)`);
    const weight = this.constant(n.inputs[1]);
    if (!weight || weight.dims.length !== 2) return refuse("the out-projection's weight is not a constant matrix");
    const transB = n.opType === "Gemm" && attribute(n, "transB")?.type === "INT" && (attribute(n, "transB") as { i: number }).i === 1;
    if (n.opType === "Gemm") {
      const alpha = attribute(n, "alpha"), beta = attribute(n, "beta"), transA = attribute(n, "transA");
      if ((alpha && (alpha as { f: number }).f !== 1) || (beta && (beta as { f: number }).f !== 1) || (transA && (transA as { i: number }).i !== 0)) refuse("the out-projection Gemm has alpha, beta or transA");
      if (groups.length !== 2) refuse("the out-projection Gemm reads more than a matrix");
    }
    const contracted = groups[groups.length - 1];
    const headIds = heads.map((f) => f.id);
    const ids = contracted.map((f) => f.id);
    if (contracted.length !== heads.length + 1 || !ids.includes(gdv[0].id) || !headIds.every((h) => ids.includes(h))) {
      refuse(`the out-projection contracts [${describe(contracted)}], not the heads and their values`);
    }
    const lead = groups.slice(0, -1);
    if (!lead.flat().every((f) => f.id === "b" || f.id === "t:q")) refuse(`the out-projection's rows [${lead.map(describe).join("], [")}] mix the heads with the batch`);
    const [rows, width] = transB ? [weight.dims[1], weight.dims[0]] : weight.dims;
    if (rows !== product(contracted.map((f) => f.size))) refuse("the out-projection's weight does not fit the merged heads");
    this.nodes.add(n);
    const nodes = [n];
    let bias = n.opType === "Gemm" ? n.inputs[2] || undefined : undefined;
    let output = n.outputs[0];
    if (bias !== undefined && this.constant(bias)?.data.length !== width) refuse("the out-projection's bias is not one value per output");
    const next = this.soleReader(output);
    if (!bias && next?.opType === "Add" && next.inputs.length === 2) {
      const other = next.inputs.find((i) => i !== output)!;
      const c = this.constant(other);
      if (c && c.data.length === width && (c.dims.length === 1 || product(c.dims.slice(0, -1)) === 1)) {
        bias = other;
        nodes.push(next);
        this.nodes.add(next);
        output = next.outputs[0];
      }
    }
    return {
      weight: n.inputs[1], transB, bias, nodes, width, output, last: nodes[nodes.length - 1],
      headFirst: heads.length === 0 || contracted[0].id === heads[0].id,
      groups: [...lead, [{ id: "o", size: width }]],
    };
  }

  /** Groups after a Reshape, Transpose or Identity of a tensor labelled `groups`. */
  private step(n: NodeProto, groups: Groups, input: string): Groups {
    if (!isDefault(n) || n.inputs[0] !== input) refuse(`'${input}' goes into ${n.opType} other than as its data`);
    this.nodes.add(n);
    if (n.opType === "Identity") return groups;
    if (n.opType === "Transpose") {
      const perm = attribute(n, "perm")?.type === "INTS" ? (attribute(n, "perm") as { ints: number[] }).ints : groups.map((_, i) => groups.length - 1 - i);
      if (perm.length !== groups.length) refuse(`a Transpose's perm [${perm}] does not fit its input`);
      return perm.map((p) => groups[p]);
    }
    const target = this.shape(n.outputs[0]);
    return regroup(groups, target) ?? refuse(`a Reshape to [${target}] (with a batch of ${PROBE_BATCHES[0]}) splits the batch or regroups [${groups.map(describe).join("], [")}] in a way wasmgrad cannot follow`);
  }
}

const roleName = (role: Role) => (role === "q" ? "query" : role === "k" ? "key" : "value");

function describe(g: Factor[]): string {
  return g.map((f) => `${f.id}:${f.size}`).join("·");
}

/** A group holding exactly the factor `id` (or nothing, where that factor has size 1 and was dropped). */
function isGroup(g: Factor[], id: string, size: number): boolean {
  return (g.length === 1 && g[0].id === id) || (g.length === 0 && size === 1);
}

function sameIds(g: Factor[], factors: Factor[]): boolean {
  return g.map((f) => f.id).join() === factors.map((f) => f.id).join();
}

/** Whether two groups are the same factors with role `a`'s features in one where role `b`'s are in the other. */
function mirrors(x: Factor[], y: Factor[], a: Role, b: Role): boolean {
  return x.length === y.length && x.every((f, i) => f.size === y[i].size && (f.id === y[i].id ? f.id === "b" : f.id.replace(`e:${a}`, `e:${b}`) === y[i].id));
}

/** The batch axis of [batch, T, E] (0) or [T, batch, E] (1) labelled groups, else −1. */
function exitBatchAxis(groups: Groups, tq: number): number {
  if (groups.length !== 3 || !isGroup(groups[2], "o", groups[2][0]?.size ?? 0)) return -1;
  if (isGroup(groups[0], "b", 0) && isGroup(groups[1], "t:q", tq)) return 0;
  if (isGroup(groups[1], "b", 0) && isGroup(groups[0], "t:q", tq)) return 1;
  return -1;
}

/**
 * The groups of a reshape to `target`: factors taken in order into each dim, one split where a dim ends
 * inside it (its parts are id.0 and id.1); unit factors are dropped and unit dims hold none. Undefined
 * where the batch would be split or the sizes do not work out.
 */
function regroup(groups: Groups, target: number[]): Groups | undefined {
  const flat = groups.flat().filter((f) => f.size !== 1);
  const out: Groups = [];
  for (const d of target) {
    const group: Factor[] = [];
    let p = 1;
    while (p < d) {
      const f = flat.shift();
      if (!f) return undefined;
      if (d % (p * f.size) === 0) {
        group.push(f);
        p *= f.size;
        continue;
      }
      const part = d / p;
      if (!Number.isInteger(part) || f.size % part !== 0 || f.id === "b") return undefined;
      group.push({ id: `${f.id}.0`, size: part });
      flat.unshift({ id: `${f.id}.1`, size: f.size / part });
      p = d;
    }
    if (p !== d) return undefined;
    out.push(group);
  }
  return flat.length === 0 ? out : undefined;
}

/**
 * Nodes whose outputs only the attention subgraphs read (through other such nodes): the shape arithmetic
 * PyTorch computes its reshape targets with. They are skipped; a node the walk does map that reads a tensor
 * inside a subgraph is refused.
 */
function markSupport(ctx: ImportContext, graph: GraphProto, regions: Region[]): void {
  const inside = new Set<string>();
  const regionNodes = new Set(regions.flatMap((r) => [...r.nodes]));
  // What the layer is made from when the walk reaches the last node: the inputs and the weights.
  const used = new Set<string>();
  for (const region of regions) {
    for (const n of region.nodes) for (const o of n.outputs) if (n !== region.exit && o) inside.add(o);
    if (region.scoresOutput) inside.delete(region.scoresOutput);
    for (const role of Object.values(region.roles)) [role.projection.input, role.projection.weight, role.projection.bias].forEach((t) => t && used.add(t));
    [region.out.weight, region.out.bias].forEach((t) => t && used.add(t));
  }
  const skipped = ctx.skipped;
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k];
    if (regionNodes.has(n) || n.opType === "Constant") continue;
    const outputs = n.outputs.filter((o) => o);
    if (outputs.length === 0 || outputs.some((o) => ctx.isGraphOutput(o) || used.has(o))) continue;
    const readers = outputs.flatMap((o) => ctx.consumersOf(o));
    if (readers.length > 0 && readers.every((r) => regionNodes.has(r) || skipped.has(r))) skipped.add(n);
  }
  for (const n of graph.nodes) {
    if (regionNodes.has(n) || skipped.has(n)) continue;
    for (const i of n.inputs) {
      if (inside.has(i)) {
        const region = regions.find((r) => [...r.nodes].some((x) => x.outputs.includes(i)))!;
        throw new InputError(`${ctx.source}: node ${region.softmax.name || "(unnamed)"} (Softmax): attention that wasmgrad cannot import as a MultiHeadAttention layer: its '${i}' is read by ${n.name || "a node"} (${n.opType}) outside it`);
      }
    }
  }
  for (const output of graph.outputs) {
    if (inside.has(output.name)) throw new InputError(`${ctx.source}: output '${output.name}' is inside an attention subgraph; wasmgrad imports attention's output (and its weights [batch, heads, Tq, Tk])`);
  }
}

/** The layer, at the subgraph's last node. */
function build(r: NodeReader, region: Region): ReturnType<Mapper> {
  const ctx = r.ctx;
  const { heads, keyDim: dk, valueDim: dv } = region;
  const inputOf = (role: Role) => region.roles[role].projection.input;
  const [q, k, v] = (["q", "k", "v"] as Role[]).map(inputOf);
  const names = k === v ? (q === v ? [q] : [q, v]) : [q, v, k];
  const values = names.map((name) => {
    const value = ctx.values.get(name);
    if (value?.kind !== "data") r.fail(`the attention's input '${name}' is not computed data`);
    const x = inFileOrder(r, { ...value, batchAxis: undefined }) ?? r.fail(`the attention's input '${name}' is stored in another order after a flatten`);
    if (!isIdentityLayout(x.layout) || x.shape.length !== 2) r.fail(`the attention's input '${name}' is not a sequence [T, features] per sample`);
    let sym = x.sym;
    if (sym.shape.join() !== x.shape.join()) sym = ctx.addLayer(r.at, { type: "Reshape", targetShape: x.shape }, [sym]).output;
    return sym;
  });
  const floats = (name: string) => {
    let value = ctx.values.get(name);
    for (let n = ctx.producerOf(name); (!value || value.kind === "data") && n?.opType === "Identity"; n = ctx.producerOf(n.inputs[0])) value = ctx.values.get(n.inputs[0]);
    if (!value || value.kind === "data") return r.fail(`the attention's weight '${name}' is not a constant`);
    return value.kind === "floats" ? value : { kind: "floats" as const, dims: value.dims, data: Float32Array.from(value.data as number[]) };
  };
  const hasBias = (["q", "k", "v"] as Role[]).some((role) => region.roles[role].projection.bias !== undefined) || region.out.bias !== undefined;
  const params: Float32Array[] = [];
  for (const role of ["q", "k", "v"] as Role[]) {
    const source = region.roles[role];
    const w = floats(source.projection.weight);
    const [inputs, columns] = w.dims;
    const dim = role === "v" ? dv : dk;
    // Our column h·dim + d is the file's column start + (head first ? h·dim + d : d·heads + h).
    const column = (c: number) => {
      const h = Math.floor(c / dim), d = c % dim;
      return source.start + (source.headAt === 1 ? d * heads + h : h * dim + d);
    };
    const kernel = new Float32Array(inputs * heads * dim);
    for (let i = 0; i < inputs; i++) for (let c = 0; c < heads * dim; c++) kernel[i * heads * dim + c] = w.data[i * columns + column(c)];
    params.push(kernel);
    if (hasBias) {
      const bias = new Float32Array(heads * dim);
      if (source.projection.bias !== undefined) {
        const b = floats(source.projection.bias);
        for (let c = 0; c < heads * dim; c++) bias[c] = b.data[column(c)];
      }
      params.push(bias);
    }
  }
  const wo = floats(region.out.weight);
  const width = region.outputWidth;
  const rows = heads * dv;
  const kernel = new Float32Array(rows * width);
  for (let row = 0; row < rows; row++) {
    const h = Math.floor(row / dv), d = row % dv;
    const theirs = region.out.headFirst ? h * dv + d : d * heads + h;
    for (let o = 0; o < width; o++) kernel[row * width + o] = region.out.transB ? wo.data[o * rows + theirs] : wo.data[theirs * width + o];
  }
  params.push(kernel);
  if (hasBias) params.push(region.out.bias !== undefined ? floats(region.out.bias).data.slice() : new Float32Array(width));
  const queryWidth = values[0].shape[1];
  const config = {
    type: "MultiHeadAttention", numHeads: heads, keyDim: dk, valueDim: dv, useBias: hasBias, useCausalMask: region.causal,
    returnAttentionScores: region.scoresOutput !== undefined, ...(width !== queryWidth ? { outputShape: width } : {}),
  };
  const { outputs } = ctx.addLayer(r.at, config, values, { values: params });
  const { query: tq, key: tk } = region.steps;
  if (region.scoresOutput) ctx.values.set(region.scoresOutput, dataValue(outputs[1], [heads, tq, tk], identityLayout([heads, tq, tk])));
  const shape = [tq, width];
  return withBatch(dataValue(outputs[0], shape, identityLayout(shape)), region.exitBatchAxis);
}

