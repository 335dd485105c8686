o##F = subgroupMatrixMultiplyAccumulate(pm, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&VT, J##u * 16u * LDV + F##u * 16u, LDV), o##F);
