import type { OpName } from '../../../ops/registry.js';
import type { Launcher } from '../launch.js';
import { rmsNormLauncher } from './rms_norm.js';

/** The webgpu launcher per op; an op absent here is not supported by this backend. */
export const LAUNCHERS: Partial<Record<OpName, Launcher>> = {
  rms_norm: rmsNormLauncher,
};
