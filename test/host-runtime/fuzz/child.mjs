// The addon boundary fuzz, run as a child process by ../boundary-fuzz.test.ts:
//   node --expose-gc child.mjs <addon.node> <seed> <calls> <trace file>
// (FUZZ_DETAIL=1 also prints the outcomes per target on stderr.)
// Makes <calls> seeded calls across the addon's JS surface; every call must return or throw
// a JS Error (a value a fuzz object throws on purpose counts as returned). Before each call its
// number and name are appended to the trace file (synchronously), so after a crash the test
// names the call that crashed. Prints one JSON summary line at the end.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { makeTargets, NOP_KERNEL } from './targets.mjs';
import { FuzzError, rng } from './values.mjs';

const [addonPath, seedArg, callsArg, tracePath] = process.argv.slice(2);
const native = createRequire(import.meta.url)(addonPath);
const r = rng(Number(seedArg));
const calls = Number(callsArg);
const trace = openSync(tracePath, 'w');

async function handles() {
  const dev = native.openDevice({ chip: 'M5' });
  const lib = await dev.compileLibrary(NOP_KERNEL, { filename: 'fuzz.metal' });
  const libAsan = await dev.compileLibrary(NOP_KERNEL, { filename: 'fuzz.metal', asan: true });
  // a device dropped and collected: its buffer and pipeline live on in the handles below
  let gone = native.openDevice({ chip: 'M3' });
  const freedBuf = gone.buffer(64);
  const freedPipe = (await gone.compileLibrary(NOP_KERNEL, { filename: 'fuzz.metal' })).pipeline('fuzz_nop');
  gone = null;
  globalThis.gc?.();
  return { dev, lib, libAsan, pipe: lib.pipeline('fuzz_nop'), pipeAsan: libAsan.pipeline('fuzz_nop'), buf: dev.buffer(64), buf2: dev.buffer(4096), freedBuf, freedPipe };
}

const h = await handles();
const targets = makeTargets(r, native, h);
const total = targets.reduce((s, t) => s + t[0], 0);
const pickTarget = () => {
  let x = r.int(total);
  for (const t of targets) if ((x -= t[0]) < 0) return t;
  return targets[0];
};

const summary = { calls: 0, returned: 0, threw: 0, codes: {}, byTarget: {}, notErrors: [], known: {} };
const detail = {};
const classify = (e) => {
  if (e instanceof FuzzError) return 'fuzz';
  if (!(e instanceof Error)) return 'not-an-error';
  return typeof e.code === 'string' ? e.code : e.constructor.name;
};
// Calls that crashed, hung or were undefined behaviour before the addon checked them: each
// runs once, first, and its outcome is reported by name.
const sab = new Uint8Array(new SharedArrayBuffer(8)).fill(7);
const gone = new ArrayBuffer(8);
const goneView = new Uint8Array(gone);
structuredClone(gone, { transfer: [gone] });
const KNOWN = {
  'Buffer.read on a Library': () => native.Buffer.prototype.read.call(h.lib),
  'Buffer.write on a Pipeline': () => native.Buffer.prototype.write.call(h.pipe, new Uint8Array(4)),
  'Library.pipeline on a Buffer': () => native.Library.prototype.pipeline.call(h.buf, 'fuzz_nop'),
  'Device.run on a Buffer': () => native.Device.prototype.run.call(h.buf, []),
  'a Library given the Pipeline prototype, as a pipeline': async () => {
    const disguised = Object.setPrototypeOf(await h.dev.compileLibrary(NOP_KERNEL, { filename: 'fuzz.metal' }), native.Pipeline.prototype);
    return h.dev.run([{ pipeline: disguised, grid: [1], threadgroup: [1] }]);
  },
  'an unbalanced kernel source': () => h.dev.compileLibrary('kernel void k(', { filename: 'unbalanced.metal' }),
  'a source ending after kernel void': () => h.dev.compileLibrary('kernel void', { filename: 'cut.metal' }),
  'Buffer.read at NaN': () => h.buf.read(NaN),
  'Buffer.read of NaN bytes': () => h.buf.read(0, NaN),
  'Buffer.write at NaN': () => h.buf.write(new Uint8Array(4), NaN),
  'a buffer beyond memory': () => h.dev.buffer(2 ** 50),
  'an int constant of 1e300': () => h.lib.pipeline('fuzz_nop', [{ index: 0, type: 'int', value: 1e300 }]),
  'an includeDirs entry with NUL': () => h.dev.compileLibrary('kernel void k(', { includeDirs: ['\0'] }),
  'write from a detached view': () => h.buf.write(goneView),
  'write from a SharedArrayBuffer view': () => h.buf.write(sab),
  'write from a SharedArrayBuffer': () => h.buf.write(sab.buffer, 8),
};
for (const [name, call] of Object.entries(KNOWN)) {
  writeSync(trace, `known: ${name}\n`);
  try {
    await call();
    summary.known[name] = 'returned';
  } catch (e) {
    summary.known[name] = classify(e);
  }
}

for (let i = 0; i < calls; i++) {
  const [, name, call] = pickTarget();
  writeSync(trace, `${i} ${name}\n`);
  summary.calls++;
  summary.byTarget[name] = (summary.byTarget[name] ?? 0) + 1;
  let outcome;
  try {
    const v = call();
    if (v && typeof v.then === 'function') await v;
    outcome = 'returned';
  } catch (e) {
    outcome = classify(e);
    if (process.env.FUZZ_DETAIL && !e?.code) detail[`${name}: ${e?.message}`] = 1; // JavaScript's own errors, to review
    if (outcome === 'not-an-error') summary.notErrors.push(`${i} ${name}: ${typeof e} ${String(e)}`);
  }
  detail[name] ??= {};
  detail[name][outcome] = (detail[name][outcome] ?? 0) + 1;
  if (outcome === 'returned') summary.returned++;
  else {
    summary.threw++;
    summary.codes[outcome] = (summary.codes[outcome] ?? 0) + 1;
  }
}

// the device still works: a clean dispatch and a buffer round trip
writeSync(trace, 'after: clean run\n');
const b = h.dev.buffer(16);
b.write(new Float32Array([1, 2, 3, 4]));
const p = new Uint8Array(8);
await h.dev.run([{ pipeline: h.pipe, buffers: [{ index: 0, buffer: b }, { index: 1, buffer: b }], bytes: [{ index: 2, data: p }], threadgroupMemory: [{ index: 0, byteLength: 16 }], grid: [2, 1, 1], threadgroup: [32, 1, 1] }]);
summary.afterwards = Array.from(new Float32Array(b.read().buffer));
closeSync(trace);
console.log(JSON.stringify(summary));
if (process.env.FUZZ_DETAIL) console.error(JSON.stringify(detail, null, 1));
