import { BYTES, hostArrayMatches, type HostArray } from '../../dtype.js';
import { BackendMismatchError, DTypeError, DisposedError, ShapeError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import type { GraphCapture, StepGraph } from '../interface.js';
import type { GpuStorage } from './launch.js';
import type { Runtime } from './runtime.js';

/** The backend's side of captureGraph (interface.ts, graph.ts): capture, replay, write, dispose. */
export function captureStepGraph<T>(rt: Runtime, owner: object, fn: (c: GraphCapture) => T): { result: T; graph: StepGraph } {
  const buf = (t: Tensor, what: string): GpuStorage => {
    if ((t.owner as unknown) !== owner) throw new BackendMismatchError(`[step graph] ${what}: tensor belongs to backend ${t.backendName}, not this one`);
    return t.storage<GpuStorage>(`[step graph] ${what}`);
  };
  const capture: GraphCapture = {
    copy(src, dst) {
      if (src.dtype !== dst.dtype || src.size !== dst.size) throw new ShapeError(`[step graph] copy: expected dst of src's dtype and size ${src.describe()}, got ${dst.describe()}`);
      const bytes = Math.ceil((src.size * BYTES[src.dtype]) / 4) * 4;
      if (bytes > 0) rt.copy(buf(src, 'copy src').buffer, 0, buf(dst, 'copy dst').buffer, 0, bytes);
    },
  };
  rt.beginCapture();
  let result: T;
  try {
    result = fn(capture);
  } catch (e) {
    rt.abortCapture();
    throw e;
  }
  const g = rt.endCapture();
  const graph: StepGraph = {
    dispatches: g.dispatches,
    replay() {
      if (g.disposed) throw new DisposedError('[step graph] replay: the graph was disposed');
      rt.replayGraph(g);
    },
    write(t: Tensor, data: HostArray) {
      if (g.disposed) throw new DisposedError('[step graph] write: the graph was disposed');
      const s = buf(t, 'write');
      if (!hostArrayMatches(t.dtype, data)) throw new DTypeError(`[step graph] write: expected the host array of ${t.describe()}, got ${data?.constructor?.name}`);
      if (data.length !== t.size) throw new ShapeError(`[step graph] write: expected ${t.size} elements for ${t.describe()}, got ${data.length}`);
      rt.upload(s.buffer, data);
    },
    dispose() {
      rt.disposeGraph(g);
    },
  };
  return { result, graph };
}
