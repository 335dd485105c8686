// Row F of x in qgemv_wide.wgsl, in step STEP: 0 declares acc_F and acd_F (the sums of the
// block's rows 0–3 and 4–7); 1 folds the row's 8 elements at column e − x_base against the
// parts w (rows 0–3) and v (rows 4–7), x loaded once for both; 2 adds both over the subgroup
// and leaves the totals of subgroup lid / ssz for the last pass.
#if STEP == 0
var acc_##F = vec4<f32>(0.0);
var acd_##F = vec4<f32>(0.0);
#elif STEP == 1
{
  let x = load_x8(e + F##u * p.k);
  acc_##F = fold8(acc_##F, x, w);
  acd_##F = fold8(acd_##F, x, v);
}
#else
{
  let t = subgroupAdd(acc_##F);
  let d = subgroupAdd(acd_##F);
  if (sid == 0u) {
    red[(2u * F##u) * NSG + lid / ssz] = t;
    red[(2u * F##u + 1u) * NSG + lid / ssz] = d;
  }
}
#endif
