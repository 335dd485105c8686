// The webgpu backends a test file (or one describe block) opens once and disposes at the end,
// written here once instead of as a beforeAll/afterAll pair in every file: Dawn's default
// adapter (lavapipe on CI) and Dawn's null backend, which compiles pipelines and validates
// launches but runs nothing — with allow_unsafe_apis it offers every feature, subgroup
// matrices included, so the launch an H100 would get can be built there (the adapter traits
// such a launch claims stay with each test). Each call registers its own hooks in the scope it
// is called in (beforeAll in call order, afterAll in reverse) and returns a getter that gives
// the backend once beforeAll has run.
import { afterAll, beforeAll } from 'vitest';
import { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import type { WebGpuOptions } from '../src/backend/webgpu/options.js';

function opened(options: WebGpuOptions | undefined, optional: boolean): () => WebGpuBackend | undefined {
  let be: WebGpuBackend | undefined;
  beforeAll(async () => {
    be = optional ? await WebGpuBackend.create(options).catch(() => undefined) : await WebGpuBackend.create(options);
  });
  afterAll(() => be?.dispose());
  return () => be;
}

/** Dawn's default adapter; where none opens, beforeAll fails and with it every test of the scope. */
export function useWebGpu(): () => WebGpuBackend {
  const get = opened(undefined, false);
  return () => {
    const be = get();
    if (!be) throw new Error('the webgpu backend is opened in beforeAll');
    return be;
  };
}

/** Dawn's default adapter, or undefined where none opens: the tests that need it check for it. */
export function useWebGpuIfAny(): () => WebGpuBackend | undefined {
  return opened(undefined, true);
}

/** Dawn's null backend (allow_unsafe_apis), or undefined where it cannot be opened: the tests that need it check for it. */
export function useDawnNull(): () => WebGpuBackend | undefined {
  return opened({ dawnBackend: 'null', toggles: ['allow_unsafe_apis'] }, true);
}
