import { writeFileSync } from 'node:fs';
import type { MetalBackend } from '../src/backend/metal/backend.js';
import { PmetalError } from '../src/errors.js';
import { DECODE_LOOP_VARIANTS, type DecodeLoopVariant } from '../src/models/decode_loop.js';
import { PHASES, type Phase } from '../bench/models/phases.js';
import type { ModelPreset } from '../bench/models/presets.js';
import { HOST_TIMINGS_REFUSAL } from '../bench/metal.js';
import { loadBackends } from './options.js';

const int = (name: string, v: unknown, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new PmetalError('OPTIONS', `[bench] --${name}: expected an integer ≥ ${min}, got '${String(v)}'`);
  return n;
};

const positive = (name: string, v: unknown): number => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new PmetalError('OPTIONS', `[bench] --${name}: expected a finite number > 0, got '${String(v)}'`);
  return n;
};

/** `pmetal bench --model NAME`: the model bench (bench/models) on one backend; returns the exit code. */
export async function benchModel(o: Record<string, unknown>): Promise<number> {
  const phases = (o.phase as string[] | undefined) ?? [...PHASES];
  for (const p of phases) if (!(PHASES as readonly string[]).includes(p)) throw new PmetalError('OPTIONS', `[bench] --phase: expected some of ${PHASES.join(', ')}, got '${p}'`);
  const dtypes = (o.dtype as string[] | undefined) ?? ['f16'];
  if (dtypes.length !== 1 || !['f16', 'f32', 'bf16'].includes(dtypes[0])) throw new PmetalError('OPTIONS', `[bench] --dtype with --model: expected one of f16, f32, bf16, got '${dtypes.join(',')}'`);
  const batches = ((o.batch as string[] | undefined) ?? ['1', '16']).map((b) => int('batch', b, 1));
  const loops = (o.decodeLoop as string[] | undefined) ?? [];
  for (const l of loops) if (!(DECODE_LOOP_VARIANTS as readonly string[]).includes(l)) throw new PmetalError('OPTIONS', `[bench] --decode-loop: expected some of ${DECODE_LOOP_VARIANTS.join(', ')}, got '${l}'`);
  const mlpGemv = (o.mlpGemv as string[] | undefined) ?? [];
  for (const v of mlpGemv) if (v !== '0' && v !== '1') throw new PmetalError('OPTIONS', `[bench] --mlp-gemv: expected some of 1, 0, got '${v}'`);
  const wanted = (o.backend as string[] | undefined) ?? ['webgpu'];
  if (wanted.length !== 1 || wanted[0] === 'cpu') throw new PmetalError('OPTIONS', `[bench] --backend with --model: expected one of webgpu, metal, got '${wanted.join(',')}'`);
  const opts = {
    model: o.model as ModelPreset,
    ...(o.quant ? { quant: o.quant as 'mlx4' } : {}),
    dtype: dtypes[0] as 'f16' | 'f32' | 'bf16',
    phases: phases as Phase[],
    batches,
    ...(loops.length ? { decodeLoops: loops as DecodeLoopVariant[] } : {}),
    ...(mlpGemv.length ? { mlpGemv: mlpGemv as ('0' | '1')[] } : {}),
    seq: int('seq', o.seq, 2),
    prompt: int('prompt', o.prompt, 1),
    steps: int('steps', o.steps, 1),
    warmupSteps: int('warmup', o.warmup, 0),
    reps: int('reps', o.reps, 1),
    sustainMs: 300,
    loraR: int('lora-r', o.loraR, 1),
    ...(o.maxGradNorm !== undefined ? { maxGradNorm: positive('max-grad-norm', o.maxGradNorm) } : {}),
    trainWarmup: 1,
    trainSteps: int('train-steps', o.trainSteps, 1),
    copyBytes: int('copy-mib', o.copyMib, 0) * 2 ** 20,
    profile: o.profile === true,
    ...(typeof o.cpuProfile === 'string' ? { cpuProfile: o.cpuProfile } : {}),
  };
  const [backend] = await loadBackends(o, wanted);
  try {
    if (backend.name === 'metal' && (backend as MetalBackend).host) {
      process.stderr.write(`pmetal: bench --model --backend metal refused: ${HOST_TIMINGS_REFUSAL}\n`);
      return 1;
    }
    const { runModelBench, modelBenchTable } = await import('../bench/models/index.js');
    const res = await runModelBench(backend, { ...opts, onRecord: (r) => process.stderr.write(`${r.phase} B=${r.batch}: ${r.error ?? `${r.ms.toFixed(2)} ms, ${r.tokensPerS.toFixed(1)} tokens/s`}\n`) });
    console.log(modelBenchTable(res));
    if (o.json) writeFileSync(o.json as string, JSON.stringify(res, null, 2));
    return res.records.some((r) => r.error) ? 1 : 0;
  } finally {
    backend.dispose();
  }
}
