// An f32 accumulator per 16 output columns F of the subgroup's 16 rows (ACC##F).
var ACC##F = subgroup_matrix_result<f32, 16, 16>();
