// gemm_sgmat_vec.wgsl's QKV epilogue step: the 16×16 result subgroup sg staged at
// stage[sg·256..] goes to rows r0.., columns c0.. of output seg (q = y, k = y2, v = y3; rows
// of sn elements), masked at M and sn, through the common epilogue's alpha (no C or bias
// under QKV) and the dtype stores — what gemm writes for each projection alone. Same item
// layout as flush (16 rows × 4 runs of 4 columns).
fn flush_qkv(sg: u32, lane: u32, sg_size: u32, r0: u32, c0: u32, seg: u32, sn: u32) {
  workgroupBarrier();
  for (var s = lane; s < 64u; s = s + sg_size) {
    let row = r0 + s / 4u;
    let col = c0 + (s % 4u) * 4u;
    if (row < p.m && col < sn) {
      let src = sg * 256u + (s / 4u) * 16u + (s % 4u) * 4u;
      let v = p.alpha * vec4<f32>(stage[src], stage[src + 1u], stage[src + 2u], stage[src + 3u]);
      let cnt = min(4u, sn - col);
      let e = row * sn + col;
      if (seg == 0u) {
        store_run4_y(p.y_base + e, v, cnt);
      } else if (seg == 1u) {
        store_run4_y2(p.y2_base + e, v, cnt);
      } else {
        store_run4_y3(p.y3_base + e, v, cnt);
      }
    }
  }
  workgroupBarrier();
}
