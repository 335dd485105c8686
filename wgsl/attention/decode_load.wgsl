// decode_stream.wgsl's key loads: the U keys of each team of the step starting at key KB,
// into kw / vw (16-byte words of each lane's K and V row parts) and kj (the key's index, or
// past every row's range when it is outside the split or unreadable). Needs b, kvh, kend, tl,
// team, wk, wv; KB an i32 expression.
#for UI U
    {
      let j = KB + i32(UI * NT + team);
      var slot = -1;
      if (j <= kend) {
        slot = key_slot(b, kvh, u32(j));
      }
      // 16-byte word offsets of the K and V rows (bases and head dims are multiples of 8 elements).
      let kwo = select(-1, i32((p.k_base + u32(slot) * p.d) / EPV), slot >= 0);
      let vwo = select(-1, i32((p.v_base + u32(slot) * p.dv) / EPV), slot >= 0);
      // A key outside the range (or unreadable) sees no row: j past every row's hi.
      kj[UI] = select(j, kend + 1, kwo < 0);
#for WI NW
      {
        let w = tl + WI * TL;
        var x = vec4<u32>(0u);
        if (kwo >= 0 && w < wk) {
          x = k[u32(kwo) + w];
        }
        kw[UI * NW + WI] = x;
      }
#endfor
#for WI NWV
      {
        let w = tl + WI * TL;
        var x = vec4<u32>(0u);
        if (vwo >= 0 && w < wv) {
          x = v[u32(vwo) + w];
        }
        vw[UI * NWV + WI] = x;
      }
#endfor
    }
#endfor
