/**
 * The ONNX protobuf schema: the messages of the public `onnx.proto3` that a
 * model file needs (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto, TensorShapeProto,
 * OperatorSetIdProto, StringStringEntryProto), with the field numbers of the
 * ONNX specification, compiled once by protobufjs. Encoding and decoding are
 * protobufjs's; nothing here writes wire bytes by hand.
 */
import protobuf from 'protobufjs';

/** The ONNX schema text (a subset of onnx.proto3, same field numbers; unused fields left out). */
export const ONNX_PROTO = `
syntax = "proto3";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT = 2;
    STRING = 3;
    TENSOR = 4;
    GRAPH = 5;
    FLOATS = 6;
    INTS = 7;
    STRINGS = 8;
    TENSORS = 9;
    GRAPHS = 10;
    SPARSE_TENSOR = 11;
    SPARSE_TENSORS = 12;
  }
  string name = 1;
  string ref_attr_name = 21;
  string doc_string = 13;
  AttributeType type = 20;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  TensorProto t = 5;
  GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
}

message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
  string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  string domain = 7;
  repeated AttributeProto attribute = 5;
  string doc_string = 6;
}

message ModelProto {
  int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message StringStringEntryProto {
  string key = 1;
  string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0;
    FLOAT = 1;
    UINT8 = 2;
    INT8 = 3;
    UINT16 = 4;
    INT16 = 5;
    INT32 = 6;
    INT64 = 7;
    STRING = 8;
    BOOL = 9;
    FLOAT16 = 10;
    DOUBLE = 11;
    UINT32 = 12;
    UINT64 = 13;
  }
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  string name = 8;
  string doc_string = 12;
  bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  string denotation = 6;
}

message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}
`;

/** ONNX element types (TensorProto.DataType) used by the exporter. */
export const ONNX_DTYPE = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

/** ONNX attribute types (AttributeProto.AttributeType) used by the exporter. */
export const ONNX_ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, INTS: 7 } as const;

/** An attribute of a node, as the plain object protobufjs encodes (snake_case field names of the schema). */
export interface AttributeProto {
  readonly name: string;
  readonly type: number;
  readonly f?: number;
  readonly i?: number;
  readonly s?: Uint8Array;
  readonly g?: SubGraphProto;
  readonly ints?: readonly number[];
}

/** A node of the graph: `outputs = op_type[attributes](inputs)`. */
export interface NodeProto {
  readonly input: readonly string[];
  readonly output: readonly string[];
  readonly name?: string;
  readonly op_type: string;
  readonly attribute?: readonly AttributeProto[];
}

/** A tensor value (an initializer): dims, element type and little-endian raw bytes. */
export interface TensorProto {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data_type: number;
  readonly raw_data: Uint8Array;
}

/** One dimension of a value's shape: a number, or a symbolic name such as `batch`. */
export type DimensionProto = { readonly dim_value: number } | { readonly dim_param: string };

/** The name and tensor type (element type, and shape where known) of a graph input or output. */
export interface ValueInfoProto {
  readonly name: string;
  readonly type: { readonly tensor_type: { readonly elem_type: number; readonly shape: { readonly dim: readonly DimensionProto[] } } };
}

/** The name and element type of a sub-graph's input or output (its shape left to the runtime). */
export interface TypedValueProto {
  readonly name: string;
  readonly type: { readonly tensor_type: { readonly elem_type: number } };
}

/** A graph: nodes in topological order, initializers, inputs and outputs. */
export interface GraphProto {
  readonly name: string;
  readonly node: readonly NodeProto[];
  readonly initializer: readonly TensorProto[];
  readonly input: readonly ValueInfoProto[];
  readonly output: readonly ValueInfoProto[];
  readonly doc_string?: string;
}

/** The body of a control-flow node (Scan's body, If's branches): values typed by element type only. */
export interface SubGraphProto {
  readonly name: string;
  readonly node: readonly NodeProto[];
  readonly input: readonly (TypedValueProto | ValueInfoProto)[];
  readonly output: readonly (TypedValueProto | ValueInfoProto)[];
}

/** A model file: IR version, operator sets, producer and the graph. */
export interface ModelProto {
  readonly ir_version: number;
  readonly opset_import: readonly { readonly domain: string; readonly version: number }[];
  readonly producer_name: string;
  readonly producer_version: string;
  readonly graph: GraphProto;
  readonly doc_string?: string;
  readonly metadata_props?: readonly { readonly key: string; readonly value: string }[];
}

let root: protobuf.Root | undefined;

/** The compiled ModelProto message type (the schema is parsed on first use). */
export function modelProtoType(): protobuf.Type {
  root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return root.lookupType('onnx.ModelProto');
}

/** A model as ONNX protobuf bytes (checked against the schema before encoding). */
export function encodeModel(model: ModelProto): Uint8Array {
  const type = modelProtoType();
  const err = type.verify(model);
  if (err) throw new Error(`exportOnnx: the model does not fit the ONNX schema: ${err}`);
  return type.encode(type.fromObject(model as unknown as Record<string, unknown>)).finish();
}

/** ONNX protobuf bytes decoded into plain objects (int64 fields as numbers, bytes as Uint8Array). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = modelProtoType();
  const msg = type.decode(bytes);
  return type.toObject(msg, { longs: Number, defaults: false, arrays: true, oneofs: false }) as unknown as ModelProto;
}
