// The position of token t and the rotation of frequency i at it, shared by rope.wgsl and
// rope_vec.wgsl (one workgroup per token or a few tokens): (m·cos θ, m·sin θ) with
// θ = pos · inv_freq[i], the sine negated for BACKWARD. Needs the kernel's Params `p` (seq,
// pos_bstride, offset, mscale), `load_freq` (common/tensor.wgsl, NAME=freq), `pos` under
// POSITIONS, and rope/trig.wgsl.

fn position(t: u32) -> f32 {
  let s = t % p.seq;
#if POSITIONS
  return f32(pos[(t / p.seq) * p.pos_bstride + s]);
#else
  return f32(p.offset + i32(s));
#endif
}

fn angle_cs(ps: f32, i: u32) -> vec2<f32> {
  let cs = cos_sin(ps * load_freq(i)) * p.mscale;
#if BACKWARD
  return vec2<f32>(cs.x, -cs.y);
#else
  return cs;
#endif
}
