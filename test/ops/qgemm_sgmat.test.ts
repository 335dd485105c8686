import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDevice, type OpenedDevice } from '../../src/backend/webgpu/device.js';
import { QGEMM_PARAMS, QGEMM_SGMAT_TILE, quantizedGemmLauncher } from '../../src/backend/webgpu/launchers/quantized_gemm.js';
import { quantDefines } from '../../src/backend/webgpu/launchers/quant.js';
import { dtCode, pipelineKey, shaderSource, type PipelineSpec } from '../../src/backend/webgpu/pipelines.js';
import { FORMATS, QUANT_FORMATS, type QuantDims } from '../../src/ops/quant/formats.js';

// quantized_gemm's subgroup-matrix prefill (wgsl/quant/qgemm_sgmat.wgsl) cannot run on
// lavapipe; here: where it is offered, that its Params are the launcher's, and that Dawn's
// null backend (which offers subgroup matrices) compiles every variant into a pipeline.
// Its numbers are checked on a GPU that has the feature (README: the H100 command).

const specs = (): PipelineSpec[] =>
  QUANT_FORMATS.flatMap((format) =>
    (FORMATS[format].kind === 'mlx' ? (['f32', 'f16', 'bf16'] as const) : [undefined]).flatMap((scaleDtype) =>
      (['f32', 'f16', 'bf16'] as const).flatMap((y) =>
        [false, true].map((wide) => ({
          shader: 'quant/qgemm_sgmat.wgsl',
          defines: { ...quantDefines({ format, info: FORMATS[format], scaleDtype } as QuantDims), X_DT: dtCode('f16'), Y_DT: dtCode(y), WIDE_SMEM: wide },
          overrides: { SG_SIZE: 32 },
        })),
      ),
    ),
  );

describe('quantized_gemm subgroup-matrix prefill', () => {
  it('is offered for f16 x where a 16×16×16 f16→f32 configuration exists, nowhere else', () => {
    const all = new Set(['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups']);
    const limits = { maxComputeInvocationsPerWorkgroup: 1024 } as GPUSupportedLimits;
    const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });
    const nvidia = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16)], subgroupMaxSize: 32, limits };
    const apple = { subgroupMatrixConfigs: [cfg('f32', 'f32', 8, 8, 8)], subgroupMaxSize: 32, limits };
    expect(quantizedGemmLauncher.tiers('f16', all, nvidia)).toEqual(['subgroup-matrix', 'subgroups', 'portable']);
    expect(quantizedGemmLauncher.tiers('f32', all, nvidia)).toEqual(['subgroups', 'portable']);
    expect(quantizedGemmLauncher.tiers('bf16', all, nvidia)).toEqual(['subgroups', 'portable']);
    // Apple's f32 8×8×8 has no kernel here (the f16 staging is written for 16×16×16).
    expect(quantizedGemmLauncher.tiers('f16', all, apple)).toEqual(['subgroups', 'portable']);
    expect(quantizedGemmLauncher.tiers('f16', new Set(['shader-f16', 'subgroups']))).toEqual(['subgroups', 'portable']);
    expect(quantizedGemmLauncher.tiers('f16', new Set(['shader-f16']))).toEqual(['portable']);
  });

  it('reads the launcher Params (wgsl_reflect cannot parse the extension)', () => {
    const code = shaderSource(specs()[0]).code;
    const body = /struct Params \{([^}]*)\}/.exec(code)![1];
    expect([...body.matchAll(/^\s*(\w+):\s*(\w+),/gm)].map((m) => [m[1], m[2]])).toEqual(QGEMM_PARAMS.map(([n, t]) => [n, t]));
  });

  describe("on Dawn's null backend", () => {
    let nul: OpenedDevice | undefined;
    beforeAll(async () => {
      nul = await openDevice({ dawnBackend: 'null', toggles: ['allow_unsafe_apis'] }).catch(() => undefined);
    });
    afterAll(() => nul?.device.destroy());

    it('every format × scales × output dtype × slice depth compiles to a pipeline (where its workgroup memory fits)', async (t) => {
      if (!nul?.features.has('chromium-experimental-subgroup-matrix') || !nul.features.has('shader-f16')) return t.skip();
      const dev = nul.device;
      const bad: string[] = [];
      let pipelines = 0;
      for (const s of specs()) {
        const fits = (s.defines.WIDE_SMEM ? QGEMM_SGMAT_TILE.BYTES_WIDE : QGEMM_SGMAT_TILE.BYTES_NARROW) <= dev.limits.maxComputeWorkgroupStorageSize;
        pipelines += fits ? 1 : 0;
        const src = shaderSource(s);
        dev.pushErrorScope('validation');
        const module = dev.createShaderModule({ code: src.code, label: pipelineKey(s) });
        const err = (await module.getCompilationInfo()).messages.find((m) => m.type === 'error');
        if (fits && !err) dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: s.overrides ?? {} } });
        const scope = await dev.popErrorScope();
        if (err || scope) bad.push(`${pipelineKey(s)}: ${err ? `${src.lineMap[err.lineNum - 1]?.file}:${src.lineMap[err.lineNum - 1]?.line} ${err.message}` : scope!.message}`);
      }
      expect(bad).toEqual([]);
      // The 16-deep variant fits WebGPU's minimum workgroup memory, so it is always built.
      expect(pipelines).toBeGreaterThanOrEqual(specs().length / 2);
    });
  });
});
