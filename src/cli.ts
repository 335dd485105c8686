#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { benchTable, runBench } from '../bench/harness.js';
import { htmlReport, summaryTable } from '../conformance/report.js';
import { runConformance } from '../conformance/runner.js';
import { probeBackends, BACKEND_NAMES, type BackendOptions } from './backend/load.js';
import type { BackendName, KernelBackend } from './backend/interface.js';
import { OPS } from './ops/registry.js';
import type { MetalBackend } from './backend/metal/backend.js';
import type { WebGpuBackend } from './backend/webgpu/backend.js';
import { HOST_TIMINGS_REFUSAL, metalBenchTable, runMetalBench, type MetalBenchRow } from './backend/metal/bench.js';
import { PmetalError } from './errors.js';

const program = new Command('pmetal').description('fused LLM kernels: devices, ops, conformance and benchmarks').showHelpAfterError();

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
const webgpuFlags = (c: Command) =>
  c
    .addOption(new Option('--toggles <list>', 'Dawn toggles, comma separated (NVIDIA: allow_unsafe_apis,vulkan_enable_f16_on_nvidia)').argParser(list))
    .addOption(new Option('--disable-toggles <list>', 'Dawn toggles to turn off (bench: timestamp_quantization)').argParser(list))
    .option('--adapter <name>', 'only an adapter whose name contains this')
    .addOption(new Option('--power <pref>', 'adapter power preference').choices(['low-power', 'high-performance']))
    .addOption(new Option('--disable-features <list>', 'WebGPU features to leave off (e.g. subgroups)').argParser(list))
    .addOption(new Option('--chip <name>', 'metal: chip to emulate on Linux (M1..M5 [Pro|Max|Ultra])'))
    .option('--asan', 'metal: compile every MSL kernel under AddressSanitizer (host runtime; out-of-bounds accesses become errors)');

function backendOptions(o: Record<string, unknown>): BackendOptions {
  return {
    webgpu: {
      toggles: (o.toggles as string[]) ?? [],
      disableToggles: (o.disableToggles as string[]) ?? [],
      adapter: o.adapter as string | undefined,
      powerPreference: o.power as 'low-power' | 'high-performance' | undefined,
      disableFeatures: (o.disableFeatures as string[]) ?? [],
    },
    metal: { ...(o.chip ? { chip: String(o.chip) } : {}), ...(o.asan ? { asan: true } : {}) },
  };
}

async function loadBackends(o: Record<string, unknown>, wanted?: string[], quietMissing = true): Promise<KernelBackend[]> {
  const names = (wanted?.length ? wanted : BACKEND_NAMES) as BackendName[];
  for (const n of names) if (!BACKEND_NAMES.includes(n)) throw new PmetalError('OPTIONS', `[cli] unknown backend '${n}' (expected ${BACKEND_NAMES.join(', ')})`);
  const probed = await probeBackends(backendOptions(o), names);
  for (const p of probed) {
    if (p.error && (!quietMissing || wanted?.length)) process.stderr.write(`pmetal: backend ${p.name} unavailable: ${p.error}\n`);
    else if (p.error) process.stderr.write(`pmetal: skipping ${p.name}: ${p.error}\n`);
  }
  if (wanted?.length && probed.some((p) => p.error)) throw new PmetalError('BACKEND_UNAVAILABLE', `[cli] requested backend unavailable`);
  return probed.filter((p) => p.backend).map((p) => p.backend!);
}

