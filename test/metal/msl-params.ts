import { layoutOf, type ParamLayout } from '../../src/backend/params.js';
import type { MetalDispatch } from '../../src/backend/metal/launch.js';
import { mslSource } from '../../src/backend/metal/msl.js';

// Checks the MSL side of "Params once": every `constant X& p [[buffer(i)]]` a recorded
// dispatch fills from a packParams layout must be a struct of the same 4-byte fields, in the
// same order, with the same names and types.

const MSL_TYPE: Record<string, string> = { uint: 'u32', int: 'i32', float: 'f32' };

/** The library's text with its quoted includes pasted in (paths relative to the including file, then msl/). */
export function expandIncludes(path: string, seen = new Set<string>()): string {
  if (seen.has(path)) return '';
  seen.add(path);
  const src = mslSource(path);
  if (src === undefined) throw new Error(`no MSL source ${path}`);
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
  return src.replace(/^#include\s+"([^"]+)"/gm, (_, inc: string) => {
    const rel = mslSource(dir + inc) !== undefined ? dir + inc : inc;
    return expandIncludes(rel, seen);
  });
}

const stripComments = (s: string) => s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

/** Every `struct Name { … };` of a source, as its (name, type) fields; a non-scalar field is kept as its raw type. */
export function structsOf(src: string): Map<string, [string, string][]> {
  const out = new Map<string, [string, string][]>();
  for (const m of stripComments(src).matchAll(/struct\s+(\w+)\s*\{([^}]*)\}\s*;/g)) {
    const fields: [string, string][] = [];
    for (const decl of m[2].split(';').map((d) => d.trim()).filter(Boolean)) {
      const f = /^(\w+)\s+(\w+)$/.exec(decl);
      fields.push(f ? [f[2], MSL_TYPE[f[1]] ?? f[1]] : [decl, '?']);
    }
    out.set(m[1], fields);
  }
  return out;
}

/** The struct types bound as `constant X& … [[buffer(index)]]` anywhere in the source. */
export function paramStructsAt(src: string, index: number): Set<string> {
  const re = new RegExp(`constant\\s+(\\w+)\\s*&\\s*\\w+\\s*\\[\\[\\s*buffer\\(\\s*${index}\\s*\\)`, 'g');
  return new Set([...stripComments(src).matchAll(re)].map((m) => m[1]));
}

export interface ParamsCheck {
  /** `library buffer(i) Struct` of every pair compared. */
  checked: Set<string>;
  /** Human-readable mismatches (empty when every struct agrees). */
  problems: string[];
}

export function checkMslParams(trace: readonly MetalDispatch[]): ParamsCheck {
  const checked = new Set<string>();
  const problems: string[] = [];
  for (const d of trace) {
    for (const b of d.bytes ?? []) {
      const layout: ParamLayout | undefined = layoutOf.get(b.data);
      if (!layout) continue; // raw bytes (tables), not a Params block
      const src = expandIncludes(d.library);
      const names = [...paramStructsAt(src, b.index)];
      const where = `${d.library} ${d.fn} buffer(${b.index})`;
      if (names.length !== 1) {
        problems.push(`${where}: expected one constant Params& struct at this index, found ${names.join(', ') || 'none'}`);
        continue;
      }
      const fields = structsOf(src).get(names[0]);
      const want = layout.map(([n, t]) => [n, t]);
      if (JSON.stringify(fields) !== JSON.stringify(want)) problems.push(`${where}: struct ${names[0]} ${JSON.stringify(fields)} ≠ launcher layout ${JSON.stringify(want)}`);
      checked.add(`${d.library} ${names[0]}`);
    }
  }
  return { checked, problems: [...new Set(problems)] };
}
