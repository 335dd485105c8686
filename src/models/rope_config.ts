import { z } from 'zod';
import type { RopeOptions } from '../ops/rope/options.js';

/**
 * HF's rope settings → the rope op's options. Two spellings exist in config.json files:
 * transformers ≤ 4.x writes `rope_theta` and `rope_scaling` ({type | rope_type, …});
 * transformers 5 writes `rope_parameters` ({rope_type, rope_theta, …}). The rope op
 * implements default, linear, llama3 and yarn frequencies with HF's formulas
 * (src/ops/rope/frequencies.ts), so the table is computed on the device from these options.
 */

const num = z.number().finite();
const ropeDict = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    rope_theta: num.positive().optional(),
    factor: num.positive().optional(),
    low_freq_factor: num.positive().optional(),
    high_freq_factor: num.positive().optional(),
    original_max_position_embeddings: z.number().int().positive().optional(),
    beta_fast: num.positive().optional(),
    beta_slow: num.positive().optional(),
    attention_factor: num.positive().optional(),
    mscale: num.nonnegative().optional(),
    mscale_all_dim: num.nonnegative().optional(),
    truncate: z.boolean().optional(),
    partial_rotary_factor: num.positive().max(1).optional(),
  })
  .passthrough();
export const ropeFields = {
  rope_theta: num.positive().optional(),
  rope_scaling: ropeDict.nullable().optional(),
  rope_parameters: ropeDict.nullable().optional(),
};
type RopeFields = { rope_theta?: number; rope_scaling?: z.infer<typeof ropeDict> | null; rope_parameters?: z.infer<typeof ropeDict> | null };

export interface RopeConfig {
  /** rope op options (NeoX pairs, as HF's rotate_half). */
  readonly options: RopeOptions;
  /** The HF rope_type the options came from. */
  readonly type: string;
}

/** A problem with the rope settings: the message, for the caller to wrap with the file name. */
export class RopeConfigIssue {
  constructor(readonly message: string) {}
}

export function ropeFromConfig(c: RopeFields, defaultTheta: number, maxPositions: number | undefined): RopeConfig | RopeConfigIssue {
  const params = c.rope_parameters ?? c.rope_scaling ?? {};
  const theta = params.rope_theta ?? c.rope_theta ?? defaultTheta;
  const type = params.rope_type ?? params.type ?? 'default';
  if (theta <= 1) return new RopeConfigIssue(`rope_theta: expected > 1, got ${theta}`);
  const need = (k: keyof typeof params) => {
    const v = params[k];
    if (v === undefined) throw new RopeConfigIssue(`rope ${type}: ${String(k)} is required`);
    return v as number;
  };
  if (params.partial_rotary_factor !== undefined && params.partial_rotary_factor !== 1) {
    return new RopeConfigIssue(`partial_rotary_factor ${params.partial_rotary_factor}: the Llama-family models rotate the whole head (expected 1)`);
  }
  const base = { base: theta };
  try {
    switch (type) {
      case 'default':
        return { type, options: { ...base, scaling: { type: 'none' } } };
      case 'linear':
        return { type, options: { ...base, scaling: { type: 'linear', factor: need('factor') } } };
      case 'llama3':
        return {
          type,
          options: {
            ...base,
            scaling: {
              type: 'llama3',
              factor: need('factor'),
              lowFreqFactor: need('low_freq_factor'),
              highFreqFactor: need('high_freq_factor'),
              originalMaxPositions: need('original_max_position_embeddings'),
            },
          },
        };
      case 'yarn': {
        // HF: original_max_position_embeddings from the rope dict, else the config's max positions.
        const omp = params.original_max_position_embeddings ?? maxPositions;
        if (omp === undefined) return new RopeConfigIssue('rope yarn: original_max_position_embeddings is required');
        return {
          type,
          options: {
            ...base,
            scaling: {
              type: 'yarn',
              factor: need('factor'),
              originalMaxPositions: omp,
              ...(params.beta_fast !== undefined ? { betaFast: params.beta_fast } : {}),
              ...(params.beta_slow !== undefined ? { betaSlow: params.beta_slow } : {}),
              ...(params.truncate !== undefined ? { truncate: params.truncate } : {}),
              ...(params.attention_factor !== undefined ? { attentionFactor: params.attention_factor } : {}),
              ...(params.mscale !== undefined && params.mscale_all_dim !== undefined ? { mscale: params.mscale, mscaleAllDim: params.mscale_all_dim } : {}),
            },
          },
        };
      }
      default:
        return new RopeConfigIssue(`rope_type "${type}" is not supported (expected default, linear, llama3 or yarn)`);
    }
  } catch (e) {
    if (e instanceof RopeConfigIssue) return e;
    throw e;
  }
}
