// The subset of ONNX (onnx.proto3) that wasmgrad reads and writes: models, graphs, nodes, attributes,
// tensors and value infos. Field numbers are ONNX's and must never change. Decoding treats the file as
// hostile: anything outside the subset, or inconsistent with itself, is an InputError that says what and where.

import { InputError } from "../errors";
import { ProtobufReader, ProtobufWriter, WireType } from "./protobuf";

export const TensorDataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

export interface TensorProto {
  name: string;
  dataType: number;
  dims: number[];
  /** decoded values: FLOAT→Float32Array, DOUBLE→Float64Array, INT64→BigInt64Array, INT32/INT8/UINT8→Int32Array */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array;
}

export type AttributeProto =
  | { name: string; type: "FLOAT"; f: number }
  | { name: string; type: "INT"; i: number }
  | { name: string; type: "STRING"; s: string }
  | { name: string; type: "TENSOR"; t: TensorProto }
  | { name: string; type: "FLOATS"; floats: number[] }
  | { name: string; type: "INTS"; ints: number[] }
  | { name: string; type: "STRINGS"; strings: string[] };

export interface NodeProto {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: AttributeProto[];
}

/** shape entries: a number for dim_value, a string for dim_param (symbolic, e.g. "batch"); shape undefined when absent */
export interface ValueInfoProto {
  name: string;
  elemType: number;
  shape?: (number | string)[];
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface ModelProto {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  graph: GraphProto;
}

/** helper: the attribute by name, or undefined */
export function attribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attributes.find((candidate) => candidate.name === name);
}

// ---------------------------------------------------------------------------------------------------------
// Field numbers (onnx.proto3)

const ModelField = { IR_VERSION: 1, PRODUCER_NAME: 2, PRODUCER_VERSION: 3, GRAPH: 7, OPSET_IMPORT: 8 } as const;
const OpsetField = { DOMAIN: 1, VERSION: 2 } as const;
const GraphField = { NODE: 1, NAME: 2, INITIALIZER: 5, INPUT: 11, OUTPUT: 12, SPARSE_INITIALIZER: 15 } as const;
const NodeField = { INPUT: 1, OUTPUT: 2, NAME: 3, OP_TYPE: 4, ATTRIBUTE: 5, DOMAIN: 7 } as const;
const AttributeField = { NAME: 1, F: 2, I: 3, S: 4, T: 5, FLOATS: 7, INTS: 8, STRINGS: 9, TYPE: 20 } as const;
const TensorField = {
  DIMS: 1, DATA_TYPE: 2, FLOAT_DATA: 4, INT32_DATA: 5, INT64_DATA: 7, NAME: 8, RAW_DATA: 9, DOUBLE_DATA: 10,
  EXTERNAL_DATA: 13, DATA_LOCATION: 14,
} as const;
const ValueInfoField = { NAME: 1, TYPE: 2 } as const;
const TypeField = { TENSOR_TYPE: 1, SEQUENCE_TYPE: 4, MAP_TYPE: 5, SPARSE_TENSOR_TYPE: 8, OPTIONAL_TYPE: 9 } as const;
const TensorTypeField = { ELEM_TYPE: 1, SHAPE: 2 } as const;
const ShapeField = { DIM: 1 } as const;
const DimensionField = { DIM_VALUE: 1, DIM_PARAM: 2 } as const;

/** AttributeProto.AttributeType, for the kinds this subset supports (and the names of the rest, for errors). */
const ATTRIBUTE_TYPE_CODES = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
const ATTRIBUTE_TYPE_NAMES: Record<number, string> = {
  1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 5: "GRAPH", 6: "FLOATS", 7: "INTS", 8: "STRINGS", 9: "TENSORS",
  10: "GRAPHS", 11: "SPARSE_TENSOR", 12: "SPARSE_TENSORS", 13: "TYPE_PROTO", 14: "TYPE_PROTOS",
};
const DATA_TYPE_NAMES: Record<number, string> = {
  0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
  9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128", 16: "BFLOAT16",
};
const dataTypeName = (code: number) => DATA_TYPE_NAMES[code] ?? `data type ${code}`;

/** TensorProto.DataLocation.EXTERNAL: the values live in a side file we cannot (and, in a browser, must not) open. */
const DATA_LOCATION_EXTERNAL = 1;
/** No ONNX operator handles rank anywhere near this; a larger rank is corruption. */
const MAX_TENSOR_RANK = 64;

