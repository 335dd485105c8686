import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PEER_DTYPES, QUICK_CASES } from '../../bench/peers/cases.js';
import type { PeersResult } from '../../bench/peers/index.js';

// The attention and 4-bit matmul peers at the quick shapes on lavapipe, through the built CLI
// (scripts/test.sh builds first): which form each peer runs, and that its output was checked.
const run = promisify(execFile);
const built = existsSync('dist/cli.js') && existsSync('dist/peers.js');
const OPS = ['flash_attention_forward', 'decode_attention', 'quantized_gemm'];

describe.skipIf(!built)('pmetal bench --peers --quick: attention, decode and quantized_gemm', () => {
  it('runs MultiHeadAttention / GroupQueryAttention / MatMulNBits and the tfjs composite, each checked or its absence explained', { timeout: 1_200_000 }, async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'pmetal-peers-llm-')), 'peers.json');
    const r = await run(process.execPath, ['dist/cli.js', 'bench', '--peers', '--quick', ...OPS.flatMap((o) => ['--op', o]), '--json', json], { maxBuffer: 64 << 20, timeout: 1_190_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const { stderr } = r as { stderr: string };
    expect((r as { code?: number }).code ?? 0, stderr.slice(-2000)).toBe(0);
    const res = JSON.parse(readFileSync(json, 'utf8')) as PeersResult;
    const cases = QUICK_CASES.filter((c) => OPS.includes(c.op));
    expect(res.rows.length).toBe(cases.length * PEER_DTYPES.length);
    const ortLoaded = !res.meta.peers.find((p) => p.name === 'onnxruntime-web')?.error;
    const tfLoaded = !res.meta.peers.find((p) => p.name === 'tfjs')?.error;

    for (const row of res.rows) {
      const what = `${row.op} ${row.dtype} ${row.shape}`;
      expect(row.pmetal.status, `${what}: ${row.pmetal.note}`).toBe('ok');
      expect(row.pmetal.checkPass, what).toBe(true);
      const ort = row.peers['onnxruntime-web'];
      const tf = row.peers.tfjs;
      // GroupQueryAttention takes several new tokens with a past only at batch 1: said, not failed.
      const multiToken = row.op === 'decode_attention' && !/^b=1,/.test(row.shape) && !/,t=1,/.test(row.shape);
      if (ortLoaded && multiToken) {
        expect(ort.status, what).toBe('n/a');
        expect(ort.note).toMatch(/batch_size must be 1/);
      } else if (ortLoaded) {
        // Every form has a WebGPU kernel: ORT runs and is checked at both dtypes.
        expect(ort.status, `${what}: ${ort.note}`).toBe('ok');
        expect(typeof ort.checkPass).toBe('boolean');
        expect(ort.ms).toBeGreaterThan(0);
        if (row.op === 'quantized_gemm') {
          expect(ort.form).toMatch(/^com\.microsoft MatMulNBits/);
          expect(ort.form!.includes('uint4 zero_points')).toBe(row.shape.includes('zero_points'));
          // The converted weights are pmetal's exactly, so ORT lands inside pmetal's own bound
          // (not merely the peers' allowance): any nibble, scale or zero point off would not.
          expect(ort.errRatio, what).toBeLessThanOrEqual(1);
        } else if (row.op === 'decode_attention') {
          expect(ort.form).toMatch(/^com\.microsoft GroupQueryAttention\(.*past_key\/value = pmetal's caches/);
          expect(ort.form!.includes('local_window_size')).toBe(row.shape.includes('window'));
          expect(ort.form!.includes('softcap')).toBe(row.shape.includes('softcap'));
        } else {
          const gqa = /Hkv=(\d+)/.exec(row.shape)![1] !== /Hq=(\d+)/.exec(row.shape)![1];
          const causal = row.shape.includes('causal');
          expect(ort.form).toMatch(gqa && causal ? /^com\.microsoft GroupQueryAttention/ : /^com\.microsoft MultiHeadAttention/);
          if (!gqa && causal) expect(ort.form).toContain('attention_bias');
          if (gqa && !causal) expect(ort.form).toContain('heads repeated');
        }
      }
      if (tfLoaded) {
        if (row.op === 'quantized_gemm') {
          expect(tf.status).toBe('n/a');
          expect(tf.note).toMatch(/no 4-bit/);
        } else if (row.dtype === 'f32') {
          // The composite computes what pmetal's reference does, in f32.
          expect(tf.status, `${what}: ${tf.note}`).toBe('ok');
          expect(tf.checkPass, what).toBe(true);
        } else expect(tf.status).toBe('n/a');
      }
    }
  });
});
