import { afterEach, describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { pipelineKey } from '../../src/backend/webgpu/pipelines.js';
import { GEMM_TUNE_DEFAULTS, LAUNCHER_VARIANTS, parseTuning, refreshTuning, tuning } from '../../src/backend/webgpu/tuning.js';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['PMETAL_VEC_PLAN', 'PMETAL_GEMM_TUNE', 'PMETAL_ROPE_VEC', 'PMETAL_GEMV_VARIANT', 'PMETAL_QGEMV_VARIANT', ...LAUNCHER_VARIANTS]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('tuning switches (src/backend/webgpu/tuning.ts)', () => {
  it('defaults when unset; a canonical key of what is set', () => {
    expect(parseTuning(undefined, undefined, undefined)).toEqual({ vecPlan: undefined, gemm: GEMM_TUNE_DEFAULTS, ropeVec: true, gemvVariant: 'rows128', qgemvVariant: 'auto', gemmBf16Variant: 'w512', mlpGemv: true, key: '' });
    expect(parseTuning(undefined, undefined, undefined, undefined, undefined, undefined, '0')).toMatchObject({ mlpGemv: false, key: 'mlpgemv:0' });
    expect(() => parseTuning(undefined, undefined, undefined, undefined, undefined, undefined, 'off')).toThrow(/PMETAL_MLP_GEMV: 'PMETAL_MLP_GEMV' expects 0 or 1, got 'off'/);
    const t = parseTuning('deep', ' wideN=0 , dbuf=1,gemv=1', '0');
    expect(t.gemm).toMatchObject({ wideN: false, dbuf: true, gemv: true });
    expect(t.key).toBe('vec:deep;gemm:dbuf=1,wideN=0;rope:vec=0');
  });

  it('an unknown key or value is an OptionsError listing the valid ones', () => {
    expect(() => parseTuning(undefined, 'widen=0', undefined)).toThrow(OptionsError);
    expect(() => parseTuning(undefined, 'widen=0', undefined)).toThrow(/PMETAL_GEMM_TUNE: unknown key 'widen' \(valid: gemv, sgmatVec, tiledVec, wideN, shallowK, dbuf, splitK/);
    expect(() => parseTuning(undefined, 'wideN=2', undefined)).toThrow(/'wideN' expects 0 or 1, got '2'/);
    expect(() => parseTuning(undefined, 'wideN', undefined)).toThrow(/'wideN' expects 0 or 1, got no value/);
    expect(() => parseTuning('widest', undefined, undefined)).toThrow(/PMETAL_VEC_PLAN: expected one of wide, mid, deep, got 'widest'/);
    expect(() => parseTuning(undefined, undefined, 'off')).toThrow(/PMETAL_ROPE_VEC/);
    expect(() => parseTuning(undefined, undefined, undefined, 'split')).toThrow(/PMETAL_GEMV_VARIANT: expected one of rows128, rows, teams2, teams4, column, got 'split'/);
    expect(() => parseTuning(undefined, undefined, undefined, undefined, 'rows128')).toThrow(/PMETAL_QGEMV_VARIANT: expected one of auto, sg, sg128, wide, wide2, wide128, rows, column, got 'rows128'/);
    expect(() => parseTuning(undefined, undefined, undefined, undefined, undefined, 'w64')).toThrow(/PMETAL_GEMM_BF16_VARIANT: expected one of w512, w256, simt, got 'w64'/);
  });

  it('switches launchers read themselves join the key when set (a launch tape of another variant is not replayed)', () => {
    for (const k of LAUNCHER_VARIANTS) delete process.env[k];
    refreshTuning();
    expect(tuning().key).toBe('');
    process.env.PMETAL_SAMPLE_VARIANT = 'plain';
    process.env.PMETAL_ROPE_QK_VARIANT = 'split';
    process.env.PMETAL_GEMV_VARIANT = 'column';
    refreshTuning();
    expect(tuning().key).toBe('gemv:column;PMETAL_ROPE_QK_VARIANT=split;PMETAL_SAMPLE_VARIANT=plain');
    delete process.env.PMETAL_SAMPLE_VARIANT;
    delete process.env.PMETAL_ROPE_QK_VARIANT;
    delete process.env.PMETAL_GEMV_VARIANT;
    refreshTuning();
    expect(tuning().key).toBe('');
  });

  it('the decode kernel variants: the default is unnamed, the others are in the key', () => {
    expect(parseTuning(undefined, undefined, undefined, 'rows128', 'auto').key).toBe('');
    expect(parseTuning(undefined, undefined, undefined, 'rows').key).toBe('gemv:rows');
    // Naming a kernel (auto picks among them by M and N) puts it in the key.
    expect(parseTuning(undefined, undefined, undefined, 'rows128', 'rows').key).toBe('qgemv:rows');
    expect(parseTuning(undefined, undefined, undefined, 'rows128', 'sg').key).toBe('qgemv:sg');
    const t = parseTuning(undefined, 'wideN=0', undefined, 'column', 'column');
    expect(t).toMatchObject({ gemvVariant: 'column', qgemvVariant: 'column' });
    expect(t.key).toBe('gemm:wideN=0;gemv:column;qgemv:column');
    expect(parseTuning(undefined, undefined, undefined, undefined, undefined, 'w256')).toMatchObject({ gemmBf16Variant: 'w256', key: 'gemmbf16:w256' });
  });

  it('are read from the environment at each submission and named in the pipeline key', () => {
    const spec = { shader: 'norm/rms_norm.wgsl', defines: { X_DT: 1 }, overrides: { WG: 256 } };
    delete process.env.PMETAL_VEC_PLAN;
    delete process.env.PMETAL_GEMM_TUNE;
    delete process.env.PMETAL_ROPE_VEC;
    refreshTuning();
    expect(pipelineKey(spec)).toBe('norm/rms_norm|X_DT=1|WG=256');
    process.env.PMETAL_VEC_PLAN = 'mid';
    expect(tuning().vecPlan).toBeUndefined(); // until the next submission
    refreshTuning();
    expect(tuning().vecPlan).toBe('mid');
    expect(pipelineKey(spec)).toBe('norm/rms_norm|X_DT=1|WG=256|vec:mid');
    process.env.PMETAL_GEMM_TUNE = 'bogus=1';
    refreshTuning();
    expect(() => pipelineKey(spec)).toThrow(/unknown key 'bogus'/);
    delete process.env.PMETAL_GEMM_TUNE;
    refreshTuning();
  });
});