webgpuFlags(program.command('devices').description('backends, adapters, features, limits and tiers').option('--json', 'print JSON')).action(async (o) => {
  const probed = await probeBackends(backendOptions(o));
  const out = probed.map((p): Record<string, unknown> => {
    if (!p.backend) return { backend: p.name, available: false, reason: p.error };
    const caps = p.backend.capabilities();
    const extra: Record<string, unknown> = {};
    const rt = (p.backend as unknown as { rt?: { opened: { limits: GPUSupportedLimits; subgroupMatrixConfigs: unknown[] } } }).rt;
    if (rt) {
      const l = rt.opened.limits as unknown as Record<string, number>;
      extra.limits = Object.fromEntries(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension', 'minStorageBufferOffsetAlignment'].map((k) => [k, l[k]]));
      extra.subgroupMatrixConfigs = rt.opened.subgroupMatrixConfigs;
    }
    return { backend: p.name, available: true, device: caps.device, features: caps.features, tiers: caps.tiers, timestamps: caps.timestamps, ...extra };
  });
  if (o.json) console.log(JSON.stringify(out, null, 2));
  else
    for (const d of out) {
      if (!d.available) {
        console.log(`${d.backend}: unavailable — ${d.reason}`);
        continue;
      }
      console.log(`${d.backend}: ${d.device}`);
      console.log(`  tiers: ${(d.tiers as string[]).join(', ')}`);
      if ((d.features as string[]).length) console.log(`  features: ${(d.features as string[]).join(', ')}`);
      if ('limits' in d) for (const [k, v] of Object.entries(d.limits as object)) console.log(`  ${k}: ${v}`);
    }
  for (const p of probed) p.backend?.dispose();
});

webgpuFlags(program.command('ops').description('implemented op × backend × tier × dtypes available here').option('--json', 'print JSON')).action(async (o) => {
  const backends = await loadBackends(o);
  const rows: { op: string; backend: string; tier: string; dtypes: string[] }[] = [];
  for (const b of backends) for (const [op, tiers] of Object.entries(b.capabilities().ops)) for (const t of tiers) rows.push({ op, backend: b.name, tier: t.tier, dtypes: [...t.dtypes] });
  if (o.json) console.log(JSON.stringify(rows, null, 2));
  else for (const r of rows) console.log(`${r.op.padEnd(24)} ${r.backend.padEnd(7)} ${r.tier.padEnd(16)} ${r.dtypes.join(',')}`);
  for (const b of backends) b.dispose();
});

webgpuFlags(
  program
    .command('conformance')
    .description('run every op × backend × tier × dtype × case against the float64 reference and each other')
    .addOption(new Option('--backend <list>', 'backends (default: every available one)').argParser(list))
    .addOption(new Option('--tier <list>', 'tiers').argParser(list))
    .addOption(new Option('--op <list>', `ops (${Object.keys(OPS).join(', ')})`).argParser(list))
    .addOption(new Option('--dtype <list>', 'dtypes (f32, f16, bf16)').argParser(list))
    .option('--case <substring>', 'only case ids containing this (e.g. "rms_norm:f16:rows=7")')
    .option('--quick', 'the quick subset')
    .option('--seeds <n>', 'seeds (subcases) per case', '1')
    .option('--json <file>', 'write the records as JSON')
    .option('--html <file>', 'write a self-contained HTML report'),
).action(async (o) => {
  const wanted = o.backend as string[] | undefined;
  const backends = await loadBackends(o, wanted);
  // The cpu reference is always part of a run: gradient checks and cross-backend comparisons use it.
  if (!backends.some((b) => b.name === 'cpu')) backends.unshift(...(await loadBackends(o, ['cpu'])));
  const tty = process.stderr.isTTY;
  let last = 0;
  const t0 = Date.now();
  const res = await runConformance({
    backends,
    ops: o.op,
    tiers: o.tier,
    dtypes: o.dtype,
    quick: !!o.quick,
    filter: o.case,
    seeds: Array.from({ length: Math.max(1, Number(o.seeds) || 1) }, (_, i) => i + 1),
    onProgress: (done, total, label) => {
      const now = Date.now();
      if (!tty && now - last < 5000 && done !== total) return;
      last = now;
      const w = 30;
      const f = total ? Math.round((done / total) * w) : w;
      const line = `[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${done}/${total} ${label}`.slice(0, 150);
      process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  console.log(summaryTable(res));
  const meta = { date: new Date().toISOString(), devices: Object.fromEntries(backends.map((b) => [b.name, b.capabilities().device])), quick: !!o.quick, seconds: (Date.now() - t0) / 1000 };
  if (o.json) writeFileSync(o.json, JSON.stringify({ meta, records: res.records, grads: res.grads }, null, 2));
  if (o.html) writeFileSync(o.html, htmlReport(res, meta));
  console.log(`${res.passed} passed, ${res.failed} failed${res.skipped ? `, ${res.skipped} skipped` : ''}`);
  for (const b of backends) b.dispose();
  process.exitCode = res.failed ? 1 : 0;
});

webgpuFlags(
  program
    .command('bench')
    .description('time every op from the registry: warm-up, repeated runs, GPU timestamps, TFLOP/s, GB/s and the fraction of copy bandwidth')
    .addOption(new Option('--backend <list>', 'backends (default: webgpu)').argParser(list))
    .addOption(new Option('--tier <list>', 'tiers').argParser(list))
    .addOption(new Option('--op <list>', 'ops').argParser(list))
    .addOption(new Option('--dtype <list>', 'dtypes').argParser(list))
    .option('--shape <substring>', 'only bench shapes whose label contains this')
    .option('--reps <n>', 'timed runs', '10')
    .option('--warmup <n>', 'warm-up runs', '3')
    .option('--json <file>', 'write the records as JSON')
    .option('--peers', 'side by side with onnxruntime-web and tfjs on the same GPUDevice (bench/peers)')
    .addOption(new Option('--peer <list>', 'with --peers: only these peers (onnxruntime-web, tfjs)').argParser(list))
    .option('--quick', 'with --peers: small shapes (lavapipe, the tests)')
    .option('--html <file>', 'with --peers: write a self-contained HTML report with charts')
    .option('--variants', "webgpu: time each op's tuning variants side by side (bench/variants.ts; the first is the default)")
    .option('--sgmat-ceiling', 'webgpu: the subgroup-matrix gemm loop stage by stage (bench/sgmat_ceiling.ts)'),
).action(async (o) => {
  if (o.sgmatCeiling) {
    const { sgmatCeiling, ceilingTable } = await import('../bench/sgmat_ceiling.js');
    const [gpu] = (await loadBackends(o, ['webgpu'])) as WebGpuBackend[];
    try {
      const rows = await sgmatCeiling(gpu, { reps: Number(o.reps) });
      console.log(ceilingTable(rows));
      if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), adapter: gpu.adapterName, rows }, null, 2));
    } finally {
      gpu.dispose();
    }
    return;
  }
  if (o.variants) {
    const { runVariants, variantsTable } = await import('../bench/variants.js');
    const [gpu] = (await loadBackends(o, ['webgpu'])) as WebGpuBackend[];
    const res = await runVariants(gpu, { ops: o.op, dtypes: o.dtype, shape: o.shape, reps: Number(o.reps), onRow: (r) => process.stderr.write(`${r.op} ${r.dtype} ${r.shape} ${r.variant}: ${r.error ?? `${r.ms.toFixed(4)} ms`}\n`) });
    console.log(variantsTable(res));
    if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), adapter: gpu.adapterName, ...res }, null, 2));
    gpu.dispose();
    process.exitCode = res.rows.some((r) => r.error) ? 1 : 0;
    return;
  }
  if (o.peers) {
    // A separate bundle (dist/peers.js: onnxruntime-web and tfjs inside), loaded only here.
    const { benchPeers } = await import('../bench/peers/index.js');
    const [gpu] = await loadBackends(o, ['webgpu']);
    process.exitCode = await benchPeers(gpu as WebGpuBackend, o);
    gpu.dispose();
    return;
  }
  const wanted = (o.backend as string[] | undefined) ?? ['webgpu'];
  if (wanted.includes('cpu')) throw new PmetalError('OPTIONS', '[bench] the cpu backend is the float64 reference, not a performance target; bench webgpu or metal');
  const backends = await loadBackends(o, wanted);
  // metal: the Metal 4 vs Metal 3 table, from GPU timestamps — never host-runtime timings.
  const metal = backends.find((b) => b.name === 'metal') as MetalBackend | undefined;
  let metalRows: MetalBenchRow[] | undefined;
  if (metal) {
    if (metal.host) {
      process.stderr.write(`pmetal: bench --backend metal refused: ${HOST_TIMINGS_REFUSAL}\n`);
      for (const b of backends) b.dispose();
      process.exitCode = 1;
      return;
    }
    metalRows = await runMetalBench(metal, {
      ops: o.op,
      tiers: o.tier,
      dtypes: o.dtype,
      shape: o.shape,
      reps: Number(o.reps),
      warmup: Number(o.warmup),
      onRow: (r) => process.stderr.write(`${r.op} ${r.dtype} ${r.shape}: ${Object.entries(r.tiers).map(([t, v]) => `${t} ${v && 'ms' in v ? `${v.ms.toFixed(3)} ms` : (v?.error ?? '-')}`).join(', ')}\n`),
    });
    console.log(`Metal 4 vs Metal 3 on ${metal.chip.name} (${metal.chip.family}${metal.chip.hasNax ? ', NAX' : ''}), GPU timestamps, median of ${Number(o.reps)} runs:`);
    console.log(metalBenchTable(metalRows));
  }
  const others = backends.filter((b) => b.name !== 'metal');
  if (!others.length) {
    if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), device: { metal: metal?.chip.name }, chip: metal?.chip, metal: metalRows }, null, 2));
    for (const b of backends) b.dispose();
    process.exitCode = metalRows?.some((r) => Object.values(r.tiers).some((v) => v && 'error' in v)) ? 1 : 0;
    return;
  }
  const res = await runBench({
    backends: others,
    ops: o.op,
    tiers: o.tier,
    dtypes: o.dtype,
    shape: o.shape,
    reps: Number(o.reps),
    warmup: Number(o.warmup),
    onRecord: (r) => process.stderr.write(`${r.op} ${r.tier} ${r.dtype} ${r.shape}: ${r.error ?? `${r.ms.toFixed(3)} ms`}\n`),
  });
  console.log(benchTable(res));
  for (const [k, v] of Object.entries(res.device)) console.log(`${k}: ${v}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), ...res, ...(metalRows ? { metal: metalRows, chip: metal?.chip } : {}) }, null, 2));
  for (const b of backends) b.dispose();
  process.exitCode = res.records.some((r) => r.error) || metalRows?.some((r) => Object.values(r.tiers).some((v) => v && 'error' in v)) ? 1 : 0;
});

webgpuFlags(
  program
    .command('soak')
    .description('leak check: many small dispatches with reads, then backend create/dispose cycles; heap, RSS, fds and threads sampled, slope per 1000 ops; exit 1 over a limit')
    .option('--backend <name>', 'backend', 'webgpu')
    .option('--dispatches <n>', 'dispatches, each with a read', '100000')
    .option('--cycles <n>', 'create/dispose cycles', '200')
    .option('--json <file>', 'write the samples and slopes as JSON'),
).action(async (o) => {
  const { runSoak, soakTable } = await import('../bench/soak.js');
  const r = await runSoak({ backend: o.backend, dispatches: Number(o.dispatches), cycles: Number(o.cycles) }, backendOptions(o), (s) => process.stderr.write(`${s.phase} ${s.ops}: heap ${(s.heap / 2 ** 20).toFixed(2)} MiB, rss ${(s.rss / 2 ** 20).toFixed(1)} MiB, fds ${s.fds ?? '-'}, threads ${s.threads ?? '-'}\n`));
  console.log(soakTable(r));
  if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2));
  process.exitCode = r.ok ? 0 : 1;
});

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`pmetal: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
