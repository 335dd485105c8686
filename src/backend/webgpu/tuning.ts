import { OptionsError } from '../../errors.js';

/**
 * The webgpu tuning switches, read and validated in one place. They pick among kernels that
 * are all correct (`pmetal bench --variants` times them side by side); none is ever needed
 * for correctness. Read from the environment once per submitted batch (the variants bench
 * changes them between runs), and named in every pipeline key so a
 * compiled pipeline, an error and a bench row say which variant produced them.
 *
 *   PMETAL_VEC_PLAN=wide|mid|deep     words per invocation of the register-resident row kernels
 *   PMETAL_GEMM_TUNE=k=v,…            gemm kernels and tiles (keys below, values 0 or 1)
 *   PMETAL_ROPE_VEC=0|1               rope on 16-byte words (1, default) or on word pairs (0)
 *   PMETAL_GEMV_VARIANT=rows128|rows|teams2|teams4|column
 *                                     gemm's small-M (M ≤ 16, b as [N,K]) kernel where rows are
 *                                     whole 16-byte words: gemm_gemv_rows with 128 (default: on
 *                                     the H100, run S9 call C, 0.072 vs 0.096 ms at M = 8,
 *                                     14336×4096; fused_mlp's T = 1 gate/up 0.059 vs 0.076) or 256
 *                                     invocations, 256 in 2 or 4 teams of 4 rows of b (a read
 *                                     once from L2 for 8 / 16 rows), or the column kernel gemm_gemv
 *   PMETAL_QGEMV_VARIANT=sg|sg128|wide|wide2|wide128|rows|column
 *                                     quantized_gemm's decode kernel: qgemv_sg with 64
 *                                     (default) or 128 invocations (subgroups tiers; aligned
 *                                     word units, subgroupAdd reduction), qgemv_wide (8 rows
 *                                     of W a workgroup, fewer instructions a weight; 64
 *                                     invocations with 1 or 2 units of each row in flight, or
 *                                     128 with 1; MLX 4-bit, Q4_0, Q4_K at M ≤ 4, else
 *                                     qgemv_sg), qgemv_rows (the earlier default, 4 rows of W
 *                                     per workgroup, a workgroup-memory tree) or the column
 *                                     kernel qgemv
 *   PMETAL_GEMM_BF16_VARIANT=w512|w256|simt
 *                                     bf16 gemm on the subgroup-matrix tier: the matrix-unit
 *                                     kernel gemm_sgmat_bf16 with K windows of at most 512
 *                                     (default) or 256 (fewer flushes vs. a tighter bound;
 *                                     both within bf16's, src/ops/gemm/bf16_mma.ts), or the
 *                                     portable f32 tile kernel (simt, the earlier path)
 *   PMETAL_MLP_GEMV=1|0               fused_mlp at M ≤ 16 without LoRA on gate/up: g, u and
 *                                     h = silu(g)·u in one gemm_gemv_rows dispatch (1,
 *                                     default; launchers/mlp_gemv.ts), or the earlier plan (0:
 *                                     two projections and swiglu on the subgroup-matrix tier,
 *                                     gemm_tiled's SWIGLU pass on the others)
 */
export type VecPlanMode = 'wide' | 'mid' | 'deep';

/** PMETAL_GEMM_TUNE keys and their defaults. */
export const GEMM_TUNE_DEFAULTS = {
  /** The small-M (GEMV) kernel for M ≤ 16 with b as [N,K]. */
  gemv: true,
  /** The aligned subgroup-matrix kernel (gemm_sgmat_vec). */
  sgmatVec: true,
  /** The 16-byte-word portable tile kernel. */
  tiledVec: true,
  /** gemm_sgmat_vec 128×256 tiles (0: 128×128). */
  wideN: true,
  /** gemm_sgmat_vec 16-deep K slices (0: 32-deep). */
  shallowK: false,
  /** gemm_sgmat_vec double-buffered slices. */
  dbuf: false,
  /** Split-K for products with few output tiles and a long K (gemm_splitk.ts). */
  splitK: true,
} as const;
export type GemmTune = { -readonly [K in keyof typeof GEMM_TUNE_DEFAULTS]: boolean };

export const GEMV_VARIANTS = ['rows128', 'rows', 'teams2', 'teams4', 'column'] as const;
export type GemvVariant = (typeof GEMV_VARIANTS)[number];
export const QGEMV_VARIANTS = ['auto', 'sg', 'sg128', 'wide', 'wide2', 'wide128', 'rows', 'column'] as const;
export type QgemvVariant = (typeof QGEMV_VARIANTS)[number];
export const GEMM_BF16_VARIANTS = ['w512', 'w256', 'simt'] as const;
export type GemmBf16Variant = (typeof GEMM_BF16_VARIANTS)[number];

