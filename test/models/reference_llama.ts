/**
 * An independent Llama-family forward pass in plain float64 loops, written from Hugging
 * Face's modeling code (LlamaRMSNorm, rotate_half rope, repeat_kv attention with the causal
 * and sliding-window mask, SwiGLU MLP), not from pmetal's ops. With `roundAt` set it rounds to
 * f32 wherever pmetal's forward hands an f32 tensor from one op to the next, so the two can be
 * compared bit for bit up to summation order.
 */
export interface RefConfig {
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  invFreq: Float64Array;
  window: number | null;
  qkNorm: boolean;
  tie: boolean;
  layers: number;
}
type W = Map<string, { shape: number[]; data: Float32Array }>;

/** HF's default inverse frequencies, and _compute_llama3_parameters. */
export function refInvFreq(theta: number, d: number, llama3?: { factor: number; low: number; high: number; omp: number }): Float64Array {
  const inv = new Float64Array(d / 2).map((_, i) => 1 / theta ** ((2 * i) / d));
  if (!llama3) return inv;
  return inv.map((f) => {
    const wl = (2 * Math.PI) / f;
    if (wl < llama3.omp / llama3.high) return f;
    if (wl > llama3.omp / llama3.low) return f / llama3.factor;
    const s = (llama3.omp / wl - llama3.low) / (llama3.high - llama3.low);
    return ((1 - s) * f) / llama3.factor + s * f;
  });
}

/**
 * `roundAt`: true rounds to f32 at op boundaries, a function rounds with it (f16/bf16), false
 * keeps float64 throughout.
 */
export function referenceLogits(c: RefConfig, w: W, ids: readonly number[], roundAt: boolean | ((x: number) => number)): Float64Array[] {
  const fn = roundAt === true ? Math.fround : roundAt === false ? undefined : roundAt;
  const r = fn ? (a: Float64Array) => a.map(fn) : (a: Float64Array) => a;
  const get = (n: string) => w.get(n)?.data;
  const S = ids.length;
  const H = c.hidden;
  const D = c.headDim;
  const rmsNorm = (x: Float64Array, weight: Float32Array, n: number) => {
    const y = new Float64Array(x.length);
    for (let row = 0; row < x.length / n; row++) {
      let ss = 0;
      for (let j = 0; j < n; j++) ss += x[row * n + j] ** 2;
      const inv = 1 / Math.sqrt(ss / n + c.eps);
      for (let j = 0; j < n; j++) y[row * n + j] = x[row * n + j] * inv * weight[j];
    }
    return r(y);
  };
  // x [S, K] · W[N, K]ᵀ + bias + residual, rounded once as a gemm output.
  const linear = (x: Float64Array, name: string, bias?: string, residual?: Float64Array) => {
    const wt = get(name)!;
    const [N, K] = w.get(name)!.shape;
    const y = new Float64Array(S * N);
    const bb = bias ? get(bias) : undefined;
    for (let s = 0; s < S; s++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += x[s * K + k] * wt[n * K + k];
        y[s * N + n] = acc + (bb ? bb[n] : 0) + (residual ? residual[s * N + n] : 0);
      }
    return r(y);
  };
  const rope = (x: Float64Array, nh: number) => {
    const y = new Float64Array(x.length);
    const half = D / 2;
    for (let s = 0; s < S; s++)
      for (let h = 0; h < nh; h++)
        for (let i = 0; i < half; i++) {
          const a = s * c.invFreq[i];
          const o = (s * nh + h) * D;
          y[o + i] = x[o + i] * Math.cos(a) - x[o + i + half] * Math.sin(a);
          y[o + i + half] = x[o + i + half] * Math.cos(a) + x[o + i] * Math.sin(a);
        }
    return r(y);
  };
  let x: Float64Array = new Float64Array(S * H);
  const emb = get('model.embed_tokens.weight')!;
  ids.forEach((id, s) => {
    for (let j = 0; j < H; j++) x[s * H + j] = emb[id * H + j];
  });
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    const n1 = rmsNorm(x, get(`${p}.input_layernorm.weight`)!, H);
    const bias = (m: string) => (w.has(`${p}.self_attn.${m}.bias`) ? `${p}.self_attn.${m}.bias` : undefined);
    let q = linear(n1, `${p}.self_attn.q_proj.weight`, bias('q_proj'));
    let k = linear(n1, `${p}.self_attn.k_proj.weight`, bias('k_proj'));
    const v = linear(n1, `${p}.self_attn.v_proj.weight`, bias('v_proj'));
    if (c.qkNorm) {
      q = rmsNorm(q, get(`${p}.self_attn.q_norm.weight`)!, D);
      k = rmsNorm(k, get(`${p}.self_attn.k_norm.weight`)!, D);
    }
    q = rope(q, c.heads);
    k = rope(k, c.kvHeads);
    const att = new Float64Array(S * c.heads * D);
    const group = c.heads / c.kvHeads;
    for (let h = 0; h < c.heads; h++) {
      const kh = Math.floor(h / group);
      for (let i = 0; i < S; i++) {
        const sc: number[] = [];
        let mx = -Infinity;
        for (let j = 0; j <= i; j++) {
          // HF's sliding mask keeps key j iff j > i - W.
          if (c.window !== null && !(j > i - c.window)) {
            sc.push(-Infinity);
            continue;
          }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(i * c.heads + h) * D + d] * k[(j * c.kvHeads + kh) * D + d];
          sc.push(dot / Math.sqrt(D));
          mx = Math.max(mx, dot / Math.sqrt(D));
        }
        const e = sc.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j <= i; j++) acc += (e[j] / z) * v[(j * c.kvHeads + kh) * D + d];
          att[(i * c.heads + h) * D + d] = acc;
        }
      }
    }
    const h1 = linear(r(att), `${p}.self_attn.o_proj.weight`, w.has(`${p}.self_attn.o_proj.bias`) ? `${p}.self_attn.o_proj.bias` : undefined, x);
    const n2 = rmsNorm(h1, get(`${p}.post_attention_layernorm.weight`)!, H);
    const g = linear(n2, `${p}.mlp.gate_proj.weight`);
    const u = linear(n2, `${p}.mlp.up_proj.weight`);
    const act = r(g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]));
    x = linear(act, `${p}.mlp.down_proj.weight`, undefined, h1);
  }
  const n = rmsNorm(x, get('model.norm.weight')!, H);
  const logits = linear(n, c.tie ? 'model.embed_tokens.weight' : 'lm_head.weight');
  const V = logits.length / S;
  return Array.from({ length: S }, (_, s) => logits.slice(s * V, (s + 1) * V));
}