/** Raw tensor bytes are little-endian; on such hosts (all current ones) typed arrays can view them directly. */
const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------------------
// Encoding

export function encodeModel(model: ModelProto): Uint8Array {
  const out = new ProtobufWriter();
  out.varintField(ModelField.IR_VERSION, model.irVersion);
  if (model.producerName) out.stringField(ModelField.PRODUCER_NAME, model.producerName);
  if (model.producerVersion) out.stringField(ModelField.PRODUCER_VERSION, model.producerVersion);
  out.messageField(ModelField.GRAPH, (graph) => encodeGraph(graph, model.graph));
  for (const opset of model.opsetImports) {
    out.messageField(ModelField.OPSET_IMPORT, (entry) => {
      if (opset.domain) entry.stringField(OpsetField.DOMAIN, opset.domain);
      entry.varintField(OpsetField.VERSION, opset.version);
    });
  }
  return out.finish();
}

function encodeGraph(out: ProtobufWriter, graph: GraphProto): void {
  for (const node of graph.nodes) out.messageField(GraphField.NODE, (body) => encodeNode(body, node));
  if (graph.name) out.stringField(GraphField.NAME, graph.name);
  for (const tensor of graph.initializers) out.messageField(GraphField.INITIALIZER, (body) => encodeTensor(body, tensor));
  for (const input of graph.inputs) out.messageField(GraphField.INPUT, (body) => encodeValueInfo(body, input));
  for (const output of graph.outputs) out.messageField(GraphField.OUTPUT, (body) => encodeValueInfo(body, output));
}

function encodeNode(out: ProtobufWriter, node: NodeProto): void {
  for (const input of node.inputs) out.stringField(NodeField.INPUT, input);
  for (const output of node.outputs) out.stringField(NodeField.OUTPUT, output);
  if (node.name) out.stringField(NodeField.NAME, node.name);
  out.stringField(NodeField.OP_TYPE, node.opType);
  for (const attr of node.attributes) out.messageField(NodeField.ATTRIBUTE, (body) => encodeAttribute(body, attr));
  if (node.domain) out.stringField(NodeField.DOMAIN, node.domain);
}

function encodeAttribute(out: ProtobufWriter, attr: AttributeProto): void {
  out.stringField(AttributeField.NAME, attr.name);
  // Values are written even when zero: proto3 would omit them, but then a reader that infers the kind from
  // the field present (old IR versions had no type field) could not tell what the attribute is.
  switch (attr.type) {
    case "FLOAT":
      out.floatField(AttributeField.F, attr.f);
      break;
    case "INT":
      out.varintField(AttributeField.I, attr.i);
      break;
    case "STRING":
      out.stringField(AttributeField.S, attr.s);
      break;
    case "TENSOR":
      out.messageField(AttributeField.T, (body) => encodeTensor(body, attr.t));
      break;
    case "FLOATS":
      if (attr.floats.length > 0) out.packedFloatField(AttributeField.FLOATS, attr.floats);
      break;
    case "INTS":
      if (attr.ints.length > 0) out.packedVarintField(AttributeField.INTS, attr.ints);
      break;
    case "STRINGS":
      for (const s of attr.strings) out.stringField(AttributeField.STRINGS, s);
      break;
  }
  out.varintField(AttributeField.TYPE, ATTRIBUTE_TYPE_CODES[attr.type]);
}

/** Every kind goes out as raw_data: compact, exact, and what onnxruntime reads fastest. */
function encodeTensor(out: ProtobufWriter, tensor: TensorProto): void {
  const count = tensor.dims.reduce((product, dim) => {
    if (!Number.isSafeInteger(dim) || dim < 0) throw new Error(`tensor '${tensor.name}': dimension ${dim} is not a non-negative integer`);
    return product * dim;
  }, 1);
  if (tensor.data.length !== count) {
    throw new Error(`tensor '${tensor.name}': dims [${tensor.dims}] call for ${count} values but data holds ${tensor.data.length}`);
  }
  if (tensor.dims.length > 0) out.packedVarintField(TensorField.DIMS, tensor.dims);
  out.varintField(TensorField.DATA_TYPE, tensor.dataType);
  if (tensor.name) out.stringField(TensorField.NAME, tensor.name);
  out.bytesField(TensorField.RAW_DATA, rawTensorBytes(tensor));
}

