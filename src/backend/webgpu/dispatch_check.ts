import { GpuValidationError, LimitError } from '../../errors.js';
import { pipelineKey, shaderSource, type PipelineSpec } from './pipelines.js';
import type { Dispatch } from './runtime.js';

/**
 * What Dawn would reject in a dispatch, checked before it is recorded. A bind group or a
 * dispatch that fails validation invalidates the whole command encoder — every upload and
 * output recorded in the batch with it — and the error would surface only at the next
 * read(). Checked here, the call that asked for it throws (naming the op), and the batch
 * goes on unharmed.
 */
export function checkDispatch(d: Dispatch, op: string, limits: GPUSupportedLimits, writable: ReadonlySet<number>, sizeOf: (b: GPUBuffer) => number = (b) => b.size): void {
  const where = () => `(pipeline ${pipelineKey(d.pipeline)})`;
  const max = limits.maxComputeWorkgroupsPerDimension;
  const wg = [d.workgroups[0], d.workgroups[1] ?? 1, d.workgroups[2] ?? 1];
  for (const w of wg) {
    if (!Number.isInteger(w) || w < 0) throw new GpuValidationError(`[${op}] dispatch: workgroup counts must be non-negative integers, got ${wg.join('×')} ${where()}`);
    if (w > max) throw new LimitError(`[${op}] dispatch of ${wg.join('×')} workgroups: ${w} is over maxComputeWorkgroupsPerDimension (${max}) of this device ${where()}; split the call into smaller ones`);
  }
  const align = limits.minStorageBufferOffsetAlignment;
  const bindLimit = limits.maxStorageBufferBindingSize;
  const seen = new Map<number, { buffer: GPUBuffer; begin: number; end: number }>();
  for (const b of d.bindings) {
    const offset = b.offset ?? 0;
    const bufSize = sizeOf(b.buffer);
    const size = b.size ?? bufSize - offset;
    const at = `[${op}] binding ${b.binding}`;
    if (seen.has(b.binding)) throw new GpuValidationError(`${at}: bound twice ${where()}`);
    if (!Number.isInteger(offset) || offset < 0 || offset % align !== 0) throw new GpuValidationError(`${at}: offset ${offset} is not a multiple of minStorageBufferOffsetAlignment (${align}) ${where()}`);
    if (!Number.isInteger(size) || size <= 0 || size % 4 !== 0) throw new GpuValidationError(`${at}: size ${size} is not a positive multiple of 4 bytes ${where()}`);
    if (offset + size > bufSize) throw new GpuValidationError(`${at}: bytes [${offset}, ${offset + size}) run past the end of its ${bufSize}-byte buffer ${where()}`);
    if (size > bindLimit) {
      throw new LimitError(`${at}: a window of ${size} bytes is over maxStorageBufferBindingSize (${bindLimit}) of this device ${where()}; the operand is too large for one binding: split the call (smaller rows or batches)`);
    }
    seen.set(b.binding, { buffer: b.buffer, begin: offset, end: offset + size });
  }
  // A buffer range written by one binding may not be visible through another in the same
  // dispatch (Dawn: "writable storage buffer binding aliasing").
  for (const [i, w] of seen) {
    if (!writable.has(i)) continue;
    for (const [j, o] of seen) {
      if (j !== i && o.buffer === w.buffer && o.begin < w.end && w.begin < o.end) {
        throw new GpuValidationError(`[${op}] bindings ${i} (written) and ${j} overlap in one buffer ${where()}`);
      }
    }
  }
}

/** Binding indices a kernel declares `var<storage, read_write>`: the ones its dispatch writes. */
export function writableBindings(spec: PipelineSpec): Set<number> {
  const out = new Set<number>();
  for (const m of shaderSource(spec).code.matchAll(/@binding\((\d+)\)\s*var<storage\s*,\s*read_write>/g)) out.add(Number(m[1]));
  return out;
}
