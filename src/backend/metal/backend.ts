import { BackendUnavailableError } from '../../errors.js';
import type { KernelBackend } from '../interface.js';

/**
 * The metal backend (issue 4): the Node-API addon in native/ and the MSL kernels in msl/.
 * Until its TypeScript side lands, asking for it is a typed error, never a stub that runs.
 */
export async function createMetalBackend(_options?: Record<string, unknown>): Promise<KernelBackend> {
  throw new BackendUnavailableError('[metal] the metal backend is not available in this build yet (the native addon and MSL kernels are in progress; use cpu or webgpu)');
}
