// The backward's dk/dv kernels: per query row rb0 + t (t < NROWS) of a block, into workgroup
// arrays: its visible keys [rlo, rhi] (none past rb), (lse, D), and its q and dO offsets.
    for (var t = lid; t < NROWS; t = t + WG) {
      let qr = rb0 + t;
      var lo = 1;
      var hi = 0;
      var lsed = vec2<f32>(0.0);
      var qo = 0u;
      var oo = 0u;
      if (qr < rb) {
        let g = row_geom(qr, bz, kvh, true);
        lo = g.lo;
        hi = g.hi;
        qo = g.q;
        oo = g.o;
        if (lo <= hi) {
          lsed = ld[g.lse];
        }
      }
      rlo[t] = lo;
      rhi[t] = hi;
      rld[t] = lsed;
      rq[t] = qo;
      ro[t] = oo;
    }
