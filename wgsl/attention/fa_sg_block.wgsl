// The head of a subgroup-matrix attention kernel over query rows (fa_forward_sgmat.wgsl,
// fa_bwd_dq_sgmat.wgsl): the workgroup's (row block, query head, batch), the cu_seqlens check,
// the block's key range [kstart, kend], and the lane's place — subgroup sg, its row (two lanes
// a row, `half` each), the row's geometry g — and the k, v bases of the kv head.
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
  // Workgroups: (row block, query head, batch); rows are positions of one head. LATE_FIRST:
  // a head's last row block first — under a causal mask the later blocks see the most keys,
  // and starting the longest workgroups first leaves short ones, not long ones, for the tail.
#if LATE_FIRST
  let blk = p.blocks - 1u - gid % p.blocks;
#else
  let blk = gid % p.blocks;
#endif
  let h = (gid / p.blocks) % p.hq;
  let bz = gid / (p.blocks * p.hq);
  let kvh = h / p.group;
  let hg = h % p.group;
#include "attention/fa_validate.wgsl" (cu_bad_count=cu_bad_count16[0], cu_bad_flag=cu_bad_flag16[0])

  let r_first = blk * BQ;
  let r_last = min(r_first + BQ, p.rows) - 1u;
  let kstart = row_geom(r_first * p.group + hg, bz, kvh, cu_ok).lo;
  let kend = row_geom(r_last * p.group + hg, bz, kvh, cu_ok).hi;

  let sg = sg_id % NSG;
  let row = sg_lane / 2u;
  let half = sg_lane % 2u;
  let r = r_first + sg * 16u + row;
  let in_rows = r < p.rows;
  let live = in_rows && cu_ok;
  let g = row_geom(min(r, p.rows - 1u) * p.group + hg, bz, kvh, cu_ok);
  let kb = p.k_base + bz * p.k_sb + kvh * p.k_sh;
  let vb = p.v_base + bz * p.v_sb + kvh * p.v_sh;