export interface Tuning {
  /** Undefined: each launcher's measured default. */
  vecPlan?: VecPlanMode;
  gemm: GemmTune;
  ropeVec: boolean;
  /** gemm's small-M kernel (PMETAL_GEMV_VARIANT; the first of GEMV_VARIANTS by default). */
  gemvVariant: GemvVariant;
  /** quantized_gemm's decode kernel (PMETAL_QGEMV_VARIANT). */
  qgemvVariant: QgemvVariant;
  /** bf16 gemm on the subgroup-matrix tier (PMETAL_GEMM_BF16_VARIANT). */
  gemmBf16Variant: GemmBf16Variant;
  /** fused_mlp's one-dispatch gate/up GEMV at M ≤ 16 (PMETAL_MLP_GEMV, default on). */
  mlpGemv: boolean;
  /** The switches that are set, canonical (`gemm:wideN=0;vec:deep`), '' when none: part of every pipeline key. */
  key: string;
}

const VEC_PLANS: readonly VecPlanMode[] = ['wide', 'mid', 'deep'];
const env = (name: string): string | undefined => (typeof process !== 'undefined' ? process.env[name] : undefined);
const bad = (name: string, msg: string) => new OptionsError(`[webgpu] ${name}: ${msg}`);

function parseBit(name: string, key: string, v: string | undefined): boolean {
  if (v === '1') return true;
  if (v === '0') return false;
  throw bad(name, `'${key}' expects 0 or 1, got ${v === undefined ? 'no value' : `'${v}'`}`);
}

function parseChoice<T extends string>(name: string, choices: readonly T[], v: string | undefined, parts: string[], tag: string): T {
  if (v === undefined || v === '') return choices[0];
  if (!choices.includes(v as T)) throw bad(name, `expected one of ${choices.join(', ')}, got '${v}'`);
  if (v !== choices[0]) parts.push(`${tag}:${v}`);
  return v as T;
}

export function parseTuning(vec: string | undefined, gemm: string | undefined, rope: string | undefined, gemv?: string, qgemv?: string, gemmBf16?: string, mlpGemvEnv?: string): Tuning {
  const parts: string[] = [];
  let vecPlan: VecPlanMode | undefined;
  if (vec !== undefined && vec !== '') {
    if (!VEC_PLANS.includes(vec as VecPlanMode)) throw bad('PMETAL_VEC_PLAN', `expected one of ${VEC_PLANS.join(', ')}, got '${vec}'`);
    vecPlan = vec as VecPlanMode;
    parts.push(`vec:${vec}`);
  }
  const g: GemmTune = { ...GEMM_TUNE_DEFAULTS };
  const set: string[] = [];
  for (const kv of (gemm ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v, ...rest] = kv.split('=').map((s) => s.trim());
    if (!(k in GEMM_TUNE_DEFAULTS)) throw bad('PMETAL_GEMM_TUNE', `unknown key '${k}' (valid: ${Object.keys(GEMM_TUNE_DEFAULTS).join(', ')}; values 0 or 1)`);
    if (rest.length) throw bad('PMETAL_GEMM_TUNE', `expected key=value, got '${kv}'`);
    g[k as keyof GemmTune] = parseBit('PMETAL_GEMM_TUNE', k, v);
  }
  for (const k of Object.keys(g).sort() as (keyof GemmTune)[]) if (g[k] !== GEMM_TUNE_DEFAULTS[k]) set.push(`${k}=${Number(g[k])}`);
  if (set.length) parts.push(`gemm:${set.join(',')}`);
  let ropeVec = true;
  if (rope !== undefined && rope !== '') {
    ropeVec = parseBit('PMETAL_ROPE_VEC', 'PMETAL_ROPE_VEC', rope);
    if (!ropeVec) parts.push('rope:vec=0');
  }
  const gemvV = parseChoice('PMETAL_GEMV_VARIANT', GEMV_VARIANTS, gemv, parts, 'gemv');
  const qgemvV = parseChoice('PMETAL_QGEMV_VARIANT', QGEMV_VARIANTS, qgemv, parts, 'qgemv');
  const bf16V = parseChoice('PMETAL_GEMM_BF16_VARIANT', GEMM_BF16_VARIANTS, gemmBf16, parts, 'gemmbf16');
  let mlpGemv = true;
  if (mlpGemvEnv !== undefined && mlpGemvEnv !== '') {
    mlpGemv = parseBit('PMETAL_MLP_GEMV', 'PMETAL_MLP_GEMV', mlpGemvEnv);
    if (!mlpGemv) parts.push('mlpgemv:0');
  }
  return { vecPlan, gemm: g, ropeVec, gemvVariant: gemvV, qgemvVariant: qgemvV, gemmBf16Variant: bf16V, mlpGemv, key: parts.join(';') };
}

