"""PyTorch twin of `pmetal bench --model` (bench/models): the same Llama shapes with random
weights, the same phases, timed the same way, on the same GPU in the same device call.

    python3 bench/peers/torch_models.py --model llama-1b|llama-8b [--phase prefill,decode,train]
        [--batch 1,16] [--seq 2048] [--prompt 512] [--steps 32] [--warmup 3] [--reps 5]
        [--train-steps 2] [--lora-r 16] > $OUT/torch-models.json

transformers' LlamaForCausalLM built from a LlamaConfig (random init, std 0.02, as HF
initialises), f16, attn_implementation="sdpa", eager (no torch.compile, no CUDA graphs), on
cuda. Phases, as pmetal's:
- prefill: one sequence of --seq tokens with use_cache, logits of the last token only
  (logits_to_keep=1, what generate's prefill computes); wall ms to completion, median of --reps
  after a 300 ms clock warm-up of back-to-back calls.
- decode: --batch prompts of --prompt tokens, then a greedy loop over the DynamicCache:
  argmax on the GPU, the B tokens copied to the host every step (pmetal's loop reads them back
  too, as any loop with a stop check does); --warmup untimed steps, --steps timed ones,
  tokens/s = B × steps / their total time.
- train: peft LoRA r on q,k,v,o,gate,up,down (alpha 2r, dropout 0; peft keeps the adapters in
  f32 over the f16 base), AdamW, one sequence of --seq tokens (labels = ids, HF's causal-LM
  loss), one untimed step then --train-steps timed ones (each ends in loss.item()).
Peak memory per phase: torch.cuda.max_memory_allocated (pmetal's peakLiveBytes) and
max_memory_reserved (its peakAllocatedBytes, the pool included), reset at each phase's start
with the model resident. MLX 4-bit has no PyTorch twin: --quant is not offered here.
Prints one JSON object; a phase that fails (e.g. out of memory) is a record with "error".
"""
import argparse
import json
import math
import sys
import time

try:
    import torch
except ImportError:  # the presets stay readable without torch (test/bench/models.test.ts compares them with presets.ts)
    torch = None

# The shapes of bench/models/presets.ts (Meta's config.json of each model); keep them equal.
LLAMA3_ROPE = dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=8192)
PRESETS = {
    "tiny": (dict(vocab_size=320, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=4096, tie_word_embeddings=True), 10000.0, dict(LLAMA3_ROPE, factor=8.0, original_max_position_embeddings=256)),
    "llama-1b": (dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072, tie_word_embeddings=True), 500000.0, LLAMA3_ROPE),
    "llama-8b": (dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=131072, tie_word_embeddings=False), 500000.0, dict(LLAMA3_ROPE, factor=8.0)),
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
dev = "cuda"


def make_config(name):
    """A LlamaConfig in whichever rope format this transformers speaks (v5: rope_parameters
    with the theta inside; v4: rope_theta + rope_scaling), as scripts/fixtures/make_tiny_models.py."""
    from transformers import LlamaConfig

    kw, theta, scaling = PRESETS[name]
    kw = dict(kw, rms_norm_eps=1e-5, hidden_act="silu", attention_bias=False, mlp_bias=False, bos_token_id=128000 if name != "tiny" else 0, eos_token_id=128001 if name != "tiny" else 1, use_cache=True)
    if hasattr(LlamaConfig(), "rope_parameters"):
        kw["rope_parameters"] = dict(scaling, rope_theta=theta)
    else:
        kw["rope_theta"] = theta
        kw["rope_scaling"] = dict(scaling)
    return LlamaConfig(**kw)


def build_model(cfg):
    """Random init straight on the GPU in f16 (an 8B init on the host takes minutes)."""
    from transformers import AutoModelForCausalLM

    torch.set_default_dtype(torch.float16)
    try:
        with torch.device(dev):
            try:
                model = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa")
            except TypeError:
                cfg._attn_implementation = "sdpa"
                model = AutoModelForCausalLM.from_config(cfg)
    finally:
        torch.set_default_dtype(torch.float32)
    if next(model.parameters()).dtype != torch.float16:
        model = model.half()
    return model.to(dev).eval()


def sync():
    torch.cuda.synchronize()


