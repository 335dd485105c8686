import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * A V8 CPU profile of the timed calls only (`bench --model --cpu-profile DIR`): `node
 * --cpu-prof` profiles the whole process, where pipeline compilation during the warm-up
 * (attributed to the JS caller, PipelineCache.entry) hides the steady state. Analyse with
 * scripts/probes/cpuprofile_top.mjs.
 */
export async function startCpuProfile(dir: string | undefined, name: string): Promise<() => Promise<void>> {
  if (!dir) return async () => {};
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.setSamplingInterval', { interval: 100 });
  await s.post('Profiler.start');
  return async () => {
    const { profile } = await s.post('Profiler.stop');
    s.disconnect();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  };
}
