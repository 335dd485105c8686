// The backward's dk/dv kernels: the query rows [ra, rb) that can see the block's keys
// j0..j1 (workgroup-uniform; varlen: the rows of the sequences those keys belong to), and
// whether key KEY is a key of a sequence (key_ok; varlen: not padding). Needs cu_ok, seqk_of.
  var ra = 0u;
  var rb = 0u;
  var key_ok = KEY < p.sk;
  if (cu_ok) {
    if (p.varlen != 0u) {
      let nb = p.batches;
      let kend_all = u32(cuk[nb]);
      key_ok = key_ok && KEY < kend_all;
      if (j0 < kend_all) {
        let bf = seqk_of(j0);
        let bl = seqk_of(min(j1, kend_all - 1u));
        ra = u32(cuq[bf]) * p.group;
        rb = u32(cuq[bl + 1u]) * p.group;
      }
    } else {
      rb = p.rows;
    }
  }
