// H100 probe: what one dependent dispatch costs on this stack (Dawn → Vulkan → driver), apart
// from any kernel's own work. A decode step is a chain of ~190 small dispatches, each reading
// what the one before wrote; this times chains of N dispatches of a kernel that does almost
// nothing, varying one thing at a time:
//   hazard    every dispatch writes the buffer the next one reads (Dawn puts a barrier between)
//   nohazard  each dispatch writes its own buffer, reads none (no barrier needed)
//   grid132   the hazard chain with 132 workgroups of 128 invocations (one an SM)
//   grid1056  … 1056 workgroups (8 an SM)
//   alt2      the hazard chain alternating two pipelines (a real chain switches every time)
//   passes    the hazard chain with every dispatch in a compute pass of its own
// Prints µs per dispatch (GPU timestamps around the chain's pass, and wall time to completion).
// Run: node scripts/probes/dispatch_floor.mjs [N]
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const N = Number(process.argv[2] ?? 2000);
const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia', 'disable-dawn-features=timestamp_quantization']);
const adapter = await gpu.requestAdapter();
const ts = adapter.features.has('timestamp-query');
const device = await adapter.requestDevice({ requiredFeatures: ts ? ['timestamp-query'] : [] });
console.log(`adapter: ${adapter.info?.vendor} ${adapter.info?.architecture} ${adapter.info?.description ?? ''}; timestamps: ${ts}`);

const code = (wg) => `
@group(0) @binding(0) var<storage, read_write> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> b: array<u32>;
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x % 1024u;
  b[i] = a[i] + 1u;
}`;
const pipe = (wg, tag) => device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: code(wg) + `\n// ${tag}` }), entryPoint: 'main' } });
const buf = () => device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE });
const P1 = pipe(64, 'p1');
const P2 = pipe(64, 'p2');
const P128 = pipe(128, 'p128');
const bufs = [buf(), buf()];
const own = Array.from({ length: 64 }, buf);
const bg = (p, x, y) => device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }] });
// Ping-pong: dispatch i reads bufs[i%2] and writes bufs[(i+1)%2].
const ping = (p) => [bg(p, bufs[0], bufs[1]), bg(p, bufs[1], bufs[0])];
const pingP1 = ping(P1);
const pingP2 = ping(P2);
const pingP128 = ping(P128);
const ownP1 = own.map((o, i) => bg(P1, own[(i + 32) % 64], o));

const qs = ts ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
const qbuf = ts ? device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : undefined;
const rbuf = ts ? device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : undefined;

async function chain(kind) {
  const enc = device.createCommandEncoder();
  const tw = (i, n) => (ts && (i === 0 || i === n - 1) ? { timestampWrites: { querySet: qs, ...(i === 0 ? { beginningOfPassWriteIndex: 0 } : {}), ...(i === n - 1 ? { endOfPassWriteIndex: 1 } : {}) } } : {});
  if (kind === 'passes') {
    for (let i = 0; i < N; i++) {
      const p = enc.beginComputePass(tw(i, N));
      p.setPipeline(P1);
      p.setBindGroup(0, pingP1[i % 2]);
      p.dispatchWorkgroups(1);
      p.end();
    }
  } else {
    const p = enc.beginComputePass(tw(0, 1));
    for (let i = 0; i < N; i++) {
      if (kind === 'hazard') { p.setPipeline(P1); p.setBindGroup(0, pingP1[i % 2]); p.dispatchWorkgroups(1); }
      else if (kind === 'nohazard') { p.setPipeline(P1); p.setBindGroup(0, ownP1[i % 64]); p.dispatchWorkgroups(1); }
      else if (kind === 'grid132') { p.setPipeline(P128); p.setBindGroup(0, pingP128[i % 2]); p.dispatchWorkgroups(132); }
      else if (kind === 'grid1056') { p.setPipeline(P128); p.setBindGroup(0, pingP128[i % 2]); p.dispatchWorkgroups(1056); }
      else if (kind === 'alt2') { const q = i % 2 ? P2 : P1; p.setPipeline(q); p.setBindGroup(0, (i % 2 ? pingP2 : pingP1)[i % 2]); p.dispatchWorkgroups(1); }
    }
    p.end();
  }
  if (ts) {
    enc.resolveQuerySet(qs, 0, 2, qbuf, 0);
    enc.copyBufferToBuffer(qbuf, 0, rbuf, 0, 16);
  }
  const t0 = performance.now();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  const wall = performance.now() - t0;
  let gpuUs;
  if (ts) {
    await rbuf.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(rbuf.getMappedRange().slice(0));
    rbuf.unmap();
    gpuUs = Number(t[1] - t[0]) / 1e3;
  }
  return { wallUs: wall * 1e3, gpuUs };
}

const kinds = ['hazard', 'nohazard', 'grid132', 'grid1056', 'alt2', 'passes'];
// Warm the clock: a few seconds of chains first.
const tEnd = performance.now() + 2000;
while (performance.now() < tEnd) await chain('grid1056');
for (const k of kinds) {
  const runs = [];
  for (let r = 0; r < 5; r++) runs.push(await chain(k));
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const g = ts ? med(runs.map((r) => r.gpuUs)) / N : NaN;
  const w = med(runs.map((r) => r.wallUs)) / N;
  console.log(`${k.padEnd(9)} N=${N}: GPU ${g.toFixed(2)} µs a dispatch, wall ${w.toFixed(2)} µs a dispatch`);
}
