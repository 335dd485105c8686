// fused_distill_loss's per-element pieces (LOSS: 0 kl, 1 reverse_kl, 2 js, 3 soft_ce), from
// the log-probabilities lp = log p (teacher) and lq = log q (student); the error model of
// each operation is in src/ops/fused_distill_loss{,_backward}/reference.ts.

// log((p + q)/2) = a + log(0.5 + 0.5·exp(b − a)), a = max, b = min: the log's argument stays
// in [0.5, 1] (no overflow, no cancellation).
fn log_mix(lp: f32, lq: f32) -> f32 {
  let a = max(lp, lq);
  let b = min(lp, lq);
  return a + log(0.5 + 0.5 * exp(b - a));
}

// The forward's term of one vocabulary entry.
fn distill_term(lp: f32, lq: f32) -> f32 {
#if LOSS == 0
  return exp(lp) * (lp - lq);
#elif LOSS == 1
  return exp(lq) * (lq - lp);
#elif LOSS == 2
  let lm = log_mix(lp, lq);
  return 0.5 * (exp(lp) * (lp - lm) + exp(lq) * (lq - lm));
#else
  return -(exp(lp) * lq);
#endif
}

// The backward's h_j, whose q-weighted mean H is subtracted (G_j = q_j·(h_j − H)):
// reverse_kl: log q − log p; js: ½(log q − log m). Unused by kl / soft_ce (G = q − p).
fn distill_h(lp: f32, lq: f32) -> f32 {
#if LOSS == 2
  return 0.5 * (lq - log_mix(lp, lq));
#else
  return lq - lp;
#endif
}
