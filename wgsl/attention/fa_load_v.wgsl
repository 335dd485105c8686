// The V tile of fa_forward.wgsl: keys k0 .. k0+BK−1 (zeros past kend) into VBUF, f32.
    for (var e = lid; e < BK * dvw; e = e + WG) {
      let jj = e / dvw;
      let c8 = e % dvw;
      let j = k0 + i32(jj);
      var x = V8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (j <= kend) {
        x = ld8_v(vb + u32(j) * p.v_ss + c8 * 8u);
      }
      VBUF[jj * dv4 + 2u * c8] = x.lo;
      VBUF[jj * dv4 + 2u * c8 + 1u] = x.hi;
    }
