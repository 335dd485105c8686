import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import type * as Ort from 'onnxruntime-web';
import { fromFloat64, toFloat64, type FloatDType } from '../../src/dtype.js';
import type { HostTensor } from '../../src/ops/types.js';
import type { PeerCase } from './cases.js';
import { ONNX_FLOAT, ONNX_FLOAT16, ONNX_INT64, encodeModel, type Dim, type OnnxGraph, type OnnxNode, type ValueInfo } from './onnx.js';
import { PeerUnsupported, causalMask, ropeTables, type BoundCall, type GpuInput, type Peer, type PreparedCase } from './peer.js';
import { installPeerGlobals, type PeerGpu } from './gpu.js';
import { attentionGraph, decodeGraph, nbitsGraph } from './ort_llm.js';

export const ORT_VERSION = '1.30.0';
/** The only wasm the WebGPU build loads (its JS glue is inside ort.webgpu.bundle.min.mjs). */
export const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm';

type OrtModule = typeof Ort;
export type OrtType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8';

/**
 * The wasm binary: dist/ carries it brotli-compressed (scripts/build.mjs writes it next to
 * peers.js, 4.7 MB instead of 27); from a checkout, node_modules has it as is.
 */
function wasmBinary(): Uint8Array {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const br = `${here}${ORT_WASM}.br`;
  if (existsSync(br)) return brotliDecompressSync(readFileSync(br));
  const req = createRequire(import.meta.url);
  return readFileSync(req.resolve(`onnxruntime-web/dist/${ORT_WASM}`, { paths: [process.cwd(), here] }));
}

export const onnxType = (d: FloatDType): number => (d === 'f16' ? ONNX_FLOAT16 : ONNX_FLOAT);
export const ortType = (d: FloatDType): OrtType => (d === 'f16' ? 'float16' : 'float32');

/** A feed the graph needs beyond pmetal's inputs; `cpu`: an input the EP reads on the host (a shape scalar), never uploaded. */
export interface Feed {
  type: OrtType;
  dims: number[];
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;
  cpu?: boolean;
}

export interface GraphSpec {
  graph: OnnxGraph;
  /** pmetal output name → graph output name. */
  outputs: Record<string, string>;
  /** Feeds from host inputs (check shape, or the full shape's host copy for extra GPU inputs). */
  feeds(inputs: Record<string, HostTensor>): Record<string, Feed>;
  /** Graph inputs that are pmetal's input buffers as they are (name → pmetal input, the ORT dims and, where it differs from the input's, the ORT element type). */
  shared: Record<string, { input: string; dims: (i: HostTensor) => number[]; type?: OrtType }>;
  form: string;
  /** Why ORT refuses this case although the graph is well-formed (a limit of the op): the column says n/a. */
  unsupported?: string;
  /** Tried when the WebGPU EP has no kernel for a node of `graph`. */
  fallback?: GraphSpec;
}

export const floatData = (dtype: FloatDType, v: Float64Array): Float32Array | Uint16Array => (dtype === 'f16' ? fromFloat64('f16', v) : fromFloat64('f32', v));
const int64 = (h: HostTensor): BigInt64Array => BigInt64Array.from(h.data as Int32Array, (x) => BigInt(x));

