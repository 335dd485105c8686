import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import { getSpec, type OpName } from '../src/ops/registry.js';
import type { TensorInfo } from '../src/ops/types.js';
import type { Tensor } from '../src/tensor.js';
import { disposeOutputs } from '../src/tensor.js';
import { fixed, textTable } from '../src/text_table.js';
import { median, warmTimes } from './clock.js';
import { copyBandwidth } from './copy.js';
import { refreshTuning } from '../src/backend/webgpu/tuning.js';

/**
 * The tuning switches each op's launcher reads (environment variables, never needed for
 * correctness), so one run times an op's variants side by side on the same inputs. The
 * first entry of each list is the shipped default. This is how the launchers' defaults were
 * chosen (README "Performance").
 */
type Variant = { name: string; env: Record<string, string> };
const PLANS: Variant[] = [
  { name: 'default', env: {} },
  { name: 'plan=wide', env: { PMETAL_VEC_PLAN: 'wide' } },
  { name: 'plan=mid', env: { PMETAL_VEC_PLAN: 'mid' } },
  { name: 'plan=deep', env: { PMETAL_VEC_PLAN: 'deep' } },
];
const ROPE: Variant[] = [
  { name: 'default (16-byte words)', env: {} },
  { name: 'word pairs (PMETAL_ROPE_VEC=0)', env: { PMETAL_ROPE_VEC: '0' } },
  // With k (rope_variant.ts): 4 heads a lane at any token count; q and k as two dispatches.
  { name: 'qk deep (PMETAL_ROPE_QK_VARIANT=deep)', env: { PMETAL_ROPE_QK_VARIANT: 'deep' } },
  { name: 'qk split (PMETAL_ROPE_QK_VARIANT=split)', env: { PMETAL_ROPE_QK_VARIANT: 'split' } },
];
const SPLIT_K: Variant[] = [
  { name: 'default (split-K)', env: {} },
  { name: 'no split-K (PMETAL_GEMM_TUNE=splitK=0)', env: { PMETAL_GEMM_TUNE: 'splitK=0' } },
];
// fused_lora_forward's LoRA term (and fused_mlp's projections', which run it) inside the base
// product's K loop on the matrix units too (lora_gemm.ts; by default only on gemm_tiled until
// the H100 has passed gemm_sgmat_vec's).
const LORA_FUSED: Variant = { name: 'LoRA term in the K loop (PMETAL_LORA_GEMM_VARIANT=fused)', env: { PMETAL_LORA_GEMM_VARIANT: 'fused' } };
const LORA_FIRST: Variant = { name: 'LoRA term in the K loop, before the base loop (PMETAL_LORA_GEMM_VARIANT=first)', env: { PMETAL_LORA_GEMM_VARIANT: 'first' } };
const LORA_EPI: Variant = { name: 'LoRA term in the epilogue (PMETAL_LORA_GEMM_VARIANT=epi)', env: { PMETAL_LORA_GEMM_VARIANT: 'epi' } };
// fused_norm_lora's products on the subgroup-matrix tier follow gemm's switches (its
// normalised ones on gemm_sgmat_vec with NORM_A / NORM_B, the T×r and r×K ones split over K).
const NORM_LORA: Variant[] = [
  ...SPLIT_K,
  { name: 'sgmat 128x128', env: { PMETAL_GEMM_TUNE: 'wideN=0' } },
  { name: 'sgmat double-buffered 16-deep', env: { PMETAL_GEMM_TUNE: 'dbuf=1,shallowK=1' } },
];
export const VARIANTS: Partial<Record<OpName, Variant[]>> = {
  // Split counts and keys in flight of decode_stream.wgsl (src/backend/webgpu/launchers/decode_plan.ts).
  decode_attention: [
    { name: 'default (auto: group where its grid has >= 256 workgroups, else rows1)', env: {} },
    { name: 'group (a kv head\'s query heads a workgroup, 1 key in flight a team)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'group' } },
    { name: 'rows1 (a row a workgroup, 1 key in flight a team)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'rows1' } },
    { name: 'deep (~1056 workgroups, splits ≥ 128 keys, 4 keys in flight a team)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'deep' } },
    { name: 'balanced (2 keys in flight a team)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'balanced' } },
    { name: 'wide (~2112, ≥ 64 keys)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'wide' } },
    { name: 'short (~2112, ≥ 32 keys)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'short' } },
    { name: 'latency (a row a workgroup, 4 keys in flight a team, a split one step)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'latency' } },
    { name: 'single (one split of up to 1024 invocations, finished in the stream kernel: no reduce dispatch)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'single' } },
    // The next step's keys loaded before the current ones are used (PMETAL_DECODE_PREFETCH=1).
    { name: 'prefetch: default', env: { PMETAL_DECODE_PREFETCH: '1' } },
    { name: 'prefetch: group', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'group', PMETAL_DECODE_PREFETCH: '1' } },
    { name: 'prefetch: rows1', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'rows1', PMETAL_DECODE_PREFETCH: '1' } },
    { name: 'prefetch: balanced (2 keys in flight a team)', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'balanced', PMETAL_DECODE_PREFETCH: '1' } },
    { name: 'prefetch + stage: keys loaded, no scores or softmax', env: { PMETAL_DECODE_PREFETCH: '1', PMETAL_BENCH_DECODE_STAGE: '4' } },
    // The kernel's loops left rolled (PMETAL_DECODE_UNROLL=0: per-row arrays indexed at run time).
    { name: 'rolled: group', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'group', PMETAL_DECODE_UNROLL: '0' } },
    { name: 'rolled: deep', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'deep', PMETAL_DECODE_UNROLL: '0' } },
    // Stage-by-stage ceiling (wrong results): what a step costs without its parts.
    { name: 'stage: stream kernel returns at once', env: { PMETAL_BENCH_DECODE_STAGE: '1' } },
    { name: 'stage: no key loop', env: { PMETAL_BENCH_DECODE_STAGE: '2' } },
    { name: 'stage: no reduce dispatch', env: { PMETAL_BENCH_DECODE_STAGE: '3' } },
    { name: 'stage: keys loaded, no scores or softmax', env: { PMETAL_BENCH_DECODE_STAGE: '4' } },
    { name: 'short + no key loop', env: { PMETAL_DECODE_ATTENTION_VARIANT: 'short', PMETAL_BENCH_DECODE_STAGE: '2' } },
    // Pinned plans (PMETAL_DECODE_PIN): how a step's time scales with keys in flight and steps.
    ...['splits=17,u=1', 'splits=17,u=2,wg=64', 'splits=1,u=4', 'splits=1,u=1', 'splits=5,u=8', 'rb=1', 'rb=1,u=1', 'rb=2', 'rb=1,splits=17', 'rb=4,u=1', 'rb=4,u=2', 'rb=2,u=2'].map((pin) => ({ name: `pin ${pin}`, env: { PMETAL_DECODE_PIN: pin } })),
  ],
  // fused_norm_qkv's plan (launchers/norm_qkv_gemv.ts): the one-dispatch GEMV up to T = 4
  // and rms_norm + the GEMV on its output up to 16 (auto), the GEMV alone up to 4 or 16, or
  // always the separate ops' launches.
  fused_norm_qkv: [
    { name: 'default (GEMV at T <= 4, rms_norm + GEMV at T <= 16)', env: {} },
    { name: 'GEMV at T <= 4, separate launches past it (PMETAL_NORM_QKV_VARIANT=gemv4, the default before run S16)', env: { PMETAL_NORM_QKV_VARIANT: 'gemv4' } },
    { name: 'GEMV at T <= 16 (PMETAL_NORM_QKV_VARIANT=gemv16)', env: { PMETAL_NORM_QKV_VARIANT: 'gemv16' } },
    { name: 'rms_norm + PRENORM GEMV at every T <= 16 (PMETAL_NORM_QKV_VARIANT=prenorm)', env: { PMETAL_NORM_QKV_VARIANT: 'prenorm' } },
    { name: 'separate launches (PMETAL_NORM_QKV_VARIANT=composed)', env: { PMETAL_NORM_QKV_VARIANT: 'composed' } },
    { name: 'GEMV of 256 invocations (PMETAL_NORM_QKV_WG=256, the default before run S17)', env: { PMETAL_NORM_QKV_WG: '256' } },
    // Prefill sizes on the subgroup-matrix tier: the three products in one dispatch (qkv_gemm.ts).
    { name: 'q/k/v in one gemm (PMETAL_QKV_GEMM=1)', env: { PMETAL_QKV_GEMM: '1' } },
    // The GEMV's stage-by-stage ceiling (gemv_norm_qkv.wgsl STAGE; wrong results).
    { name: 'stage: no rstd phase', env: { PMETAL_BENCH_NORM_QKV_STAGE: '1' } },
    { name: 'stage: sums stored as they are (no bias, rope, cache write)', env: { PMETAL_BENCH_NORM_QKV_STAGE: '2' } },
    { name: 'stage: neither', env: { PMETAL_BENCH_NORM_QKV_STAGE: '3' } },
    { name: 'stage: return at once', env: { PMETAL_BENCH_NORM_QKV_STAGE: '4' } },
  ],
  softmax: PLANS,
  rms_norm: PLANS,
  rms_norm_backward: PLANS,
  rope: ROPE,
  rope_backward: ROPE,
  sample: [
    { name: 'default (ranked: chunk lists ranked, row bound from the list heads)', env: {} },
    { name: 'plain: radix merge without prefilter (PMETAL_SAMPLE_VARIANT=plain)', env: { PMETAL_SAMPLE_VARIANT: 'plain' } },
    { name: 'bound: group-maximum bound, candidates ranked by counting (PMETAL_SAMPLE_VARIANT=bound)', env: { PMETAL_SAMPLE_VARIANT: 'bound' } },
    { name: 'radix merge, prefilter (PMETAL_SAMPLE_VARIANT=prefilter)', env: { PMETAL_SAMPLE_VARIANT: 'prefilter' } },
    { name: 'select always wide (PMETAL_SAMPLE_VARIANT=wide)', env: { PMETAL_SAMPLE_VARIANT: 'wide' } },
    // The chunk pass's stage-by-stage ceiling (sample_chunk.wgsl STAGE; wrong tokens).
    { name: 'stage: chunk pass returns after its keys', env: { PMETAL_BENCH_SAMPLE_STAGE: '1' } },
    { name: 'stage: chunk pass returns after its record (no top-c selection)', env: { PMETAL_BENCH_SAMPLE_STAGE: '2' } },
  ],
  gemm: [
    { name: 'default', env: {} },
    // Decode rows (M ≤ 16, transB): gemm_gemv_rows with 128 invocations, the column kernel.
    { name: 'gemv rows, 256 invocations', env: { PMETAL_GEMV_VARIANT: 'rows' } },
    { name: 'gemv column kernel', env: { PMETAL_GEMV_VARIANT: 'column' } },
    { name: 'gemv rows, 2 teams of 128 (8 rows of b a workgroup)', env: { PMETAL_GEMV_VARIANT: 'teams2' } },
    { name: 'gemv rows, 4 teams of 64 (16 rows of b a workgroup)', env: { PMETAL_GEMV_VARIANT: 'teams4' } },
    // gemm_gemv_rows' stage-by-stage ceiling (wrong results): the weight loads alone, then with a's.
    { name: 'stage: gemv rows, loads of b only', env: { PMETAL_BENCH_GEMV_STAGE: '1' } },
    { name: 'stage: gemv rows, loads of a and b, no arithmetic', env: { PMETAL_BENCH_GEMV_STAGE: '2' } },
    { name: 'sgmat 128x128', env: { PMETAL_GEMM_TUNE: 'wideN=0' } },
    { name: 'sgmat 16-deep K', env: { PMETAL_GEMM_TUNE: 'shallowK=1' } },
    { name: 'sgmat double-buffered 128x128', env: { PMETAL_GEMM_TUNE: 'dbuf=1,wideN=0' } },
    { name: 'sgmat double-buffered 16-deep', env: { PMETAL_GEMM_TUNE: 'dbuf=1,shallowK=1' } },
    { name: 'no split-K', env: { PMETAL_GEMM_TUNE: 'splitK=0' } },
    // bf16 on the subgroup-matrix tier (gemm_bf16.ts): matrix-unit windows of ≤ 256 (default
    // ≤ 512), or the portable f32 tiles it replaced.
    { name: 'bf16 windows <= 256', env: { PMETAL_GEMM_BF16_VARIANT: 'w256' } },
    { name: 'bf16 portable tiles', env: { PMETAL_GEMM_BF16_VARIANT: 'simt' } },
  ],
  // The subgroup-matrix forward's tile (flash_attention_sgmat.ts: 8 subgroups and 64-key
  // tiles up to D = 128 by default) and its stage-by-stage ceiling (wrong results): the kernel
  // without the softmax arithmetic, without the K/V tile loads, without both.
  flash_attention_forward: [
    { name: 'default', env: {} },
    { name: 'NSG=4', env: { PMETAL_FA_SGMAT_NSG: '4' } },
    { name: 'BK=32', env: { PMETAL_FA_SGMAT_BK: '32' } },
    { name: 'each K/V tile staged straight from global memory (PMETAL_FA_SGMAT_PREFETCH=0)', env: { PMETAL_FA_SGMAT_PREFETCH: '0' } },
    { name: 'lanes read S from plain columns (PMETAL_FA_SGMAT_SWIZZLE=0, the default before run S17)', env: { PMETAL_FA_SGMAT_SWIZZLE: '0' } },
    { name: 'row blocks last first (PMETAL_FA_SGMAT_LATE_FIRST=1)', env: { PMETAL_FA_SGMAT_LATE_FIRST: '1' } },
    { name: 'S and P stage rows padded by 8 (PMETAL_FA_SGMAT_PAD=8)', env: { PMETAL_FA_SGMAT_PAD: '8' } },
    { name: 'padded stages, NSG=4', env: { PMETAL_FA_SGMAT_PAD: '8', PMETAL_FA_SGMAT_NSG: '4' } },
    { name: 'stage: no softmax arithmetic', env: { PMETAL_BENCH_FA_STAGE: '1' } },
    { name: 'stage: no K/V tile loads', env: { PMETAL_BENCH_FA_STAGE: '2' } },
    { name: 'stage: neither', env: { PMETAL_BENCH_FA_STAGE: '3' } },
  ],
  // The subgroup-matrix backward's plan (flash_attention_backward_sgmat.ts): subgroups per
  // workgroup and query rows per tile; the default takes 4 subgroups at head dims ≤ 64 or
  // where 8 would leave fewer than 264 workgroups.
  flash_attention_backward: [
    { name: 'default', env: {} },
    { name: 'NSG=8, BT=16', env: { PMETAL_FA_BWD_NSG: '8', PMETAL_FA_BWD_BT: '16' } },
    { name: 'NSG=4, BT=16', env: { PMETAL_FA_BWD_NSG: '4', PMETAL_FA_BWD_BT: '16' } },
    { name: 'NSG=4, BT=32', env: { PMETAL_FA_BWD_NSG: '4', PMETAL_FA_BWD_BT: '32' } },
    { name: 'lanes read S from plain columns (PMETAL_FA_SGMAT_SWIZZLE=0, the default before run S17)', env: { PMETAL_FA_SGMAT_SWIZZLE: '0' } },
    { name: 'row blocks last first (PMETAL_FA_SGMAT_LATE_FIRST=1)', env: { PMETAL_FA_SGMAT_LATE_FIRST: '1' } },
    { name: 'S, dP and dS stage rows padded by 8 (PMETAL_FA_SGMAT_PAD=8)', env: { PMETAL_FA_SGMAT_PAD: '8' } },
  ],
  // LoRA's rank-r products are where split-K applies (gemm_splitk.ts); the forward's LoRA
  // term as three gemms or in the base product's K loop (lora_gemm.ts).
  fused_lora_forward: [...SPLIT_K, LORA_FUSED, LORA_FIRST, LORA_EPI, { name: 'x·Aᵀ through the decode GEMV, transposed (PMETAL_LORA_XA_VARIANT=gemv)', env: { PMETAL_LORA_XA_VARIANT: 'gemv' } }],
  fused_lora_backward: [...SPLIT_K, LORA_EPI],
  fused_mlp_backward: [...SPLIT_K, LORA_EPI],
  // Decode sizes (T ≤ 16, no gate/up LoRA): one gemm_gemv_rows SWIGLU_ROWS dispatch + the down
  // GEMV (default), the 4-dispatch plan (two projections + swiglu on the subgroup-matrix tier),
  // and both GEMVs at 128 invocations.
  fused_mlp: [
    { name: 'default (gate/up GEMV + SwiGLU, 2 dispatches)', env: {} },
    { name: '4-dispatch plan (PMETAL_MLP_GEMV=0)', env: { PMETAL_MLP_GEMV: '0' } },
    LORA_FUSED,
    LORA_EPI,
    { name: 'gemv rows, 256 invocations', env: { PMETAL_GEMV_VARIANT: 'rows' } },
    // With normWeight ('norm' shapes): the norm inside the gate/up GEMV at every T ≤ 16, or
    // always as an rms_norm dispatch first (default: inside at T ≤ 2; launchers/mlp_norm.ts).
    { name: 'norm in the GEMV at T <= 16 (PMETAL_MLP_NORM_VARIANT=all)', env: { PMETAL_MLP_NORM_VARIANT: 'all' } },
    { name: 'norm as rms_norm first (PMETAL_MLP_NORM_VARIANT=split)', env: { PMETAL_MLP_NORM_VARIANT: 'split' } },
    // Prefill sizes on the subgroup-matrix tier (no gate/up LoRA, recompute): the gate/up pair
    // in one gemm_sgmat_vec dispatch writing h (gu_gemm.ts) against two projections + swiglu.
    { name: 'gate/up pair writing h (PMETAL_MLP_GU=1)', env: { PMETAL_MLP_GU: '1' } },
    { name: 'gate, up, swiglu (PMETAL_MLP_GU=0)', env: { PMETAL_MLP_GU: '0' } },
  ],
  fused_norm_lora: NORM_LORA,
  fused_norm_lora_backward: NORM_LORA,
  // js on a persistent grid (launchers/distill_js_plan.ts): G workgroups walk the rows, each
  // reading a row's two passes back to back so the second can hit L2 (G × 0.5 MB live in
  // f16, 1 MB in f32); 4 word pairs of each side in flight an invocation unless named (the
  // persistent grids ran 2–13× slower on the H100 in run S14: js's exp/log work then runs on
  // too few lanes). Names
  // are 'js G=<n>' so --variant 'G=32' does not also pick 'G=132'. The other losses ignore
  // these switches (their rows are timed once a variant as a check).
  fused_distill_loss: [
    { name: 'default (one workgroup a row, 4 pairs in flight)', env: {} },
    { name: 'one workgroup a row, 1 pair in flight (PMETAL_DISTILL_JS_INFLIGHT=1)', env: { PMETAL_DISTILL_JS_INFLIGHT: '1' } },
    ...[32, 48, 64, 96, 132, 264].map((g) => ({ name: `js G=${g} (PMETAL_DISTILL_JS_GROUPS=${g})`, env: { PMETAL_DISTILL_JS_GROUPS: String(g) } })),
    ...[64, 132].flatMap((g) => [1, 8].map((u) => ({ name: `js G=${g} U=${u} (PMETAL_DISTILL_JS_GROUPS=${g}, PMETAL_DISTILL_JS_INFLIGHT=${u})`, env: { PMETAL_DISTILL_JS_GROUPS: String(g), PMETAL_DISTILL_JS_INFLIGHT: String(u) } }))),
  ],
  // Decode (M ≤ 16): qgemv_sg with 64 invocations (default) or 128, qgemv_wide (8 rows a
  // workgroup; MLX 4-bit, Q4_0, Q4_K at M ≤ 4, else qgemv_sg), the earlier default
  // qgemv_rows, the column kernel qgemv.
  quantized_gemm: [
    { name: 'default (auto: qgemv_wide at M ≤ 4; at M = 5…8 wide128 with f32 x, wide for q4_k with f16 x, else qgemv_rows)', env: {} },
    { name: 'qgemv_sg, 128 invocations', env: { PMETAL_QGEMV_VARIANT: 'sg128' } },
    { name: 'qgemv_wide, 8 rows, 64 invocations, 1 unit a row in flight (PMETAL_QGEMV_VARIANT=wide)', env: { PMETAL_QGEMV_VARIANT: 'wide' } },
    { name: 'qgemv_wide, 8 rows, 64 invocations, 2 units a row in flight (PMETAL_QGEMV_VARIANT=wide2)', env: { PMETAL_QGEMV_VARIANT: 'wide2' } },
    { name: 'qgemv_wide, 8 rows, 128 invocations, 1 unit a row in flight (PMETAL_QGEMV_VARIANT=wide128)', env: { PMETAL_QGEMV_VARIANT: 'wide128' } },
    { name: 'qgemv_rows (earlier default)', env: { PMETAL_QGEMV_VARIANT: 'rows' } },
    { name: 'qgemv column kernel', env: { PMETAL_QGEMV_VARIANT: 'column' } },
    // Prefill (M > 16): W decoded once to f16, then the f16 gemm (qgemm_prefill.ts; the default
    // on the subgroup-matrix tier), or its tiles decoded inside the product.
    { name: "prefill: dequantize, then the gemm in x's dtype (PMETAL_QGEMM_PREFILL=dequant)", env: { PMETAL_QGEMM_PREFILL: 'dequant' } },
    { name: 'prefill: tiles decoded in the product (PMETAL_QGEMM_PREFILL=tiles)', env: { PMETAL_QGEMM_PREFILL: 'tiles' } },
  ],
};

export interface VariantRow {
  op: string;
  dtype: string;
  shape: string;
  variant: string;
  ms: number;
  gbps: number;
  tflops: number;
  ofCopy?: number;
  error?: string;
}

/** Times every bench shape of `ops` (default: those with variants) under each variant, GPU timestamps after a clock warm-up. */
export async function runVariants(gpu: WebGpuBackend, o: { ops?: string[]; dtypes?: string[]; shape?: string; variant?: string[]; reps?: number; onRow?: (r: VariantRow) => void }): Promise<{ rows: VariantRow[]; copyGbps?: number }> {
  const copy = await copyBandwidth(gpu, 512 * 2 ** 20);
  const rows: VariantRow[] = [];
  const ops = (o.ops?.length ? o.ops : Object.keys(VARIANTS)) as OpName[];
  for (const op of ops) {
    const spec = getSpec(op);
    // --variant: only the variants whose names contain one of the given substrings.
    const variants = (VARIANTS[op] ?? [{ name: 'default', env: {} }]).filter((v) => !o.variant?.length || o.variant.some((x) => v.name.includes(x)));
    for (const dtype of spec.dtypes.filter((d) => !o.dtypes?.length || o.dtypes.includes(d))) {
      if (!gpu.supports(op, dtype)) continue;
      for (const shape of spec.bench.filter((s) => !o.shape || s.label.includes(o.shape))) {
        const ins: Record<string, Tensor> = {};
        try {
          for (const [k, h] of Object.entries(shape.make(dtype, 1))) ins[k] = gpu.tensor(h.data, h.shape, h.dtype);
          const cost = spec.cost(ins as Record<string, TensorInfo>, spec.options.parse(shape.options));
          for (const v of variants) {
            const row: VariantRow = { op, dtype, shape: shape.label, variant: v.name, ms: NaN, gbps: NaN, tflops: NaN };
            const saved = Object.fromEntries(Object.keys(v.env).map((k) => [k, process.env[k]]));
            Object.assign(process.env, v.env);
            refreshTuning();
            try {
              const call = () => {
                disposeOutputs(gpu.run(op, ins, shape.options), ins);
              };
              call();
              await gpu.sync();
              const ns = (await warmTimes(gpu, call, o.reps ?? 10))!;
              row.ms = median(ns) / 1e6;
              row.gbps = cost.bytes / row.ms / 1e6;
              row.tflops = cost.flops / row.ms / 1e9;
              row.ofCopy = row.gbps / copy.gbps;
            } catch (e) {
              row.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
              await gpu.sync().catch(() => {});
            } finally {
              for (const [k, val] of Object.entries(saved)) {
                if (val === undefined) delete process.env[k];
                else process.env[k] = val;
              }
              refreshTuning();
            }
            rows.push(row);
            o.onRow?.(row);
          }
        } finally {
          for (const t of Object.values(ins)) t.dispose();
          await gpu.sync().catch(() => {});
          gpu.rt.trimPool();
        }
      }
    }
  }
  return { rows, copyGbps: copy.gbps };
}

export function variantsTable(res: { rows: VariantRow[]; copyGbps?: number }): string {
  const head = ['op', 'dtype', 'shape', 'variant', 'ms (median)', 'TFLOP/s', 'GB/s', 'of copy'];
  const body = res.rows.map((r) => (r.error ? [r.op, r.dtype, r.shape, r.variant, 'error', r.error.slice(0, 60), '', ''] : [r.op, r.dtype, r.shape, r.variant, fixed(r.ms, 4), fixed(r.tflops, 1), fixed(r.gbps, 0), r.ofCopy ? `${(r.ofCopy * 100).toFixed(0)}%` : '-']));
  const out = textTable(head, body);
  if (res.copyGbps) out.push(`copy kernel: ${res.copyGbps.toFixed(0)} GB/s over 512 MiB (the "of copy" baseline)`);
  return out.join('\n');
}
