// The chip model exists twice: src/backend/metal/chip.ts (routing without the addon) and
// native/addon/chip.cc (the device the addon opens). This walks every name through both
// and fails on any difference: PMetal's name rule (family, tier, NAX) on device names, and
// the emulated-chip names the host runtime accepts.
import { describe, expect, it } from 'vitest';
import { classifyChipName, emulatedChip, emulatedChipName } from '../../src/backend/metal/chip.js';
import { loadNative } from './helpers.js';

const native = loadNative();
const HOST = native.platform === 'host';

const GENS = ['M0', 'M1', 'M2', 'M3', 'M4', 'M5', 'M6', 'M10', 'M55', 'A13', 'A14', 'A15', 'A16', 'A17', 'A18'];
const TIERS = ['', 'Pro', 'Max', 'Ultra'];
const PREFIXES = ['', 'Apple ', 'apple ', 'APPLE ', '  '];
const SPACING = (gen: string, tier: string) =>
  tier === '' ? [gen, ` ${gen}`, `${gen} `, `${gen}\t`] : [`${gen} ${tier}`, `${gen}${tier}`, `${gen}  ${tier}`, ` ${gen} ${tier} `, `${gen}\t${tier}`, `${gen}-${tier}`];
const CASINGS = (s: string) => [s, s.toLowerCase(), s.toUpperCase(), s.replace(/[A-Z]/g, (c, i: number) => (i % 2 ? c.toLowerCase() : c))];
const ODD = [
  '', ' ', 'Apple', 'Apple ', 'Apple M', 'M', 'AMD Radeon Pro 5500M', 'Intel(R) Iris(TM) Plus Graphics', 'AM5', 'M5X', 'XM5',
  'M5 Max (host emulation)', 'Apple M5 Max (host emulation)', 'M3 Ultra Max', 'M1 M5', 'M10 M4', 'M5Pro Max', 'm5 pro max',
  'M5\0', 'M5 Max\0', '\u00e9M5 Max', 'M5 \u00c9', '\uff2d5', 'M\u0665', 'M5 Ultra\n', 'Apple  M5', 'Apple\tM5', 'A17Pro', 'A17 Pro',
];

const names = [...new Set([
  ...GENS.flatMap((g) => TIERS.flatMap((t) => SPACING(g, t).flatMap((s) => PREFIXES.flatMap((p) => CASINGS(`${p}${s}`))))),
  ...ODD,
])];

/** JSON with sorted keys: equal objects, equal strings. */
const canon = (o: object) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));

function emulatedTs(name: string): string {
  try {
    return emulatedChipName(name);
  } catch (e) {
    return `throws ${(e as { code?: string }).code}`;
  }
}
function emulatedNative(name: string): string {
  try {
    return native.emulatedChipName(name);
  } catch (e) {
    // the same refusal: the addon's BAD_ARGUMENT is TypeScript's OptionsError
    return (e as { code?: string }).code === 'BAD_ARGUMENT' ? 'throws OPTIONS' : `throws ${(e as { code?: string }).code}`;
  }
}

describe('chip model: chip.ts and the addon (chip.cc) agree', () => {
  it(`walks ${names.length} names through both`, () => {
    expect(names.length).toBeGreaterThan(1000);
  });

  it('classifyChipName: family, tier and NAX of every name', () => {
    const diff = names.filter((n) => canon(classifyChipName(n)) !== canon(native.classifyChipName(n)));
    expect(diff.map((n) => ({ name: n, ts: classifyChipName(n), native: native.classifyChipName(n) }))).toEqual([]);
    // the walk reaches every family and tier (a rule that always answered 'unknown' would agree too)
    const seen = new Set(names.map((n) => `${classifyChipName(n).family}/${classifyChipName(n).tier}`));
    for (const f of ['apple7', 'apple8', 'apple9', 'apple10', 'unknown']) for (const t of ['base', 'pro', 'max', 'ultra']) expect(seen).toContain(`${f}/${t}`);
  });

  it('emulatedChipName: the same canonical name, or both refuse', () => {
    const diff = names.filter((n) => emulatedTs(n) !== emulatedNative(n));
    expect(diff.map((n) => ({ name: n, ts: emulatedTs(n), native: emulatedNative(n) }))).toEqual([]);
    const accepted = names.filter((n) => !emulatedTs(n).startsWith('throws'));
    expect(new Set(accepted.map(emulatedTs)).size).toBe(20); // M1..M5 × base/Pro/Max/Ultra
    expect(accepted.length).toBeLessThan(names.length);
  });

  it.skipIf(!HOST)('emulatedChip(name) is the info of the device the host runtime opens for that name', () => {
    const diff: unknown[] = [];
    for (const n of names) {
      if (emulatedTs(n).startsWith('throws')) continue;
      const { threadExecutionWidth: _w, ...info } = native.openDevice({ chip: n }).info;
      if (canon(info) !== canon(emulatedChip(n))) diff.push({ name: n, ts: emulatedChip(n), native: info });
    }
    expect(diff).toEqual([]);
  });

  it('non-string names are a typed error, not a crash', () => {
    for (const bad of [undefined, null, 5, {}, Symbol('x')]) {
      expect(() => native.classifyChipName(bad as never)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
      expect(() => native.emulatedChipName(bad as never)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    }
  });
});
