// acc += pj · v[jj] over this lane's output words (fa_forward.wgsl's PV step).
      for (var i = 0u; i < CPW; i = i + 1u) {
        let w = lane + i * TPR;
        if (w < dvw) {
          acc[2u * i] = acc[2u * i] + pj * VBUF[jj * dv4 + 2u * w];
          acc[2u * i + 1u] = acc[2u * i + 1u] + pj * VBUF[jj * dv4 + 2u * w + 1u];
        }
      }
