import { envFlag } from '../../../env_flag.js';

/**
 * PMETAL_METAL_DECODE_FUSED=0 keeps Metal's decode sizes on the separate ops' launches: no
 * gemv_norm_qkv.metal (fused_norm_qkv at T ≤ 4) and no gemv_swiglu.metal (fused_mlp's gate/up
 * at T ≤ 16). Both plans are within each op's one bound; the switch exists so a Mac can time
 * one against the other (neither has been timed on Apple hardware). Read at each launch.
 */
export const metalDecodeFused = (op: string): boolean => envFlag(op, 'PMETAL_METAL_DECODE_FUSED', true);
