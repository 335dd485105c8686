import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { fixed, textTable } from '../../src/text_table.js';

/**
 * `bench --model --profile`: where one call of a phase spends its GPU time, op by op and
 * kernel by kernel — the stage-by-stage ceiling's counterpart for a whole model, so a gap to
 * the roofline (or to PyTorch) is located before anything is rewritten. Each dispatch is
 * timed in a pass of its own, which adds a pass boundary per dispatch: the total is above
 * the phase's batched GPU time, by an amount the dispatch count shows.
 */
export interface OpProfile {
  /** The public op the dispatch belongs to (a fused op's gemms are the fused op's). */
  op: string;
  /** The WGSL file (and entry point) that ran. */
  kernel: string;
  passes: number;
  ms: number;
  /** Of the profiled call's summed pass time. */
  share: number;
}

export async function profileOps(gpu: WebGpuBackend, fn: () => void | Promise<void>): Promise<OpProfile[] | undefined> {
  const passes = await gpu.profile(fn);
  if (!passes) return undefined;
  const by = new Map<string, OpProfile>();
  let total = 0;
  for (const p of passes) {
    const key = `${p.op}\u0000${p.kernel}`;
    let e = by.get(key);
    if (!e) by.set(key, (e = { op: p.op, kernel: p.kernel, passes: 0, ms: 0, share: 0 }));
    e.passes++;
    e.ms += p.ns / 1e6;
    total += p.ns / 1e6;
  }
  const out = [...by.values()].sort((a, b) => b.ms - a.ms);
  for (const e of out) e.share = total > 0 ? e.ms / total : 0;
  return out;
}

/** The profile of one phase's call as a table (rows under 0.5% of the time folded into one). */
export function profileTable(title: string, rows: readonly OpProfile[]): string {
  const major = rows.filter((r) => r.share >= 0.005);
  const rest = rows.filter((r) => r.share < 0.005);
  const sum = (rs: readonly OpProfile[], k: 'ms' | 'passes' | 'share') => rs.reduce((a, r) => a + r[k], 0);
  const body = major.map((r) => [r.op, r.kernel, String(r.passes), fixed(r.ms, 3), `${(r.share * 100).toFixed(1)}%`]);
  if (rest.length) body.push([`${rest.length} others`, '', String(sum(rest, 'passes')), fixed(sum(rest, 'ms'), 3), `${(sum(rest, 'share') * 100).toFixed(1)}%`]);
  body.push(['total', '', String(sum(rows, 'passes')), fixed(sum(rows, 'ms'), 3), '100%']);
  return [title, ...textTable(['op', 'kernel', 'passes', 'GPU ms', 'share'], body)].join('\n');
}
