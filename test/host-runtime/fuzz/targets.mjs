// The addon boundary fuzz's calls: every exported function, constructor, method and getter,
// called with wrong types, wrong arity, edge numbers, odd byte sources, wrong `this`, foreign
// and freed handles, and dispatch objects with one field broken at a time.
import { NUMBERS, byteSources, oddObjects } from './values.mjs';

/** Reads only its constant parameter and writes nothing: any dispatch the addon accepts is safe to run. */
export const NOP_KERNEL = `#include <metal_stdlib>
using namespace metal;
struct Params { uint n; float scale; };
kernel void fuzz_nop(device const float* x [[buffer(0)]], device float* y [[buffer(1)]], constant Params& p [[buffer(2)]],
                     threadgroup float* scratch [[threadgroup(0)]], uint gid [[thread_position_in_grid]]) {
  volatile uint n = p.n;
  (void)n;
}
`;

/**
 * Grid values: small valid ones and invalid ones. A valid huge grid (2^31 threadgroups) is a
 * legitimate dispatch that would only take hours; it is not a boundary case.
 */
const GRID = [0, 1, 2, 3, -1, NaN, 1.5, 2 ** 32, 2 ** 53, Infinity, -Infinity, '1', null, undefined, {}, [], 10n];
/** Buffer sizes: small valid ones and ones beyond any device (a valid 2 GiB buffer is not a boundary case). */
const SIZES = [0, 1, 4, 16, 64, 4096, -1, -0, 0.5, NaN, Infinity, 2 ** 53, 2 ** 64, 1e300, 1e13, '16', null, undefined, {}, 10n];

