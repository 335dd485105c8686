// fa_forward_sgmat.wgsl's PREFETCH, global → registers: this invocation's PER words of the K or
// V tile (NAME = k or v, DW words a row) of keys KN.. into REG, zeros past kend — the same
// words fa_sg_tile.wgsl loads, issued a tile ahead so their latency overlaps the matrix work.
#for TI PER
{
  let t = lid + TI * WG;
  let jj = t / DW;
  let j = KN + i32(jj);
  var w = vec4<u32>(0u);
  if (t < BK * DW && j <= kend) {
    w = NAME[(NAME##b + u32(j) * p.NAME##_ss) / 8u + t % DW];
  }
  REG[TI] = w;
}
#endfor
