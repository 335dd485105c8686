import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendUnavailableError } from '../../errors.js';

/**
 * The Node-API addon in native/ (pmetal_native.node): Metal.framework on macOS, the MSL host
 * runtime on Linux. Only createBackend('metal') loads it — importing the package does not.
 */
export interface NativeBuffer {
  readonly byteLength: number;
  /** data: any TypedArray or DataView (also on a SharedArrayBuffer), an ArrayBuffer or a SharedArrayBuffer. */
  write(data: ArrayBufferView | ArrayBufferLike, byteOffset?: number): void;
  read(byteOffset?: number, byteLength?: number): Uint8Array;
}
export interface NativePipeline {
  readonly name: string;
  readonly maxTotalThreadsPerThreadgroup: number;
  readonly threadExecutionWidth: number;
}
export type NativeConstantType = 'bool' | 'int' | 'uint' | 'float' | 'half' | 'short' | 'ushort';
export interface NativeLibrary {
  readonly functionNames: string[];
  readonly cached: boolean;
  readonly asan: boolean;
  pipeline(name: string, constants?: Array<{ index: number; type: NativeConstantType; value: number | boolean }>): NativePipeline;
}
export interface NativeDispatch {
  pipeline: NativePipeline;
  /**
   * [[buffer(index)]] bound to `byteLength` bytes of `buffer` from `offset` (default: the rest
   * of the buffer) — what the kernel may touch. The addon checks it lies inside the buffer.
   */
  buffers?: Array<{ index: number; buffer: NativeBuffer; offset?: number; byteLength?: number }>;
  bytes?: Array<{ index: number; data: Uint8Array }>;
  threadgroupMemory?: Array<{ index: number; byteLength: number }>;
  grid: [number, number, number];
  threadgroup: [number, number, number];
}
export interface NativeDeviceInfo {
  name: string;
  family: 'apple7' | 'apple8' | 'apple9' | 'apple10' | 'unknown';
  tier: 'base' | 'pro' | 'max' | 'ultra';
  hasNax: boolean;
  metal4: boolean;
  maxThreadsPerThreadgroup: number;
  threadExecutionWidth: number;
  host: boolean;
}
export interface NativeCompileOptions {
  asan?: boolean;
  defines?: Record<string, string>;
  includeDirs?: string[];
  filename?: string;
}
export interface NativeDevice {
  readonly info: NativeDeviceInfo;
  compileLibrary(source: string, options?: NativeCompileOptions): Promise<NativeLibrary>;
  buffer(byteLength: number): NativeBuffer;
  run(dispatches: NativeDispatch[]): Promise<{ gpuStartNs: number; gpuEndNs: number }>;
}
export interface NativeAddon {
  /** 'metal' on macOS (Metal.framework), 'host' on Linux (the MSL host runtime). */
  platform: 'host' | 'metal';
  openDevice(options?: { chip?: string }): NativeDevice;
  /** The chip model of native/addon/chip.cc (the same rule as chip.ts; a test keeps them equal). */
  classifyChipName(name: string): { family: NativeDeviceInfo['family']; tier: NativeDeviceInfo['tier']; hasNax: boolean };
  /** The canonical name of a chip the host runtime emulates ('m5max' → 'M5 Max'); BAD_ARGUMENT otherwise. */
  emulatedChipName(name: string): string;
}

/**
 * An error thrown by the addon: a stable `code` and a message. BAD_ARGUMENT: a wrong type, a
 * missing or unknown thing; OUT_OF_RANGE: a number outside what is allowed (an index, offset,
 * length, size); MSL_COMPILE, NO_SUCH_FUNCTION, DIVERGENT_BARRIER, SIMD_LANE_MISSING,
 * OUT_OF_BOUNDS (a kernel touched memory it was not given), UNSUPPORTED.
 */
export interface NativeError extends Error {
  code?: string;
}

/** The package root: the nearest directory above this module whose package.json is pmetal's. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'pmetal') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
    dir = up;
  }
}

/**
 * Where the loader looks, in order: the explicit path (the `nativeBinding` option), else
 * $PMETAL_NATIVE, else native/build/Release, native/build/Debug. A path the user named (option
 * or variable) is the only candidate: a build the user chose is never silently replaced by
 * another one; the option wins over the variable.
 */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env, root = packageRoot(), explicit?: string): string[] {
  if (explicit) return [resolve(explicit)];
  if (env.PMETAL_NATIVE) return [resolve(env.PMETAL_NATIVE)];
  const out: string[] = [];
  out.push(join(root, 'native', 'build', 'Release', 'pmetal_native.node'));
  out.push(join(root, 'native', 'build', 'Debug', 'pmetal_native.node'));
  return out;
}

/**
 * How to get a working addon on this platform — for whoever installed the package (the same
 * words scripts/build-native.mjs prints when the install could not build it).
 */
export function addonFix(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') {
    return 'install the Xcode command-line tools (`xcode-select --install`), then rebuild the addon with `npm rebuild pmetal` (in a checkout of pmetal: `node scripts/build-native.mjs --verbose` shows the compiler output)';
  }
  if (platform === 'linux') {
    return 'install a C++ toolchain for node-gyp (Debian/Ubuntu: `sudo apt install python3 make g++`) and clang 16 or newer for the MSL host runtime (Debian 12: `sudo apt install -t bookworm-backports clang-19 libclang-rt-19-dev llvm-19`), then rebuild the addon with `npm rebuild pmetal` (in a checkout of pmetal: `bash scripts/setup.sh`, or `node scripts/build-native.mjs --verbose` to see the compiler output)';
  }
  return `the metal backend runs on macOS (Metal) and Linux (the MSL host runtime), not on ${platform}; use the cpu or webgpu backend`;
}

let cached: NativeAddon | undefined;

/**
 * Loads the addon from the first candidate that loads; when none does, a
 * BackendUnavailableError naming the platform, every attempt and its error, and the fix.
 * `nativeBinding` (createBackend('metal', { metal: { nativeBinding } })) is the only candidate
 * when given, then $PMETAL_NATIVE; only the default locations' addon is cached.
 */
export function loadAddon(env: NodeJS.ProcessEnv = process.env, nativeBinding?: string): NativeAddon {
  const named = nativeBinding ? 'nativeBinding' : env.PMETAL_NATIVE ? '$PMETAL_NATIVE' : undefined;
  if (cached && !named) return cached;
  const require = createRequire(import.meta.url);
  const attempts: string[] = [];
  const candidates = addonCandidates(env, undefined, nativeBinding);
  for (const path of candidates) {
    if (!existsSync(path)) {
      attempts.push(`${path}: not found${named ? ` (${named})` : ''}`);
      continue;
    }
    try {
      const mod = require(path) as NativeAddon;
      if (typeof mod?.openDevice !== 'function') throw new Error('not the pmetal addon (no openDevice export)');
      if (!named) cached = mod;
      return mod;
    } catch (e) {
      attempts.push(`${path}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}${named ? ` (${named})` : ''}`);
    }
  }
  const platform = `${process.platform}-${process.arch}`;
  const fixNamed =
    named === 'nativeBinding'
      ? 'point the nativeBinding option at a built pmetal_native.node or leave it out; or '
      : named
        ? 'point PMETAL_NATIVE at a built pmetal_native.node or unset it; or '
        : '';
  throw new BackendUnavailableError(
    `[metal] the native addon (pmetal_native.node) did not load on ${platform}. Tried:\n` +
      attempts.map((a) => `  - ${a}`).join('\n') +
      `\nFix: ${fixNamed}${addonFix()}.`,
  );
}
