/**
 * A minimal ONNX ModelProto writer (protobuf wire format by hand: varints and
 * length-delimited fields), so the peer graphs are built in code with no model files and no
 * protobuf dependency. Field numbers are those of onnx/onnx.proto3.
 */

export const ONNX_FLOAT = 1;
export const ONNX_UINT8 = 2;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;
export const ONNX_FLOAT16 = 10;

/** A dimension: a number, or a symbolic name (one session serves every leading size). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number;
  dims: Dim[];
}

export type AttrValue = { f: number } | { i: number } | { s: string } | { ints: number[] } | { floats: number[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface Initializer {
  name: string;
  elemType: number;
  dims: number[];
  /** Raw little-endian bytes of the elements. */
  raw: Uint8Array;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: Initializer[];
  /** Opset of the default domain (and of com.microsoft, always 1). */
  opset?: number;
}

class Writer {
  #chunks: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.#chunks.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.#chunks.push(Number(x));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.#chunks.push(x);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.#chunks.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#chunks);
  }
}

function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().str(2, d));
  const tensorType = new Writer().int(1, v.elemType).msg(2, shape);
  return new Writer().str(1, v.name).msg(2, new Writer().msg(1, tensorType));
}

function attribute(name: string, a: AttrValue): Writer {
  const w = new Writer().str(1, name);
  if ('f' in a) return w.float(2, a.f).int(20, 1);
  if ('i' in a) return w.int(3, a.i).int(20, 2);
  if ('s' in a) return w.str(4, a.s).int(20, 3);
  if ('floats' in a) {
    for (const f of a.floats) w.float(7, f);
    return w.int(20, 6);
  }
  for (const i of a.ints) w.int(8, i);
  return w.int(20, 7);
}

/** Big initializers are written as raw_data in one piece (Writer's per-byte path is for the small fields). */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function lengthDelimited(field: number, body: Uint8Array): Uint8Array {
  return concat([new Writer().tag(field, 2).varint(body.length).finish(), body]);
}

function initializer(t: Initializer): Uint8Array {
  const head = new Writer();
  for (const d of t.dims) head.int(1, d);
  head.int(2, t.elemType).str(8, t.name);
  return concat([head.finish(), lengthDelimited(9, t.raw)]);
}

/** Serialises a one-graph model (IR version 8; the default domain at `opset`, com.microsoft at 1). */
export function encodeModel(g: OnnxGraph): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, k) => {
    const node = new Writer();
    for (const i of n.inputs) node.str(1, i);
    for (const o of n.outputs) node.str(2, o);
    node.str(3, `${n.op}_${k}`).str(4, n.op);
    for (const [name, a] of Object.entries(n.attrs ?? {})) node.msg(5, attribute(name, a));
    if (n.domain) node.str(7, n.domain);
    graph.msg(1, node);
  });
  graph.str(2, g.name);
  for (const v of g.inputs) graph.msg(11, valueInfo(v));
  for (const v of g.outputs) graph.msg(12, valueInfo(v));
  const graphBytes = concat([graph.finish(), ...(g.initializers ?? []).map((t) => lengthDelimited(5, initializer(t)))]);
  const head = new Writer()
    .int(1, 8)
    .str(2, 'pmetal-bench')
    .msg(8, new Writer().str(1, '').int(2, g.opset ?? 17))
    .msg(8, new Writer().str(1, 'com.microsoft').int(2, 1))
    .finish();
  return concat([head, lengthDelimited(7, graphBytes)]);
}
