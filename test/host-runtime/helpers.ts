// Shared helpers of the native addon tests (test/host-runtime). The addon must be built
// (`node scripts/build-native.mjs`); on Linux a missing addon fails these tests.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const mslTestDir = join(root, 'msl', 'test');

// The addon's surface is typed once, in the library (src/backend/metal/addon.ts).
export type {
  NativeAddon,
  NativeBuffer,
  NativeDevice,
  NativeLibrary,
  NativePipeline,
  NativeConstantType as ConstantType,
  NativeDispatch as Dispatch,
  NativeDeviceInfo as DeviceInfo,
} from '../../src/backend/metal/addon.js';
import type { NativeAddon, NativeBuffer, NativeDevice } from '../../src/backend/metal/addon.js';

export const addonPath = join(root, 'native', 'build', 'Release', 'pmetal_native.node');

export function loadNative(): NativeAddon {
  const require = createRequire(import.meta.url);
  try {
    return require(addonPath) as NativeAddon;
  } catch (e) {
    throw new Error(
      `the native addon is not built (${addonPath}): run \`node scripts/build-native.mjs --verbose\`\n${String(e)}`,
    );
  }
}

export function mslSource(name: string): string {
  return readFileSync(join(mslTestDir, name), 'utf8');
}

export async function compileTest(dev: NativeDevice, name: string, options: { asan?: boolean; defines?: Record<string, string> } = {}) {
  return dev.compileLibrary(mslSource(name), { filename: name, includeDirs: [mslTestDir], ...options });
}

export function f32Buffer(dev: NativeDevice, data: ArrayLike<number>): NativeBuffer {
  const b = dev.buffer(data.length * 4);
  b.write(new Float32Array(Array.from(data)));
  return b;
}
export function i32Buffer(dev: NativeDevice, data: ArrayLike<number>): NativeBuffer {
  const b = dev.buffer(data.length * 4);
  b.write(new Int32Array(Array.from(data)));
  return b;
}
export function readF32(b: NativeBuffer): Float32Array {
  const u = b.read();
  return new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4);
}
export function readI32(b: NativeBuffer): Int32Array {
  const u = b.read();
  return new Int32Array(u.buffer, u.byteOffset, u.byteLength / 4);
}
export function readU32(b: NativeBuffer): Uint32Array {
  const u = b.read();
  return new Uint32Array(u.buffer, u.byteOffset, u.byteLength / 4);
}
export function u32Bytes(...v: number[]): Uint8Array {
  return new Uint8Array(new Uint32Array(v).buffer);
}
/** deterministic pseudo-random numbers */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
export async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<Error & { code: string }> {
  try {
    if (typeof p === 'function') await p();
    else await p;
  } catch (e) {
    const err = e as Error & { code: string };
    if (err.code !== code) throw new Error(`expected error code ${code}, got ${String(err.code)}: ${err.message}`);
    return err;
  }
  throw new Error(`expected a ${code} error, but it succeeded`);
}
