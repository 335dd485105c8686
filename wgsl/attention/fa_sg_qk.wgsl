s = subgroupMatrixMultiplyAccumulate(qf##F, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&ktile, J##u * 16u * LDK + F##u * 16u, LDK), s);
