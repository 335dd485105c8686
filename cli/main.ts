#!/usr/bin/env node
import { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerConformance } from './conformance.js';
import { registerDevices } from './devices.js';
import { registerFinetune } from './finetune.js';
import { registerFuzz } from './fuzz.js';
import { registerGenerate } from './generate.js';
import { registerOps } from './ops.js';
import { registerSoak } from './soak.js';

/**
 * The pmetal CLI. It sits above the library: cli/ imports src/, conformance/ and bench/;
 * src/ imports none of them (a test checks the direction). One file per command.
 */
const program = new Command('pmetal').description('fused LLM kernels: devices, ops, conformance and benchmarks').showHelpAfterError();
registerDevices(program);
registerOps(program);
registerConformance(program);
registerBench(program);
registerFuzz(program);
registerSoak(program);
registerFinetune(program);
registerGenerate(program);

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`pmetal: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
