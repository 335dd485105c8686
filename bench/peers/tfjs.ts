import type * as Tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { FloatDType } from '../../src/dtype.js';
import type { HostTensor } from '../../src/ops/types.js';
import type { PeerCase } from './cases.js';
import { installPeerGlobals, type PeerGpu } from './gpu.js';
import { PeerUnsupported, causalMask, ropeTables, type BoundCall, type GpuInput, type Peer, type PreparedCase } from './peer.js';

export const TFJS_VERSION = '4.22.0';

type TfModule = typeof Tf;
type Inputs = Record<string, Tf.Tensor>;

interface TfForm {
  form: string;
  /** Why tfjs cannot express the op at all (shown as n/a). */
  unsupported?: string;
  /** Why the full shape cannot run although the check shape can (an error at the full shape). */
  tooBig?(limits: GPUSupportedLimits): string | undefined;
  /** Tensors made once per bind (caches, masks): the user's one-time setup. */
  setup(tf: TfModule, inputs: Record<string, HostTensor>): Inputs;
  /** The op as a tfjs user writes it; outputs keyed by pmetal's names. */
  run(tf: TfModule, x: Inputs): Record<string, Tf.Tensor>;
}

/** The tfjs form of each op (float32 only: tfjs has no float16 dtype). */
function formFor(c: PeerCase): TfForm {
  const p = c.params;
  const none = () => ({});
  switch (p.kind) {
    case 'gemm':
      return { form: `tf.matMul(a, b, false, ${p.transB})`, setup: none, run: (tf, x) => ({ y: tf.matMul(x.a as Tf.Tensor2D, x.b as Tf.Tensor2D, false, p.transB) }) };
    case 'softmax': {
      const [, sq, sk] = p.shape;
      return {
        form: p.causal ? 'tf.softmax(tf.add(tf.mul(x, scale), mask))' : 'tf.softmax(tf.mul(x, scale))',
        setup: (tf) => ({ scale: tf.scalar(p.scale), ...(p.causal ? { mask: tf.tensor2d(Float32Array.from(causalMask(sq, sk)), [sq, sk]) } : {}) }),
        run: (tf, x) => {
          const z = tf.mul(x.x, x.scale);
          return { y: tf.softmax(p.causal ? tf.add(z, x.mask) : z) };
        },
      };
    }
    case 'rms_norm':
      return {
        form: `h${p.residual ? ' = x + residual' : ' = x'}; h · rsqrt(mean(h², −1) + eps) · weight (composite)`,
        setup: (tf) => ({ eps: tf.scalar(p.eps) }),
        run: (tf, x) => {
          const h = p.residual ? tf.add(x.x, x.residual) : x.x;
          const y = tf.mul(tf.mul(h, tf.rsqrt(tf.add(tf.mean(tf.square(h), -1, true), x.eps))), x.weight);
          const out: Record<string, Tf.Tensor> = { y };
          if (p.residual) out.residual = h;
          return out;
        },
      };
    case 'swiglu':
      return { form: 'tf.mul(tf.mul(gate, tf.sigmoid(gate)), up)', setup: none, run: (tf, x) => ({ y: tf.mul(tf.mul(x.gate, tf.sigmoid(x.gate)), x.up) }) };
    case 'rope': {
      const half = p.d / 2;
      return {
        form: 'cos/sin = gather(caches, positions); concat(x1·cos − x2·sin, x2·cos + x1·sin) (composite, NeoX halves)',
        setup: (tf, i) => {
          const t = ropeTables(p.maxPos, p.d, p.base);
          const s = i.x.shape[1];
          return {
            cos: tf.tensor2d(Float32Array.from(t.cos), [p.maxPos, half]),
            sin: tf.tensor2d(Float32Array.from(t.sin), [p.maxPos, half]),
            ...(i.positions ? {} : { positions: tf.range(0, s, 1, 'int32') }),
          };
        },
        run: (tf, x) => {
          const [b, s, h, d] = x.x.shape;
          const rows = x.positions.shape.length === 2 ? b : 1;
          const cos = tf.reshape(tf.gather(x.cos, x.positions), [rows, s, 1, half]);
          const sin = tf.reshape(tf.gather(x.sin, x.positions), [rows, s, 1, half]);
          const x1 = tf.slice(x.x, [0, 0, 0, 0], [b, s, h, half]);
          const x2 = tf.slice(x.x, [0, 0, 0, half], [b, s, h, d - half]);
          return { y: tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], 3) };
        },
      };
    }
    case 'attention': {
      const r = p.hq / p.hkv;
      // The composite materialises the [B·Hq, S, S] f32 scores (and the softmax of them).
      const scoreBytes = p.b * p.hq * p.s * p.s * 4;
      return {
        form: `softmax(matMul(q, k, false, true)·scale${p.causal ? ' + mask' : ''}) · v over [B·Hq, S, D] (composite: transposes to heads-major${r > 1 ? `, K/V heads gathered ${r}×` : ''}; [S,S] scores materialised)`,
        tooBig: (l) => {
          const max = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
          return scoreBytes > max ? `the [B·Hq,S,S] f32 scores are ${(scoreBytes / 2 ** 30).toFixed(1)} GiB, over the device's ${(max / 2 ** 30).toFixed(1)} GiB buffer binding limit` : undefined;
        },
        setup: (tf, i) => {
          const s = i.q.shape[1];
          const hq = i.q.shape[2];
          return {
            scale: tf.scalar(p.scale),
            kvHead: tf.tensor1d(Int32Array.from({ length: hq }, (_, h) => Math.floor(h / r)), 'int32'),
            ...(p.causal ? { mask: tf.tensor2d(Float32Array.from(causalMask(s, s)), [s, s]) } : {}),
          };
        },
        run: (tf, x) => {
          const [b, s, hq, d] = x.q.shape;
          const dv = x.v.shape[3]!;
          // [B, S, H, D] → [B·Hq, S, D], K and V heads gathered to the query heads.
          const heads = (t: Tf.Tensor, dd: number, gather: boolean) => {
            const u = tf.transpose(t, [0, 2, 1, 3]);
            return tf.reshape(gather ? tf.gather(u, x.kvHead, 1) : u, [b * hq, s, dd]);
          };
          let z = tf.mul(tf.matMul(heads(x.q, d, false) as Tf.Tensor3D, heads(x.k, d, r > 1) as Tf.Tensor3D, false, true), x.scale);
          if (p.causal) z = tf.add(z, x.mask);
          const o = tf.matMul(tf.softmax(z) as Tf.Tensor3D, heads(x.v, dv, r > 1) as Tf.Tensor3D);
          return { o: tf.transpose(tf.reshape(o, [b, hq, s, dv]), [0, 2, 1, 3]) };
        },
      };
    }
    case 'decode': {
      const r = p.hq / p.hkv;
      // K and V gathered to the query heads: [B, Hq, Smax, D] f32 each.
      const gathered = p.b * p.hq * p.ctx * p.d * 4;
      return {
        form: `softmax(matMul(q, kCache, false, true)·scale${p.softcap !== undefined ? ' → cap·tanh(·/cap)' : ''} + mask) · vCache over [B·Hq, T, Smax] (composite: cache heads gathered ${r}×; mask of each query's visible keys from the lengths${p.window !== undefined ? ' and the window' : ''})`,
        tooBig: (l) => {
          const max = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
          return gathered > max ? `the K/V caches gathered to the ${p.hq} query heads are ${(gathered / 2 ** 30).toFixed(1)} GiB each, over the device's ${(max / 2 ** 30).toFixed(1)} GiB buffer binding limit` : undefined;
        },
        setup: (tf, i) => {
          const [b, t, hq] = i.q.shape;
          const smax = i.kCache.shape[2];
          const lengths = i.lengths.data as Int32Array;
          // Query j of sequence s sits at position length − T + j and sees keys [pos − left, pos].
          const mask = new Float32Array(b * t * smax).fill(-Infinity);
          for (let s = 0; s < b; s++)
            for (let j = 0; j < t; j++) {
              const pos = lengths[s] - t + j;
              const lo = p.window !== undefined ? Math.max(0, pos - p.window) : 0;
              for (let k = lo; k <= Math.min(pos, smax - 1); k++) mask[(s * t + j) * smax + k] = 0;
            }
          return {
            scale: tf.scalar(p.scale),
            ...(p.softcap !== undefined ? { cap: tf.scalar(p.softcap) } : {}),
            kvHead: tf.tensor1d(Int32Array.from({ length: hq }, (_, h) => Math.floor(h / r)), 'int32'),
            mask: tf.tensor4d(mask, [b, 1, t, smax]),
          };
        },
        run: (tf, x) => {
          const [b, t, hq, d] = x.q.shape;
          const smax = x.kCache.shape[2]!;
          const dv = x.vCache.shape[3]!;
          const q = tf.reshape(tf.transpose(x.q, [0, 2, 1, 3]), [b * hq, t, d]) as Tf.Tensor3D;
          const k = tf.reshape(tf.gather(x.kCache, x.kvHead, 1), [b * hq, smax, d]) as Tf.Tensor3D;
          const v = tf.reshape(tf.gather(x.vCache, x.kvHead, 1), [b * hq, smax, dv]) as Tf.Tensor3D;
          let z = tf.mul(tf.matMul(q, k, false, true), x.scale);
          if (x.cap) z = tf.mul(tf.tanh(tf.div(z, x.cap)), x.cap);
          z = tf.add(tf.reshape(z, [b, hq, t, smax]), x.mask);
          const o = tf.matMul(tf.reshape(tf.softmax(z), [b * hq, t, smax]) as Tf.Tensor3D, v);
          return { o: tf.transpose(tf.reshape(o, [b, hq, t, dv]), [0, 2, 1, 3]) };
        },
      };
    }
    case 'quantized_gemm':
      return {
        form: '-',
        unsupported: 'tfjs has no 4-bit or block-quantized weights (no int4 dtype, no quantized matMul)',
        setup: none,
        run: () => ({}),
      };
    case 'cross_entropy':
      return {
        form: 'tf.losses.softmaxCrossEntropy(tf.oneHot(targets, V), logits) (mean over rows)',
        setup: none,
        run: (tf, x) => ({ loss: tf.losses.softmaxCrossEntropy(tf.oneHot(x.targets as Tf.Tensor1D, p.vocab), x.logits) }),
      };
  }
}

