// H100 probe: which construct of fa_forward_sgmat.wgsl's P·V half goes wrong on a real GPU.
// Each variant computes O = P·V (P f32 [64, T·16] rounded to f16, V f16 [T·16, DV]) the way
// the kernel does — 4 subgroups of 16 rows, P staged lane by lane into an f16 workgroup array,
// V tiles of 16 keys, f32 accumulators, the epilogue through an f32 stage — changing one
// construct at a time. Prints the max abs error against float64 per (variant, DV, T).
// Run: node scripts/probes/sgmat_pv_probe.mjs (needs a GPU with f16→f32 16×16×16 matrices).
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia', ...(process.env.PROBE_NULL ? ['backend=null'] : [])]);
const adapter = await gpu.requestAdapter();
const feats = ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'].filter((f) => adapter.features.has(f));
if (feats.length < 3) { console.log('probe: adapter lacks', feats); process.exit(0); }
const device = await adapter.requestDevice({ requiredFeatures: feats });
device.addEventListener?.('uncapturederror', (e) => console.log('uncaptured', e.error?.message));

const MAXD = 64;
const variants = {
  base: {},
  f16conv: { F16CONV: 1 },
  conststride: { CONSTSTRIDE: 1 },
  unrolled: { UNROLL: 1 },
  named: { NAMED: 1 },
  pfirst: { PFIRST: 1 },
  all: { CONSTSTRIDE: 1, NAMED: 1, F16CONV: 1 },
  vcol: { VCOL: 1 },
  storeglobal: { STOREGLOBAL: 1 },
};
function shader(d) {
  const on = (k) => !!d[k];
  const accDecl = on('NAMED')
    ? 'var a0 = subgroup_matrix_result<f32,16,16>(); var a1 = subgroup_matrix_result<f32,16,16>(); var a2 = subgroup_matrix_result<f32,16,16>(); var a3 = subgroup_matrix_result<f32,16,16>();'
    : 'var acc: array<subgroup_matrix_result<f32,16,16>, NF>; for (var j = 0u; j < NF; j++) { acc[j] = subgroup_matrix_result<f32,16,16>(); }';
  const stride = on('CONSTSTRIDE') ? 'MAXD' : 'p.dv';
  const vload = (j) => on('VCOL') ? `subgroupMatrixLoad<subgroup_matrix_right<f16,16,16>, col_major>(&kvtile, ${j === "j" ? "j" : j + "u"} * 256u, 16u)` : `subgroupMatrixLoad<subgroup_matrix_right<f16,16,16>, row_major>(&kvtile, ${j === "j" ? "j" : j + "u"} * 16u, ${stride})`;
  let mma;
  if (on('NAMED')) mma = [0, 1, 2, 3].map((j) => `if (${j}u * 16u < p.dv) { a${j} = subgroupMatrixMultiplyAccumulate(pm, ${vload(j)}, a${j}); }`).join('\n');
  else if (on('UNROLL')) mma = [0, 1, 2, 3].map((j) => `if (${j}u * 16u < p.dv) { acc[${j}] = subgroupMatrixMultiplyAccumulate(pm, ${vload(j)}, acc[${j}]); }`).join('\n');
  else mma = `for (var j = 0u; j < NF; j++) { if (j * 16u < p.dv) { let vm = ${vload('j')}; acc[j] = subgroupMatrixMultiplyAccumulate(pm, vm, acc[j]); } }`;
  const conv = on('F16CONV') ? 'f16(pe)' : 'bitcast<vec2<f16>>(f32_to_f16(pe)).x';
  const pwrite = `for (var c = 0u; c < 8u; c++) { let col = half * 8u + c; let pe = P[(sg * 16u + row) * p.keys + k0 + col]; pstage[sg * 256u + row * 16u + col] = ${conv}; }`;
  const vtile = `for (var t = lid; t < 16u * p.dv / 8u; t += 128u) { let e = t * 8u; let j = k0 + e / p.dv; for (var c = 0u; c < 8u; c++) { ${on('VCOL') ? 'kvtile[(e % p.dv + c) * 16u + e / p.dv]' : 'kvtile[(e / p.dv) * ' + stride + ' + e % p.dv + c]'} = V[j * p.dv + e % p.dv + c]; } }`;
  const getAcc = (j) => (on('NAMED') ? `a${j}` : `acc[${j}]`);
  const epi = on('STOREGLOBAL') ? [0, 1, 2, 3].map((j) => `if (${j}u * 16u < p.dv) { subgroupMatrixStore<row_major>(&O, sg * 16u * p.dv + ${j}u * 16u, ${getAcc(j)}, p.dv); }`).join('\n') : [0, 1, 2, 3].map((j) => `if (${j}u * 16u < p.dv) { subgroupMatrixStore<row_major>(&stage, sg * 256u, ${getAcc(j)}, 16u); workgroupBarrier();
      for (var c = 0u; c < 8u; c++) { let col = half * 8u + c; O[(sg * 16u + row) * p.dv + ${j}u * 16u + col] = stage[sg * 256u + row * 16u + col]; }
      workgroupBarrier(); }`).join('\n');
  return `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
const MAXD: u32 = ${MAXD}u; const NF: u32 = MAXD / 16u;
struct Params { dv: u32, keys: u32, tiles: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read> V: array<f16>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
var<workgroup> stage: array<f32, 1024>;
var<workgroup> pstage: array<f16, 1024>;
var<workgroup> kvtile: array<f16, 16u * MAXD>;
fn f32_to_f16(v: f32) -> u32 {
  let x = bitcast<u32>(v); let sign = (x >> 16u) & 0x8000u; let a = x & 0x7fffffffu;
  let normal = (a + 0xc8000fffu + ((a >> 13u) & 1u)) >> 13u;
  let sub = bitcast<u32>(round(abs(v) * 16777216.0) + 8388608.0) - 0x4b000000u;
  let big = select(0x7c00u, 0x7e00u, a > 0x7f800000u);
  return sign | select(select(normal, big, a >= 0x47800000u), sub, a < 0x38800000u);
}
@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let sg = sg_id % 4u; let row = lane / 2u; let half = lane % 2u;
  ${accDecl}
  for (var tt = 0u; tt < p.tiles; tt++) {
    let k0 = tt * 16u;
    workgroupBarrier();
    ${on('PFIRST') ? vtile + '\n' + pwrite : pwrite + '\n' + vtile}
    workgroupBarrier();
    let pm = subgroupMatrixLoad<subgroup_matrix_left<f16,16,16>, row_major>(&pstage, sg * 256u, 16u);
    ${mma}
  }
  workgroupBarrier();
  ${epi}
}`;
}
const f16r = (x) => { const f = new Float32Array(1); f[0] = x; /* round f32→f16 RNE */ return halfToFloat(floatToHalf(x)); };
function floatToHalf(v) {
  const f = new Float32Array([v]); const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000; const a = x & 0x7fffffff;
  if (a >= 0x47800000) return sign | 0x7c00;
  if (a < 0x38800000) return sign | Math.round(Math.abs(v) * 16777216);
  return sign | ((a + 0xc8000fff + ((a >>> 13) & 1)) >>> 13) & 0xffff;
}
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1; const e = (h >> 10) & 31; const m = h & 1023;
  if (e === 0) return s * m * 2 ** -24; if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
