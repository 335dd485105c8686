// Runs one op call on a backend and checks every output against the float64 reference
// through the op's derived bounds — the conformance runner's comparison, for inputs a test
// builds itself (extreme options, special values) rather than the case catalogue's.
import type { KernelBackend } from '../../src/backend/interface.js';
import { toFloat64, type DType } from '../../src/dtype.js';
import { getSpec } from '../../src/ops/registry.js';
import type { HostTensor, RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { compare } from '../../conformance/compare.js';

export interface Checked {
  /** Each output as read back, in float64. */
  got: Record<string, Float64Array>;
  /** The reference's outputs. */
  want: Record<string, Float64Array>;
  /** `name[i]: got …, want … ± …` for each output outside its bound (empty: all pass). */
  bad: string[];
}

export async function checkAgainstReference(backend: KernelBackend, op: string, host: Record<string, HostTensor>, options: Record<string, unknown>): Promise<Checked> {
  const spec = getSpec(op);
  const refIn: Record<string, RefTensor> = {};
  for (const [k, h] of Object.entries(host)) refIn[k] = { dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) };
  const opts = spec.options.parse(options);
  const ref = spec.reference(refIn, opts) as Record<string, RefTensor>;
  const bounds = spec.bounds(refIn, opts, ref) as Record<string, Float64Array>;
  const owned: Tensor[] = [];
  const out: Checked = { got: {}, want: {}, bad: [] };
  try {
    const inputs: Record<string, Tensor> = {};
    for (const [k, h] of Object.entries(host)) owned.push((inputs[k] = backend.tensor(h.data, h.shape, h.dtype)));
    const res = backend.run(op as never, inputs, options);
    owned.push(...Object.values(res));
    for (const [name, t] of Object.entries(res)) {
      const got = toFloat64(t.dtype, await backend.read(t));
      out.got[name] = got;
      out.want[name] = ref[name].data;
      const cmp = compare(got, ref[name].data, bounds[name], t.dtype as DType);
      if (!cmp.pass && cmp.firstBad) {
        const b = cmp.firstBad;
        out.bad.push(`${backend.name} ${name}[${b.index}]: got ${b.got}, want ${b.want} ± ${b.bound}`);
      }
    }
  } finally {
    for (const t of owned) t.dispose();
  }
  return out;
}
