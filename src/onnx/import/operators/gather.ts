// Gather, three ways. On constants it folds (shape arithmetic: PyTorch's x.size(0)). With a table of floats
// and computed indices it is an embedding lookup (PyTorch's nn.Embedding, wasmgrad's own Embedding export):
// an Embedding layer whose table is the initializer; the indices are the model's input (int64 in PyTorch's
// file, fed to wasmgrad as floats, which Embedding checks are whole numbers in range) or a Cast of it. On
// computed data with a constant index it takes one step (PyTorch's y[:, -1], a sequence's last output): a
// crop (data.ts: selectIndex).

import type { Mapper, NodeReader } from "../context";
import { dataValue, selectIndex } from "../data";
import { axisIn, gather as gatherConstant, isConstant } from "../shape-folding";
import { copyOf } from "../weights";
import { identityLayout, isIdentityLayout, type Value } from "../values";
import { fileShape, withBatch } from "./structure";

export function gather(r: NodeReader): ReturnType<Mapper> {
  const data = r.input(0) ?? r.fail("its data is missing");
  const indices = r.input(1) ?? r.fail("its indices are missing");
  if (isConstant(data) && isConstant(indices)) return gatherConstant(r, data);
  if (isConstant(data)) return embedding(r);
  if (indices.kind === "data") r.fail("gathers computed data by computed indices; wasmgrad imports Gather as an embedding lookup (a constant table) or as one step of a sequence (a constant index)");
  return step(r);
}

/** Gather(table [inputDim, outputDim], ids, axis 0) → Embedding. */
function embedding(r: NodeReader): Value {
  const table = r.floats(0, "table");
  if (table.dims.length !== 2) r.fail(`looks up rows of a table shaped [${table.dims}]; wasmgrad's Embedding takes a 2-D table [rows, width]`);
  if (axisIn(r, r.int("axis", 0), 2) !== 0) r.fail("looks up along axis 1 of its table; an embedding looks up rows (axis 0)");
  const [inputDim, outputDim] = table.dims;
  if (inputDim < 1 || outputDim < 1) r.fail(`the table [${table.dims}] is empty`);
  const ids = r.data(1, "indices");
  if (!isIdentityLayout(ids.layout)) r.fail(`its indices [${fileShape(ids)}] are stored in another order in wasmgrad (after a Transpose); look up before transposing`);
  const config = { type: "Embedding", inputDim, outputDim };
  const key = `Embedding|${table.initializer ?? r.node.inputs[0]}`;
  const output = r.ctx.sharedLayer(r.at, key, table.initializer ? [table.initializer] : [], [ids.sym], () =>
    r.ctx.addLayer(r.at, config, [ids.sym], {
      values: [table.data.slice()],
      sources: [table.initializer ? { initializer: table.initializer, toWasmgrad: copyOf } : undefined],
    }),
  );
  const shape = [...ids.shape, outputDim];
  return dataValue(output, shape, identityLayout(shape));
}

/** Gather(data, constant index, axis) over a per-sample axis: that step (a scalar index) or a one-step slice (one index). */
function step(r: NodeReader): Value {
  const x = r.data(0, "data", { anyBatchAxis: true });
  const index = r.integers(1, "index");
  if (index.data.length !== 1 || index.dims.length > 1) r.fail(`gathers ${index.data.length} indices [${index.dims}] from computed data; wasmgrad takes one step (a single index)`);
  const rank = x.shape.length + 1, batch = x.batchAxis ?? 0;
  const axis = axisIn(r, r.int("axis", 0), rank);
  if (axis === batch) r.fail("gathers along the batch axis, which is not supported");
  const a = axis > batch ? axis - 1 : axis;
  const size = x.shape[a];
  const raw = r.knownIntegers(1, "index")[0];
  const i = raw < 0 ? raw + size : raw;
  if (!(i >= 0 && i < size)) r.fail(`index ${raw} is out of range for an axis of ${size}`);
  const keep = index.dims.length === 1;
  const picked = selectIndex(r, x, a, i, keep);
  return withBatch(picked, !keep && axis < batch ? batch - 1 : batch);
}
