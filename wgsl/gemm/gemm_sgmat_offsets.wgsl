// The subgroup-matrix gemms' fragment offsets: op(A)'s fragment at tile rows r0.., slice
// columns k0.. and op(B)'s at slice rows k0.., tile columns c0.., in the staged layouts
// (LDA, LDB and the TRANS_ switches of the including kernel).
fn a_off(r0: u32, k0: u32) -> u32 {
#if TRANS_A
  return k0 * LDA + r0;
#else
  return r0 * LDA + k0;
#endif
}
fn b_off(k0: u32, c0: u32) -> u32 {
#if TRANS_B
  return c0 * LDB + k0;
#else
  return k0 * LDB + c0;
#endif
}
