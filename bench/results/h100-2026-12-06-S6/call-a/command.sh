# Run S6 closing call A (device; carry .gpu dist): quick conformance of every webgpu op, host
# cost, the attention / decode / sampler / GEMV benches and PyTorch's attention + generation.

source .gpu/prelude.sh >/dev/null 2>&1; tar -xzf .gpu/node_modules.tgz
CONF_S=230 FUZZ_S=0 HOST=1 BENCH_T=100 \
BENCHES="--op flash_attention_forward,flash_attention_backward --dtype f16;--variants --op decode_attention --dtype f16;--op kv_cache_copy --dtype f16;--op sample --dtype f16;--variants --op gemm --shape m=1,n= --dtype f16,bf16,f32;--variants --op gemm --shape m=8,n= --dtype f16;--variants --op quantized_gemm --shape ,m=1, --dtype f16;--variants --op quantized_gemm --shape mlx4,m=8, --dtype f16" \
TORCH_SECTIONS="attention generation" TORCH_S=150 bash bench/device-final.sh
