// decode_attention's outputs (o [B, T, Hq, Dv] in Q_DT, lse [B, Hq, T] f32) and how a row is
// finished from its combined partial — decode_reduce.wgsl's merge of the splits, and
// decode_stream.wgsl's own epilogue when a step has one split (DIRECT: no reduce dispatch).
// M = the max over parts that saw a key (and the sink), l = Σ w·l_part (+ exp(sink − M)),
// o = Σ w·acc_part / l, lse = M + log(l); a row that saw no key: o = 0, lse = −∞ (or the
// sink's); an invalid sequence: NaN. Needs convert.wgsl, softcap.wgsl (quiet_nan) and p.
#if Q_DT == 0
@group(0) @binding(6) var<storage, read_write> o: array<vec4<f32>>;
#else
@group(0) @binding(6) var<storage, read_write> o: array<vec2<u32>>;
#endif
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;

fn enc4(x: vec4<f32>) -> vec2<u32> {
#if Q_DT == 1
  return vec2<u32>(f32_to_f16(x.x) | (f32_to_f16(x.y) << 16u), f32_to_f16(x.z) | (f32_to_f16(x.w) << 16u));
#else
  return vec2<u32>(f32_to_bf16(x.x) | (f32_to_bf16(x.y) << 16u), f32_to_bf16(x.z) | (f32_to_bf16(x.w) << 16u));
#endif
}

// Word c (4 elements) of row (b, t, h): acc is the weighted sum Σ w·acc_part, lt the total l.
fn out_word(b: u32, t: u32, h: u32, c: u32, acc: vec4<f32>, lt: f32, seq_ok: bool) {
  var x = select(acc / lt, vec4<f32>(0.0), lt == 0.0);
  if (!seq_ok) {
    x = vec4<f32>(quiet_nan(c));
  }
  let oi = p.o_base / 4u + ((b * p.t + t) * p.hq + h) * (p.dv / 4u) + c;
#if Q_DT == 0
  o[oi] = x;
#else
  o[oi] = enc4(x);
#endif
}

// lse of row (b, t, h) from its M and total l.
fn out_lse(b: u32, t: u32, h: u32, mx: f32, lt: f32, seq_ok: bool) {
  let ninf = bitcast<f32>(0xff800000u | (t & 0u));
  lse[p.lse_base + (b * p.hq + h) * p.t + t] = select(select(mx + log(lt), ninf, lt == 0.0), quiet_nan(t), !seq_ok);
}
