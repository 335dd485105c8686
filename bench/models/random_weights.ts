import { fromFloat64, type DType, type HostArray } from '../../src/dtype.js';
import { ModelLoadError } from '../../src/errors.js';
import { rng } from '../../src/ops/random.js';
import type { ModelConfig } from '../../src/models/config.js';
import type { TensorExpectation } from '../../src/models/safetensors/checkpoint.js';
import type { LoadedTensor } from '../../src/models/safetensors/file.js';
import type { WeightSource } from '../../src/models/weights.js';

/**
 * Random weights for timing, with no file: a WeightSource (what loadWeights reads a
 * checkpoint through) that answers every tensor the config implies with one small random
 * block tiled over the tensor — an 8B model needs 8·10⁹ values, and drawing them on the host
 * would take minutes. The values are HF's init scale (std 0.02, norms 1); tiling makes each
 * matrix low-rank, which changes nothing a timing depends on. With `quant` the projections
 * and the embedding are MLX affine 4-bit as mlx_lm writes them (u32 words, f16 scales and
 * biases per group of 64), centred: w = s·q − 7.5·s.
 */

/** A prime length, so the tiling's period lines up with no matrix dimension. */
const BLOCK = 1_048_573;
const STD = 0.02;

interface Blocks {
  readonly dense: Uint16Array;
  readonly scales: Uint16Array;
  readonly biases: Uint16Array;
  readonly words: Uint32Array;
}
/** Per seed, drawn once per process (~2 s of host work, 10 MiB). */
const BLOCKS = new Map<number, Blocks>();

export class RandomWeights implements WeightSource {
  readonly #names: Map<string, 'dense' | 'norm' | 'packed' | 'scales' | 'biases'>;

  constructor(
    readonly config: ModelConfig,
    readonly seed = 0,
  ) {
    const c = config;
    const names = new Map<string, 'dense' | 'norm' | 'packed' | 'scales' | 'biases'>();
    const linear = (base: string) => {
      if (!c.quantization) return void names.set(`${base}.weight`, 'dense');
      names.set(`${base}.weight`, 'packed');
      names.set(`${base}.scales`, 'scales');
      names.set(`${base}.biases`, 'biases');
    };
    linear('model.embed_tokens');
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}`;
      names.set(`${p}.input_layernorm.weight`, 'norm');
      names.set(`${p}.post_attention_layernorm.weight`, 'norm');
      for (const t of ['q', 'k', 'v', 'o']) linear(`${p}.self_attn.${t}_proj`);
      for (const t of ['gate', 'up', 'down']) linear(`${p}.mlp.${t}_proj`);
    }
    names.set('model.norm.weight', 'norm');
    if (!c.tieWordEmbeddings) linear('lm_head');
    this.#names = names;
  }

  names(): string[] {
    return [...this.#names.keys()];
  }

  has(name: string): boolean {
    return this.#names.has(name);
  }

  fileOf(): { readonly path: string } {
    return { path: '<random weights>' };
  }

  async read(name: string, expect?: TensorExpectation): Promise<LoadedTensor> {
    const kind = this.#names.get(name);
    if (!kind || !expect?.shape) throw new ModelLoadError(`[bench] random weights: tensor "${name}" ${kind ? 'needs its expected shape' : 'is not part of the model'}`, { file: '<random weights>', tensor: name });
    const shape = [...expect.shape];
    const n = shape.reduce((a, d) => a * d, 1);
    const b = this.#block();
    const dtype: DType = kind === 'packed' ? 'u32' : 'f16';
    const src = kind === 'packed' ? b.words : kind === 'scales' ? b.scales : kind === 'biases' ? b.biases : kind === 'dense' ? b.dense : undefined;
    const data: HostArray = kind === 'norm' ? fromFloat64('f16', new Float64Array(n).fill(1)) : tile(src!, n);
    return { name, dtype, shape, data };
  }

  #block(): Blocks {
    const hit = BLOCKS.get(this.seed);
    if (hit) return hit;
    const r = rng(this.seed);
    // Uniform with std 0.02: ±0.02·√3.
    const dense = fromFloat64('f16', Float64Array.from({ length: BLOCK }, () => (2 * r() - 1) * STD * Math.sqrt(3)));
    // q uniform in 0..15 → s·q − 7.5·s has std s·√((16² − 1)/12) ≈ 4.6·s: s ≈ 0.02 / 4.6, ±50%.
    const s = Float64Array.from({ length: BLOCK }, () => (STD / 4.6) * (0.5 + r()));
    const scales = fromFloat64('f16', s);
    const biases = fromFloat64('f16', s.map((x) => -7.5 * x));
    const words = Uint32Array.from({ length: BLOCK }, () => Math.floor(r() * 2 ** 32));
    const blocks = { dense, scales, biases, words };
    BLOCKS.set(this.seed, blocks);
    return blocks;
  }
}

/** `n` values of `block` repeated; copyWithin doubles the filled prefix (log n native copies). */
function tile<A extends Uint16Array | Uint32Array>(block: A, n: number): A {
  const out = new (block.constructor as new (n: number) => A)(n);
  out.set(block.subarray(0, Math.min(n, block.length)));
  for (let have = Math.min(n, block.length); have < n; have *= 2) out.copyWithin(have, 0, Math.min(have, n - have));
  return out;
}