/** The ONNX graph a user of ORT would write for each op. */
export function graphFor(c: PeerCase, dtype: FloatDType): GraphSpec {
  const T = onnxType(dtype);
  const t = ortType(dtype);
  const vi = (name: string, dims: Dim[], elemType = T): ValueInfo => ({ name, elemType, dims });
  const scalar = (name: string, v: number) => ({ name, elemType: T, dims: [], raw: new Uint8Array(floatData(dtype, Float64Array.of(v)).buffer) });
  const same = (input: string) => ({ input, dims: (i: HostTensor) => [...i.shape] });
  const g = (nodes: OnnxNode[], inputs: ValueInfo[], outputs: ValueInfo[], extra: Partial<OnnxGraph> = {}): OnnxGraph => ({ name: c.op, nodes, inputs, outputs, opset: 17, ...extra });
  const p = c.params;
  switch (p.kind) {
    case 'gemm': {
      const nodes: OnnxNode[] = p.transB ? [{ op: 'Gemm', inputs: ['a', 'b'], outputs: ['y'], attrs: { transB: { i: 1 } } }] : [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }];
      return {
        graph: g(nodes, [vi('a', ['m', p.k]), vi('b', p.transB ? [p.n, p.k] : [p.k, p.n])], [vi('y', ['m', p.n])]),
        outputs: { y: 'y' },
        feeds: () => ({}),
        shared: { a: same('a'), b: same('b') },
        form: p.transB ? 'Gemm(a, b, transB=1)' : 'MatMul(a, b)',
      };
    }
    case 'softmax': {
      const [, sq, sk] = p.shape;
      const nodes: OnnxNode[] = [{ op: 'Mul', inputs: ['x', 'scale'], outputs: ['z'] }];
      if (p.causal) nodes.push({ op: 'Add', inputs: ['z', 'mask'], outputs: ['zm'] });
      nodes.push({ op: 'Softmax', inputs: [p.causal ? 'zm' : 'z'], outputs: ['y'], attrs: { axis: { i: -1 } } });
      return {
        graph: g(nodes, [vi('x', ['b', 'r', sk]), ...(p.causal ? [vi('mask', [sq, sk])] : [])], [vi('y', ['b', 'r', sk])], { initializers: [scalar('scale', p.scale)] }),
        outputs: { y: 'y' },
        feeds: (): ReturnType<GraphSpec['feeds']> => (p.causal ? { mask: { type: t, dims: [sq, sk], data: floatData(dtype, causalMask(sq, sk)) } } : {}),
        shared: { x: same('x') },
        form: p.causal ? 'Softmax(x·scale + mask) (mask: a [Sq,Sk] input of 0/−∞)' : 'Softmax(Mul(x, scale), axis=−1)',
      };
    }
    case 'rms_norm': {
      const eps = { epsilon: { f: p.eps } };
      if (!p.residual) {
        return {
          graph: g([{ op: 'SimplifiedLayerNormalization', inputs: ['x', 'weight'], outputs: ['y'], attrs: { axis: { i: -1 }, ...eps } }], [vi('x', ['r', p.cols]), vi('weight', [p.cols])], [vi('y', ['r', p.cols])]),
          outputs: { y: 'y' },
          feeds: () => ({}),
          shared: { x: same('x'), weight: same('weight') },
          form: 'SimplifiedLayerNormalization(x, weight)',
        };
      }
      return {
        graph: g(
          [{ op: 'SkipSimplifiedLayerNormalization', domain: 'com.microsoft', inputs: ['x', 'residual', 'weight'], outputs: ['y', '', '', 'h'], attrs: eps }],
          [vi('x', ['r', p.cols]), vi('residual', ['r', p.cols]), vi('weight', [p.cols])],
          [vi('y', ['r', p.cols]), vi('h', ['r', p.cols])],
        ),
        outputs: { y: 'y', residual: 'h' },
        feeds: () => ({}),
        shared: { x: same('x'), residual: same('residual'), weight: same('weight') },
        form: 'com.microsoft SkipSimplifiedLayerNormalization(x, residual, weight) → y, x+residual',
      };
    }
    case 'swiglu':
      return {
        graph: g(
          [
            { op: 'Sigmoid', inputs: ['gate'], outputs: ['s'] },
            { op: 'Mul', inputs: ['gate', 's'], outputs: ['silu'] },
            { op: 'Mul', inputs: ['silu', 'up'], outputs: ['y'] },
          ],
          [vi('gate', ['r', p.cols]), vi('up', ['r', p.cols])],
          [vi('y', ['r', p.cols])],
        ),
        outputs: { y: 'y' },
        feeds: () => ({}),
        shared: { gate: same('gate'), up: same('up') },
        form: 'Mul(Mul(gate, Sigmoid(gate)), up)',
      };
    case 'rope': {
      // The contrib op takes [B, S, H·D] hidden states: pmetal's [B, S, H, D] buffer as it is.
      const half = p.d / 2;
      const tables = ropeTables(p.maxPos, p.d, p.base);
      return {
        graph: g(
          [{ op: 'RotaryEmbedding', domain: 'com.microsoft', inputs: ['x', 'position_ids', 'cos_cache', 'sin_cache'], outputs: ['y'], attrs: { interleaved: { i: 0 }, num_heads: { i: p.h }, rotary_embedding_dim: { i: p.d } } }],
          [vi('x', ['b', 's', p.h * p.d]), vi('position_ids', p.positions ? ['b', 's'] : [1], ONNX_INT64), vi('cos_cache', [p.maxPos, half]), vi('sin_cache', [p.maxPos, half])],
          [vi('y', ['b', 's', p.h * p.d])],
        ),
        outputs: { y: 'y' },
        feeds: (i) => ({
          position_ids: i.positions ? { type: 'int64', dims: [...i.positions.shape], data: int64(i.positions) } : { type: 'int64', dims: [1], data: BigInt64Array.of(0n) },
          cos_cache: { type: t, dims: [p.maxPos, half], data: floatData(dtype, tables.cos) },
          sin_cache: { type: t, dims: [p.maxPos, half], data: floatData(dtype, tables.sin) },
        }),
        shared: { x: { input: 'x', dims: (i) => [i.shape[0], i.shape[1], i.shape[2] * i.shape[3]] } },
        form: `com.microsoft RotaryEmbedding(x[B,S,H·D], position_ids${p.positions ? '[B,S]' : '=[0]'}, cos/sin caches [${p.maxPos},${half}])`,
      };
    }
    case 'attention':
      return attentionGraph(p, dtype);
    case 'decode':
      return decodeGraph(p, dtype);
    case 'quantized_gemm':
      return nbitsGraph(p, dtype);
    case 'cross_entropy':
      return {
        graph: g(
          [{ op: 'SoftmaxCrossEntropyLoss', inputs: ['logits', 'labels'], outputs: ['loss'], attrs: { reduction: { s: 'mean' }, ignore_index: { i: -100 } } }],
          [vi('logits', ['r', p.vocab]), vi('labels', ['r'], ONNX_INT64)],
          [vi('loss', [])],
        ),
        outputs: { loss: 'loss' },
        feeds: (i) => ({ labels: { type: 'int64', dims: [...i.targets.shape], data: int64(i.targets) } }),
        shared: { logits: same('logits') },
        form: "SoftmaxCrossEntropyLoss(logits, int64 labels, reduction='mean')",
        // The WebGPU EP has no SoftmaxCrossEntropyLoss kernel (ORT would run it on the CPU):
        // the composite a user then writes, every node of which has a WebGPU kernel.
        fallback: {
          graph: g(
            [
              { op: 'ReduceLogSumExp', inputs: ['logits'], outputs: ['lse'], attrs: { axes: { ints: [1] }, keepdims: { i: 1 } } },
              { op: 'GatherElements', inputs: ['logits', 'labels'], outputs: ['picked'], attrs: { axis: { i: 1 } } },
              { op: 'Sub', inputs: ['lse', 'picked'], outputs: ['nll'] },
              { op: 'ReduceMean', inputs: ['nll'], outputs: ['loss'], attrs: { keepdims: { i: 0 } } },
            ],
            [vi('logits', ['r', p.vocab]), vi('labels', ['r', 1], ONNX_INT64)],
            [vi('loss', [])],
          ),
          outputs: { loss: 'loss' },
          feeds: (i) => ({ labels: { type: 'int64', dims: [i.targets.shape[0], 1], data: int64(i.targets) } }),
          shared: { logits: same('logits') },
          form: 'ReduceMean(ReduceLogSumExp(logits) − GatherElements(logits, labels[T,1])) (composite: SoftmaxCrossEntropyLoss, LogSoftmax and int64 Unsqueeze have no WebGPU kernel; no ignore_index)',
        },
      };
  }
}

