// grid() (launchers' 2-D workgroup grids): within the per-dimension limit, covering every
// workgroup, and balanced — fewer than y idle workgroups, where a full first row once left up
// to 65534 idle in the last.
import { describe, expect, it } from 'vitest';
import { grid, type LaunchContext } from '../../src/backend/webgpu/launch.js';

const ctx = (max: number) => ({ limits: { maxComputeWorkgroupsPerDimension: max } }) as unknown as LaunchContext;

describe('grid', () => {
  it.each([0, 1, 2, 255, 65535, 65536, 65537, 131070, 131072, 196606, 1_000_003, 65535 * 65535])('%i workgroups: covered, within limits, fewer idle than rows', (n) => {
    const max = 65535;
    const g = grid(ctx(max), n);
    const [x, y] = g.workgroups;
    expect(g.groupsX).toBe(x);
    expect(x).toBeGreaterThanOrEqual(1);
    expect(x).toBeLessThanOrEqual(max);
    expect(y).toBeLessThanOrEqual(max);
    expect(x * y).toBeGreaterThanOrEqual(Math.max(1, n));
    expect(x * y - Math.max(1, n)).toBeLessThan(y);
  });
  it('a small limit still splits evenly', () => {
    expect(grid(ctx(10), 11).workgroups).toEqual([6, 2]);
    expect(grid(ctx(10), 100).workgroups).toEqual([10, 10]);
  });
});
