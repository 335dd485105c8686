# Sourced by bench/device-s14-b.sh (its v and room): the session's new variants.
# 4-bit decode at M = 1: qgemv_sg (default) against the three qgemv_wide kernels, LM head first.
v quantized_gemm m=1,n=128256 "default (qgemv_sg,qgemv_wide" 70 subgroup-matrix
v quantized_gemm m=1,n=14336 "default (qgemv_sg,qgemv_wide" 50 subgroup-matrix
v quantized_gemm m=1,n=4096 "default (qgemv_sg,qgemv_wide" 50 subgroup-matrix
# M = 8 (the wide kernels cover M ≤ 4): qgemv_sg against qgemv_rows and 128 invocations.
v quantized_gemm m=8,n "default (qgemv_sg,qgemv_rows,128 invocations" 60 subgroup-matrix
