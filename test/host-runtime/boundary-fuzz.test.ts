// The addon's JS boundary under fuzz: every exported function, constructor, method and getter
// with wrong types, wrong arity, negative/huge/NaN numbers, detached, shared and resizable
// buffers, wrong-length views, objects missing fields or throwing from getters, wrong `this`,
// foreign and freed handles. Each call must return or throw a JS error — never crash, hang or
// corrupt the device. The fuzz runs in a child process (fuzz/child.mjs) so a crash is this
// test failing with the exit signal and the call that caused it, not a dead test worker.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addonPath, root } from './helpers.js';

const CHILD = join(root, 'test', 'host-runtime', 'fuzz', 'child.mjs');
const CALLS = 5000;
const dir = mkdtempSync(join(tmpdir(), 'pmetal-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Summary {
  calls: number;
  returned: number;
  threw: number;
  codes: Record<string, number>;
  byTarget: Record<string, number>;
  notErrors: string[];
  known: Record<string, string>;
  afterwards: number[];
}

function fuzz(seed: number): Summary {
  const trace = join(dir, `trace-${seed}.txt`);
  const r = spawnSync(process.execPath, ['--expose-gc', CHILD, addonPath, String(seed), String(CALLS), trace], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  const last = (() => {
    try {
      return readFileSync(trace, 'utf8').trim().split('\n').pop();
    } catch {
      return '(no trace)';
    }
  })();
  const why = `seed ${seed}: the fuzz child ${r.signal ? `died by ${r.signal}` : `exited ${r.status}`}${r.error ? ` (${r.error.message})` : ''} during call "${last}"\n${r.stderr.slice(-3000)}`;
  expect(r.signal, why).toBeNull();
  expect(r.status, why).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Summary;
}

describe('addon boundary fuzz (child process, fixed seeds)', () => {
  it.each([1, 2])(`seed %i: ${CALLS} calls, each returns or throws a JS error; the device works afterwards`, (seed) => {
    const s = fuzz(seed);
    expect(s.calls).toBe(CALLS);
    expect(s.notErrors).toEqual([]);
    expect(s.afterwards).toEqual([1, 2, 3, 4]);
    // the calls reached every target and the addon's own checks, not only JavaScript's
    for (const t of ['openDevice', 'classifyChipName', 'emulatedChipName', 'new Wrapper', 'device.buffer', 'buffer.write', 'buffer.read', 'library.pipeline', 'device.compileLibrary', 'device.run', 'method on a wrong this', "a freed device's handles"]) {
      expect(s.byTarget[t], t).toBeGreaterThan(0);
    }
    expect(s.codes.BAD_ARGUMENT).toBeGreaterThan(1000);
    expect(s.codes.OUT_OF_RANGE).toBeGreaterThan(200);
    expect(s.returned).toBeGreaterThan(500);
  });

  it('calls that crashed, hung or were undefined behaviour are typed errors; SharedArrayBuffer data is written', () => {
    expect(fuzz(3).known).toEqual({
      'Buffer.read on a Library': 'BAD_ARGUMENT',
      'Buffer.write on a Pipeline': 'BAD_ARGUMENT',
      'Library.pipeline on a Buffer': 'BAD_ARGUMENT',
      'Device.run on a Buffer': 'BAD_ARGUMENT',
      'a Library given the Pipeline prototype, as a pipeline': 'BAD_ARGUMENT',
      'an unbalanced kernel source': 'MSL_COMPILE',
      'a source ending after kernel void': 'MSL_COMPILE',
      'Buffer.read at NaN': 'BAD_ARGUMENT',
      'Buffer.read of NaN bytes': 'BAD_ARGUMENT',
      'Buffer.write at NaN': 'BAD_ARGUMENT',
      'a buffer beyond memory': 'OUT_OF_RANGE',
      'an int constant of 1e300': 'OUT_OF_RANGE',
      'an includeDirs entry with NUL': 'BAD_ARGUMENT',
      'write from a detached view': 'BAD_ARGUMENT',
      'write from a SharedArrayBuffer view': 'returned',
      'write from a SharedArrayBuffer': 'returned',
    });
  });
});
