// wasmgrad inspect: what an ONNX file is, before running or training it — who produced it, its IR
// version and opsets, its inputs and outputs (symbolic dims kept, unnamed ones shown as "?"), how many
// parameters its initializers hold, which operators it uses, and which of those wasmgrad's importer can
// map for training (`train --from`). Nothing is run; the file is only decoded and checked.

import type { CAC } from "cac";
import { displayText } from "../../io/display";
import { checkOnnxNodeCount, onnxTypeName } from "../../onnx/checker";
import { IMPORTABLE_OPS } from "../../onnx/import";
import { decodeModel, type ValueInfoProto } from "../../onnx/onnx-proto";
import { readInputFile } from "../sources";
import { writeOut } from "../output";

export function registerInspect(cli: CAC): void {
  cli
    .command("inspect <model.onnx>", "Describe an ONNX file: producer, IR version, opsets, inputs and outputs, parameters, operators, and which wasmgrad can train")
    .option("--json", "Print JSON")
    .example("wasmgrad inspect resnet18.onnx")
    .action((modelPath: string, flags: { json?: boolean }) => {
      const inspection = inspectOnnx(readInputFile(modelPath, "model"), displayText(modelPath));
      writeOut(flags.json ? JSON.stringify({ ...inspection, model: modelPath }, null, 2) + "\n" : formatInspection(inspection));
    });
}

export interface TensorDescription {
  name: string;
  dtype: string;
  /** Sizes, symbolic names, and "?" for unnamed dims; null when the model declares no shape. */
  dims: (number | string)[] | null;
}

export interface Inspection {
  model: string;
  producer: { name: string; version: string };
  irVersion: number;
  opsets: { domain: string; version: number }[];
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  parameters: number;
  initializers: number;
  nodes: number;
  /** Operators by how often they occur (most first); `importable`: wasmgrad's importer maps it for training. */
  operators: { op: string; domain: string; count: number; importable: boolean }[];
  /** Operators `wasmgrad train --from` would refuse; empty when it can map the whole graph. */
  notImportable: string[];
}

export function inspectOnnx(bytes: Uint8Array, source: string): Inspection {
  checkOnnxNodeCount(bytes, source);
  const model = decodeModel(bytes, source);
  const graph = model.graph;
  const initializerNames = new Set(graph.initializers.map((t) => t.name));
  const describe = (v: ValueInfoProto): TensorDescription => ({
    name: v.name, dtype: onnxTypeName(v.elemType), dims: v.shape ? v.shape.map((d) => (d === "" ? "?" : d)) : null,
  });
  const counts = new Map<string, { op: string; domain: string; count: number }>();
  for (const node of graph.nodes) {
    const domain = node.domain === "ai.onnx" ? "" : node.domain;
    const key = `${domain}\u0000${node.opType}`;
    const entry = counts.get(key) ?? { op: node.opType, domain, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  const importable = new Set(IMPORTABLE_OPS);
  const operators = [...counts.values()]
    .sort((a, b) => b.count - a.count || a.op.localeCompare(b.op))
    .map((o) => ({ ...o, importable: o.domain === "" && importable.has(o.op) }));
  return {
    model: source,
    producer: { name: model.producerName, version: model.producerVersion },
    irVersion: model.irVersion,
    opsets: model.opsetImports.map((o) => ({ domain: o.domain === "" ? "ai.onnx" : o.domain, version: o.version })),
    // Before IR version 4 weights were listed as inputs too: those are parameters, not inputs.
    inputs: graph.inputs.filter((i) => !initializerNames.has(i.name)).map(describe),
    outputs: graph.outputs.map(describe),
    parameters: graph.initializers.reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0),
    initializers: graph.initializers.length,
    nodes: graph.nodes.length,
    operators,
    notImportable: operators.filter((o) => !o.importable).map((o) => qualified(o)),
  };
}

function qualified(o: { op: string; domain: string }): string {
  return o.domain ? `${o.domain}.${o.op}` : o.op;
}

export function formatInspection(r: Inspection): string {
  const dims = (t: TensorDescription) => (t.dims ? `[${t.dims.map((d) => displayText(String(d))).join(", ")}]` : "(shape not declared)");
  const table = (list: TensorDescription[]) => {
    const width = Math.max(0, ...list.map((t) => displayText(t.name).length));
    return list.map((t) => `  ${displayText(t.name).padEnd(width)}  ${t.dtype.padEnd(7)}  ${dims(t)}\n`).join("");
  };
  const producer = r.producer.name ? `${displayText(r.producer.name)}${r.producer.version ? ` ${displayText(r.producer.version)}` : ""}` : "(producer not named)";
  const opWidth = Math.max(0, ...r.operators.map((o) => qualified(o).length));
  const lines = [
    `${r.model}: produced by ${producer}, IR version ${r.irVersion}, opsets ${r.opsets.map((o) => `${displayText(o.domain)} ${o.version}`).join(", ")}\n`,
    `inputs:\n${table(r.inputs)}`,
    `outputs:\n${table(r.outputs)}`,
    `parameters: ${r.parameters.toLocaleString("en-US")} in ${r.initializers} initializer${r.initializers === 1 ? "" : "s"}\n`,
    `operators (${r.nodes} node${r.nodes === 1 ? "" : "s"}):\n`,
    ...r.operators.map((o) => `  ${displayText(qualified(o)).padEnd(opWidth)}  ${String(o.count).padStart(5)}  ${o.importable ? "importable" : "not importable"}\n`),
    r.notImportable.length
      ? `training: wasmgrad train --from cannot map ${r.notImportable.map((n) => displayText(n)).join(", ")}; wasmgrad infer runs the model as it is\n`
      : "training: wasmgrad's importer maps every operator (wasmgrad train --from can fine-tune it)\n",
  ];
  return lines.join("");
}
