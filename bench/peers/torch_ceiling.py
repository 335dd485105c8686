"""PyTorch/CUDA timings of pmetal's bench shapes: the ceiling to compare with.

Run on the GPU machine (the `device` tool) in the same call as `pmetal bench`:
    python3 bench/peers/torch_ceiling.py > $OUT/torch.json
Times are CUDA-event medians of 20 runs after 5 warm-ups. Prints one JSON object.
"""
import json
import sys

import torch
import torch.nn.functional as F

dev = "cuda"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
DT = {"f16": torch.float16, "f32": torch.float32, "bf16": torch.bfloat16}


def timed(fn, reps=20, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def rec(op, dtype, shape, ms, flops, nbytes):
    return {"op": op, "dtype": dtype, "shape": shape, "ms": ms, "tflops": flops / ms / 1e9, "gbps": nbytes / ms / 1e6}


out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "records": []}
R = out["records"]
for dt in ["f16", "f32"]:
    t = DT[dt]
    e = torch.finfo(t).bits // 8
    for m, n, k in [(4096, 4096, 4096), (8, 4096, 14336)]:
        a = torch.randn(m, k, device=dev, dtype=t)
        b = torch.randn(k, n, device=dev, dtype=t)
        ms = timed(lambda: a @ b)
        R.append(rec("gemm", dt, f"M={m},N={n},K={k}", ms, 2 * m * n * k, (m * k + k * n + m * n) * e))
    x = torch.randn(16384, 4096, device=dev, dtype=t)
    w = torch.randn(4096, device=dev, dtype=t)
    ms = timed(lambda: F.rms_norm(x, (4096,), w, 1e-6))
    R.append(rec("rms_norm", dt, "rows=16384,cols=4096", ms, 4 * x.numel(), 2 * x.numel() * e))
    x = torch.randn(32, 4096, 4096, device=dev, dtype=t)
    ms = timed(lambda: torch.softmax(x * 0.088, dim=-1))
    ms_fused = timed(lambda: torch.softmax(x, dim=-1))
    R.append(rec("softmax", dt, "32x4096x4096 (unscaled, the fused kernel)", ms_fused, 5 * x.numel(), 2 * x.numel() * e))
    R.append(rec("softmax", dt, "32x4096x4096 (scale·x then softmax)", ms, 5 * x.numel(), 2 * x.numel() * e))
    del x
    g = torch.randn(8192, 14336, device=dev, dtype=t)
    u = torch.randn(8192, 14336, device=dev, dtype=t)
    ms = timed(lambda: F.silu(g) * u)
    R.append(rec("swiglu", dt, "8192x14336 (eager silu·up)", ms, 6 * g.numel(), 3 * g.numel() * e))
    del g, u
    logits = torch.randn(8192, 128256, device=dev, dtype=t)
    tgt = torch.randint(0, 128256, (8192,), device=dev)
    ms = timed(lambda: F.cross_entropy(logits, tgt))
    R.append(rec("cross_entropy", dt, "T=8192,V=128256", ms, 4 * logits.numel(), logits.numel() * e))
    del logits
src = torch.empty(512 * 2**20 // 4, device=dev, dtype=torch.float32)
dst = torch.empty_like(src)
ms = timed(lambda: dst.copy_(src))
R.append(rec("copy", "f32", "512MiB", ms, 0, 2 * src.numel() * 4))
json.dump(out, sys.stdout, indent=1)