function rawTensorBytes(tensor: TensorProto): Uint8Array {
  const { data } = tensor;
  const expected = expectedArrayKind(tensor.dataType);
  if (expected === undefined) throw new Error(`tensor '${tensor.name}': cannot encode ${dataTypeName(tensor.dataType)} tensors`);
  if (!(data instanceof expected)) {
    throw new Error(`tensor '${tensor.name}': ${dataTypeName(tensor.dataType)} data must be a ${expected.name}, not a ${data.constructor.name}`);
  }
  if (tensor.dataType === TensorDataType.INT8 || tensor.dataType === TensorDataType.UINT8) {
    const [lo, hi] = tensor.dataType === TensorDataType.INT8 ? [-128, 127] : [0, 255];
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const value = data[i] as number;
      if (value < lo || value > hi) throw new Error(`tensor '${tensor.name}': ${value} does not fit ${dataTypeName(tensor.dataType)}`);
      bytes[i] = value & 0xff;
    }
    return bytes;
  }
  if (hostIsLittleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(4 * i, data[i], true);
    else if (data instanceof Float64Array) view.setFloat64(8 * i, data[i], true);
    else if (data instanceof BigInt64Array) view.setBigInt64(8 * i, data[i], true);
    else view.setInt32(4 * i, data[i], true);
  }
  return bytes;
}

function expectedArrayKind(dataType: number) {
  switch (dataType) {
    case TensorDataType.FLOAT:
      return Float32Array;
    case TensorDataType.DOUBLE:
      return Float64Array;
    case TensorDataType.INT64:
      return BigInt64Array;
    case TensorDataType.INT32:
    case TensorDataType.INT8:
    case TensorDataType.UINT8:
      return Int32Array;
    default:
      return undefined;
  }
}

