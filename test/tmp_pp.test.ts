import { it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { shaderSource } from '../src/backend/webgpu/pipelines.js';
import { faSgmatPipeline, sgmatPlan } from '../src/backend/webgpu/launchers/flash_attention_sgmat.js';
it('pp', () => {
  for (const d of [64, 128, 256]) {
    const plan = sgmatPlan(d, d, 49152)!;
    writeFileSync(`/tmp/ppt/fa${d}.${process.env.TAG}.wgsl`, shaderSource(faSgmatPipeline(d, d, plan)).code.replace(/^\s*\/\/.*$/gm, '').replace(/\n\s*\n/g, '\n'));
  }
});
