/**
 * A kernel's Params block, defined once as an ordered field list of 4-byte scalars: the one
 * description both backends pack from (a WGSL uniform, an MSL `constant Params&`). The
 * structs written in the kernels are checked against it by the tests — every WGSL uniform a
 * launcher binds (test/wgsl, through wgsl_reflect) and every MSL Params struct
 * (test/metal/params.test.ts) — names, order and offsets.
 */
export type ParamType = 'u32' | 'i32' | 'f32';
export type ParamLayout<K extends string = string> = readonly (readonly [K, ParamType])[];

export function defineParams<const L extends ParamLayout>(layout: L): L {
  return layout;
}

/** The layout each packed buffer came from, so the runtime's trace can check it against the shader. */
export const layoutOf = new WeakMap<ArrayBuffer, ParamLayout>();

export function packParams<K extends string>(layout: ParamLayout<K>, values: Record<K, number>): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((layout.length * 4) / 16) * 16));
  layoutOf.set(buf, layout);
  const dv = new DataView(buf);
  // A plain loop: packing runs for every dispatch (no closure per call).
  for (let i = 0; i < layout.length; i++) {
    const [name, type] = layout[i];
    const v = values[name];
    if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`params: '${name}' is ${String(v)}`);
    if (type === 'f32') dv.setFloat32(i * 4, v, true);
    else if (type === 'i32') dv.setInt32(i * 4, v, true);
    else {
      if (v < 0 || v > 0xffffffff || !Number.isInteger(v)) throw new Error(`params: '${name}' = ${v} is not a u32`);
      dv.setUint32(i * 4, v, true);
    }
  }
  return buf;
}
