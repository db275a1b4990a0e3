// The structural checks of onnx.checker.check_model, on a decoded model, before anything is built from it:
// what the importer would otherwise take on trust, and what onnxruntime would otherwise spend seconds on
// or warn about. A model that fails one is refused with one line naming the value or the opset.
//
//   opset imports   exactly one for the default domain ("" or "ai.onnx"), none twice, versions known, and
//                   one for the domain of every node
//   names           initializers, graph inputs and graph outputs unique; every value produced once (no node
//                   output named like an initializer, a graph input or another node's output)
//   order           every node input defined before it is read (graph input, initializer or an earlier
//                   node's output), as the ONNX spec requires of a graph's node list
//   inputs          a data input is a float tensor with positive dimensions — or integers (int64, int32)
//                   read only as a Gather's indices, the ids of an embedding lookup; an initializer listed
//                   as an input declares its own type and dims
//   size            at most maxNodes nodes (onnxruntime takes ~10 s to load a 100,000-node chain)

import { InputError } from "../errors";
import { displayText } from "../io/display";
import type { ModelProto, ValueInfoProto } from "./onnx-proto";
import { ProtobufReader } from "./protobuf";

/** Highest default-domain opset this wasmgrad knows (ONNX 1.18 defines 23). */
export const MAX_KNOWN_OPSET = 23;
/** Default limit on nodes: far above real image models (ResNet-50 has about 180), far below a hang. */
export const DEFAULT_MAX_NODES = 50_000;

const FLOAT = 1;
const DATA_TYPE_NAMES: Record<number, string> = {
  0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string",
  9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
};
/** ONNX's element type code by the name onnxruntime gives it (1 → "float32"). */
export const onnxTypeName = (code: number) => (Object.hasOwn(DATA_TYPE_NAMES, code) ? DATA_TYPE_NAMES[code] : `data type ${code}`);
const typeName = onnxTypeName;
const isDefaultDomain = (domain: string) => domain === "" || domain === "ai.onnx";

export interface CheckOptions {
  /** Most nodes accepted (default DEFAULT_MAX_NODES). */
  maxNodes?: number;
  /** How a message says to raise maxNodes. */
  howToRaise?: string;
}

let defaults: Required<CheckOptions> = { maxNodes: DEFAULT_MAX_NODES, howToRaise: "raise the maxNodes option" };

/** Sets the node limit (and its hint) for checks that are not given one, e.g. from --max-nodes. */
export function setOnnxNodeLimit(maxNodes: number, howToRaise = defaults.howToRaise): void {
  defaults = { maxNodes, howToRaise };
}

/** The node limit and its hint as currently set. */
export function onnxNodeLimit(): Required<CheckOptions> {
  return { ...defaults };
}

/**
 * `anyInputType`: inputs may be of any element type (onnxruntime runs the model, as for `wasmgrad infer`);
 * otherwise float32 only, and integers only as a Gather's indices (what wasmgrad's importer can train).
 */
export function checkOnnxModel(model: ModelProto, source: string, options: CheckOptions & { anyInputType?: boolean } = {}): void {
  const { maxNodes, howToRaise } = { ...defaults, ...options };
  const graph = model.graph;
  checkNodeCount(graph.nodes.length, source, maxNodes, howToRaise);
  checkOpsets(model, source);

  const fail = (message: string): never => {
    throw new InputError(`${source}: ${message}`);
  };
  const quote = (name: string) => `'${displayText(name)}'`;
  const unique = (names: string[], what: string) => {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) fail(`two ${what} are named ${quote(name)}`);
      seen.add(name);
    }
    return seen;
  };
  const initializers = unique(graph.initializers.map((t) => t.name), "initializers");
  if (initializers.has("")) fail("an initializer has no name");
  const inputs = unique(graph.inputs.map((i) => i.name), "graph inputs");
  unique(graph.outputs.map((o) => o.name), "graph outputs");
  if (inputs.has("")) fail("a graph input has no name");

  // Values defined so far, in node order: ONNX requires the node list to be topologically sorted.
  const defined = new Set<string>([...initializers, ...inputs]);
  const produced = new Set<string>();
  graph.nodes.forEach((node, i) => {
    const at = `node ${node.name ? quote(node.name) : `#${i}`} (${displayText(node.opType)})`;
    for (const input of node.inputs) {
      if (input !== "" && !defined.has(input)) fail(`${at} reads ${quote(input)}, which no graph input, initializer or earlier node defines`);
    }
    for (const output of node.outputs) {
      if (output === "") continue; // an optional output left unused
      if (initializers.has(output)) fail(`${at} writes ${quote(output)}, which is also the name of an initializer`);
      if (inputs.has(output)) fail(`${at} writes ${quote(output)}, which is also the name of a graph input`);
      if (produced.has(output)) fail(`${at} writes ${quote(output)}, which an earlier node already wrote`);
      produced.add(output);
      defined.add(output);
    }
  });
  for (const output of graph.outputs) {
    if (!defined.has(output.name)) fail(`graph output ${quote(output.name)} is not produced by any node`);
  }

  const byName = new Map(graph.initializers.map((t) => [t.name, t]));
  for (const input of graph.inputs) {
    const constant = byName.get(input.name);
    if (constant) {
      // Before IR version 4 initializers were listed as inputs too; their declared type must then be theirs.
      if (input.elemType !== 0 && input.elemType !== constant.dataType) {
        fail(`graph input ${quote(input.name)} is declared ${typeName(input.elemType)} but its initializer holds ${typeName(constant.dataType)}`);
      }
      if (input.shape && (input.shape.length !== constant.dims.length || input.shape.some((d, k) => typeof d === "number" && d !== constant.dims[k]))) {
        fail(`graph input ${quote(input.name)} is declared [${input.shape.join(", ")}] but its initializer is [${constant.dims.join(", ")}]`);
      }
      continue;
    }
    const readers = graph.nodes.filter((n) => n.inputs.includes(input.name));
    const indicesOnly = readers.length > 0 && !graph.outputs.some((o) => o.name === input.name) && readers.every((n) => n.opType === "Gather" && isDefaultDomain(n.domain) && n.inputs.indexOf(input.name) === 1 && n.inputs.lastIndexOf(input.name) === 1);
    checkDataInput(input, fail, quote, indicesOnly, options.anyInputType ?? false);
  }
}

