// fa_forward_sgmat.wgsl: output columns 16F..16F+15 of the subgroup's rows, f32.
var o##F = subgroup_matrix_result<f32, 16, 16>();
