import type { Command } from 'commander';
import { probeBackends } from '../src/backend/load.js';
import { backendOptions, webgpuFlags } from './options.js';

/** `pmetal devices`: backends, adapters, features, limits and tiers. */
export function registerDevices(program: Command): void {
  webgpuFlags(program.command('devices').description('backends, adapters, features, limits and tiers').option('--json', 'print JSON')).action(async (o) => {
    const probed = await probeBackends(backendOptions(o));
    const out = probed.map((p): Record<string, unknown> => {
      if (!p.backend) return { backend: p.name, available: false, reason: p.error };
      const caps = p.backend.capabilities();
      const extra: Record<string, unknown> = {};
      const rt = (p.backend as unknown as { rt?: { opened: { limits: GPUSupportedLimits; subgroupMatrixConfigs: unknown[] } } }).rt;
      if (rt) {
        const l = rt.opened.limits as unknown as Record<string, number>;
        extra.limits = Object.fromEntries(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension', 'minStorageBufferOffsetAlignment'].map((k) => [k, l[k]]));
        extra.subgroupMatrixConfigs = rt.opened.subgroupMatrixConfigs;
      }
      return { backend: p.name, available: true, device: caps.device, features: caps.features, tiers: caps.tiers, timestamps: caps.timestamps, ...extra };
    });
    if (o.json) console.log(JSON.stringify(out, null, 2));
    else
      for (const d of out) {
        if (!d.available) {
          console.log(`${d.backend}: unavailable — ${d.reason}`);
          continue;
        }
        console.log(`${d.backend}: ${d.device}`);
        console.log(`  tiers: ${(d.tiers as string[]).join(', ')}`);
        if ((d.features as string[]).length) console.log(`  features: ${(d.features as string[]).join(', ')}`);
        if ('limits' in d) for (const [k, v] of Object.entries(d.limits as object)) console.log(`  ${k}: ${v}`);
      }
    for (const p of probed) p.backend?.dispose();
  });
}
