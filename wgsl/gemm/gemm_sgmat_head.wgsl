// The subgroup-matrix gemms' main, first lines: the tile's origin, batch bases, this
// subgroup's place in the SG_M×SG_N grid, and the global extents of the staged slices
// (rows × contiguous columns) in each operand's layout.
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  let a0 = p.a_base + wid.z * p.a_bstride;
  let b0 = p.b_base + wid.z * p.b_bstride;
  let sg = sg_id % NSG;
  let sm = sg / SG_N;
  let sn = sg % SG_N;
  // Global extents of the staged slices (rows × contiguous columns) in each layout.
#if TRANS_A
  let a_r_lim = p.k;
  let a_c_lim = p.m;
  let a_ld = p.m;
#else
  let a_r_lim = p.m;
  let a_c_lim = p.k;
  let a_ld = p.k;
#endif
#if TRANS_B
  let b_r_lim = p.n;
  let b_c_lim = p.k;
  let b_ld = p.k;
#else
  let b_r_lim = p.k;
  let b_c_lim = p.n;
  let b_ld = p.n;
#endif
