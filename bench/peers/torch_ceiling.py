"""PyTorch/CUDA timings of pmetal's bench shapes: the ceiling to compare with.

Run on the GPU machine (the `device` tool) in the same call as `pmetal bench`:
    python3 bench/peers/torch_ceiling.py [OP ...] > $OUT/torch.json
(OP: only those sections — gemm, rest, peers, attention, training, generation; default all).
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
# Attention at pmetal's bench shapes (src/ops/flash_attention_forward/cases.ts attnBench,
# decode_attention DECODE_BENCH): SDPA, which takes FlashAttention-2 on the H100 for f16/bf16.
ATTN = [(4, 4096, 32, 8, 128, False), (4, 4096, 32, 8, 128, True), (4, 4096, 32, 32, 128, False),
        (4, 4096, 32, 32, 128, True), (2, 8192, 16, 16, 64, True), (2, 2048, 16, 8, 256, True)]
for dt in ["f16", "bf16"] if want("attention") else []:
    t = DT[dt]
    for b, s_, hq, hkv, d, causal in ATTN:
        q = torch.randn(b, hq, s_, d, device=dev, dtype=t, requires_grad=True)
        k = torch.randn(b, hkv, s_, d, device=dev, dtype=t, requires_grad=True)
        v = torch.randn(b, hkv, s_, d, device=dev, dtype=t, requires_grad=True)
        label = f"b={b},sq={s_},sk={s_},hq={hq},hkv={hkv},d={d}" + (",causal" if causal else "")
        fl = 4 * b * hq * s_ * s_ * d * (0.5 if causal else 1)
        fwd = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=hq != hkv)
        R.append(rec("flash_attention_forward", dt, label + " (SDPA)", timed(fwd), fl, 0))
        o = fwd()
        do = torch.randn_like(o)
        bwd = lambda: torch.autograd.grad(o, (q, k, v), do, retain_graph=True)
        R.append(rec("flash_attention_backward", dt, label + " (SDPA autograd, backward only)", timed(bwd), 2.5 * fl, 0))
        del q, k, v, o, do
    q = torch.randn(32, 32, 1, 128, device=dev, dtype=t)
    k = torch.randn(32, 8, 4096, 128, device=dev, dtype=t)
    v = torch.randn(32, 8, 4096, 128, device=dev, dtype=t)
    ms = timed(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
    R.append(rec("decode_attention", dt, "b=32,t=1,len=4096,hq=32,hkv=8,d=128 contiguous (SDPA)", ms, 4 * 32 * 32 * 4096 * 128, 2 * k.numel() * k.element_size()))
    del q, k, v
# Training kernels at pmetal's bench shapes (src/ops/fused_lora_forward/cases.ts, fused_adamw_step).
for dt in ["f16", "bf16"] if want("training") else []:
    t = DT[dt]
    for r in (16, 64):
        x = torch.randn(4096, 4096, device=dev, dtype=t, requires_grad=True)
        w = torch.randn(14336, 4096, device=dev, dtype=t)
        a = torch.randn(r, 4096, device=dev, dtype=t, requires_grad=True)
        bb = torch.randn(14336, r, device=dev, dtype=t, requires_grad=True)
        drop = torch.nn.Dropout(0.05)
        fwd = lambda: x @ w.t() + 2.0 * ((drop(x) @ a.t()) @ bb.t())
        label = f"T=4096,K=4096,N=14336,r={r}"
        R.append(rec("fused_lora_forward", dt, label + " (eager peft-style)", timed(fwd), 2 * 4096 * 14336 * 4096, 0))
        y = fwd()
        dy = torch.randn_like(y)
        R.append(rec("fused_lora_backward", dt, label + " (autograd: dx, dA, dB)", timed(lambda: torch.autograd.grad(y, (x, a, bb), dy, retain_graph=True)), 2 * 4096 * 14336 * 4096, 0))
        del x, w, a, bb, y, dy
    # fused_mlp (T=4096,K=4096,I=14336,r=16, alpha 32, dropout 0.05): peft's LoRA on gate, up
    # and down, eager silu(g)·u between; forward, then autograd's backward (dx and the six
    # adapter gradients).
    T_, K_, I_, r_ = 4096, 4096, 14336, 16
    xm = torch.randn(T_, K_, device=dev, dtype=t, requires_grad=True)
    ws = [torch.randn(I_, K_, device=dev, dtype=t), torch.randn(I_, K_, device=dev, dtype=t), torch.randn(K_, I_, device=dev, dtype=t)]
    ad = [(torch.randn(r_, w_.shape[1], device=dev, dtype=t, requires_grad=True), torch.randn(w_.shape[0], r_, device=dev, dtype=t, requires_grad=True)) for w_ in ws]
    dropm = torch.nn.Dropout(0.05)
    lin = lambda z, i: z @ ws[i].t() + 2.0 * ((dropm(z) @ ad[i][0].t()) @ ad[i][1].t())
    mlp = lambda: lin(F.silu(lin(xm, 0)) * lin(xm, 1), 2)
    R.append(rec("fused_mlp", dt, "T=4096,K=4096,I=14336,r=16 (eager peft-style)", timed(mlp), 2 * 3 * T_ * K_ * I_, 0))
    ym = mlp()
    dym = torch.randn_like(ym)
    grads = [xm] + [p_ for pair in ad for p_ in pair]
    R.append(rec("fused_mlp_backward", dt, "T=4096,K=4096,I=14336,r=16 (autograd: dx and the adapters)", timed(lambda: torch.autograd.grad(ym, grads, dym, retain_graph=True)), 2 * 2 * 3 * T_ * K_ * I_, 0))
    del xm, ws, ad, ym, dym, grads
    # dw_gemm_accum: C (f32) = Aᵀ·B (+ C), f16 operands; torch.mm with an f32 result where this
    # PyTorch has out_dtype, else the f16 product cast (what eager code writes).
    for tt, m_, n_, mb, beta in [(4096, 4096, 14336, 1, 0), (1024, 4096, 4096, 4, 1)]:
        A_ = torch.randn(mb, tt, m_, device=dev, dtype=t)
        B_ = torch.randn(mb, tt, n_, device=dev, dtype=t)
        C_ = torch.zeros(m_, n_, device=dev, dtype=torch.float32)
        try:
            torch.mm(A_[0].t(), B_[0], out_dtype=torch.float32)
            prod, how = (lambda i: torch.mm(A_[i].t(), B_[i], out_dtype=torch.float32)), "mm out_dtype=f32"
        except (TypeError, RuntimeError):
            prod, how = (lambda i: (A_[i].t() @ B_[i]).float()), "f16 mm, cast"

        def dw():
            if not beta:
                C_.zero_()
            for i in range(mb):
                C_.add_(prod(i))

        lab = f"t={tt},m={m_},n={n_}" + (f",mb={mb},beta=1" if beta else "")
        R.append(rec("dw_gemm_accum", dt, f"{lab} ({how})", timed(dw), 2 * mb * tt * m_ * n_, 0))
        del A_, B_, C_
    # embedding_backward V=128256,H=4096,T=4096: aten's dense embedding backward (f32 dW, as
    # autograd runs it for F.embedding).
    ids = torch.randint(0, 128256, (4096,), device=dev)
    gy = torch.randn(4096, 4096, device=dev, dtype=t)
    R.append(rec("embedding_backward", dt, "V=128256,H=4096,T=4096 (aten embedding_dense_backward)", timed(lambda: torch.ops.aten.embedding_dense_backward(gy, ids, 128256, -1, False)), 0, gy.numel() * gy.element_size() + 128256 * 4096 * gy.element_size()))
    del ids, gy
    # fused_distill_loss rows=4096,vocab=128256, temperature 2, every loss: log_softmax in f32
    # of both sides, then the divergence, eager (the bytes: both logit tensors once).
    st = torch.randn(4096, 128256, device=dev, dtype=t)
    te = torch.randn(4096, 128256, device=dev, dtype=t)

    def distill(loss):
        ls = F.log_softmax(st.float() / 2.0, -1)
        lt = F.log_softmax(te.float() / 2.0, -1)
        if loss == "kl":
            return F.kl_div(ls, lt, log_target=True, reduction="batchmean")
        if loss == "reverse_kl":
            return F.kl_div(lt, ls, log_target=True, reduction="batchmean")
        if loss == "soft_ce":
            return -(lt.exp() * ls).sum(-1).mean()
        lm = torch.logaddexp(ls, lt) - 0.6931471805599453
        return 0.5 * (F.kl_div(lm, lt, log_target=True, reduction="batchmean") + F.kl_div(lm, ls, log_target=True, reduction="batchmean"))

    for loss in ("kl", "js", "reverse_kl", "soft_ce"):
        R.append(rec("fused_distill_loss", dt, f"rows=4096,vocab=128256,{loss} (eager log_softmax + kl_div)", timed(lambda: distill(loss)), 0, 2 * st.numel() * st.element_size()))
    del st, te
    h, kv, ff = 2048, 512, 8192
    sizes = [h * h, kv * h, kv * h, h * h, ff * h, ff * h, h * ff, h, h] * 16 + [h]
    ps = [torch.randn(n, device=dev, dtype=torch.float32, requires_grad=True) for n in sizes]
    for p_ in ps:
        p_.grad = torch.randn_like(p_) * 0.01
    opt = torch.optim.AdamW(ps, lr=1e-4, fused=True)

    def step():
        torch.nn.utils.clip_grad_norm_(ps, 1.0, foreach=True)
        opt.step()

    P = sum(sizes)
    R.append(rec("fused_adamw_step", "f32", f"llama3.2-1b-layers,P={P},segments={len(sizes)} (clip_grad_norm_ + AdamW fused=True)", timed(step), 0, 16 * P))
    del ps, opt
    break  # AdamW runs on f32 master weights: once is enough
# Generation: the 4-bit decode as PyTorch would do it without a custom kernel (dequantize an
# MLX-affine group-64 weight to f16, then matmul), and HF-style sampling.
for dt in ["f16"] if want("generation") else []:
    t = DT[dt]
    for m, n, k in [(1, 14336, 4096), (8, 14336, 4096), (1, 4096, 14336), (1, 128256, 4096)]:
        packed = torch.randint(0, 2**31 - 1, (n, k // 8), device=dev, dtype=torch.int32)
        sc = torch.randn(n, k // 64, device=dev, dtype=t)
        bi = torch.randn(n, k // 64, device=dev, dtype=t)
        x = torch.randn(m, k, device=dev, dtype=t)
        sh = torch.arange(0, 32, 4, device=dev, dtype=torch.int32)

        def qmm():
            q = ((packed[:, :, None] >> sh) & 15).reshape(n, k // 64, 64).to(t)
            wd = (q * sc[:, :, None] + bi[:, :, None]).reshape(n, k)
            return x @ wd.t()

        wf = torch.randn(n, k, device=dev, dtype=t)
        R.append(rec("quantized_gemm", dt, f"mlx4,m={m},n={n},k={k} (dequantize + matmul)", timed(qmm), 2 * m * n * k, n * k // 2))
        R.append(rec("quantized_gemm", dt, f"mlx4,m={m},n={n},k={k} (f16 matmul, weights already dense)", timed(lambda: x @ wf.t()), 2 * m * n * k, n * k * 2))
        del packed, sc, bi, x, wf
    for b in (1, 32):
        for vv in (128256, 151936):
            logits = torch.randn(b, vv, device=dev, dtype=t)

            def samp():
                z = logits.float() / 0.7
                top, idx = torch.topk(z, 50, dim=-1)
                pr = torch.softmax(top, dim=-1)
                cum = pr.cumsum(-1)
                top = top.masked_fill(cum - pr > 0.9, float("-inf"))
                return idx.gather(-1, torch.multinomial(torch.softmax(top, -1), 1))

            R.append(rec("sample", dt, f"b={b},v={vv},topK=50,topP=0.9,temperature=0.7 (topk, cumsum, multinomial)", timed(samp), 0, logits.numel() * 2))
            del logits
src = torch.empty(512 * 2**20 // 4, device=dev, dtype=torch.float32)
dst = torch.empty_like(src)
ms = timed(lambda: dst.copy_(src))
R.append(rec("copy", "f32", "512MiB", ms, 0, 2 * src.numel() * 4))
json.dump(out, sys.stdout, indent=1)