async function run(name, defs, dv, tiles) {
  const keys = tiles * 16;
  const P = new Float32Array(64 * keys).map(() => rnd());
  const Vh = new Uint16Array(keys * dv).map(() => floatToHalf(rnd() * 2 - 1));
  const want = new Float64Array(64 * dv);
  for (let r = 0; r < 64; r++) for (let c = 0; c < dv; c++) { let s = 0; for (let j = 0; j < keys; j++) s += f16r(P[r * keys + j]) * halfToFloat(Vh[j * dv + c]); want[r * dv + c] = s; }
  const mk = (data, usage) => { const b = device.createBuffer({ size: Math.max(16, data.byteLength + 3 & ~3), usage, mappedAtCreation: true }); new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)); b.unmap(); return b; };
  const S = GPUBufferUsage.STORAGE, C = GPUBufferUsage.COPY_SRC;
  const pb = mk(P, S), vb = mk(Vh, S), ob = device.createBuffer({ size: 64 * dv * 4, usage: S | C });
  const ub = mk(new Uint32Array([dv, keys, tiles, 0]), GPUBufferUsage.UNIFORM);
  const rb = device.createBuffer({ size: 64 * dv * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: shader(defs) });
  const pipe = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [pb, vb, ob, ub].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const enc = device.createCommandEncoder(); const pass = enc.beginComputePass(); pass.setPipeline(pipe); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(1); pass.end();
  enc.copyBufferToBuffer(ob, 0, rb, 0, 64 * dv * 4); device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) { console.log(name, 'error', err.message.slice(0, 300)); return; }
  await rb.mapAsync(GPUMapMode.READ); const got = new Float32Array(rb.getMappedRange().slice(0));
  let maxErr = 0, at = -1; for (let i = 0; i < got.length; i++) { const e = Math.abs(got[i] - want[i]); if (!(e <= maxErr)) { maxErr = e; at = i; } }
  const bound = keys * 2 ** -11 * 2;
  console.log(`${name.padEnd(12)} dv=${dv} tiles=${tiles} maxerr=${maxErr.toExponential(2)} ${maxErr <= bound ? 'OK' : `BAD at row ${Math.floor(at / dv)} col ${at % dv}: got ${got[at]} want ${want[at].toFixed(5)}`}`);
}
for (const [name, defs] of Object.entries(variants)) for (const dv of [16, 32, 64]) for (const tiles of [1, 2, 3]) await run(name, defs, dv, tiles);
process.exit(0);
