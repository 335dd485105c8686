// Values for the addon boundary fuzz (see ../boundary-fuzz.test.ts): a seeded generator and
// pools of wrong, odd and edge-case JS values. Plain JavaScript: it runs in a child process
// under plain `node`, so a crash of the addon is an exit signal, not a dead test worker.

/** xorshift32: the same seed, the same calls. */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (a) => a[int(a.length)];
  return { next, int, pick, chance: (p) => next() < p };
}

/** An error a fuzz value throws on purpose (a getter, a Proxy trap, toString). */
export class FuzzError extends Error {}

/** An ArrayBuffer, a Uint8Array and a DataView on it, after its memory was transferred away (detached). */
export function detached(n = 16) {
  const ab = new ArrayBuffer(n);
  const views = [new Uint8Array(ab), new Float32Array(ab, 4, 2), new DataView(ab, 2)];
  structuredClone(ab, { transfer: [ab] });
  return [ab, ...views];
}

/** Numbers: edge cases of every kind (negative, huge, fractional, non-finite). */
export const NUMBERS = [0, -0, 1, 2, 3, 4, 7, 8, 16, 30, 31, 32, -1, -16, 0.5, 1.5, 15.999, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, -(2 ** 53), 1e300, Number.MIN_VALUE, Number.EPSILON, 4096, 4097, 32768, 32769, 1025, 2048];

/** Byte sources of every shape: views on detached, shared and resizable buffers, odd offsets. */
export function byteSources(r) {
  const ab = new ArrayBuffer(64);
  const sab = new SharedArrayBuffer(64);
  const resizable = new ArrayBuffer(32, { maxByteLength: 64 });
  const tracking = new Uint8Array(resizable);
  const fixed = new Uint32Array(resizable, 8, 4);
  resizable.resize(r.pick([0, 8, 16, 64]));
  return [
    new Uint8Array(8), new Uint8Array(0), new Float32Array(4), new Float64Array(ab, 8, 3), new Int16Array(ab, 2, 5),
    new BigInt64Array(2), new Uint8ClampedArray(5), new DataView(ab, 3, 9), new DataView(sab, 1), ab, sab,
    new Uint8Array(sab, 4, 8), new Float32Array(sab), ...detached(),
    new Uint8Array(new ArrayBuffer(8192)), new Uint8Array(4097), tracking, fixed, resizable, Buffer.from('abcdefgh'),
  ];
}

/** Objects that are not what they claim, throw when touched, or are empty. */
export function oddObjects(native, handles) {
  const throwing = () => {
    throw new FuzzError('getter');
  };
  const proxy = new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing });
  const o = [
    {}, [], [1, 2, 3], [[]], Object.create(null), Object.freeze({ index: 0 }), new Date(0), /x/, new Map(), Promise.resolve(),
    proxy, { get index() { throw new FuzzError('index'); } }, { toString: throwing, valueOf: throwing },
    { [Symbol.toPrimitive]: throwing }, () => 1, class {}, Symbol('s'), 10n, true, false, null, undefined, '', 'x', '16', 'M5', 'a'.repeat(10000),
  ];
  // wrappers of the wrong class, and objects made to look like wrappers
  for (const c of ['Buffer', 'Library', 'Pipeline', 'Device']) {
    o.push(Object.create(native[c].prototype));
    o.push(Object.assign(Object.create(native[c].prototype), handles));
  }
  o.push(...Object.values(handles));
  return o;
}
