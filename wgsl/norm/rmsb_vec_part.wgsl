// Register slot I of rms_norm_backward_vec.wgsl: the block's dw partial for word k_I
// (EPV/4 vec4<f32> per word).
if (k_##I < p.nv) {
#if X_DT
  part[pb + 2u * k_##I] = al_##I;
  part[pb + 2u * k_##I + 1u] = ah_##I;
#else
  part[pb + k_##I] = al_##I;
#endif
}