/** ONNX's integer types an input may have where it is only a Gather's indices. */
const INDEX_TYPES = [6, 7];

function checkDataInput(input: ValueInfoProto, fail: (message: string) => never, quote: (name: string) => string, indicesOnly: boolean, anyType: boolean): void {
  const name = `input ${quote(input.name)}`;
  if (input.elemType === 0) fail(`${name} declares no element type`);
  if (!anyType && input.elemType !== FLOAT && !(indicesOnly && INDEX_TYPES.includes(input.elemType))) {
    fail(`${name} is declared ${typeName(input.elemType)}; wasmgrad feeds float32 inputs (integers only as the indices of a Gather, an embedding lookup)`);
  }
  if (!input.shape) return;
  let size = 1;
  input.shape.forEach((d, k) => {
    if (typeof d !== "number") return;
    if (d < 1) fail(`${name} declares dimension ${k} as ${d}; a data input's sizes are positive`);
    if (k > 0) size *= d;
  });
  // No sample of 2³¹ values (8 GiB as float32) is a real input; such a claim is a lie or corruption.
  if (size >= 2 ** 31) fail(`${name} declares samples of [${input.shape.slice(1).join(", ")}] = ${size.toLocaleString("en-US")} values, more than any input can hold`);
}

function checkOpsets(model: ModelProto, source: string): void {
  const fail = (message: string): never => {
    throw new InputError(`${source}: ${message}`);
  };
  const versions = new Map<string, number>();
  for (const { domain, version } of model.opsetImports) {
    const key = isDefaultDomain(domain) ? "" : domain;
    if (versions.has(key)) fail(`two opset imports for the ${key === "" ? "default domain" : `domain '${displayText(domain)}'`}; a model imports each domain once`);
    if (!Number.isSafeInteger(version) || version < 1) fail(`the opset import for ${key === "" ? "the default domain" : `'${displayText(domain)}'`} has version ${version}`);
    versions.set(key, version);
  }
  const standard = versions.get("");
  if (standard === undefined) {
    const others = [...versions.keys()];
    fail(`no opset import for the default ONNX domain ("" or "ai.onnx")${others.length ? `, only for ${others.map((d) => `'${displayText(d)}'`).join(", ")}` : ""}; which ONNX version's operators are these?`);
  }
  if (standard! > MAX_KNOWN_OPSET) fail(`opset ${standard} is newer than this wasmgrad knows (up to ${MAX_KNOWN_OPSET})`);
  for (const node of model.graph.nodes) {
    const key = isDefaultDomain(node.domain) ? "" : node.domain;
    if (!versions.has(key)) fail(`node ${node.name ? `'${displayText(node.name)}'` : ""} (${displayText(node.opType)}) is of domain '${displayText(node.domain)}', which the model does not import`);
  }
}

function checkNodeCount(count: number, source: string, maxNodes: number, howToRaise: string): void {
  if (count > maxNodes) {
    throw new InputError(`${source}: the graph has ${count.toLocaleString("en-US")} nodes, over the limit of ${maxNodes.toLocaleString("en-US")}; ${howToRaise}`);
  }
}

/**
 * Counts the graph's nodes without decoding them: for files the full decoder does not take (control flow,
 * say), so that a huge graph is refused before onnxruntime spends seconds or minutes loading it.
 */
export function checkOnnxNodeCount(bytes: Uint8Array, source: string, options: CheckOptions = {}): void {
  const { maxNodes, howToRaise } = { ...defaults, ...options };
  let count = 0;
  try {
    const reader = new ProtobufReader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), source);
    while (!reader.atEnd) {
      const { field, wireType } = reader.readTag();
      if (field !== 7 /* ModelProto.graph */) {
        reader.skipField(wireType);
        continue;
      }
      const graph = reader.messageField(wireType, "graph");
      while (!graph.atEnd) {
        const tag = graph.readTag();
        if (tag.field === 1 /* GraphProto.node */) count++;
        graph.skipField(tag.wireType);
      }
    }
  } catch (error) {
    // Not protobuf: onnxruntime will say so in its own words; the count is all this is for.
    if (!(error instanceof InputError)) throw error;
  }
  checkNodeCount(count, source, maxNodes, howToRaise);
}
