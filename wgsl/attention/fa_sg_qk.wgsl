s = subgroupMatrixMultiplyAccumulate(LEFT##F, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&TILE, J##u * 16u * LD + F##u * 16u, LD), s);
