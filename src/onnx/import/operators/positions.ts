// Expand of a constant [T, D] (or [1, T, D]) to the shape of a sequence x [batch, T, D] (Expand(c, Shape(x)),
// wasmgrad's export of its position layers): the positions, whatever x holds.
//   the sine encoding of SinePositionEncoding (maxWavelength 10000, KerasNLP's default) → that layer;
//   an initializer → a PositionEmbedding whose table it is (trainable, as the table was);
//   any other constant (a folded slice of a longer table, say) → a PositionEmbedding that does not train:
//   ONNX constants are not parameters.
// Other Expands are refused.

import type { Mapper, NodeReader } from "../context";
import { dataValue, inFileOrder } from "../data";
import { sineEncoding } from "../../export-attention";
import { copyOf } from "../weights";
import { BATCH, identityLayout, type DataValue } from "../values";

export function expand(r: NodeReader): ReturnType<Mapper> {
  const source = r.input(0) ?? r.fail("its input is missing");
  const refuse = (why: string): never => r.fail(`${why}; wasmgrad imports Expand only as positions: a constant [T, D] expanded to the shape of a sequence [batch, T, D] (Expand(positions, Shape(x)))`);
  if (source.kind === "data") refuse("expands computed data");
  const shapeNode = r.node.inputs[1] ? r.ctx.producerOf(r.node.inputs[1]) : undefined;
  const x = shapeNode?.opType === "Shape" ? r.ctx.values.get(shapeNode.inputs[0]) : undefined;
  if (x?.kind !== "data" || x.batchAxis !== undefined || shapeNode!.attributes.length > 0) refuse("its shape is not the Shape of a computed tensor");
  const target = r.integers(1, "shape").data;
  const v = x as DataValue;
  if (target.join() !== [BATCH, ...v.shape].join() || v.shape.length !== 2) refuse(`it expands to [${target}]`);
  const [steps, width] = v.shape;
  const c = r.floats(0, "positions");
  const dims = c.dims[0] === 1 && c.dims.length === 3 ? c.dims.slice(1) : c.dims;
  if (dims.join() !== [steps, width].join()) refuse(`the constant is shaped [${c.dims}], not [${steps}, ${width}]`);
  const input = inFileOrder(r, v) ?? r.fail(`reads the shape of [batch, ${v.shape}], which wasmgrad stores in another order after a flatten`);
  let sym = input.sym;
  if (sym.shape.join() !== input.shape.join()) sym = r.ctx.addLayer(r.at, { type: "Reshape", targetShape: input.shape }, [sym]).output;
  const sine = sineEncoding(steps, width, 10000);
  let output;
  if (c.data.every((value, i) => Math.abs(value - sine[i]) <= 1e-6)) {
    output = r.ctx.addLayer(r.at, { type: "SinePositionEncoding", maxWavelength: 10000 }, [sym]).output;
  } else {
    const config = { type: "PositionEmbedding", sequenceLength: steps };
    const sources = [c.initializer ? { initializer: c.initializer, toWasmgrad: copyOf } : undefined];
    output = r.ctx.addLayer(r.at, config, [sym], { values: [c.data.slice()], sources, trainable: c.initializer !== undefined }).output;
  }
  return dataValue(output, [steps, width], identityLayout([steps, width]));
}
