// fused_mlp's gate/up pair at decode sizes (T ≤ GSW_MAX_T tokens), Metal 3 tier, ONE dispatch
// where the separate plan records (rms_norm,) two gemv.metal products and swiglu:
//   [NORM: s = x (+ residual);  n = (s·rstd)·γ rounded to T, taking x's place]
//   g = x·W_gᵀ, u = x·W_uᵀ, each rounded to T (gemm's epilogue: alpha = 1, no c, no bias);
//   h = g·σ(g)·u from the rounded g, u (swiglu.metal's arithmetic: sigmoid_pair, (g·σ)·u),
//   rounded to T; WRITE_GU also stores the rounded g and u (fused_mlp's recompute = false).
// Those are the separate ops' rounding points, so src/ops/fused_mlp/reference.ts bounds both
// plans at once. The down projection stays gemv.metal on h (launchers/fused_mlp.ts).
//
// The GEMV is gemv.metal's: a threadgroup of GSW_SGS = 8 SIMD-groups, SIMD-group g owning
// row tg·8 + g of h — the same row of W_g and of W_u, so each row of both is read once and
// every x element a lane reads feeds both; its 32 lanes stride along K in runs of 8 (run r
// to lane r mod 32), each run's 8 weights of each matrix converted once and folded into
// every token; per run s = Σ a·w over the 8 elements in order, acc += s; K past the last whole
// run one element a lane; simd_sum. Per product that is gemv.metal's arithmetic and order.
//
// NORM (function constant 0; 1 adds the residual): phase 1, every threadgroup computes the T
// rows' rstd with rms_norm's arithmetic and order (norm/rms_rows.h, the launcher passing
// rms_norm's threads a row: rowThreads(K)), threadgroup 0 also writes rstd [T] (f32) and,
// with the residual, residualOut = T(x + residual) (rms_norm's h). Then K goes in chunks of
// p.chunk columns (a multiple of 256 = 32 lanes × one run, so each lane keeps its runs): the
// threadgroup's 256 threads form n of the chunk for the T rows, n = T((s·rstd)·γ) as rms_norm
// stores y, into threadgroup memory ([[threadgroup(0)]], T·chunk elements of T), and the 8
// SIMD-groups fold it into their rows — n is formed once per threadgroup, not once per
// SIMD-group. The K tail lies in the last chunk (chunks start on multiples of 8).
// Without NORM there is one chunk, K, read from x directly as gemv.metal reads a (no barrier).
//
// Epilogue: lane t of the SIMD-group keeps token t's two sums and finishes h[t, row] (T ≤ 32
// lanes). Named gemv_swiglu_<dtype>.
#include <metal_stdlib>
#include "common/sigmoid.h"
#include "norm/rms_rows.h"
using namespace metal;

constant bool gsw_norm [[function_constant(0)]];
constant bool gsw_res [[function_constant(1)]];
constant bool gsw_write_gu [[function_constant(2)]];

constant constexpr uint GSW_MAX_T = 16;
constant constexpr uint GSW_SGS = 8;

// Same fields, in order, as SWIGLU_GEMV_PARAMS in src/backend/metal/launchers/mlp_gemv.ts.
// i: rows of W_g / W_u (columns of h); norm_threads: rms_norm's threads a row; chunk: columns
// of n staged at a time (NORM only).
struct SwigluGemvParams {
  uint t;
  uint k;
  uint i;
  uint norm_threads;
  uint chunk;
  float eps;
};

