import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MSL } from '../../generated/kernels.js';

let dir: string | undefined;

/**
 * The embedded MSL sources (src/generated/kernels.ts) written once to a directory named
 * after their hash, so `#include "common/x.h"` resolves to exactly the embedded text (the
 * bundle never reads msl/ from the package at run time). Safe across processes: each writes
 * a private copy and renames it into place; the first rename wins.
 */
export function mslIncludeDir(): string {
  if (dir && existsSync(join(dir, '.complete'))) return dir;
  const h = createHash('sha256');
  for (const k of Object.keys(MSL).sort()) h.update(k).update('\0').update(MSL[k]).update('\0');
  const base = process.env.PMETAL_MSL_DIR ?? tmpdir();
  const target = join(base, `pmetal-msl-${h.digest('hex').slice(0, 16)}`);
  if (!existsSync(join(target, '.complete'))) {
    mkdirSync(base, { recursive: true });
    const tmp = mkdtempSync(join(base, 'pmetal-msl-tmp-'));
    for (const [rel, text] of Object.entries(MSL)) {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      writeFileSync(join(tmp, rel), text);
    }
    writeFileSync(join(tmp, '.complete'), '');
    try {
      renameSync(tmp, target);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(join(target, '.complete'))) throw new Error(`[metal] cannot write the MSL sources to ${target}`);
    }
  }
  dir = target;
  return target;
}

export function mslSource(path: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(MSL, path) ? MSL[path] : undefined;
}
