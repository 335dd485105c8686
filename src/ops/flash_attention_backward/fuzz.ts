import { fuzzCase, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { problemLabel, problemOptions } from '../flash_attention_forward/cases.js';
import { attentionProblem } from '../flash_attention_forward/fuzz.js';
import { backwardInputs } from './cases.js';

/** The forward's problem classes at half its work budget (the backward's reference does ~2.5× the work). */
export function attentionBwdFuzz(r: Rand): OpCase {
  const p = attentionProblem(r, 1 << 19);
  return fuzzCase(problemLabel(p), problemOptions(p), (dtype, seed) => backwardInputs(p, dtype, seed));
}