template <typename T>
[[kernel]] void gemv_swiglu(device const T* x [[buffer(0)]],
                            device const T* wg [[buffer(1)]],
                            device const T* wu [[buffer(2)]],
                            device T* ho [[buffer(3)]],
                            constant SwigluGemvParams& p [[buffer(4)]],
                            device T* go [[buffer(5), function_constant(gsw_write_gu)]],
                            device T* uo [[buffer(6), function_constant(gsw_write_gu)]],
                            device const T* gamma [[buffer(7), function_constant(gsw_norm)]],
                            device float* rstd_out [[buffer(8), function_constant(gsw_norm)]],
                            device const T* res [[buffer(9), function_constant(gsw_res)]],
                            device T* ro [[buffer(10), function_constant(gsw_res)]],
                            threadgroup T* nst [[threadgroup(0)]],
                            uint tgi [[threadgroup_position_in_grid]],
                            uint lid [[thread_index_in_threadgroup]],
                            uint sg [[simdgroup_index_in_threadgroup]],
                            uint lane [[thread_index_in_simdgroup]]) {
  threadgroup float part[GSW_MAX_T * GSW_SGS];
  const uint kk = p.k;

  // ---- NORM phase 1: rstd of the T rows (rms_norm's order); threadgroup 0 writes rstd and the sum ----
  float rstd[GSW_MAX_T];
  if (gsw_norm) {
    if (gsw_res && tgi == 0) rms_rows_write_sum(x, res, ro, p.t * kk, lid, GSW_SGS * 32);
    rms_rows_rstd<T, GSW_MAX_T>(rstd, x, res, gsw_res, p.t, kk, p.norm_threads, p.eps, part, GSW_SGS, lid, sg, lane);
    if (tgi == 0) {
      for (uint t = 0; t < GSW_MAX_T; t++) {
        if (t < p.t && lid == t) rstd_out[t] = rstd[t];
      }
    }
  }

  // ---- the GEMV: row `row` of W_g and of W_u (a uniform branch per SIMD-group) ----
  const uint row = tgi * GSW_SGS + sg;
  const bool active = row < p.i;
  device const T* gr = wg + ulong(active ? row : 0) * kk;
  device const T* ur = wu + ulong(active ? row : 0) * kk;
  float ag[GSW_MAX_T], au[GSW_MAX_T];
  for (uint t = 0; t < GSW_MAX_T; t++) {
    ag[t] = 0.0f;
    au[t] = 0.0f;
  }
  const uint runs = kk / 8;
  const uint chunk = gsw_norm ? p.chunk : kk;
  uint c0 = 0;
  for (uint c = 0; c < kk; c += chunk) {
    c0 = c;
    if (gsw_norm) {
      // n of columns c … c + chunk − 1 (< K), token t's at nst[t·chunk + column − c].
      threadgroup_barrier(mem_flags::mem_threadgroup);
      const uint cols = min(chunk, kk - c);
      for (uint t = 0; t < GSW_MAX_T; t++) {
        if (t < p.t) {
          for (uint j = lid; j < cols; j += GSW_SGS * 32) {
            const ulong e = ulong(t) * kk + c + j;
            float v = float(x[e]);
            if (gsw_res) v += float(res[e]);
            nst[t * chunk + j] = rms_norm_elem<T>(v, rstd[t], float(gamma[c + j]));
          }
        }
      }
      threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (active) {
      const uint rend = min(runs, (c + chunk) / 8);
      for (uint r = c / 8 + lane; r < rend; r += 32) {
        float wgr[8], wur[8];
        for (uint u = 0; u < 8; u++) {
          wgr[u] = float(gr[r * 8 + u]);
          wur[u] = float(ur[r * 8 + u]);
        }
        for (uint t = 0; t < GSW_MAX_T; t++) {
          if (t < p.t) {
            float sgt = 0.0f, sut = 0.0f;
            for (uint u = 0; u < 8; u++) {
              const float a = gsw_norm ? float(nst[t * chunk + (r * 8 - c) + u]) : float(x[ulong(t) * kk + r * 8 + u]);
              sgt += a * wgr[u];
              sut += a * wur[u];
            }
            ag[t] += sgt;
            au[t] += sut;
          }
        }
      }
    }
  }
  // K past the last whole run (in the last chunk, c0): one element a lane.
  if (active) {
    for (uint e = runs * 8 + lane; e < kk; e += 32) {
      const float wge = float(gr[e]);
      const float wue = float(ur[e]);
      for (uint t = 0; t < GSW_MAX_T; t++) {
        if (t < p.t) {
          const float a = gsw_norm ? float(nst[t * chunk + (e - c0)]) : float(x[ulong(t) * kk + e]);
          ag[t] += a * wge;
          au[t] += a * wue;
        }
      }
    }
  }

  // ---- epilogue: lane t finishes token t ----
  float mg = 0.0f, mu = 0.0f;
  for (uint t = 0; t < GSW_MAX_T; t++) {
    if (t < p.t) {
      const float gs = simd_sum(ag[t]);
      const float us = simd_sum(au[t]);
      if (lane == t) {
        mg = gs;
        mu = us;
      }
    }
  }
  if (active && lane < p.t) {
    const ulong at = ulong(lane) * p.i + row;
    // gemm's epilogue (alpha = 1, no c, no bias): one rounding to T.
    const T gq = T(mg);
    const T uq = T(mu);
    if (gsw_write_gu) {
      go[at] = gq;
      uo[at] = uq;
    }
    // swiglu.metal on the stored g and u.
    const float g = float(gq);
    const float s = sigmoid_pair(g).x;
    ho[at] = T(g * s * float(uq));
  }
}

// Host names are built by token pasting, then stringized once, so each is a single literal.
#define gsw_str_(x) #x
#define gsw_str(x) gsw_str_(x)
#define instantiate_gsw(tname, T) \
  template [[host_name(gsw_str(gemv_swiglu_##tname))]] [[kernel]] decltype(gemv_swiglu<T>) gemv_swiglu<T>;

instantiate_gsw(f32, float)
instantiate_gsw(f16, half)
instantiate_gsw(bf16, bfloat)