function encodeValueInfo(out: ProtobufWriter, info: ValueInfoProto): void {
  out.stringField(ValueInfoField.NAME, info.name);
  out.messageField(ValueInfoField.TYPE, (type) =>
    type.messageField(TypeField.TENSOR_TYPE, (tensorType) => {
      tensorType.varintField(TensorTypeField.ELEM_TYPE, info.elemType);
      if (info.shape === undefined) return;
      const shape = info.shape;
      tensorType.messageField(TensorTypeField.SHAPE, (shapeBody) => {
        for (const dim of shape) {
          shapeBody.messageField(ShapeField.DIM, (dimension) => {
            if (typeof dim === "number") dimension.varintField(DimensionField.DIM_VALUE, dim);
            else if (dim !== "") dimension.stringField(DimensionField.DIM_PARAM, dim);
            // "" stays an empty Dimension: ONNX's way of saying "unknown, and unnamed".
          });
        }
      });
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

/** `source` names the file in error messages */
export function decodeModel(bytes: Uint8Array, source = "ONNX model"): ModelProto {
  // A plain Uint8Array view: Node/Bun Buffers (readFileSync) give slice() view semantics.
  const reader = new ProtobufReader(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), source);
  let irVersion = 0;
  const opsetImports: OpsetImport[] = [];
  let producerName = "";
  let producerVersion = "";
  let graph: GraphProto | undefined;
  while (!reader.atEnd) {
    const { field, wireType } = reader.readTag();
    switch (field) {
      case ModelField.IR_VERSION:
        irVersion = reader.int64Field(wireType, "ir_version");
        break;
      case ModelField.PRODUCER_NAME:
        producerName = reader.stringField(wireType, "producer_name");
        break;
      case ModelField.PRODUCER_VERSION:
        producerVersion = reader.stringField(wireType, "producer_version");
        break;
      case ModelField.GRAPH: {
        const at = reader.offset;
        // Protobuf would merge two graph fields into one; no exporter writes that, so it is corruption.
        if (graph) reader.fail("a second graph", at);
        graph = decodeGraph(reader.messageField(wireType, "graph"));
        break;
      }
      case ModelField.OPSET_IMPORT:
        opsetImports.push(decodeOpset(reader.messageField(wireType, `opset_import[${opsetImports.length}]`)));
        break;
      default:
        reader.skipField(wireType);
    }
  }
  if (!graph) throw new InputError(`${source}: not an ONNX model (no graph)`);
  if (irVersion <= 0) throw new InputError(`${source}: not an ONNX model (ir_version is ${irVersion === 0 ? "missing" : irVersion})`);
  return { irVersion, opsetImports, producerName, producerVersion, graph };
}

function decodeOpset(reader: ProtobufReader): OpsetImport {
  let domain = "";
  let version = 0;
  while (!reader.atEnd) {
    const { field, wireType } = reader.readTag();
    if (field === OpsetField.DOMAIN) domain = reader.stringField(wireType, "domain");
    else if (field === OpsetField.VERSION) version = reader.int64Field(wireType, "version");
    else reader.skipField(wireType);
  }
  if (version < 0) semanticError(reader, `opset version ${version} is negative`);
  return { domain, version };
}

function decodeGraph(reader: ProtobufReader): GraphProto {
  const graph: GraphProto = { name: "", nodes: [], initializers: [], inputs: [], outputs: [] };
  while (!reader.atEnd) {
    const at = reader.offset;
    const { field, wireType } = reader.readTag();
    switch (field) {
      case GraphField.NODE:
        graph.nodes.push(decodeNode(reader.messageField(wireType, `node[${graph.nodes.length}]`)));
        break;
      case GraphField.NAME:
        graph.name = reader.stringField(wireType, "name");
        break;
      case GraphField.INITIALIZER:
        graph.initializers.push(decodeTensor(reader.messageField(wireType, `initializer[${graph.initializers.length}]`)));
        break;
      case GraphField.INPUT:
        graph.inputs.push(decodeValueInfo(reader.messageField(wireType, `input[${graph.inputs.length}]`)));
        break;
      case GraphField.OUTPUT:
        graph.outputs.push(decodeValueInfo(reader.messageField(wireType, `output[${graph.outputs.length}]`)));
        break;
      case GraphField.SPARSE_INITIALIZER:
        reader.fail("sparse initializers are not supported", at);
        break;
      default:
        reader.skipField(wireType);
    }
  }
  return graph;
}

function decodeNode(reader: ProtobufReader): NodeProto {
  const node: NodeProto = { name: "", opType: "", domain: "", inputs: [], outputs: [], attributes: [] };
  while (!reader.atEnd) {
    const { field, wireType } = reader.readTag();
    switch (field) {
      case NodeField.INPUT:
        node.inputs.push(reader.stringField(wireType, "input"));
        break;
      case NodeField.OUTPUT:
        node.outputs.push(reader.stringField(wireType, "output"));
        break;
      case NodeField.NAME:
        node.name = reader.stringField(wireType, "name");
        break;
      case NodeField.OP_TYPE:
        node.opType = reader.stringField(wireType, "op_type");
        break;
      case NodeField.ATTRIBUTE:
        node.attributes.push(decodeAttribute(reader.messageField(wireType, `attribute[${node.attributes.length}]`)));
        break;
      case NodeField.DOMAIN:
        node.domain = reader.stringField(wireType, "domain");
        break;
      default:
        reader.skipField(wireType);
    }
  }
  if (!node.opType) semanticError(reader, `node${node.name ? ` '${node.name}'` : ""} has no op_type`);
  return node;
}

function decodeAttribute(reader: ProtobufReader): AttributeProto {
  let name = "";
  let typeCode = 0;
  // Which value fields appeared: attributes written before IR version 3 carry no type, only the value.
  const seen = new Set<string>();
  let f = 0;
  let i = 0;
  let s = "";
  let t: TensorProto | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  while (!reader.atEnd) {
    const { field, wireType } = reader.readTag();
    switch (field) {
      case AttributeField.NAME:
        name = reader.stringField(wireType, "name");
        break;
      case AttributeField.TYPE:
        typeCode = reader.int32Field(wireType, "type");
        break;
      case AttributeField.F:
        f = reader.floatField(wireType, "f");
        seen.add("FLOAT");
        break;
      case AttributeField.I:
        i = reader.int64Field(wireType, "i");
        seen.add("INT");
        break;
      case AttributeField.S:
        s = reader.stringField(wireType, "s");
        seen.add("STRING");
        break;
      case AttributeField.T:
        t = decodeTensor(reader.messageField(wireType, "t"));
        seen.add("TENSOR");
        break;
      case AttributeField.FLOATS: {
        const run = reader.repeatedField(wireType, WireType.FIXED32, "floats");
        while (!run.atEnd) floats.push(run.readFloat());
        seen.add("FLOATS");
        break;
      }
      case AttributeField.INTS: {
        const run = reader.repeatedField(wireType, WireType.VARINT, "ints");
        while (!run.atEnd) ints.push(run.readInt64("ints"));
        seen.add("INTS");
        break;
      }
      case AttributeField.STRINGS:
        strings.push(reader.stringField(wireType, "strings"));
        seen.add("STRINGS");
        break;
      default:
        reader.skipField(wireType);
    }
  }
  const label = `attribute${name ? ` '${name}'` : ""}`;
  let type = ATTRIBUTE_TYPE_NAMES[typeCode];
  if (typeCode === 0) {
    if (seen.size !== 1) semanticError(reader, `${label} has no type${seen.size > 1 ? ` and several values (${[...seen].join(", ")})` : " and no value"}`);
    type = [...seen][0];
  }
  switch (type) {
    case "FLOAT":
      return { name, type, f };
    case "INT":
      return { name, type, i };
    case "STRING":
      return { name, type, s };
    case "TENSOR":
      if (!t) return semanticError(reader, `${label} is of type TENSOR but holds no tensor`);
      return { name, type, t };
    case "FLOATS":
      return { name, type, floats };
    case "INTS":
      return { name, type, ints };
    case "STRINGS":
      return { name, type, strings };
    default:
      return semanticError(reader, `${label} has type ${type ?? typeCode}, which is not supported`);
  }
}

function decodeValueInfo(reader: ProtobufReader): ValueInfoProto {
  const info: ValueInfoProto = { name: "", elemType: 0 };
  while (!reader.atEnd) {
    const { field, wireType } = reader.readTag();
    if (field === ValueInfoField.NAME) info.name = reader.stringField(wireType, "name");
    else if (field === ValueInfoField.TYPE) decodeType(reader.messageField(wireType, "type"), info);
    else reader.skipField(wireType);
  }
  return info;
}

function decodeType(reader: ProtobufReader, info: ValueInfoProto): void {
  while (!reader.atEnd) {
    const at = reader.offset;
    const { field, wireType } = reader.readTag();
    switch (field) {
      case TypeField.TENSOR_TYPE:
        decodeTensorType(reader.messageField(wireType, "tensor_type"), info);
        break;
      case TypeField.SEQUENCE_TYPE:
      case TypeField.MAP_TYPE:
      case TypeField.SPARSE_TENSOR_TYPE:
      case TypeField.OPTIONAL_TYPE: {
        const kind = { [TypeField.SEQUENCE_TYPE]: "a sequence", [TypeField.MAP_TYPE]: "a map", [TypeField.SPARSE_TENSOR_TYPE]: "a sparse tensor", [TypeField.OPTIONAL_TYPE]: "an optional" }[field];
        reader.fail(`value '${info.name}' is ${kind}; only dense tensors are supported`, at);
        break;
      }
      default:
        reader.skipField(wireType);
    }
  }
}

function decodeTensorType(reader: ProtobufReader, info: ValueInfoProto): void {
  while (!reader.atEnd) {
    const { field, wireType } = reader.readTag();
    if (field === TensorTypeField.ELEM_TYPE) info.elemType = reader.int32Field(wireType, "elem_type");
    else if (field === TensorTypeField.SHAPE) info.shape = decodeShape(reader.messageField(wireType, "shape"));
    else reader.skipField(wireType);
  }
}

function decodeShape(reader: ProtobufReader): (number | string)[] {
  const shape: (number | string)[] = [];
  while (!reader.atEnd) {
    const { field, wireType } = reader.readTag();
    if (field !== ShapeField.DIM) {
      reader.skipField(wireType);
      continue;
    }
    const dimension = reader.messageField(wireType, `dim[${shape.length}]`);
    // Neither field set means an unknown, unnamed dimension; "" keeps that distinct from any real name.
    let dim: number | string = "";
    while (!dimension.atEnd) {
      const at = dimension.offset;
      const { field: dimField, wireType: dimWireType } = dimension.readTag();
      if (dimField === DimensionField.DIM_VALUE) {
        dim = dimension.int64Field(dimWireType, "dim_value");
        if (dim < 0) dimension.fail(`dimension ${dim} is negative`, at);
      } else if (dimField === DimensionField.DIM_PARAM) dim = dimension.stringField(dimWireType, "dim_param");
      else dimension.skipField(dimWireType);
    }
    shape.push(dim);
  }
  return shape;
}

/** Where a tensor's values came from: ONNX allows raw little-endian bytes or one typed repeated field. */
interface TensorPayloads {
  raw?: Uint8Array;
  /** Runs of each typed field, in file order (a repeated field may be split across several runs). */
  floatData: ProtobufReader[];
  doubleData: ProtobufReader[];
  int32Data: ProtobufReader[];
  int64Data: ProtobufReader[];
}

function decodeTensor(reader: ProtobufReader): TensorProto {
  let name = "";
  let dataType = 0;
  const dims: number[] = [];
  let external = false;
  const payloads: TensorPayloads = { floatData: [], doubleData: [], int32Data: [], int64Data: [] };
  while (!reader.atEnd) {
    const { field, wireType } = reader.readTag();
    switch (field) {
      case TensorField.DIMS: {
        const run = reader.repeatedField(wireType, WireType.VARINT, "dims");
        while (!run.atEnd) {
          const at = run.offset;
          const dim = run.readInt64("dims");
          if (dim < 0) run.fail(`tensor dimension ${dim} is negative`, at);
          if (dims.length === MAX_TENSOR_RANK) run.fail(`tensor has more than ${MAX_TENSOR_RANK} dimensions`, at);
          dims.push(dim);
        }
        break;
      }
      case TensorField.DATA_TYPE:
        dataType = reader.int32Field(wireType, "data_type");
        break;
      case TensorField.NAME:
        name = reader.stringField(wireType, "name");
        break;
      case TensorField.RAW_DATA:
        payloads.raw = reader.bytesField(wireType, "raw_data");
        break;
      case TensorField.FLOAT_DATA:
        payloads.floatData.push(reader.repeatedField(wireType, WireType.FIXED32, "float_data"));
        break;
      case TensorField.DOUBLE_DATA:
        payloads.doubleData.push(reader.repeatedField(wireType, WireType.FIXED64, "double_data"));
        break;
      case TensorField.INT32_DATA:
        payloads.int32Data.push(reader.repeatedField(wireType, WireType.VARINT, "int32_data"));
        break;
      case TensorField.INT64_DATA:
        payloads.int64Data.push(reader.repeatedField(wireType, WireType.VARINT, "int64_data"));
        break;
      case TensorField.EXTERNAL_DATA:
        external = true;
        reader.skipField(wireType);
        break;
      case TensorField.DATA_LOCATION:
        if (reader.int32Field(wireType, "data_location") === DATA_LOCATION_EXTERNAL) external = true;
        break;
      default:
        reader.skipField(wireType);
    }
  }
  const label = `tensor${name ? ` '${name}'` : ""}`;
  if (external) {
    semanticError(reader, `${label}: external data is not supported (save the model with its weights inside the .onnx file)`);
  }
  if (expectedArrayKind(dataType) === undefined) semanticError(reader, `${label} has data type ${dataTypeName(dataType)}, which is not supported`);
  const data = decodeTensorData(reader, label, dataType, payloads);
  checkDimsMatch(reader, label, dims, data.length);
  return { name, dataType, dims, data };
}

function checkDimsMatch(reader: ProtobufReader, label: string, dims: number[], valueCount: number): void {
  // Multiply with an early exit, so absurd dims ([2^40, 2^40]) fail as a mismatch instead of overflowing.
  let product = dims.includes(0) ? 0 : 1;
  for (const dim of dims) {
    if (product === 0 || product > valueCount) break;
    product *= dim;
  }
  if (product !== valueCount) {
    semanticError(reader, `${label}: dims [${dims.join(", ")}] do not match the ${valueCount} values its data holds`);
  }
}

function decodeTensorData(reader: ProtobufReader, label: string, dataType: number, payloads: TensorPayloads): TensorProto["data"] {
  const typedRuns: [string, ProtobufReader[]][] = [
    ["float_data", payloads.floatData],
    ["double_data", payloads.doubleData],
    ["int32_data", payloads.int32Data],
    ["int64_data", payloads.int64Data],
  ];
  const present = typedRuns.filter(([, runs]) => runs.length > 0).map(([fieldName]) => fieldName);
  if (payloads.raw && present.length > 0) semanticError(reader, `${label} has both raw_data and ${present[0]}; ONNX allows one`);
  const allowed = typedFieldFor(dataType);
  const stray = present.find((fieldName) => fieldName !== allowed);
  if (stray) semanticError(reader, `${label} is ${dataTypeName(dataType)} but carries ${stray}`);
  return payloads.raw ? decodeRawData(reader, label, dataType, payloads.raw) : decodeTypedData(dataType, payloads);
}

function typedFieldFor(dataType: number): string {
  switch (dataType) {
    case TensorDataType.FLOAT:
      return "float_data";
    case TensorDataType.DOUBLE:
      return "double_data";
    case TensorDataType.INT64:
      return "int64_data";
    default:
      return "int32_data"; // INT32, INT8 and UINT8 all travel as int32_data
  }
}

function decodeRawData(reader: ProtobufReader, label: string, dataType: number, raw: Uint8Array): TensorProto["data"] {
  if (dataType === TensorDataType.UINT8) return Int32Array.from(raw);
  if (dataType === TensorDataType.INT8) return Int32Array.from(new Int8Array(raw.buffer, raw.byteOffset, raw.length));
  const elementSize = dataType === TensorDataType.DOUBLE || dataType === TensorDataType.INT64 ? 8 : 4;
  if (raw.length % elementSize !== 0) {
    semanticError(reader, `${label}: raw_data of ${raw.length} bytes is not a whole number of ${elementSize}-byte ${dataTypeName(dataType)} values`);
  }
  // Copy first: the file bytes are rarely aligned for a typed-array view, and the result must not alias the
  // file. (Uint8Array's slice, not Node Buffer's, which would return a view.)
  const copy = Uint8Array.prototype.slice.call(raw);
  const count = raw.length / elementSize;
  if (hostIsLittleEndian) {
    if (dataType === TensorDataType.FLOAT) return new Float32Array(copy.buffer, 0, count);
    if (dataType === TensorDataType.DOUBLE) return new Float64Array(copy.buffer, 0, count);
    if (dataType === TensorDataType.INT64) return new BigInt64Array(copy.buffer, 0, count);
    return new Int32Array(copy.buffer, 0, count);
  }
  const view = new DataView(copy.buffer);
  if (dataType === TensorDataType.FLOAT) return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
  if (dataType === TensorDataType.DOUBLE) return Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
  if (dataType === TensorDataType.INT64) return BigInt64Array.from({ length: count }, (_, i) => view.getBigInt64(8 * i, true));
  return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
}

/** Arrays are sized from the runs' byte lengths, so an allocation never exceeds what the file holds. */
function decodeTypedData(dataType: number, payloads: TensorPayloads): TensorProto["data"] {
  switch (dataType) {
    case TensorDataType.FLOAT: {
      const values = new Float32Array(payloads.floatData.reduce((n, run) => n + run.remaining / 4, 0));
      let at = 0;
      for (const run of payloads.floatData) while (!run.atEnd) values[at++] = run.readFloat();
      return values;
    }
    case TensorDataType.DOUBLE: {
      const values = new Float64Array(payloads.doubleData.reduce((n, run) => n + run.remaining / 8, 0));
      let at = 0;
      for (const run of payloads.doubleData) while (!run.atEnd) values[at++] = run.readDouble();
      return values;
    }
    case TensorDataType.INT64: {
      const values = new BigInt64Array(payloads.int64Data.reduce((n, run) => n + run.countVarints(), 0));
      let at = 0;
      for (const run of payloads.int64Data) while (!run.atEnd) values[at++] = run.readInt64Exact();
      return values;
    }
    default: {
      const [lo, hi] = dataType === TensorDataType.INT8 ? [-128, 127] : dataType === TensorDataType.UINT8 ? [0, 255] : [-0x80000000, 0x7fffffff];
      const values = new Int32Array(payloads.int32Data.reduce((n, run) => n + run.countVarints(), 0));
      let index = 0;
      for (const run of payloads.int32Data) {
        while (!run.atEnd) {
          const at = run.offset;
          const value = run.readInt32("int32_data");
          if (value < lo || value > hi) run.fail(`int32_data value ${value} does not fit ${dataTypeName(dataType)}`, at);
          values[index++] = value;
        }
      }
      return values;
    }
  }
}

/** A well-formed message whose content makes no sense: no single byte is at fault, so name the message instead. */
function semanticError(reader: ProtobufReader, problem: string): never {
  const where = reader.path ? ` in ${reader.path}` : "";
  throw new InputError(`${reader.source}: ${problem}${where}`);
}
