import { mlpBackward, type MlpBackwardOpts } from '../../compose/mlp_backward.js';
import type { Tensor } from '../../../tensor.js';
import type { MetalLauncher } from '../launch.js';
import { loraBackward } from './fused_lora.js';
import { projForward } from './fused_mlp.js';
import { gemmLauncher } from './gemm.js';
import { gemmOn } from './gemm_call.js';
import { swigluBackwardLauncher, swigluLauncher } from './swiglu.js';

/** fused_mlp_backward on metal: the separate ops' launches, as on webgpu (compose/mlp_backward.ts). */
export const fusedMlpBackwardLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as MlpBackwardOpts;
    return mlpBackward(
      {
        projForward: (x, p) => projForward(ctx, tier, x, i, p, o),
        loraBackward: (pick, lo, dxIn) => loraBackward(ctx, tier, pick, lo, dxIn),
        gemm: (dy, w, c, y) => gemmOn(ctx, tier, w.shape[0], { a: dy, b: w, c }, { beta: c ? 1 : 0, outDtype: dy.dtype as 'f32' }, y),
        swiglu: (g, u, y) => swigluLauncher.launch(ctx, 'metal3', { gate: g, up: u }, {}, { y }).y,
        swigluBackward: (dy, g, u, info) => swigluBackwardLauncher.launch(ctx, 'metal3', { dy, gate: g, up: u }, {}, { dgate: info, dup: info }) as { dgate: Tensor; dup: Tensor },
        output: (info) => ctx.output(info),
      },
      i,
      o,
      outs.dx.shape,
    );
  },
};