def sustain(fn, seconds=0.3):
    """pmetal's clock warm-up (bench/clock.ts): back-to-back calls until `seconds` have passed."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        sync()


def wall_ms(fn, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def summary(times):
    s = sorted(times)
    return dict(ms=s[len(s) // 2], minMs=s[0], maxMs=s[-1], runs=len(s))


def forward(model, ids, **kw):
    """logits_to_keep (transformers ≥ 4.50; num_logits_to_keep before it)."""
    try:
        return model(input_ids=ids, logits_to_keep=1, **kw)
    except TypeError:
        return model(input_ids=ids, num_logits_to_keep=1, **kw)


def prefill(model, cfg, a, gen):
    ids = torch.randint(0, cfg.vocab_size, (1, a.seq), device=dev, generator=gen)

    def call():
        with torch.no_grad():
            forward(model, ids, use_cache=True)

    call()
    sync()
    sustain(call)
    s = summary(wall_ms(call, a.reps))
    return dict(phase="prefill", batch=1, seq=a.seq, **s, tokensPerS=a.seq / s["ms"] * 1e3)


def decode(model, cfg, a, batch, gen):
    with torch.no_grad():
        return _decode(model, cfg, a, batch, gen)


def _decode(model, cfg, a, batch, gen):
    ids = torch.randint(0, cfg.vocab_size, (batch, a.prompt), device=dev, generator=gen)
    out = forward(model, ids, use_cache=True)
    cache = out.past_key_values
    nxt = out.logits[:, -1].argmax(-1, keepdim=True)
    nxt.cpu()
    times = []
    last = time.perf_counter()
    for i in range(a.warmup + a.steps):
        out = model(input_ids=nxt, past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        nxt.cpu()  # the host sees every step's tokens, as in pmetal's loop
        now = time.perf_counter()
        if i >= a.warmup:
            times.append((now - last) * 1e3)
        last = now
    s = summary(times)
    s["ms"] = sum(times) / len(times)  # throughput over the timed steps, as pmetal's
    return dict(phase="decode", batch=batch, seq=a.prompt, **s, tokensPerS=batch / s["ms"] * 1e3)


def train(model, cfg, a, gen):
    from peft import LoraConfig, get_peft_model

    pm = get_peft_model(model, LoraConfig(r=a.lora_r, lora_alpha=2 * a.lora_r, lora_dropout=0.0, target_modules=TARGETS, bias="none", task_type="CAUSAL_LM"))
    pm.train()
    params = [p for p in pm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(0, cfg.vocab_size, (1, a.seq), device=dev, generator=gen)

    def step():
        loss = pm(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    step()
    times, loss = [], math.nan
    for _ in range(a.train_steps):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1e3)
    s = summary(times)
    r = dict(phase="train", batch=1, seq=a.seq, **s, tokensPerS=a.seq / s["ms"] * 1e3, loss=loss, adapterDtype=str(params[0].dtype).replace("torch.", ""), trainableParams=sum(p.numel() for p in params))
    if not math.isfinite(loss):
        r["error"] = f"the loss is {loss}"
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=sorted(PRESETS), required=True)
    p.add_argument("--phase", default="prefill,decode,train")
    p.add_argument("--batch", default="1,16")
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--train-steps", type=int, default=2)
    p.add_argument("--lora-r", type=int, default=16)
    a = p.parse_args()
    if torch is None:
        p.error("torch is not installed")
    phases = a.phase.split(",")
    bad = [x for x in phases if x not in ("prefill", "decode", "train")]
    if bad:
        p.error(f"--phase: expected some of prefill, decode, train, got {bad[0]!r}")
    batches = [int(b) for b in a.batch.split(",")]

    import transformers

    try:
        import peft

        peft_version = peft.__version__
    except ImportError:
        peft_version = None
    torch.backends.cuda.matmul.allow_tf32 = False
    gen = torch.Generator(device=dev).manual_seed(0)
    cfg = make_config(a.model)
    t0 = time.perf_counter()
    model = build_model(cfg)
    sync()
    build_s = time.perf_counter() - t0
    out = dict(
        device=torch.cuda.get_device_name(),
        torch=torch.__version__,
        transformers=transformers.__version__,
        peft=peft_version,
        model=a.model,
        dtype="f16",
        attn=getattr(model.config, "_attn_implementation", None),
        cache="DynamicCache",
        buildMs=build_s * 1e3,
        weightBytes=torch.cuda.memory_allocated(),
        options=vars(a),
        records=[],
    )

    def phase(name, batch, seq, fn):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        try:
            r = fn()
        except Exception as e:  # one phase's failure (OOM, an API this transformers lacks) is its record
            r = dict(phase=name, batch=batch, seq=seq, ms=math.nan, runs=0, tokensPerS=math.nan, error=f"{type(e).__name__}: {e}"[:400])
        r["peakLiveBytes"] = torch.cuda.max_memory_allocated()
        r["peakAllocatedBytes"] = torch.cuda.max_memory_reserved()
        out["records"].append(r)
        print(f"{name} B={batch}: {r.get('error') or '%.2f ms, %.1f tokens/s' % (r['ms'], r['tokensPerS'])}", file=sys.stderr)

    if "prefill" in phases:
        phase("prefill", 1, a.seq, lambda: prefill(model, cfg, a, gen))
    if "decode" in phases:
        for b in batches:
            phase("decode", b, a.prompt, lambda b=b: decode(model, cfg, a, b, gen))
    if "train" in phases:
        if peft_version is None:
            out["records"].append(dict(phase="train", batch=1, seq=a.seq, error="peft is not installed"))
        else:
            phase("train", 1, a.seq, lambda: train(model, cfg, a, gen))
    print(json.dumps(finite(out), indent=1, default=str))


def finite(x):
    """NaN is not JSON: a failed phase's numbers become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [finite(v) for v in x]
    return x


if __name__ == "__main__":
    main()
