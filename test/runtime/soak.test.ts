import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { SoakResult } from '../../bench/soak.js';

const run = promisify(execFile);

/**
 * `pmetal soak`, short, in a child process (a clean heap, its own fds and threads). A short
 * run cannot use the command's limits (they are for 100,000 dispatches: V8 still compiles hot
 * code during the first few thousand, ~70 heap bytes a dispatch here), so this checks against
 * a third of the leaks it guards against: ~700 heap bytes per read (a Promise.race against
 * device loss) and a file descriptor plus 5 threads per create/dispose (the uncaptured-error
 * handler kept the Dawn instance; backends now share one instance per set of flags, so
 * dispose.test.ts checks that handler directly). RSS is left to the long run: the allocator
 * is too noisy.
 */
describe.skipIf(!existsSync('dist/cli.js') || process.platform !== 'linux')('pmetal soak (short)', () => {
  it('dispatches with reads and create/dispose cycles leave heap, fds and threads flat', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pmetal-soak-')), 'soak.json');
    await run(process.execPath, ['dist/cli.js', 'soak', '--dispatches', '2000', '--cycles', '24', '--json', file], { maxBuffer: 16 << 20 }).catch((e: { code?: number }) => {
      // Exit 1 is "a long-run limit exceeded": judged below with the short-run limits.
      if (e.code !== 1) throw e;
    });
    const r = JSON.parse(readFileSync(file, 'utf8')) as SoakResult;
    const slope = (phase: string, metric: string) => r.trends.find((t) => t.phase === phase && t.metric === metric)!.perThousand;
    expect(r.samples.filter((s) => s.phase === 'dispatches').length).toBeGreaterThan(10);
    expect(slope('dispatches', 'heap'), 'heap bytes per 1000 dispatches').toBeLessThan(700_000 / 3);
    expect(slope('dispatches', 'fds')).toBeLessThan(0.5);
    expect(slope('dispatches', 'threads')).toBeLessThan(0.5);
    expect(slope('cycles', 'fds'), 'fds per 1000 cycles').toBeLessThan(1000 / 3);
    expect(slope('cycles', 'threads'), 'threads per 1000 cycles').toBeLessThan(5000 / 3);
  });
});
