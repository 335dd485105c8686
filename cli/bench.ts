import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { benchTable, dispatchTable, runBench } from '../bench/harness.js';
import { HOST_TIMINGS_REFUSAL, metalBenchTable, runMetalBench, type MetalBenchRow } from '../bench/metal.js';
import type { MetalBackend } from '../src/backend/metal/backend.js';
import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import { PmetalError } from '../src/errors.js';
import { list, loadBackends, webgpuFlags } from './options.js';
import { benchModel } from './bench_model.js';
import { MODEL_PRESET_NAMES } from '../bench/models/presets.js';
import { PHASES } from '../bench/models/phases.js';

/** `pmetal bench`: timings per op (and --peers, --variants, --sgmat-ceiling). */
export function registerBench(program: Command): void {
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
      .addOption(new Option('--variant <list>', 'with --variants: only the variants whose names contain one of these substrings').argParser(list))
      .option('--sgmat-ceiling', 'webgpu: the subgroup-matrix gemm loop stage by stage (bench/sgmat_ceiling.ts)')
      .option('--host', 'host cost of recording small ops: µs per call in validation, encoding and submit (bench/host.ts)')
      .option('--calls <n>', 'with --host: calls per op', '10000')
      .addOption(new Option('--model <name>', 'a whole Llama with random weights at real shapes, phase by phase (bench/models)').choices(MODEL_PRESET_NAMES))
      .addOption(new Option('--phase <list>', `with --model: ${PHASES.join(', ')} (default: all)`).argParser(list))
      .addOption(new Option('--quant <format>', 'with --model: MLX affine 4-bit projections and embedding (groups of 64)').choices(['mlx4']))
      .addOption(new Option('--batch <list>', 'with --model: decode batch sizes (default 1,16)').argParser(list))
      .option('--seq <n>', 'with --model: tokens of the prefill and training sequence', '2048')
      .option('--prompt <n>', 'with --model: prompt tokens before the decode steps', '512')
      .option('--steps <n>', 'with --model: timed decode steps (after --warmup untimed ones)', '32')
      .addOption(new Option('--mlp-gemv <list>', 'with --model: PMETAL_MLP_GEMV values (1: fused_mlp\'s one-dispatch gate/up GEMV at decode, 0: the 4-dispatch plan), a decode row each').argParser(list))
      .addOption(new Option('--decode-loop <list>', 'with --model: decode loop variants, a decode row each (pipelined, pipelined2, serial; default pipelined)').argParser(list))
      .option('--train-steps <n>', 'with --model: timed LoRA optimizer steps (after one untimed)', '2')
      .option('--lora-r <n>', 'with --model: LoRA rank (alpha 2r; q,k,v,o,gate,up,down)', '16')
      .option('--max-grad-norm <n>', 'with --model: clip the train phase\'s global gradient norm (pmetal finetune clips at 1; default: no clipping)')
      .option('--copy-mib <n>', 'with --model: MiB the copy kernel moves for the decode roofline (0: skip)', '512')
      .option('--profile', 'webgpu: one more call timed dispatch by dispatch — with --model, GPU ms by op and kernel; for ops, each dispatch in order')
      .option('--cpu-profile <dir>', "with --model: a V8 CPU profile of each phase's timed calls (warm-up and compilation left out) into DIR"),
  ).action(async (o) => {
    if (o.model) {
      process.exitCode = await benchModel(o);
      return;
    }
    if (o.host) {
      const { runHostBench, hostTable } = await import('../bench/host.js');
      const calls = Number(o.calls);
      if (!Number.isInteger(calls) || calls < 1) throw new PmetalError('OPTIONS', `[bench] --calls: expected an integer ≥ 1, got '${o.calls}'`);
      const backends = await loadBackends(o, (o.backend as string[] | undefined) ?? ['webgpu']);
      const rows = [];
      for (const b of backends) rows.push(...(await runHostBench(b, { calls, batch: 1000, ops: o.op, onRow: (r) => process.stderr.write(`${r.op} ${r.backend}: ${r.recordUs.toFixed(1)} µs\n`) })));
      console.log(hostTable(rows));
      if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), devices: Object.fromEntries(backends.map((b) => [b.name, b.capabilities().device])), rows }, null, 2));
      for (const b of backends) b.dispose();
      return;
    }
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
      const res = await runVariants(gpu, { ops: o.op, dtypes: o.dtype, shape: o.shape, variant: o.variant, reps: Number(o.reps), onRow: (r) => process.stderr.write(`${r.op} ${r.dtype} ${r.shape} ${r.variant}: ${r.error ?? `${r.ms.toFixed(4)} ms`}\n`) });
      console.log(variantsTable(res));
      if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), adapter: gpu.adapterName, ...res }, null, 2));
      gpu.dispose();
      process.exitCode = res.rows.some((r) => r.error) ? 1 : 0;
      return;
    }
    if (o.peers) {
      // A separate bundle (dist/peers.js: onnxruntime-web and tfjs inside), loaded only here.
      const { benchPeers } = await import('../bench/peers/index.js').catch((e: unknown) => {
        throw new PmetalError('BACKEND_UNAVAILABLE', `[bench] --peers needs dist/peers.js, built from the devDependencies (onnxruntime-web, tfjs) in a development checkout and left out of the published package: ${(e as Error).message}`);
      });
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
      profile: !!o.profile,
      onRecord: (r) => process.stderr.write(`${r.op} ${r.tier} ${r.dtype} ${r.shape}: ${r.error ?? `${r.ms.toFixed(3)} ms`}\n`),
    });
    console.log(benchTable(res));
    if (o.profile) console.log(dispatchTable(res));
    for (const [k, v] of Object.entries(res.device)) console.log(`${k}: ${v}`);
    if (o.json) writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), ...res, ...(metalRows ? { metal: metalRows, chip: metal?.chip } : {}) }, null, 2));
    for (const b of backends) b.dispose();
    process.exitCode = res.records.some((r) => r.error) || metalRows?.some((r) => Object.values(r.tiers).some((v) => v && 'error' in v)) ? 1 : 0;
  });
}
