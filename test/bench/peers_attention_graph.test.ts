import * as ort from 'onnxruntime-web/wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { FULL_CASES, QUICK_CASES, type PeerCase } from '../../bench/peers/cases.js';
import { PEER_TOLERANCE, errRatio } from '../../bench/peers/index.js';
import { encodeModel } from '../../bench/peers/onnx.js';
import { graphFor, hostFeeds, outputToF64 } from '../../bench/peers/ort.js';
import { toFloat64 } from '../../src/dtype.js';
import { getSpec } from '../../src/ops/registry.js';
import type { HostTensor, RefTensor } from '../../src/ops/types.js';

// The ONNX graphs of the attention peers (MultiHeadAttention, GroupQueryAttention for prefill
// and decode) proved on onnxruntime-web's wasm (CPU) EP, which runs here, before any H100 run:
// the same graph bytes the WebGPU EP gets, fed the check shape's inputs, against pmetal's float64
// reference within the op's derived bound × the peers' allowance (bench/peers/index.ts).
const ATTENTION = (c: PeerCase) => c.op === 'flash_attention_forward' || c.op === 'decode_attention';
const label = (c: PeerCase) => `${c.op} ${c.label}`;

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
});

/** Binds each graph input's symbolic dims to the fed dims; returns the first mismatch, in ORT's words. */
function dimMismatch(c: PeerCase): string | undefined {
  const spec = graphFor(c, 'f32');
  const feeds = hostFeeds(ort as never, spec, c.make('f32', true));
  const bound = new Map<string, number>();
  for (const v of spec.graph.inputs) {
    const got = feeds[v.name]?.dims;
    if (!got) return `${v.name}: not fed`;
    if (got.length !== v.dims.length) return `${v.name}: rank ${got.length}, the graph's ${v.dims.length}`;
    for (const [a, want] of v.dims.entries()) {
      if (typeof want === 'number' ? got[a] !== want : (bound.get(want) ?? got[a]) !== got[a]) return `${v.name} index ${a}: got ${got[a]}, expected ${typeof want === 'number' ? want : `${want} = ${bound.get(want)}`}`;
      if (typeof want === 'string') bound.set(want, got[a]);
    }
  }
  return undefined;
}

async function runOnWasm(c: PeerCase): Promise<{ ratio: number; tol: number }> {
  const spec = graphFor(c, 'f32');
  const inputs = c.make('f32', true);
  const session = await ort.InferenceSession.create(encodeModel(spec.graph), { executionProviders: ['wasm'] });
  try {
    const out = await session.run(hostFeeds(ort as never, spec, inputs));
    const op = getSpec(c.op);
    const opts = op.options.parse(c.options);
    const refIn = Object.fromEntries(Object.entries(inputs).map(([k, h]: [string, HostTensor]) => [k, { dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) } as RefTensor]));
    const ref = op.reference(refIn, opts) as Record<string, RefTensor>;
    const bounds = op.bounds(refIn, opts, ref) as Record<string, Float64Array>;
    let ratio = 0;
    for (const [mine, theirs] of Object.entries(spec.outputs)) ratio = Math.max(ratio, errRatio(await outputToF64(out[theirs] as ort.Tensor), ref[mine].data, bounds[mine]));
    return { ratio, tol: PEER_TOLERANCE.f32 };
  } finally {
    await session.release();
  }
}

describe('attention peer graphs', () => {
  it('take the check shape of every full and quick case: heads, head dim and hidden size as the graph fixes them', () => {
    // Before the check kept the heads, every full-shape case failed here (and on the H100:
    // "Got invalid dimensions for input: query … index: 2 Got: 1024 Expected: 4096").
    const cases = [...FULL_CASES, ...QUICK_CASES].filter(ATTENTION);
    expect(cases.filter((c) => c.op === 'decode_attention').length).toBeGreaterThan(0);
    for (const c of cases) expect(dimMismatch(c), label(c)).toBeUndefined();
  }, 120_000);

  // Every quick form, and the full cases' check shapes (32 heads, D = 128, the decode contexts),
  // each once: cases that differ only in B have the same check shape (B = 1).
  const seen = new Set<string>();
  const run = [...QUICK_CASES, ...FULL_CASES].filter((c) => {
    const key = `${c.op} ${JSON.stringify({ ...c.params, b: 0 })}`;
    return ATTENTION(c) && !seen.has(key) && !!seen.add(key);
  });
  for (const c of run)
    it(`${label(c)}: the wasm EP's output is within the bound`, async () => {
      const { ratio, tol } = await runOnWasm(c);
      expect(ratio, label(c)).toBeLessThanOrEqual(tol);
    }, 120_000);
});