let cached: Tuning | undefined;

/**
 * The switches as set at the last submission (the environment is read once per batch:
 * process.env reads cost ~0.5 µs each, too much for every launch of a small op).
 */
export function tuning(): Tuning {
  if (cached) return cached;
  const t = parseTuning(env('PMETAL_VEC_PLAN'), env('PMETAL_GEMM_TUNE'), env('PMETAL_ROPE_VEC'), env('PMETAL_GEMV_VARIANT'), env('PMETAL_QGEMV_VARIANT'), env('PMETAL_GEMM_BF16_VARIANT'), env('PMETAL_MLP_GEMV'));
  const extra = LAUNCHER_VARIANTS.map((n) => [n, env(n)] as const)
    .filter(([, v]) => v)
    .map(([n, v]) => `${n}=${v}`);
  return (cached = extra.length ? { ...t, key: [t.key, ...extra].filter(Boolean).join(';') } : t);
}

/**
 * Variant switches that launchers read and validate themselves. A launch tape replays what
 * the launcher recorded without calling it, so a set one joins the key: a tape recorded under
 * another variant is then not replayed (else `bench --variants` would time the first variant
 * again under every name).
 */
export const LAUNCHER_VARIANTS = [
  'PMETAL_ROPE_QK_VARIANT',
  'PMETAL_DECODE_ATTENTION_VARIANT',
  'PMETAL_SAMPLE_VARIANT',
  'PMETAL_FA_BWD_NSG',
  'PMETAL_FA_BWD_BT',
  'PMETAL_FA_SGMAT_BK',
  'PMETAL_FA_SGMAT_NSG',
  'PMETAL_FA_SGMAT_PREFETCH',
  'PMETAL_FA_SGMAT_SWIZZLE',
  'PMETAL_FA_SGMAT_LATE_FIRST',
  'PMETAL_FA_SGMAT_PAD',
  'PMETAL_BENCH_DECODE_STAGE',
  'PMETAL_BENCH_FA_STAGE',
  'PMETAL_BENCH_GEMV_STAGE',
  'PMETAL_BENCH_NORM_QKV_STAGE',
  'PMETAL_BENCH_SAMPLE_STAGE',
  'PMETAL_NORM_QKV_WG',
  'PMETAL_DECODE_PIN',
  'PMETAL_DECODE_UNROLL',
  'PMETAL_DECODE_PREFETCH',
  'PMETAL_MLP_NORM_VARIANT',
  'PMETAL_NORM_QKV_VARIANT',
  'PMETAL_LORA_GEMM_VARIANT',
  'PMETAL_LORA_XA_VARIANT',
  'PMETAL_QGEMM_PREFILL',
  'PMETAL_DISTILL_JS_GROUPS',
  'PMETAL_DISTILL_JS_INFLIGHT',
  'PMETAL_MLP_GU',
  'PMETAL_QKV_GEMM',
];

/**
 * A launcher-read variant switch (one of LAUNCHER_VARIANTS): `v` — the environment's value of
 * `name` unless given — as one of `choices`, the first when unset, else an OptionsError naming
 * the op and the switch.
 */
export function launcherVariant<T extends string>(op: string, name: string, choices: readonly T[], v = typeof process !== 'undefined' ? process.env[name] : undefined): T {
  if (v === undefined || v === '') return choices[0];
  if (!(choices as readonly string[]).includes(v)) throw new OptionsError(`[${op}] ${name}: expected one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
}

/**
 * A bench-only stage switch (PMETAL_BENCH_FA_STAGE, PMETAL_BENCH_DECODE_STAGE): the stage
 * named in the environment when it is one of `stages`, else 0 (the whole kernel). A stage
 * gives wrong results by design — the stage-by-stage ceiling of a kernel — so only the
 * benches set these.
 */
export function benchStage(name: string, stages: readonly number[]): number {
  const s = Number(env(name));
  return stages.includes(s) ? s : 0;
}

/** Reads the environment again at the next launch (the runtime calls it at each submission). */
export function refreshTuning(): void {
  cached = undefined;
}
