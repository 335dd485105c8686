import { WGSL } from '../../generated/kernels.js';
import { ShaderCompileError } from '../../errors.js';
import { preprocess, type Defines } from './preprocess.js';
import { tuning } from './tuning.js';

/** dtype codes shared by every WGSL kernel (see wgsl/README.md). */
export const DT_CODES = { DT_F32: 0, DT_F16: 1, DT_BF16: 2 } as const;
export const dtCode = (d: string): number => (d === 'f16' ? 1 : d === 'bf16' ? 2 : 0);

export interface PipelineSpec {
  shader: string;
  defines: Defines;
  overrides?: Record<string, number>;
  entry?: string;
}

/**
 * The cache key names every value the shader depends on, in a fixed order, and the tuning
 * switches that were set when it was chosen (tuning.ts): `norm/rms_norm|SUBGROUPS=1,X_DT=1|WG=256`,
 * `…|WG=256|vec:deep`.
 */
export function pipelineKey(s: PipelineSpec): string {
  const d = Object.keys(s.defines).sort().map((k) => `${k}=${String(s.defines[k])}`).join(',');
  const o = Object.keys(s.overrides ?? {}).sort().map((k) => `${k}=${s.overrides![k]}`).join(',');
  const t = tuning().key;
  return `${s.shader.replace(/\.wgsl$/, '')}${s.entry && s.entry !== 'main' ? `#${s.entry}` : ''}|${d}|${o}${t ? `|${t}` : ''}`;
}

/** The cache's unsorted key: every field of the spec and the tuning switches, tagged so no two specs collide. */
function fastKey(s: PipelineSpec): string {
  let k = `${s.shader}#${s.entry ?? ''}|${tuning().key}|D`;
  const d = s.defines;
  for (const n in d) {
    const v = d[n];
    k += `,${n}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`; // a string quoted: no value can pass for another's separators
  }
  const o = s.overrides;
  if (o) {
    k += '|O';
    for (const n in o) k += `,${n}=${o[n]}`;
  }
  return k;
}

export function shaderSource(s: PipelineSpec) {
  return preprocess(WGSL, s.shader, { ...DT_CODES, ...s.defines });
}

/**
 * Compiles and caches compute pipelines. Ops are recorded synchronously, so pipelines are
 * created synchronously too; each new module's compilation info is checked before the
 * batch that uses it is reported complete (`check()`), and a compile error becomes a
 * ShaderCompileError with the cache key and the original file:line:col.
 */
/** A compiled pipeline with its key and bind group layout (getBindGroupLayout costs ~8 µs a call in dawn.node). */
export interface PipelineEntry {
  key: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class PipelineCache {
  #cache = new Map<string, PipelineEntry>();
  /**
   * The same entries under a key built without sorting (the spec's fields in the launcher's
   * own order, which is fixed per code path): pipelineKey's sort and joins cost ~1.5 µs, paid
   * for every dispatch otherwise. Several fast keys may name one entry.
   */
  #fast = new Map<string, PipelineEntry>();
  #pending: Promise<void>[] = [];
  /** Bumped whenever an entry is dropped (a broken pipeline): what holds an entry checks it is current. */
  generation = 0;
  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.#cache.size;
  }

  get(s: PipelineSpec): GPUComputePipeline {
    return this.entry(s).pipeline;
  }

  entry(s: PipelineSpec): PipelineEntry {
    const fk = fastKey(s);
    const fast = this.#fast.get(fk);
    if (fast) return fast;
    const key = pipelineKey(s);
    const hit = this.#cache.get(key);
    if (hit) {
      this.#fast.set(fk, hit);
      return hit;
    }
    const src = shaderSource(s);
    const dbg = process.env.PMETAL_PRINT_SHADER;
    if (dbg && key.includes(dbg)) process.stderr.write(`// ---- ${key}\n${src.code}\n`);
    const module = this.device.createShaderModule({ code: src.code, label: key });
    this.#pending.push(
      module.getCompilationInfo().then((info) => {
        const err = info.messages.find((m) => m.type === 'error');
        if (!err) return;
        const at = src.lineMap[err.lineNum - 1];
        const where = at ? `${at.file}:${at.line}:${err.linePos}` : `line ${err.lineNum}`;
        throw new ShaderCompileError(`[webgpu] shader ${key} failed to compile at ${where}: ${err.message}`, key, at?.line, err.linePos);
      }),
    );
    const pipeline = this.device.createComputePipeline({ layout: 'auto', label: key, compute: { module, entryPoint: s.entry ?? 'main', constants: s.overrides ?? {} } });
    const e = { key, pipeline, layout: pipeline.getBindGroupLayout(0) };
    this.#cache.set(key, e);
    this.#fast.set(fk, e);
    return e;
  }

  /** Rejects with the first compile error of pipelines created since the last check. */
  async check(): Promise<void> {
    const p = this.#pending;
    this.#pending = [];
    const res = await Promise.allSettled(p);
    const bad = res.find((r) => r.status === 'rejected');
    if (bad) {
      // A broken pipeline must not stay cached: the next call recompiles and fails again.
      const key = ((bad as PromiseRejectedResult).reason as ShaderCompileError).key;
      if (key) {
        this.#cache.delete(key);
        this.#fast.clear();
        this.generation++;
      }
      throw (bad as PromiseRejectedResult).reason;
    }
  }
}
