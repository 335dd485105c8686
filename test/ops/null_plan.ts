// Shared by the subgroup-matrix launch-plan tests (fused_norm_lora_sgmat, fused_lora_sgmat):
// Dawn's null backend compiles pipelines and validates bind groups but runs nothing, and its
// adapter has neither subgroup matrices nor more than 16 KiB of workgroup memory — so the plan
// an H100 would get is recorded through a context that claims an NVIDIA adapter and more
// workgroup memory, its dispatches captured instead of encoded.
import { expect } from 'vitest';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { AdapterTraits, LaunchContext } from '../../src/backend/webgpu/launch.js';
import { XWT_F16, gemmPipeline } from '../../src/backend/webgpu/launchers/gemm.js';
import { shaderSource, type PipelineSpec } from '../../src/backend/webgpu/pipelines.js';
import type { Dispatch } from '../../src/backend/webgpu/runtime.js';

const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });
/** An H100 as Dawn reports it: f16→f32 16×16×16 (and i8) matrices, subgroups of exactly 32. */
export const NVIDIA: AdapterTraits = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16), cfg('i8', 'i32', 16, 16, 32)], subgroupMinSize: 32, subgroupMaxSize: 32, limits: { maxComputeInvocationsPerWorkgroup: 1024 } as GPUSupportedLimits };

/** GPUSupportedLimits as a plain object (its fields are getters). */
export function limitsOf(be: WebGpuBackend): Record<string, number> {
  const l = be.rt.opened.limits as unknown as Record<string, number>;
  const out: Record<string, number> = {};
  for (const k in l) out[k] = l[k];
  return out;
}

/** Binding numbers a shader declares. */
export const declared = (spec: PipelineSpec) => [...shaderSource(spec).code.matchAll(/@binding\((\d+)\)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);

/**
 * Runs `launch` with a context on the null backend's buffers that claims the NVIDIA adapter
 * and `storage` bytes of workgroup memory, recording the dispatches instead of encoding them
 * (a pipeline over the device's own limit cannot be built there); each is checked to bind
 * exactly what its shader declares (its Params at its own binding).
 */
export function recordPlan(be: WebGpuBackend, storage: number, launch: (ctx: LaunchContext) => void): Dispatch[] {
  const recorded: Dispatch[] = [];
  const rt = new Proxy(be.rt, {
    get(target, prop) {
      if (prop === 'dispatch') return (d: Dispatch) => recorded.push(d);
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const limits = { ...limitsOf(be), maxComputeWorkgroupStorageSize: storage } as GPUSupportedLimits;
  launch({ rt, features: be.rt.opened.features, limits, adapter: { ...NVIDIA, limits }, buffer: (x) => x.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) });
  for (const d of recorded) expect({ s: d.pipeline.shader, b: [...d.bindings.map((b) => b.binding), ...(d.params ? [d.params.binding] : [])].sort((a, b) => a - b) }).toEqual({ s: d.pipeline.shader, b: declared(d.pipeline) });
  return recorded;
}

/**
 * Compiles every spec on the null backend (a pipeline too where `fits` says its workgroup
 * memory is within the device's limit); returns the errors, one line a failing spec.
 */
export async function compileErrors(be: WebGpuBackend, specs: PipelineSpec[], fits: (s: PipelineSpec, storage: number) => boolean): Promise<string[]> {
  const dev = be.rt.device;
  const storage = be.rt.opened.limits.maxComputeWorkgroupStorageSize;
  const bad: string[] = [];
  for (const s of specs) {
    const src = shaderSource(s);
    dev.pushErrorScope('validation');
    const mod = dev.createShaderModule({ code: src.code });
    const info = await mod.getCompilationInfo();
    if (fits(s, storage)) dev.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: 'main' } });
    const err = await dev.popErrorScope();
    const msgs = info.messages.filter((m) => m.type === 'error').map((m) => `${src.lineMap[m.lineNum - 1]?.file}:${src.lineMap[m.lineNum - 1]?.line}: ${m.message}`);
    if (msgs.length || err) bad.push(`${JSON.stringify(s.defines)}: ${msgs[0] ?? err?.message}`);
  }
  return bad;
}

/** gemm_sgmat_vec's x·Wᵀ f16 pipeline in every tile variant (128×128 / 128×256; one buffer or two; 32- or 16-deep slices) with `defines` added: a fused mode's compile set. */
export function sgmatVecXwtSpecs(defines: Record<string, boolean>): PipelineSpec[] {
  const out: PipelineSpec[] = [];
  for (const wideN of [false, true])
    for (const mode of [{}, { dbuf: true, shallowK: true }, { shallowK: true }, { dbuf: true }]) {
      const p = gemmPipeline('subgroup-matrix', 'f16', XWT_F16, { kernel: 'sgmat_vec', wideN, ...mode });
      out.push({ ...p, defines: { ...p.defines, ...defines } });
    }
  return out;
}
