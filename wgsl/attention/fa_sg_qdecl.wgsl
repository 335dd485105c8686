// A left fragment per 16 columns F of the subgroup's 16 rows (DST##F; common/frags.wgsl).
var DST##F: subgroup_matrix_left<f16, 16, 16>;
