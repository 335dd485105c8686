import { freqKey, ropeFrequencies } from '../../../ops/rope/frequencies.js';
import type { RopeOpts } from '../../../ops/rope/options.js';
import type { LaunchContext } from '../launch.js';
import type { Runtime } from '../runtime.js';

const TABLES_MAX = 32;

/**
 * Inverse-frequency tables (f32, computed in float64 on the host) per runtime, keyed by the
 * frequency options. Keyed on the Runtime so a disposed backend's buffers go with its
 * device; a table evicted from a full cache goes back to the pool, which is safe even while
 * the open batch still reads it (later writes to a reused buffer are ordered after it).
 */
const tables = new WeakMap<Runtime, Map<string, { buffer: GPUBuffer; attention: number }>>();

export function freqTable(ctx: LaunchContext, o: RopeOpts, rd: number): { buffer: GPUBuffer; attention: number } {
  let cache = tables.get(ctx.rt);
  if (!cache) tables.set(ctx.rt, (cache = new Map()));
  const key = freqKey(o, rd);
  const hit = cache.get(key);
  if (hit) {
    // Most recently used last.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const { inv, attention } = ropeFrequencies(o, rd);
  const data = Float32Array.from(inv);
  const buffer = ctx.rt.createBuffer(data.byteLength);
  ctx.rt.upload(buffer, data);
  const entry = { buffer, attention };
  cache.set(key, entry);
  if (cache.size > TABLES_MAX) {
    const [oldKey, old] = cache.entries().next().value!;
    cache.delete(oldKey);
    ctx.rt.releaseBuffer(old.buffer);
  }
  return entry;
}
