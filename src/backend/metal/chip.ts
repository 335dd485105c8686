import { OptionsError } from '../../errors.js';
import type { ChipInfo } from './launch.js';
import type { NativeDeviceInfo } from './addon.js';

export type ChipFamily = ChipInfo['family'];
export type ChipTier = ChipInfo['tier'];

/**
 * PMetal's name rule (DESIGN.md): "M5" → Apple10 (NAX); "M4"/"M3"/"A17" → Apple9;
 * "M2"/"A16"/"A15" → Apple8; "M1"/"A14" → Apple7; anything else → unknown (ranked lowest).
 * Tier from "Ultra"/"Max"/"Pro" in the name, else base. A pure function, for tests and for
 * naming; the backend takes the family from the device (Metal's family query on a Mac).
 * native/addon/chip.cc holds the same rule for the addon; test/host-runtime/chip-rule.test.ts
 * walks names through both and fails on any difference.
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
 * The canonical name of a chip the host runtime can emulate, as the addon's openDevice({ chip })
 * reads it (emulatedChipName in native/addon/chip.cc): an optional leading "Apple ", then M1..M5
 * and an optional Pro/Max/Ultra in any ASCII case, spaces anywhere after the generation —
 * 'm5max', ' M5  Max' and 'Apple M5 Max' are all 'M5 Max'. Anything else is an OptionsError.
 */
export function emulatedChipName(chip: string): string {
  const c = chip.startsWith('Apple ') ? chip.slice(6) : chip;
  // ASCII-only upper case, as C's toupper in the C locale
  const u = c.replace(/[a-z]/g, (ch) => ch.toUpperCase());
  const m = /^ *M([1-5])(.*)$/s.exec(u);
  const rest = m ? m[2].replace(/ /g, '') : undefined;
  const tier = rest === '' ? '' : rest === 'PRO' ? ' Pro' : rest === 'MAX' ? ' Max' : rest === 'ULTRA' ? ' Ultra' : undefined;
  if (!m || tier === undefined) throw new OptionsError(`[metal] chip: unknown chip '${chip}' (expected M1..M5 with optional Pro/Max/Ultra)`);
  return `M${m[1]}${tier}`;
}

/**
 * The ChipInfo the host runtime reports for an emulated chip ('M5 Max', 'm3pro', …): the name
 * rule above on the canonical name, NAX and Metal 4 on Apple10 only, 1024 threads. A name the
 * host runtime cannot emulate ('A17 Pro', another GPU) gets what the name rule makes of it.
 * Used by tests to check routing without opening a device.
 */
export function emulatedChip(chip: string): ChipInfo {
  let canonical = chip;
  try {
    canonical = emulatedChipName(chip);
  } catch {
    // not a chip the host runtime emulates: the name rule on the name as given
  }
  const name = `Apple ${canonical} (host emulation)`;
  const c = classifyChipName(name);
  return { name, family: c.family, tier: c.tier, hasNax: c.hasNax, metal4: c.hasNax, host: true, maxThreadsPerThreadgroup: 1024 };
}
