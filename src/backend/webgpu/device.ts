import { BackendUnavailableError } from '../../errors.js';
import { parseOptions } from '../../ops/check.js';
import { webgpuOptions, type WebGpuOptions } from './options.js';

export { webgpuOptions, type WebGpuOptions } from './options.js';

/** Optional features pmetal's tiers use, requested whenever the adapter offers them. */
export const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix'] as const;

export interface OpenedDevice {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  /** Adapter description for reports. */
  name: string;
  features: Set<string>;
  limits: GPUSupportedLimits;
  subgroupMatrixConfigs: unknown[];
}

type DawnModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
let dawn: Promise<DawnModule> | undefined;

async function loadDawn(): Promise<DawnModule> {
  dawn ??= import('webgpu').then(
    (m) => {
      const mod = m as unknown as DawnModule;
      // Dawn's classes (GPUBufferUsage, …) as globals, like a browser.
      for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
      return mod;
    },
    (e: unknown) => {
      dawn = undefined;
      throw new BackendUnavailableError(
        `[webgpu] could not load Dawn (npm package 'webgpu') on ${process.platform}-${process.arch}: ${String((e as Error)?.message ?? e)}. Run 'npm install' (the package ships prebuilt dawn.node binaries for linux-x64/arm64, darwin and win32).`,
        { cause: e },
      );
    },
  );
  return dawn;
}

const HOW_TO_INSTALL =
  process.platform === 'linux'
    ? "On Debian/Ubuntu install a Vulkan driver: 'bash scripts/setup.sh' installs the Vulkan loader and Mesa's lavapipe (mesa-vulkan-drivers ≥ 25 from bookworm-backports); on NVIDIA make sure the driver's Vulkan ICD is visible (VK_DRIVER_FILES)."
    : process.platform === 'darwin'
      ? 'On macOS Dawn uses Metal: a Mac with macOS 12 or newer is needed.'
      : 'Install a GPU driver with D3D12 or Vulkan support.';

/**
 * One Dawn instance per set of flags, shared by every backend created with them. Dawn prints
 * `Warning: maxDynamic{Uniform,Storage}BuffersPerPipelineLayout artificially reduced …`
 * straight to fd 2 (dawn::WarningLog in its Limits.cpp, no flag or callback turns it off)
 * whenever an instance first enumerates an adapter whose driver reports more than it
 * supports (lavapipe: 1000000): with a shared instance that is once per process, not once per
 * backend. Sharing also spares each backend an instance's start (Vulkan enumeration, its
 * threads). An instance is forgotten when a request on it fails or one of its devices is
 * lost (not destroyed), so the next backend starts afresh.
 */
const instances = new Map<string, GPU>();

function instanceFor(create: DawnModule['create'], flags: string[]): { gpu: GPU; forget: () => void } {
  const key = JSON.stringify(flags);
  let gpu = instances.get(key);
  if (!gpu) {
    gpu = create(flags);
    instances.set(key, gpu);
  }
  const mine = gpu;
  return { gpu, forget: () => instances.get(key) === mine && instances.delete(key) };
}

export async function openDevice(options?: WebGpuOptions): Promise<OpenedDevice> {
  const o = parseOptions('webgpu', webgpuOptions, options);
  const { create } = await loadDawn();
  const flags: string[] = [];
  if (o.toggles.length) flags.push(`enable-dawn-features=${o.toggles.join(',')}`);
  if (o.disableToggles.length) flags.push(`disable-dawn-features=${o.disableToggles.join(',')}`);
  if (o.dawnBackend) flags.push(`backend=${o.dawnBackend}`);
  // Debugging aid: raw dawn.node flags, e.g. PMETAL_DAWN_FLAGS=verbose=1 with the toggle
  // dump_shaders prints every shader as Dawn hands it to the driver (SPIR-V on Vulkan).
  const extra = typeof process !== 'undefined' ? process.env.PMETAL_DAWN_FLAGS : undefined;
  if (extra) flags.push(...extra.split(/\s+/).filter(Boolean));
  let gpu: GPU;
  let forget: () => void;
  try {
    ({ gpu, forget } = instanceFor(create, flags));
  } catch (e) {
    throw new BackendUnavailableError(`[webgpu] Dawn refused the flags ${JSON.stringify(flags)}: ${(e as Error).message}`, { cause: e });
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter(o.powerPreference ? { powerPreference: o.powerPreference } : undefined);
  } catch (e) {
    forget();
    throw new BackendUnavailableError(`[webgpu] requestAdapter failed: ${(e as Error).message}. ${HOW_TO_INSTALL}`, { cause: e });
  }
  if (!adapter) {
    forget();
    throw new BackendUnavailableError(`[webgpu] no GPU adapter found. ${HOW_TO_INSTALL}`);
  }
  const info = adapter.info;
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  if (o.adapter && !name.toLowerCase().includes(o.adapter.toLowerCase())) {
    throw new BackendUnavailableError(`[webgpu] adapter '${name}' does not match the filter '${o.adapter}'`);
  }
  const offered = new Set<string>(adapter.features as unknown as Set<string>);
  const requiredFeatures = WANTED_FEATURES.filter((f) => offered.has(f) && !o.disableFeatures.includes(f)) as GPUFeatureName[];
  // Ask for the adapter's full limits: big buffers and workgroups are the point of a GPU.
  const requiredLimits: Record<string, number> = {};
  const al = adapter.limits as unknown as Record<string, number>;
  for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage']) {
    if (typeof al[k] === 'number') requiredLimits[k] = al[k];
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    forget();
    throw new BackendUnavailableError(`[webgpu] requestDevice failed on '${name}': ${(e as Error).message}`, { cause: e });
  }
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') forget();
  });
  const configs = (info as unknown as { subgroupMatrixConfigs?: unknown[] }).subgroupMatrixConfigs ?? [];
  return { gpu, adapter, device, name, features: new Set(device.features as unknown as Set<string>), limits: plainLimits(device.limits), subgroupMatrixConfigs: [...configs] };
}

/**
 * The device's limits as a plain object. Dawn's GPUSupportedLimits answers each read through
 * a native getter (~0.15 µs on the 2-core CI box); a small op's launch reads a dozen of them,
 * and the limits of a device never change.
 */
function plainLimits(l: GPUSupportedLimits): GPUSupportedLimits {
  const out: Record<string, unknown> = {};
  for (const k in l) out[k] = (l as unknown as Record<string, unknown>)[k];
  // Not frozen: tests wrap it in a Proxy that lowers some limits (a frozen property's get trap must return its value).
  return out as unknown as GPUSupportedLimits;
}
