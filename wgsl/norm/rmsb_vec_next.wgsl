// Register slot I of rms_norm_backward_vec.wgsl: this row's raw words (dv_I, xv_I: zeros
// past the row) from the prefetch, and the next row's words fetched in their place.
let dv_##I = nd_##I;
let xv_##I = nx_##I;
if (row + 1u < r1 && k_##I < p.nv) {
  nd_##I = dy[base + p.nv + k_##I];
  nx_##I = x[base + p.nv + k_##I];
}
