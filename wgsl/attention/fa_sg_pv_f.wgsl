ACC##F = subgroupMatrixMultiplyAccumulate(pm, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&RT, J##u * 16u * RLD + F##u * 16u, RLD), ACC##F);