function toHostFeed(ort: OrtModule, h: HostTensor, dims: number[], type?: OrtType): Ort.Tensor {
  // Packed 4-bit weights: pmetal's u32 words are MatMulNBits' bytes (nbits.ts).
  if (type === 'uint8') return new ort.Tensor('uint8', new Uint8Array(h.data.buffer, h.data.byteOffset, h.data.byteLength), dims);
  return h.dtype === 'f16' ? new ort.Tensor('float16', h.data as Uint16Array, dims) : new ort.Tensor('float32', h.data as Float32Array, dims);
}

/** The feeds of one run on host inputs (the check): the shared inputs as they are, then the graph's own. */
export function hostFeeds(ort: OrtModule, spec: GraphSpec, inputs: Record<string, HostTensor>): Record<string, Ort.Tensor> {
  const feeds: Record<string, Ort.Tensor> = {};
  for (const [name, s] of Object.entries(spec.shared)) feeds[name] = toHostFeed(ort, inputs[s.input], s.dims(inputs[s.input]), s.type);
  for (const [name, f] of Object.entries(spec.feeds(inputs))) feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
  return feeds;
}

export async function outputToF64(t: Ort.Tensor): Promise<Float64Array> {
  const d = await t.getData();
  return t.type === 'float16' ? toFloat64('f16', d as Uint16Array) : Float64Array.from(d as Float32Array);
}

