// fa_forward_sgmat.wgsl: Q slice F (columns 16F..16F+15) of the subgroup's rows, a left fragment.
var qf##F: subgroup_matrix_left<f16, 16, 16>;
