// Shared helpers of the native addon tests (test/native). The addon must be built
// (`node scripts/build-native.mjs`); on Linux a missing addon fails these tests.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const mslTestDir = join(root, 'msl', 'test');

export interface NativeBuffer {
  readonly byteLength: number;
  write(data: ArrayBufferView | ArrayBuffer, byteOffset?: number): void;
  read(byteOffset?: number, byteLength?: number): Uint8Array;
}
export interface NativePipeline {
  readonly name: string;
  readonly maxTotalThreadsPerThreadgroup: number;
  readonly threadExecutionWidth: number;
}
export type ConstantType = 'bool' | 'int' | 'uint' | 'float' | 'half' | 'short' | 'ushort';
export interface NativeLibrary {
  readonly functionNames: string[];
  readonly cached: boolean;
  readonly asan: boolean;
  pipeline(name: string, constants?: Array<{ index: number; type: ConstantType; value: number | boolean }>): NativePipeline;
}
export interface Dispatch {
  pipeline: NativePipeline;
  buffers?: Array<{ index: number; buffer: NativeBuffer; offset?: number }>;
  bytes?: Array<{ index: number; data: Uint8Array }>;
  threadgroupMemory?: Array<{ index: number; byteLength: number }>;
  grid: [number, number, number];
  threadgroup: [number, number, number];
}
export interface DeviceInfo {
  name: string;
  family: 'apple7' | 'apple8' | 'apple9' | 'apple10' | 'unknown';
  tier: 'base' | 'pro' | 'max' | 'ultra';
  hasNax: boolean;
  metal4: boolean;
  maxThreadsPerThreadgroup: number;
  threadExecutionWidth: number;
  host: boolean;
}
export interface NativeDevice {
  readonly info: DeviceInfo;
  compileLibrary(
    source: string,
    options?: { asan?: boolean; defines?: Record<string, string>; includeDirs?: string[]; filename?: string },
  ): Promise<NativeLibrary>;
  buffer(byteLength: number): NativeBuffer;
  run(dispatches: Dispatch[]): Promise<{ gpuStartNs: number; gpuEndNs: number }>;
}
export interface NativeAddon {
  platform: 'host' | 'metal';
  openDevice(options?: { chip?: string }): NativeDevice;
}

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