/** onnxruntime-web's WebGPU execution provider on pmetal's own GPUDevice. */
export async function createOrtPeer(gpu: PeerGpu): Promise<Peer> {
  const t0 = performance.now();
  installPeerGlobals(gpu);
  const ort = (await import('onnxruntime-web/webgpu')) as unknown as OrtModule;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmBinary = wasmBinary();
  ort.env.logLevel = 'error';
  const sessionOptions = (): Ort.InferenceSession.SessionOptions =>
    ({
      executionProviders: [{ name: 'webgpu', device: gpu.device } as unknown as Ort.InferenceSession.ExecutionProviderConfig],
      preferredOutputLocation: 'gpu-buffer',
      graphOptimizationLevel: 'all',
      // A node the WebGPU EP lacks would silently run on the CPU: make that an error instead.
      extra: { session: { disable_cpu_ep_fallback: '1' } },
    }) as Ort.InferenceSession.SessionOptions;
  // The first session instantiates the wasm: count it as the runtime's one-time cost.
  const warm = await ort.InferenceSession.create(encodeModel({ name: 'init', nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], inputs: [{ name: 'x', elemType: ONNX_FLOAT, dims: [4] }], outputs: [{ name: 'y', elemType: ONNX_FLOAT, dims: [4] }] }), sessionOptions());
  await warm.release();
  const initMs = performance.now() - t0;

  return {
    name: 'onnxruntime-web',
    version: `onnxruntime-web ${ort.env.versions?.web ?? ORT_VERSION} (WebGPU EP)`,
    initMs,
    form: (c, dtype) => graphFor(c, dtype).form,
    async prepare(c, dtype): Promise<PreparedCase> {
      let spec = graphFor(c, dtype);
      if (spec.unsupported) throw new PeerUnsupported(spec.unsupported);
      const open = async (s: GraphSpec): Promise<Ort.InferenceSession> => {
        try {
          return await ort.InferenceSession.create(encodeModel(s.graph), sessionOptions());
        } catch (e) {
          const msg = (e as Error).message ?? String(e);
          // No WebGPU kernel for a node: the peer cannot run this form on the GPU.
          if (/fallback|not supported|NOT_IMPLEMENTED|Could not find an implementation|no kernel/i.test(msg)) throw new PeerUnsupported(`no WebGPU EP kernel for ${s.graph.nodes.map((n) => n.op).join('+')} (ORT would run it on the CPU)`);
          throw e;
        }
      };
      let session: Ort.InferenceSession;
      try {
        session = await open(spec);
      } catch (e) {
        if (!(e instanceof PeerUnsupported) || !spec.fallback) throw e;
        spec = spec.fallback;
        session = await open(spec);
      }
      const outNames = Object.entries(spec.outputs);
      const collect = async (out: Ort.InferenceSession.OnnxValueMapType): Promise<Record<string, Float64Array>> => {
        const res: Record<string, Float64Array> = {};
        for (const [mine, theirs] of outNames) res[mine] = await outputToF64(out[theirs] as Ort.Tensor);
        for (const v of Object.values(out)) (v as Ort.Tensor).dispose();
        return res;
      };
      return {
        form: spec.form,
        async check(inputs) {
          return collect(await session.run(hostFeeds(ort, spec, inputs)));
        },
        async bind(inputs: Record<string, GpuInput>): Promise<BoundCall> {
          const feeds: Record<string, Ort.Tensor> = {};
          const own: GPUBuffer[] = [];
          for (const [name, s] of Object.entries(spec.shared)) {
            const i = inputs[s.input];
            feeds[name] = ort.Tensor.fromGpuBuffer(i.buffer as unknown as Ort.Tensor.GpuBufferType, { dataType: s.type ?? ortType(i.host.dtype as FloatDType), dims: s.dims(i.host) }) as Ort.Tensor;
          }
          const hosts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.host]));
          for (const [name, f] of Object.entries(spec.feeds(hosts))) {
            if (f.cpu) {
              feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
              continue;
            }
            const buf = gpu.upload(f.data);
            own.push(buf);
            feeds[name] = ort.Tensor.fromGpuBuffer(buf as unknown as Ort.Tensor.GpuBufferType, { dataType: f.type, dims: f.dims }) as Ort.Tensor;
          }
          return {
            // ORT submits its own command buffers by the end of run(); outputs stay on the GPU.
            call: async () => {
              const out = await session.run(feeds);
              for (const v of Object.values(out)) (v as Ort.Tensor).dispose();
            },
            flush: () => {},
            dispose: () => {
              for (const b of own) gpu.release(b);
            },
          };
        },
        dispose: () => void session.release(),
      };
    },
    dispose() {},
  };
}
