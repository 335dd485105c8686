// gemm_sgmat8.wgsl, one operand's BK-deep slice into workgroup memory as f32: ARR (As or
// Bs, row stride LD) gets ROWS × COLS elements of the operand as stored, from row R0 and
// column C0 of it, read two f16 at a time by PAIR at BASE + row·LDG + col (zeros past RLIM
// rows and CLIM columns, so ragged shapes need no other care). f16 → f32 is exact.
for (var t = lid; t < ROWS * COLS / 2u; t = t + NSG * SG_SIZE) {
  let r = t / (COLS / 2u);
  let c = (t % (COLS / 2u)) * 2u;
  let gr = R0 + r;
  let gc = C0 + c;
  let v = PAIR(BASE + gr * LDG + gc, gr < RLIM && gc < CLIM, gr < RLIM && gc + 1u < CLIM);
  ARR[r * LD + c] = f32(v.x);
  ARR[r * LD + c + 1u] = f32(v.y);
}
