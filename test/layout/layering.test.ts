import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The dependency direction of the tree, one way: cli/ → bench/ → conformance/ → src/.
// src/ (the library) imports none of the others; conformance/ no bench/ or cli/; bench/ no cli/.
const root = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
const ORDER = ['src', 'conformance', 'bench', 'cli'];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative import specifiers of a file (static, dynamic and re-exports). */
function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
}

describe('layering: cli → bench → conformance → src', () => {
  it('no folder imports one above it', () => {
    const bad: string[] = [];
    for (const [rank, top] of ORDER.entries()) {
      for (const f of files(join(root, top))) {
        for (const spec of imports(f)) {
          const target = relative(root, resolve(dirname(f), spec)).split('/')[0];
          const tRank = ORDER.indexOf(target);
          if (tRank > rank) bad.push(`${relative(root, f)} imports ${spec} (${target}/ sits above ${top}/)`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});
