import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelLoadError } from '../../errors.js';
import { SafetensorsFile, type LoadedTensor } from './file.js';
import type { TensorEntry } from './header.js';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

const indexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  // A shard is a file name beside the index, never a path: an index must not reach outside the model folder.
  weight_map: z.record(z.string(), z.string().regex(/^(?!\.\.?$)[^/\\]+$/, 'expected a file name in the model folder, not a path')),
});

/** What a caller knows a tensor must be (from config.json); `why` says where the expectation came from. */
export interface TensorExpectation {
  readonly shape?: readonly number[];
  readonly dtypes?: readonly string[];
  readonly why?: string;
}

/**
 * The tensors of a checkpoint: one safetensors file, or the shards of
 * model.safetensors.index.json. Opening reads headers only; `read` fetches one tensor.
 */
export class Checkpoint {
  private constructor(
    readonly source: string,
    private readonly files: readonly SafetensorsFile[],
    private readonly where: ReadonlyMap<string, SafetensorsFile>,
  ) {}

  /** A model folder: the sharded index if present, else model.safetensors. */
  static async openDir(dir: string): Promise<Checkpoint> {
    const index = join(dir, INDEX_FILE);
    if (await exists(index)) return Checkpoint.openIndex(dir, index);
    const single = join(dir, SINGLE_FILE);
    if (await exists(single)) return Checkpoint.openFile(single);
    throw new ModelLoadError(`[safetensors] ${dir}: neither ${INDEX_FILE} nor ${SINGLE_FILE} found`, { file: dir });
  }

  /** One file (model.safetensors, adapter_model.safetensors, …): every tensor in it. */
  static async openFile(path: string): Promise<Checkpoint> {
    const f = await SafetensorsFile.open(path);
    return new Checkpoint(path, [f], new Map(f.names().map((n) => [n, f])));
  }

  private static async openIndex(dir: string, index: string): Promise<Checkpoint> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(index, 'utf8'));
    } catch (e) {
      throw new ModelLoadError(`[safetensors] ${index}: not valid JSON (${(e as Error).message})`, { file: index, cause: e });
    }
    const p = indexSchema.safeParse(raw);
    if (!p.success) {
      const issue = p.error.issues[0];
      throw new ModelLoadError(`[safetensors] ${index}: expected {weight_map: {tensor: shard file}}; ${issue.path.join('.')}: ${issue.message}`, { file: index });
    }
    const shards = new Map<string, SafetensorsFile>();
    const opened: SafetensorsFile[] = [];
    try {
      for (const shard of new Set(Object.values(p.data.weight_map))) {
        const f = await SafetensorsFile.open(join(dir, shard));
        opened.push(f);
        shards.set(shard, f);
      }
      const where = new Map<string, SafetensorsFile>();
      for (const [name, shard] of Object.entries(p.data.weight_map)) {
        const f = shards.get(shard)!;
        if (!f.has(name)) throw new ModelLoadError(`[safetensors] ${f.path}: tensor "${name}" is listed in ${INDEX_FILE} but absent from this shard`, { file: f.path, tensor: name });
        where.set(name, f);
      }
      return new Checkpoint(index, opened, where);
    } catch (e) {
      await Promise.all(opened.map((f) => f.close()));
      throw e;
    }
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  /** The file holding `name`; a missing tensor is a ModelLoadError naming the checkpoint and the tensor. */
  fileOf(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (!f) throw new ModelLoadError(`[safetensors] ${this.source}: tensor "${name}" not found`, { file: this.source, tensor: name });
    return f;
  }

  entry(name: string): TensorEntry {
    return this.fileOf(name).entry(name);
  }

  /** Checks `expect` against the header (nothing is read if it fails), then reads the tensor. */
  async read(name: string, expect?: TensorExpectation): Promise<LoadedTensor> {
    const f = this.fileOf(name);
    const e = f.entry(name);
    const why = expect?.why ? ` (${expect.why})` : '';
    if (expect?.shape && !sameShape(e.shape, expect.shape)) {
      throw new ModelLoadError(`[safetensors] ${f.path}: tensor "${name}": shape [${e.shape.join(', ')}] contradicts the expected [${expect.shape.join(', ')}]${why}`, { file: f.path, tensor: name });
    }
    if (expect?.dtypes && !expect.dtypes.includes(e.dtype)) {
      throw new ModelLoadError(`[safetensors] ${f.path}: tensor "${name}": dtype ${e.dtype}, expected one of ${expect.dtypes.join(', ')}${why}`, { file: f.path, tensor: name });
    }
    return f.read(name);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
