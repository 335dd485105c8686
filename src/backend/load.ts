import { z } from 'zod';
import { BackendUnavailableError } from '../errors.js';
import type { BackendName, KernelBackend } from './interface.js';
import type { MetalOptions } from './metal/backend.js';
import type { WebGpuOptions } from './webgpu/options.js';

export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'webgpu', 'metal'];
const backendName = z.enum(['cpu', 'webgpu', 'metal']);

export interface BackendOptions {
  webgpu?: WebGpuOptions;
  /** chip (Linux: the emulated chip, e.g. 'M5 Max'), asan (compile kernels under AddressSanitizer). */
  metal?: MetalOptions;
}

/**
 * Creates a backend, loading its native part (Dawn, the Metal addon) only now: importing
 * the package loads neither.
 */
export async function createBackend(name: BackendName, options: BackendOptions = {}): Promise<KernelBackend> {
  const parsed = backendName.safeParse(name);
  if (!parsed.success) throw new BackendUnavailableError(`[backend] unknown backend '${String(name)}' (expected ${BACKEND_NAMES.join(', ')})`);
  switch (parsed.data) {
    case 'cpu': {
      const { CpuBackend } = await import('./cpu.js');
      return new CpuBackend();
    }
    case 'webgpu': {
      const { WebGpuBackend } = await import('./webgpu/backend.js');
      return WebGpuBackend.create(options.webgpu);
    }
    case 'metal': {
      const { createMetalBackend } = await import('./metal/backend.js');
      return createMetalBackend(options.metal);
    }
  }
}

/** Every backend that loads here, and why each other one does not. */
export async function probeBackends(options: BackendOptions = {}, names: readonly BackendName[] = BACKEND_NAMES) {
  const out: { name: BackendName; backend?: KernelBackend; error?: string }[] = [];
  for (const name of names) {
    try {
      out.push({ name, backend: await createBackend(name, options) });
    } catch (e) {
      out.push({ name, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}
