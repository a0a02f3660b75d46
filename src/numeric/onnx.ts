/**
 * A minimal ONNX model writer: the protobuf encoding of ModelProto (onnx.proto,
 * IR version 8, default-domain opset 17) for graphs of float32 tensors, so a
 * model exported here runs in ONNX Runtime (native, web, mobile) and
 * anything else that reads ONNX. Only what the exports need: nodes with int,
 * ints and float attributes, float32 and int64 initializers, inputs and
 * outputs with symbolic dimensions, and metadata properties.
 */

/** One node of the graph. */
export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Attributes: a number is an INT when integral and `ints` is not meant, use {f} for FLOAT and number[] for INTS. */
  attributes?: Record<string, number | number[] | { f: number }>;
}

/** An initializer (constant tensor). */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  /** float32 data, or int64 data given as numbers. */
  data: Float32Array | { int64: number[] };
}

/** A graph input or output: float32 with dims (a string is a symbolic dimension, e.g. "N"). */
export interface OnnxValue {
  name: string;
  dims: Array<number | string>;
}

export interface OnnxModel {
  name: string;
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  /** Free-form key/value strings (ModelProto.metadata_props). */
  metadata?: Record<string, string>;
  producerVersion?: string;
}

/** Protobuf wire encoding, just the field kinds ONNX needs. */
class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  private varint(v: bigint): void {
    const out: number[] = [];
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }
  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }
  int(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(BigInt(v));
    return this;
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(b.length));
    this.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const FLOAT = 1;
const INT64 = 7;

function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

function tensor(t: OnnxInitializer): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  let raw: Uint8Array;
  if (t.data instanceof Float32Array) {
    w.int(2, FLOAT);
    raw = new Uint8Array(t.data.length * 4);
    const view = new DataView(raw.buffer);
    t.data.forEach((x, i) => view.setFloat32(4 * i, x, true));
  } else {
    w.int(2, INT64);
    raw = new Uint8Array(t.data.int64.length * 8);
    const view = new DataView(raw.buffer);
    t.data.int64.forEach((x, i) => view.setBigInt64(8 * i, BigInt(x), true));
  }
  return w.string(8, t.name).bytes(9, raw);
}

function attribute(name: string, v: number | number[] | { f: number }): Writer {
  const w = new Writer().string(1, name);
  if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    return w.int(20, 7); // INTS
  }
  if (typeof v === 'object') return w.float(2, v.f).int(20, 1); // FLOAT
  return w.int(3, v).int(20, 2); // INT
}

/** The bytes of an .onnx file for `model`. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const graph = new Writer();
  for (const n of model.nodes) {
    const node = new Writer();
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    node.string(3, `${n.op}_${n.outputs[0]}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attributes ?? {})) node.message(5, attribute(k, v));
    graph.message(1, node);
  }
  graph.string(2, model.name);
  for (const t of model.initializers) graph.message(5, tensor(t));
  for (const v of model.inputs) graph.message(11, valueInfo(v));
  for (const v of model.outputs) graph.message(12, valueInfo(v));
  const m = new Writer().int(1, 8).string(2, 'rliv');
  if (model.producerVersion) m.string(3, model.producerVersion);
  m.message(7, graph).message(8, new Writer().string(1, '').int(2, 17));
  for (const [k, v] of Object.entries(model.metadata ?? {})) m.message(14, new Writer().string(1, k).string(2, v));
  return m.finish();
}
