import type { KernelBackend } from '../../src/backend/interface.js';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';

/**
 * The backend with rope / rope_backward of two tensors (q and k, dq and dk) split into two
 * calls each: the layer as it was before one call rotated both. Dispatch-count tests compare
 * a model or LoRA step through it with the same step on the backend itself.
 */
export function splitRope(b: WebGpuBackend): KernelBackend {
  return new Proxy(b, {
    get(target, prop) {
      if (prop === 'rope') {
        return (i: Parameters<KernelBackend['rope']>[0], o: Parameters<KernelBackend['rope']>[1]) => {
          if (!i.k) return target.rope(i, o);
          const { k, ...q } = i;
          return { y: target.rope(q, o).y, yk: target.rope({ ...q, x: k }, o).y };
        };
      }
      if (prop === 'ropeBackward') {
        return (i: Parameters<KernelBackend['ropeBackward']>[0], o: Parameters<KernelBackend['ropeBackward']>[1]) => {
          if (!i.dk) return target.ropeBackward(i, o);
          const { dk, ...q } = i;
          return { dx: target.ropeBackward(q, o).dx, dxk: target.ropeBackward({ ...q, dy: dk }, o).dx };
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as unknown as KernelBackend;
}
