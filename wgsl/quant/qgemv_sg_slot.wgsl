// Row F of x in qgemv_sg.wgsl, in step STEP: 0 declares acc_F (its 4 column sums); 1 folds
// the row's 8 elements at column e − x_base against the part w of the 4 rows of W; 2 adds
// acc_F over the subgroup and leaves the total of subgroup lid / ssz for the last pass.
#if STEP == 0
var acc_##F = vec4<f32>(0.0);
#elif STEP == 1
acc_##F = acc_##F + fold(load_x8(e + F##u * p.k), w);
#else
{
  let t = subgroupAdd(acc_##F);
  if (sid == 0u) {
    red[F##u * NSG + lid / ssz] = t;
  }
}
#endif
