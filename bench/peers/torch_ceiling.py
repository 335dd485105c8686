"""PyTorch/CUDA timings of pmetal's bench shapes: the ceiling to compare with.

Run on the GPU machine (the `device` tool) in the same call as `pmetal bench`:
    python3 bench/peers/torch_ceiling.py [OP ...] > $OUT/torch.json
(OP: only those sections, e.g. `gemm`; default all).
Times are CUDA-event medians of 20 back-to-back runs after 5 warm-ups and 300 ms of
back-to-back calls (the same clock warm-up as pmetal's bench: bench/clock.ts). Prints one
JSON object.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

dev = "cuda"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
DT = {"f16": torch.float16, "f32": torch.float32, "bf16": torch.bfloat16}


def timed(fn, reps=20, warmup=5, sustain_s=0.3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < sustain_s:
        for _ in range(4):
            fn()
        torch.cuda.synchronize()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    ev[0].record()
    for i in range(reps):
        fn()
        ev[i + 1].record()
    torch.cuda.synchronize()
    ts = sorted(ev[i].elapsed_time(ev[i + 1]) for i in range(reps))
    return ts[len(ts) // 2]


def rec(op, dtype, shape, ms, flops, nbytes):
    return {"op": op, "dtype": dtype, "shape": shape, "ms": ms, "tflops": flops / ms / 1e9, "gbps": nbytes / ms / 1e6}


out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "records": []}
R = out["records"]
ONLY = set(sys.argv[1:])


def want(op):
    return not ONLY or op in ONLY


# gemm at every shape of pmetal's gemm bench (src/ops/gemm/spec.ts), same labels.
GEMM = [(4096, 4096, 4096, False), (8192, 8192, 8192, False), (4096, 14336, 4096, False), (4096, 4096, 14336, False)]
GEMM += [(2048, v, 4096, True) for v in (32000, 32001, 50257, 128256, 151936)]
GEMM += [(m, n, k, True) for m in (1, 8) for n, k in ((14336, 4096), (4096, 14336))]
for dt in ["f16", "bf16", "f32"] if want("gemm") else []:
    t = DT[dt]
    e = torch.finfo(t).bits // 8
    for m, n, k, tb in GEMM:
        a = torch.randn(m, k, device=dev, dtype=t)
        b = torch.randn(n, k, device=dev, dtype=t) if tb else torch.randn(k, n, device=dev, dtype=t)
        ms = timed((lambda: a @ b.t()) if tb else (lambda: a @ b))
        R.append(rec("gemm", dt, f"m={m},n={n},k={k}" + (",transB" if tb else ""), ms, 2 * m * n * k, (m * k + k * n + m * n) * e))
        del a, b
for dt in ["f16", "f32"] if want("rest") else []:
    t = DT[dt]
    e = torch.finfo(t).bits // 8
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
# The rest of `pmetal bench --peers`' table (bench/peers/cases.ts FULL_CASES), same labels.
def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


for dt in ["f16", "f32"] if want("peers") else []:
    t = DT[dt]
    e = torch.finfo(t).bits // 8
    a = torch.randn(8, 14336, device=dev, dtype=t)
    w = torch.randn(4096, 14336, device=dev, dtype=t)
    ms = timed(lambda: a @ w.t())
    R.append(rec("gemm", dt, "m=8,n=4096,k=14336,transB", ms, 2 * 8 * 4096 * 14336, (a.numel() + w.numel() + 8 * 4096) * e))
    del a, w
    x = torch.randn(32, 2048, 2048, device=dev, dtype=t)
    mask = torch.ones(2048, 2048, device=dev, dtype=torch.bool).triu(1)
    ms = timed(lambda: torch.softmax((x * 0.088).masked_fill(mask, float("-inf")), dim=-1))
    R.append(rec("softmax", dt, "causal,32x2048x2048,scale=0.088 (masked_fill, softmax)", ms, 5 * x.numel(), 2 * x.numel() * e))
    del x
    x = torch.randn(4096, 8192, device=dev, dtype=t)
    r = torch.randn(4096, 8192, device=dev, dtype=t)
    w = torch.randn(8192, device=dev, dtype=t)

    def add_norm():
        h = x + r
        return F.rms_norm(h, (8192,), w, 1e-6), h

    ms = timed(add_norm)
    R.append(rec("rms_norm", dt, "rows=4096,cols=8192,residual (add, F.rms_norm)", ms, 4 * x.numel(), 4 * x.numel() * e))
    del x, r
    for b, s_, h, d, maxpos in [(1, 4096, 32, 128, 4096), (8, 2048, 8, 128, 8192)]:
        x = torch.randn(b, s_, h, d, device=dev, dtype=t)
        inv = 1.0 / (10000 ** (torch.arange(0, d, 2, device=dev, dtype=torch.float32) / d))
        ang = torch.outer(torch.arange(maxpos, device=dev, dtype=torch.float32), inv)
        cos = torch.cat((ang.cos(), ang.cos()), -1).to(t)
        sin = torch.cat((ang.sin(), ang.sin()), -1).to(t)
        pos = torch.randint(0, maxpos, (b, s_), device=dev) if b > 1 else torch.arange(s_, device=dev)[None]

        def rope():
            c = cos[pos][:, :, None, :]
            sn = sin[pos][:, :, None, :]
            return x * c + rotate_half(x) * sn

        ms = timed(rope)
        label = f"B={b},S={s_},H={h},D={d}" + (f",positions=[B,S]<{maxpos}" if b > 1 else "")
        R.append(rec("rope", dt, label + " (eager HF apply_rotary_pos_emb)", ms, 6 * x.numel() // 2, 2 * x.numel() * e))
        del x
    logits = torch.randn(4096, 32000, device=dev, dtype=t)
    tgt = torch.randint(0, 32000, (4096,), device=dev)
    ms = timed(lambda: F.cross_entropy(logits, tgt))
    R.append(rec("cross_entropy", dt, "rows=4096,vocab=32000,mean", ms, 4 * logits.numel(), logits.numel() * e))
    del logits
src = torch.empty(512 * 2**20 // 4, device=dev, dtype=torch.float32)
dst = torch.empty_like(src)
ms = timed(lambda: dst.copy_(src))
R.append(rec("copy", "f32", "512MiB", ms, 0, 2 * src.numel() * 4))
json.dump(out, sys.stdout, indent=1)
