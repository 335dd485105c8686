import type { ChipInfo } from './launch.js';
import type { NativeDeviceInfo } from './addon.js';

export type ChipFamily = ChipInfo['family'];
export type ChipTier = ChipInfo['tier'];

/**
 * PMetal's name rule (DESIGN.md): "M5" → Apple10 (NAX); "M4"/"M3"/"A17" → Apple9;
 * "M2"/"A16"/"A15" → Apple8; "M1"/"A14" → Apple7; anything else → unknown (ranked lowest).
 * Tier from "Ultra"/"Max"/"Pro" in the name, else base. A pure function, for tests and for
 * naming; the backend takes the family from the device (Metal's family query on a Mac).
 */
export function classifyChipName(name: string): { family: ChipFamily; tier: ChipTier; hasNax: boolean } {
  const has = (s: string) => new RegExp(`(^|[^A-Za-z0-9])${s}(?![0-9])`).test(name);
  const family: ChipFamily = has('M5')
    ? 'apple10'
    : has('M4') || has('M3') || has('A17')
      ? 'apple9'
      : has('M2') || has('A16') || has('A15')
        ? 'apple8'
        : has('M1') || has('A14')
          ? 'apple7'
          : 'unknown';
  const tier: ChipTier = /Ultra/.test(name) ? 'ultra' : /Max/.test(name) ? 'max' : /Pro/.test(name) ? 'pro' : 'base';
  return { family, tier, hasNax: family === 'apple10' };
}

/** Rank of a family for "at least" comparisons; unknown ranks lowest. */
export const FAMILY_RANK: Record<ChipFamily, number> = { unknown: 0, apple7: 7, apple8: 8, apple9: 9, apple10: 10 };

/** The backend's view of the device the addon opened. */
export function chipFromDevice(info: NativeDeviceInfo): ChipInfo {
  return {
    name: info.name,
    family: info.family,
    tier: info.tier,
    hasNax: info.hasNax,
    metal4: info.metal4,
    host: info.host,
    maxThreadsPerThreadgroup: info.maxThreadsPerThreadgroup,
  };
}

/**
 * The ChipInfo the host runtime reports for an emulated chip ('M5 Max', 'M3', …): the name
 * rule above, NAX and Metal 4 on Apple10 only, 1024 threads. Used by tests to check routing
 * without opening a device.
 */
export function emulatedChip(name: string): ChipInfo {
  const c = classifyChipName(name);
  return { name: `Apple ${name} (host emulation)`, family: c.family, tier: c.tier, hasNax: c.hasNax, metal4: c.hasNax, host: true, maxThreadsPerThreadgroup: 1024 };
}
