// gemm_sgmat.wgsl, one operand's BK-deep slice into workgroup memory by element pairs: ARR
// (As or Bs, row stride LD) gets ROWS × COLS elements of the operand as stored, from row
// R0 and column C0 of it; PAIR reads two elements at BASE + row·LDG + col (zeros past RLIM
// rows and CLIM columns, so ragged shapes need no other care).
for (var t = lid; t < ROWS * COLS / 2u; t = t + NSG * SG_SIZE) {
  let r = t / (COLS / 2u);
  let c = (t % (COLS / 2u)) * 2u;
  let gr = R0 + r;
  let gc = C0 + c;
  let v = PAIR(BASE + gr * LDG + gc, gr < RLIM && gc < CLIM, gr < RLIM && gc + 1u < CLIM);
  ARR[r * LD + c] = v.x;
  ARR[r * LD + c + 1u] = v.y;
}
