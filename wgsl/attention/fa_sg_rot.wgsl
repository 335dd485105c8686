// The first of the lane's HB columns in its half row of a stage (fa_forward_sgmat.wgsl,
// fa_bwd_dq_sgmat.wgsl, fa_bwd_dkv_sgmat.wgsl): a lane visits columns half·HB + (c + rot) % HB.
// A stage row is 2·HB f32 words, so lanes that all start at column 0 of their half meet in one
// or two of the 32 banks — 8-way conflicts at HB 8, 16-way at 16, 32-way at 32 on every read of
// S and write of P. Rotating by lane·HB/32 spreads the 32 lanes over 32 banks (and the f16 P
// stage's words over 32 too). SWZ 0 keeps the plain order (PMETAL_FA_SGMAT_SWIZZLE=0; the
// rotation made the H100's forward 35% faster, run S17).
#if SWZ
let rot = (sg_lane * HB) / 32u;
#else
let rot = 0u;
#endif
