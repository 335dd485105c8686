import type { OpName } from '../../../ops/registry.js';
import type { MetalLauncher } from '../launch.js';

/**
 * The metal launcher per op; an op absent here is not supported by this backend.
 * Entries are added one line each (keep them sorted), once the op's conformance passes.
 */
export const METAL_LAUNCHERS: Partial<Record<OpName, MetalLauncher>> = {
};
