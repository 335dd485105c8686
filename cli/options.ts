import { Option, type Command } from 'commander';
import { probeBackends, BACKEND_NAMES, type BackendOptions } from '../src/backend/load.js';
import type { BackendName, KernelBackend } from '../src/backend/interface.js';
import { PmetalError } from '../src/errors.js';

/** Options every command shares: which adapter/chip and how to open it. */
export const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
export const webgpuFlags = (c: Command) =>
  c
    .addOption(new Option('--toggles <list>', 'Dawn toggles, comma separated (NVIDIA: allow_unsafe_apis,vulkan_enable_f16_on_nvidia)').argParser(list))
    .addOption(new Option('--disable-toggles <list>', 'Dawn toggles to turn off (bench: timestamp_quantization)').argParser(list))
    .option('--adapter <name>', 'only an adapter whose name contains this')
    .addOption(new Option('--power <pref>', 'adapter power preference').choices(['low-power', 'high-performance']))
    .addOption(new Option('--disable-features <list>', 'WebGPU features to leave off (e.g. subgroups)').argParser(list))
    .addOption(new Option('--chip <name>', 'metal: chip to emulate on Linux (M1..M5 [Pro|Max|Ultra])'))
    .option('--asan', 'metal: compile every MSL kernel under AddressSanitizer (host runtime; out-of-bounds accesses become errors)');

export function backendOptions(o: Record<string, unknown>): BackendOptions {
  return {
    webgpu: {
      toggles: (o.toggles as string[]) ?? [],
      disableToggles: (o.disableToggles as string[]) ?? [],
      adapter: o.adapter as string | undefined,
      powerPreference: o.power as 'low-power' | 'high-performance' | undefined,
      disableFeatures: (o.disableFeatures as string[]) ?? [],
    },
    metal: { ...(o.chip ? { chip: String(o.chip) } : {}), ...(o.asan ? { asan: true } : {}) },
  };
}

export async function loadBackends(o: Record<string, unknown>, wanted?: string[], quietMissing = true): Promise<KernelBackend[]> {
  const names = (wanted?.length ? wanted : BACKEND_NAMES) as BackendName[];
  for (const n of names) if (!BACKEND_NAMES.includes(n)) throw new PmetalError('OPTIONS', `[cli] unknown backend '${n}' (expected ${BACKEND_NAMES.join(', ')})`);
  const probed = await probeBackends(backendOptions(o), names);
  for (const p of probed) {
    if (p.error && (!quietMissing || wanted?.length)) process.stderr.write(`pmetal: backend ${p.name} unavailable: ${p.error}\n`);
    else if (p.error) process.stderr.write(`pmetal: skipping ${p.name}: ${p.error}\n`);
  }
  if (wanted?.length && probed.some((p) => p.error)) throw new PmetalError('BACKEND_UNAVAILABLE', `[cli] requested backend unavailable`);
  return probed.filter((p) => p.backend).map((p) => p.backend!);
}