export function makeTargets(r, native, h) {
  const any = () => (r.chance(0.5) ? r.pick(NUMBERS) : r.chance(0.5) ? r.pick(byteSources(r)) : r.pick(oddObjects(native, h)));
  const num = () => (r.chance(0.8) ? r.pick(NUMBERS) : any());
  const args = (n = r.int(5)) => Array.from({ length: n }, any);
  const wrongThis = () => r.pick([...oddObjects(native, h), h.buf, h.lib, h.pipe, h.dev]);

  const params = () => {
    const p = new Uint8Array(r.pick([8, 8, 8, 4, 0, 12, 4096, 4097]));
    if (p.length >= 4) new DataView(p.buffer).setUint32(0, r.int(2 ** 32), true);
    return p;
  };
  const baseDispatch = () => ({
    pipeline: r.chance(0.05) ? h.pipeAsan : r.chance(0.1) ? h.freedPipe : h.pipe,
    buffers: [{ index: 0, buffer: h.buf }, { index: 1, buffer: r.chance(0.1) ? h.freedBuf : h.buf2 }],
    bytes: [{ index: 2, data: params() }],
    threadgroupMemory: [{ index: 0, byteLength: 16 }],
    grid: [1, 1, 1],
    threadgroup: [4, 1, 1],
  });
  const mutate = (d) => {
    const k = r.int(12);
    const list = (key) => (Array.isArray(d[key]) ? d[key] : []);
    if (k === 0) d[r.pick(['pipeline', 'buffers', 'bytes', 'threadgroupMemory', 'threadgroup'])] = any();
    else if (k === 1) delete d[r.pick(['pipeline', 'buffers', 'bytes', 'threadgroupMemory', 'grid', 'threadgroup'])];
    else if (k === 2) d.grid = r.chance(0.3) ? r.pick(GRID) : [r.pick(GRID), r.pick(GRID), r.pick(GRID)].slice(0, 1 + r.int(4));
    else if (k === 3) d.threadgroup = [num(), num(), num()].slice(0, r.int(5));
    else if (k === 4 && list('buffers').length) list('buffers')[r.int(list('buffers').length)][r.pick(['index', 'offset', 'byteLength'])] = num();
    else if (k === 5 && list('buffers').length) list('buffers')[r.int(list('buffers').length)].buffer = any();
    else if (k === 6) list('buffers').push(r.chance(0.5) ? { index: num(), buffer: h.buf } : any());
    else if (k === 7 && list('bytes').length) list('bytes')[0][r.pick(['index', 'data'])] = r.chance(0.5) ? r.pick(byteSources(r)) : any();
    else if (k === 8) list('threadgroupMemory').push({ index: num(), byteLength: num() });
    else if (k === 9 && list('threadgroupMemory').length) list('threadgroupMemory')[0].byteLength = num();
    else if (k === 10 && list('buffers').length) delete list('buffers')[0][r.pick(['index', 'buffer', 'offset'])];
    else d.pipeline = r.pick([h.lib, h.buf, h.dev, Object.create(native.Pipeline.prototype), h.pipe]);
    return d;
  };
  const dispatches = () => {
    const n = r.pick([0, 1, 1, 1, 2, 3]);
    const ds = Array.from({ length: n }, () => {
      const d = baseDispatch();
      for (let m = r.int(4); m > 0; m--) mutate(d);
      return d;
    });
    return r.chance(0.05) ? any() : ds;
  };
  const constants = () =>
    r.chance(0.3)
      ? any()
      : Array.from({ length: r.int(4) }, () =>
          r.chance(0.2) ? any() : { index: num(), type: r.pick(['bool', 'int', 'uint', 'float', 'half', 'short', 'ushort', 'long', '', any()]), value: r.chance(0.7) ? num() : any() },
        );
  const compileOptions = () =>
    r.pick([
      undefined, any(), { asan: any() }, { filename: any() }, { filename: r.pick(['', '.', '..', '/', 'a/b/../../c.metal', 'x\0y.metal', 'ok.metal']) },
      { defines: r.pick([any(), { '': '1' }, { 'A B': '1' }, { '-o': 'x' }, { A: any() }, { A: 'x\ny' }, { A: '\0' }]) },
      { includeDirs: r.pick([any(), [''], ['\0'], [any()], ['/nonexistent']]) },
    ]);
  const proto = (c, m) => native[c].prototype[m];

  // [weight, name, call]
  return [
    [3, 'openDevice', () => native.openDevice(...(r.chance(0.5) ? [{ chip: r.chance(0.5) ? r.pick(['M5', 'm3 pro', 'M9', '', 'A17']) : any() }] : args()))],
    [2, 'classifyChipName', () => native.classifyChipName(...args())],
    [2, 'emulatedChipName', () => native.emulatedChipName(...args())],
    [2, 'new Wrapper', () => new native[r.pick(['Buffer', 'Library', 'Pipeline', 'Device'])](...args())],
    [1, 'Wrapper()', () => native[r.pick(['Buffer', 'Library', 'Pipeline', 'Device'])](...args())],
    [6, 'device.buffer', () => h.dev.buffer(...(r.chance(0.7) ? [r.pick(SIZES)] : args()))],
    [12, 'buffer.write', () => r.pick([h.buf, h.buf2, h.freedBuf]).write(...(r.chance(0.7) ? [r.pick(byteSources(r)), num()].slice(0, 1 + r.int(2)) : args()))],
    [8, 'buffer.read', () => r.pick([h.buf, h.buf2, h.freedBuf]).read(...(r.chance(0.7) ? [num(), num()].slice(0, r.int(3)) : args()))],
    [8, 'library.pipeline', () => r.pick([h.lib, h.libAsan]).pipeline(...(r.chance(0.7) ? [r.pick(['fuzz_nop', 'nope', '', any()]), constants()] : args()))],
    [1, 'device.compileLibrary', () => h.dev.compileLibrary(...(r.chance(0.8) ? [r.chance(0.7) ? any() : r.pick(['', '#error x\n', 'kernel void k(', NOP_KERNEL]), compileOptions()] : args()))],
    [25, 'device.run', () => h.dev.run(...(r.chance(0.9) ? [dispatches()] : args()))],
    [10, 'method on a wrong this', () => {
      const [c, m] = r.pick([['Buffer', 'write'], ['Buffer', 'read'], ['Library', 'pipeline'], ['Device', 'buffer'], ['Device', 'compileLibrary'], ['Device', 'run']]);
      return proto(c, m).call(wrongThis(), ...args(r.int(3)));
    }],
    [2, 'a freed device\'s handles', () => h.dev.run([{ ...baseDispatch(), pipeline: h.freedPipe, buffers: [{ index: 0, buffer: h.freedBuf }, { index: 1, buffer: h.buf }] }])],
  ];
}
