import { describe, expect, it } from 'vitest';
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import { pipelineKey, shaderSource, type PipelineSpec } from '../../src/backend/webgpu/pipelines.js';
import { layoutOf } from '../../src/backend/params.js';
import { WGSL } from '../../src/generated/kernels.js';
import { runConformance } from '../../conformance/runner.js';
import { useWebGpu, useDawnNull } from '../webgpu_backends.js';

const gpu = useWebGpu();
// Dawn's null backend offers every feature (with allow_unsafe_apis), so the subgroup-matrix
// kernels, which lavapipe cannot run, are still parsed and validated by Tint here.
const nullGpu = useDawnNull();

/** Every #if/#ifdef switch a kernel (and its includes) reads, with the values it can take. */
function switches(file: string, seen = new Set<string>()): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (seen.has(file)) return out;
  seen.add(file);
  const src = WGSL[file];
  const includeArgs = new Set<string>();
  for (const m of src.matchAll(/#include "([^"]+)"\s*(?:\((.*)\))?/g)) {
    for (const a of (m[2] ?? '').split(',')) {
      const v = a.split('=')[1]?.trim();
      if (v && /^[A-Z_][A-Z0-9_]*$/.test(v)) includeArgs.add(v);
      // A file passed as an argument (common/slots.wgsl's SLOT) is included too.
      if (v && WGSL[v] !== undefined) for (const [k, vals] of switches(v, seen)) out.set(k, vals);
    }
    // Paths that are themselves arguments (SLOT) resolve at the include site above.
    if (WGSL[m[1]] !== undefined) for (const [k, v] of switches(m[1], seen)) out.set(k, v);
  }
  for (const m of src.matchAll(/^\s*#(?:if|elif|ifdef|ifndef)\s+(.*)$/gm)) {
    for (const id of m[1].match(/[A-Za-z_]\w*/g) ?? []) out.set(id, id.endsWith('_DT') ? [0, 1, 2] : [0, 1]);
  }
  for (const id of includeArgs) if (id.endsWith('_DT')) out.set(id, [0, 1, 2]);
  // Value defines with a default (`#ifndef VPT` / `#define VPT 4`) are not switches.
  for (const m of src.matchAll(/^\s*#define\s+(\w+)/gm)) out.delete(m[1]);
  // Include parameters and the dtype codes are bound by the #include lines, not by launchers.
  for (const k of ['DT', 'WRITE', 'NAME', 'BINDING', 'DT_F32', 'DT_F16', 'DT_BF16']) out.delete(k);
  return out;
}

/**
 * Switch combinations to compile: all of them when there are at most `limit`; otherwise the
 * first `limit` in order plus, for every switch and every value it takes, one combination
 * with that value and the other switches varied deterministically — so each value of each
 * switch is compiled at least once (a large kernel has thousands of combinations).
 */
function* combos(sw: Map<string, number[]>, limit = 48): Generator<Record<string, number>> {
  const keys = [...sw.keys()].sort();
  const total = keys.reduce((n, k) => n * sw.get(k)!.length, 1);
  const nth = (i: number): Record<string, number> => {
    const out: Record<string, number> = {};
    for (let j = keys.length - 1; j >= 0; j--) {
      const vals = sw.get(keys[j])!;
      out[keys[j]] = vals[i % vals.length];
      i = Math.floor(i / vals.length);
    }
    return out;
  };
  for (let i = 0; i < Math.min(total, limit); i++) yield nth(i);
  if (total <= limit) return;
  let salt = 0;
  for (const k of keys)
    for (const v of sw.get(k)!) {
      const c: Record<string, number> = {};
      for (const [j, other] of keys.entries()) {
        const vals = sw.get(other)!;
        c[other] = vals[(j * 7 + ++salt) % vals.length];
      }
      c[k] = v;
      yield c;
    }
}

/** Switches a kernel only ever gets one value of (its launcher's contract). */
const PINNED: Record<string, Record<string, number>> = {
  // The subgroup-matrix tier takes f16 operands only (gemmLauncher.tiers); gemm_sgmat reads
  // element pairs (VEC is gemm_tiled's switch, which it shares includes with).
  'gemm/gemm_sgmat.wgsl': { A_DT: 1, VEC: 0 },
  'gemm/gemm_sgmat_vec.wgsl': { A_DT: 1 },
  'gemm/gemm_sgmat8.wgsl': { A_DT: 1, VEC: 0 },
  // bf16 operands only (gemm_bf16.ts), read as 16-byte words by the kernel itself.
  'gemm/gemm_sgmat_bf16.wgsl': { A_DT: 2, NORM_A: 0, NORM_B: 0 },
  // The ceiling probe stages gemm_sgmat_vec's fetch/stash pieces without their norm switches
  // (fused_norm_lora's, whose bindings and registers only gemm_sgmat_vec.wgsl declares).
  'bench/sgmat_ceiling.wgsl': { NORM_A: 0, NORM_B: 0 },
  // decode.wgsl's WVEC (16-byte MLX words, no decode8) is qgemv_rows.wgsl's alone; qunit.wgsl's
  // GS (the MLX group size as a constant) and KSEL are qgemv_wide.wgsl's alone.
  'quant/qgemv.wgsl': { WVEC: 0 },
  'quant/qgemv_sg.wgsl': { GS: 0, KSEL: 0 },
  'quant/qgemv_rows.wgsl': { GS: 0, KSEL: 0 },
  // quantized_gemm's subgroup-matrix tier takes f16 x only (qgemmTiers) and stages its raw words.
  'quant/qgemm_sgmat.wgsl': { X_DT: 1, WVEC: 0, GS: 0, KSEL: 0 },
  'quant/qgemm_tiled.wgsl': { WVEC: 0, GS: 0, KSEL: 0 },
  'quant/dequantize.wgsl': { WVEC: 0, GS: 0, KSEL: 0 },
  // The dq kernel shares its head with the dk/dv one; DV_PASS is that one's switch.
  'attention/fa_bwd_dq_sgmat.wgsl': { DV_PASS: 0 },
};

/**
 * The launchers' contract between switches: [a, b, v] — where a is set, b is v — so a sampled
 * combination is one a launcher can ask for (LORA_EPI and LORA_FIRST are modes of LORA_K's
 * term and read its Params fields; GU and QKV are two uses of the same extra bindings).
 */
const IMPLIES: Record<string, [string, string, number][]> = {
  'gemm/gemm_sgmat_vec.wgsl': [
    ['LORA_EPI', 'LORA_K', 1],
    ['LORA_FIRST', 'LORA_K', 1],
    ['GU', 'QKV', 0],
  ],
};

/** Switches that take more than two values (the rest are 0/1 or dtype codes). */
const VALUES: Record<string, Record<string, number[]>> = {
  'bench/sgmat_ceiling.wgsl': { STAGE: [0, 1, 2, 3] },
  'attention/fa_forward_sgmat.wgsl': { STAGE: [0, 1, 2, 3] },
  'attention/decode_stream.wgsl': { STAGE: [0, 1, 2, 4] },
  // The decode kernels are specialised on M: one, two and four rounds of their reduction.
  'gemm/gemm_gemv_rows.wgsl': { MT: [1, 6, 16], STAGE: [0, 1, 2] },
  'gemm/gemv_norm_qkv.wgsl': { MT: [1, 6, 16] },
  'quant/qgemv_rows.wgsl': { MT: [1, 6, 16], WVEC: [0, 1] },
  'quant/qgemv_sg.wgsl': { MT: [1, 6, 16] },
  // qgemv_wide (launchers/quantized_gemm.ts QGEMV_WIDE): M ≤ 8, 64 or 128 invocations, 1 or 2
  // units in flight, MLX's group size as a constant (0: GGUF).
  'quant/qgemv_wide.wgsl': { MT: [1, 4, 8], WG: [64, 128], UF: [1, 2], GS: [0, 32, 64, 128] },
  // kl, reverse_kl, js (two passes, loss/distill_js_row.wgsl; PERSIST is its switch), soft_ce.
  'loss/distill.wgsl': { LOSS: [0, 1, 2, 3] },
};

// Kernels are the files no other file includes whose source (includes pasted) has an entry
// point; the rest are building blocks (common/row_entry.wgsl holds an entry point's head).
const includedFiles = new Set([...Object.values(WGSL).join('\n').matchAll(/#include "([^"]+)"/g)].map((m) => m[1]));
const kernels = Object.keys(WGSL).filter((f) => !includedFiles.has(f) && /@compute/.test(shaderSource({ shader: f, defines: {} }).code));

describe('every WGSL kernel compiles with Dawn in every switch combination', () => {
  it.each(kernels)('%s', async (file) => {
    let compiled = 0;
    const sw = switches(file);
    for (const [k, v] of Object.entries(PINNED[file] ?? {})) sw.set(k, [v]);
    // gemm_sgmat_vec's own modes, seen through gemm_common.wgsl's Params by every gemm kernel.
    if (file !== 'gemm/gemm_sgmat_vec.wgsl') for (const k of ['GU', 'QKV']) if (sw.has(k)) sw.set(k, [0]);
    for (const [k, v] of Object.entries(VALUES[file] ?? {})) sw.set(k, v);
    for (const defines of combos(sw)) {
      for (const [a, b, v] of IMPLIES[file] ?? []) if (defines[a]) defines[b] = v;
      const src = shaderSource({ shader: file, defines });
      const needsMatrix = /enable\s+chromium_experimental_subgroup_matrix/.test(src.code);
      const on = needsMatrix && !gpu().rt.opened.features.has('chromium-experimental-subgroup-matrix') && nullGpu() ? nullGpu()! : gpu();
      const dev = on.rt.device;
      const features = on.rt.opened.features;
      if (/enable\s+subgroups/.test(src.code) && !features.has('subgroups')) continue;
      if (/enable\s+chromium_experimental_subgroup_matrix/.test(src.code) && !features.has('chromium-experimental-subgroup-matrix')) continue;
      if (/enable\s+f16/.test(src.code) && !features.has('shader-f16')) continue;
      dev.pushErrorScope('validation');
      const mod = dev.createShaderModule({ code: src.code });
      const info = await mod.getCompilationInfo();
      const err = await dev.popErrorScope();
      const msgs = info.messages.filter((m) => m.type === 'error').map((m) => `${JSON.stringify(defines)} ${src.lineMap[m.lineNum - 1]?.file}:${src.lineMap[m.lineNum - 1]?.line}: ${m.message}`);
      expect(msgs).toEqual([]);
      expect(err).toBeNull();
      compiled++;
    }
    // Every kernel compiles somewhere here (the null backend has every feature).
    expect(compiled).toBeGreaterThan(0);
  });
});

describe('launchers bind exactly what each shader uses (wgsl_reflect)', () => {
  it('every dispatch of a quick conformance run matches its shader', { timeout: 600_000 }, async () => {
    gpu().rt.trace = [];
    const res = await runConformance({ backends: [new CpuBackend(), gpu()], quick: true, dtypes: ['f16'] });
    expect(res.failed).toBe(0);
    const seen = new Map<string, { pipeline: PipelineSpec; bindings: number[]; layout?: readonly (readonly [string, string])[]; paramsBinding?: number }>();
    for (const d of gpu().rt.trace!) {
      // wgsl_reflect does not parse the subgroup-matrix extension; Dawn checks those shaders.
      if (d.pipeline.shader.includes('sgmat')) continue;
      seen.set(pipelineKey(d.pipeline), { pipeline: d.pipeline, bindings: d.bindings.map((b) => b.binding).sort(), layout: d.params ? layoutOf.get(d.params.data) : undefined, paramsBinding: d.params?.binding });
    }
    gpu().rt.trace = undefined;
    expect(seen.size).toBeGreaterThan(3);
    for (const [key, s] of seen) {
      const reflect = new WgslReflect(shaderSource(s.pipeline).code);
      const used = reflect.entry.compute[0].resources;
      const storage = used.filter((r) => r.resourceType !== undefined && r.group === 0 && r.binding !== s.paramsBinding).map((r) => r.binding).sort();
      expect({ key, bindings: s.bindings }).toEqual({ key, bindings: storage });
      if (s.layout) {
        const u = reflect.uniforms.find((x) => x.binding === s.paramsBinding);
        expect(u, `${key}: uniform at binding ${s.paramsBinding}`).toBeDefined();
        const members = (u!.members ?? []).map((m) => [m.name, m.type.name, m.offset]);
        expect({ key, members }).toEqual({ key, members: s.layout.map(([n, t], i) => [n, t, i * 4]) });
      }
    }
  });
});

/** Value defines the subgroup-matrix kernels are launched with (beyond their switches), for the placement check below. */
const SGMAT_VALUES: Record<string, Record<string, number[]>> = {
  // Its head-dim defines come as a consistent set (flash_attention_sgmat.ts); the file's defaults stand for them.
};

/** An integer expression of literals and known consts (WGSL `u` suffixes allowed); NaN when it is anything else. */
function constExpr(src: string, consts: Map<string, number>): number {
  const expr = src.replace(/\b(\d+)u\b/g, '$1').replace(/[A-Za-z_]\w*/g, (w) => (consts.has(w) ? String(consts.get(w)) : '#'));
  if (!/^[\d+\-*/() ]+$/.test(expr)) return NaN;
  return Function(`return (${expr});`)() as number;
}

/** Bytes of a WGSL type the workgroup variables use (scalars, atomics, vec2/vec4, arrays of them); undefined for anything else. */
function wgslBytes(type: string, consts: Map<string, number>, aliases: Map<string, string>): number | undefined {
  const t = aliases.get(type.trim()) ?? type.replace(/\s+/g, '');
  if (t === 'f16') return 2;
  if (/^(f32|u32|i32|atomic<[ui]32>)$/.test(t)) return 4;
  const vec = /^vec([24])<(\w+)>$/.exec(t);
  if (vec) return Number(vec[1]) * (wgslBytes(vec[2], consts, aliases) ?? NaN);
  const arr = /^array<(.+),([^,<>]+)>$/.exec(t);
  if (!arr) return undefined;
  return (wgslBytes(arr[1], consts, aliases) ?? NaN) * constExpr(arr[2], consts);
}

describe('subgroup-matrix kernels: every workgroup variable is a multiple of 16 bytes', () => {
  // WGSL fixes no placement of workgroup variables and a matrix load may need a 16-byte-aligned
  // base (ldmatrix on NVIDIA): with every size a multiple of 16, any placement keeps every base
  // aligned (fa_forward_sgmat.wgsl's header: two 4-byte flags once shifted its P stage by 8 bytes).
  const sgmatKernels = kernels.filter((f) => /enable\s+chromium_experimental_subgroup_matrix/.test(shaderSource({ shader: f, defines: { ...PINNED[f] } }).code));
  it('the check covers the attention and gemm kernels', () => {
    expect(sgmatKernels).toContain('attention/fa_forward_sgmat.wgsl');
    expect(sgmatKernels.some((f) => f.startsWith('gemm/'))).toBe(true);
  });
  it.each(sgmatKernels)('%s', (file) => {
    const sw = switches(file);
    for (const [k, v] of Object.entries(PINNED[file] ?? {})) sw.set(k, [v]);
    // gemm_sgmat_vec's own modes, seen through gemm_common.wgsl's Params by every gemm kernel.
    if (file !== 'gemm/gemm_sgmat_vec.wgsl') for (const k of ['GU', 'QKV']) if (sw.has(k)) sw.set(k, [0]);
    for (const [k, v] of Object.entries(VALUES[file] ?? {})) sw.set(k, v);
    for (const [k, v] of Object.entries(SGMAT_VALUES[file] ?? {})) sw.set(k, v);
    const bad: string[] = [];
    let vars = 0;
    for (const defines of combos(sw)) {
      const code = shaderSource({ shader: file, defines }).code;
      const consts = new Map<string, number>();
      for (const m of code.matchAll(/^\s*const\s+(\w+)\s*(?::\s*\w+)?\s*=\s*([^;]+);/gm)) {
        const v = constExpr(m[2], consts);
        if (Number.isFinite(v)) consts.set(m[1], v);
      }
      const aliases = new Map([...code.matchAll(/^\s*alias\s+(\w+)\s*=\s*([^;]+);/gm)].map((m) => [m[1], m[2].replace(/\s+/g, '')]));
      for (const m of code.matchAll(/var<workgroup>\s+(\w+)\s*:\s*([^;]+);/g)) {
        vars++;
        const bytes = wgslBytes(m[2], consts, aliases);
        if (bytes === undefined || !Number.isInteger(bytes) || bytes % 16 !== 0) bad.push(`${JSON.stringify(defines)} ${m[1]}: ${m[2]} = ${bytes} bytes`);
      }
    }
    expect(vars).toBeGreaterThan(0);
    expect(bad).toEqual([]);
  });
});
