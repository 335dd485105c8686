import { mlpBackward, type MlpBackwardOpts } from '../../compose/mlp_backward.js';
import type { Tensor } from '../../../tensor.js';
import { gemmOptions } from '../../../ops/gemm/spec.js';
import type { Launcher } from '../launch.js';
import { loraBackward } from './fused_lora.js';
import { projForward } from './fused_mlp.js';
import { gemmLauncher } from './gemm.js';
import { swigluBackwardLauncher, swigluLauncher } from './swiglu.js';

/** fused_mlp_backward on webgpu: the separate ops' launches (compose/mlp_backward.ts). */
export const fusedMlpBackwardLauncher: Launcher = {
  tiers: (d, f) => gemmLauncher.tiers(d, f),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as MlpBackwardOpts;
    return mlpBackward(
      {
        projForward: (x, p) => projForward(ctx, tier, x, i, p, o),
        loraBackward: (pick, lo, dxIn) => loraBackward(ctx, tier, pick, lo, dxIn),
        gemm: (dy, w, c, y) => gemmLauncher.launch(ctx, tier, c ? { a: dy, b: w, c } : { a: dy, b: w }, gemmOptions.parse({ beta: c ? 1 : 0, outDtype: dy.dtype }), { y }).y,
        swiglu: (g, u, y) => swigluLauncher.launch(ctx, 'portable', { gate: g, up: u }, {}, { y }).y,
        swigluBackward: (dy, g, u, info) => swigluBackwardLauncher.launch(ctx, 'portable', { dy, gate: g, up: u }, {}, { dgate: info, dup: info }) as { dgate: Tensor; dup: Tensor },
        output: (info) => ctx.output(info),
      },
      i,
      o,
      outs.dx.shape,
    );
  },
};
