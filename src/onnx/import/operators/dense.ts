// Gemm and MatMul with a constant weight → Dense. The input is a feature vector per sample; where it is a
// flattened channels-first image, our flattened order is (h, w, c) and theirs (c, h, w), so the kernel's
// rows are re-ordered as they are read. MatMul also takes a sequence (or any rank) [batch, …, features]:
// Dense on the last axis, as PyTorch's nn.Linear on [batch, steps, features] exports. A bias add and an
// activation after it go into the layer.

import type { Mapper, NodeReader } from "../context";
import { asFlat, dataValue, inFileOrder } from "../data";
import { copyOf, denseKernel } from "../weights";
import { canonical, fileIndexOfOurs, identityLayout, isIdentityLayout, type DataValue } from "../values";
import { epilogue } from "./epilogue";

export function gemm(r: NodeReader): ReturnType<Mapper> {
  if (r.int("transA", 0) !== 0) r.fail("transA = 1 (a transposed batch) is not supported");
  return dense(r, { transB: r.int("transB", 0) === 1, alpha: r.float("alpha", 1), beta: r.float("beta", 1), withBias: true });
}

export function matMul(r: NodeReader): ReturnType<Mapper> {
  const b = r.input(1);
  if (b?.kind === "data") r.fail("multiplies two computed tensors; wasmgrad imports MatMul with a constant weight (a Linear layer)");
  return dense(r, { transB: false, alpha: 1, beta: 1, withBias: false });
}

function dense(r: NodeReader, o: { transB: boolean; alpha: number; beta: number; withBias: boolean }): ReturnType<Mapper> {
  const a = r.data(0);
  if (a.shape.length !== 1) {
    if (r.node.opType === "Gemm") r.fail(`needs a feature vector per sample ([batch, features]); its input is shaped [batch, ${a.shape.join(", ")}] (flatten it first)`);
    return lastAxis(r, a);
  }
  const x = asFlat(r, a);
  const b = r.floats(1, "weight");
  if (b.dims.length !== 2) r.fail(`the weight must be 2-D, it is [${b.dims}]`);
  const [inputs, units] = o.transB ? [b.dims[1], b.dims[0]] : b.dims;
  if (inputs !== x.shape[0]) r.fail(`the weight takes ${inputs} inputs but ${x.shape[0]} arrive`);
  // An empty weight ([n, 0] holds no values whatever n claims) would make the loops below run n times for nothing.
  if (inputs < 1 || units < 1) r.fail(`the weight [${b.dims}] is empty`);
  // Built only now that the weight is known to hold `inputs` rows: the permutation is no larger than the file's own weight.
  const fileRow = isIdentityLayout(x.layout) ? undefined : fileIndexOfOurs(x.layout);

  const c = o.withBias && r.inputName(2) !== undefined ? r.floats(2, "bias") : undefined;
  if (c && !(c.data.length === 1 || (c.data.length === units && c.dims[c.dims.length - 1] === units))) {
    r.fail(`the bias shaped [${c.dims}] is not one value per unit (${units})`);
  }
  const tail = epilogue(r, [units], [units], identityLayout([units]), units);
  const useBias = c !== undefined || tail.biasAdd !== undefined;
  const bias = new Float32Array(units);
  if (c) for (let u = 0; u < units; u++) bias[u] = o.beta * c.data[c.data.length === 1 ? 0 : u];
  if (tail.biasAdd) for (let u = 0; u < units; u++) bias[u] += tail.biasAdd[u];

  const kernel = (v: Float32Array) => denseKernel(v, inputs, units, o.transB, o.alpha, fileRow);
  const config = { type: "Dense", units, activation: tail.activation, useBias };
  const initializers = [b.initializer, c?.initializer].filter((n): n is string => n !== undefined);
  const key = `Dense|${b.initializer ?? r.node.inputs[1]}|${c?.initializer ?? ""}|${o.transB}|${o.alpha}|${o.beta}|${fileRow ? JSON.stringify(canonical(x.layout)) : ""}|${JSON.stringify(config)}|${tail.signature}`;
  const biasSource = c?.initializer && c.data.length === units && !tail.biasAdd
    ? { initializer: c.initializer, toWasmgrad: o.beta === 1 ? copyOf : (v: Float32Array) => v.map((e) => o.beta * e) }
    : !c && tail.biasInitializer ? { initializer: tail.biasInitializer, toWasmgrad: copyOf } : undefined;
  const output = r.ctx.sharedLayer(r.at, key, initializers, [x.sym], () =>
    r.ctx.addLayer(r.at, config, [x.sym], {
      values: useBias ? [kernel(b.data), bias] : [kernel(b.data)],
      sources: [b.initializer ? { initializer: b.initializer, toWasmgrad: kernel } : undefined, useBias ? biasSource : undefined],
    }),
  );
  return r.ctx.finish(r.node, tail.output, dataValue(output, [units], identityLayout([units])));
}

/** MatMul of [batch, …, features] by a constant [features, units]: Dense on the last axis. */
function lastAxis(r: NodeReader, a: DataValue): ReturnType<Mapper> {
  const x = inFileOrder(r, a) ?? r.fail(`multiplies [batch, ${a.shape}], which wasmgrad stores in another order after a flatten`);
  const b = r.floats(1, "weight");
  if (b.dims.length !== 2) r.fail(`the weight must be 2-D, it is [${b.dims}]`);
  const [inputs, units] = b.dims;
  const features = x.shape[x.shape.length - 1];
  if (inputs !== features) r.fail(`the weight takes ${inputs} inputs but ${features} arrive`);
  if (inputs < 1 || units < 1) r.fail(`the weight [${b.dims}] is empty`);
  let sym = x.sym;
  if (sym.shape.join() !== x.shape.join()) sym = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: x.shape }, [sym]).output;
  const shape = [...x.shape.slice(0, -1), units];
  const tail = epilogue(r, shape, shape, identityLayout(shape), units, shape.length);
  const useBias = tail.biasAdd !== undefined;
  const config = { type: "Dense", units, activation: tail.activation, useBias };
  const key = `Dense|${b.initializer ?? r.node.inputs[1]}|sequence|${JSON.stringify(config)}|${tail.signature}`;
  const output = r.ctx.sharedLayer(r.at, key, [b.initializer, tail.biasInitializer].filter((n): n is string => n !== undefined), [sym], () =>
    r.ctx.addLayer(r.at, config, [sym], {
      values: useBias ? [b.data.slice(), tail.biasAdd!] : [b.data.slice()],
      sources: [b.initializer ? { initializer: b.initializer, toWasmgrad: copyOf } : undefined, tail.biasInitializer ? { initializer: tail.biasInitializer, toWasmgrad: copyOf } : undefined],
    }),
  );
  return r.ctx.finish(r.node, tail.output, dataValue(output, shape, identityLayout(shape)));
}