const tfDtype = (h: HostTensor): 'float32' | 'int32' => (h.dtype === 'i32' ? 'int32' : 'float32');

/** tfjs with @tensorflow/tfjs-backend-webgpu on pmetal's own GPUDevice. */
export async function createTfjsPeer(gpu: PeerGpu): Promise<Peer> {
  const t0 = performance.now();
  // tfjs-backend-webgpu registers itself at import when navigator.gpu exists, with its own
  // device: replace that registration with one on pmetal's device.
  installPeerGlobals(gpu);
  const tf = (await import('@tensorflow/tfjs-core')) as unknown as TfModule;
  const { WebGPUBackend: Backend } = await import('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new Backend(gpu.device as never, gpu.adapter.info as never), 100);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: setBackend(webgpu) failed');
  await tf.ready();
  const backend = tf.backend() as unknown as WebGPUBackend;
  // tfjs keeps one compute pass open across ops and submits every 15 dispatches or on a read:
  // end the pass and submit what is recorded (its own getBufferData does the same).
  const b = backend as unknown as { commandEncoder: GPUCommandEncoder | null; endComputePassEncoder(): void };
  const submit = () => {
    if (!b.commandEncoder) return;
    b.endComputePassEncoder();
    backend.submitQueue();
  };
  const initMs = performance.now() - t0;
  const version = `@tensorflow/tfjs-core ${tf.version_core ?? TFJS_VERSION} + tfjs-backend-webgpu`;

  const unsupported = (dtype: FloatDType) => {
    if (dtype !== 'f32') throw new PeerUnsupported('tfjs has no float16 dtype (float32, int32, bool, complex64 and string only)');
  };

  return {
    name: 'tfjs',
    version,
    initMs,
    form: (c) => formFor(c).form,
    async prepare(c, dtype): Promise<PreparedCase> {
      const f = formFor(c);
      if (f.unsupported) throw new PeerUnsupported(f.unsupported);
      unsupported(dtype);
      const readAll = async (out: Record<string, Tf.Tensor>): Promise<Record<string, Float64Array>> => {
        const res: Record<string, Float64Array> = {};
        for (const [k, t] of Object.entries(out)) res[k] = Float64Array.from((await t.data()) as Float32Array);
        return res;
      };
      return {
        async check(inputs) {
          const x: Inputs = {};
          for (const [k, h] of Object.entries(inputs)) x[k] = tf.tensor(h.data as Float32Array | Int32Array, [...h.shape], tfDtype(h));
          const extra = f.setup(tf, inputs);
          const out = tf.tidy(() => f.run(tf, { ...x, ...extra }));
          try {
            return await readAll(out);
          } finally {
            tf.dispose([...Object.values(out), ...Object.values(x), ...Object.values(extra)]);
          }
        },
        async bind(inputs: Record<string, GpuInput>): Promise<BoundCall> {
          const big = f.tooBig?.(gpu.device.limits);
          if (big) throw new Error(big);
          const x: Inputs = {};
          // zeroCopy: the tensors are pmetal's buffers themselves, nothing is copied.
          for (const [k, i] of Object.entries(inputs)) x[k] = tf.tensor({ buffer: i.buffer, zeroCopy: true }, [...i.host.shape], tfDtype(i.host));
          const hosts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.host]));
          const extra = f.setup(tf, hosts);
          const all = { ...x, ...extra };
          return {
            call: () => {
              const out = tf.tidy(() => f.run(tf, all));
              tf.dispose(Object.values(out));
            },
            flush: () => submit(),
            dispose: () => tf.dispose([...Object.values(x), ...Object.values(extra)]),
          };
        },
        dispose() {},
      };
    },
    dispose() {
      tf.removeBackend('webgpu');
    },
  };
}
