// Varlen: the workgroup checks both cu_seqlens arrays before anything reads through them —
// cu[0] = 0, nondecreasing, cu[B] ≤ the packed total (src/ops/flash_attention_forward/
// options.ts cuValid). Gives `cu_ok` (workgroup-uniform): false when either is malformed;
// the kernel then writes NaN everywhere it owns. Include in the entry point after `lid`.
  if (p.varlen != 0u) {
    for (var i = lid; i <= p.batches; i = i + WG) {
      var bad = false;
      for (var which = 0u; which < 2u; which = which + 1u) {
        let c = select(cuq[i], cuk[i], which == 1u);
        if (i == 0u) {
          bad = bad || c != 0;
        }
        if (i < p.batches) {
          bad = bad || c > select(cuq[i + 1u], cuk[i + 1u], which == 1u);
        } else {
          bad = bad || c < 0 || u32(c) > select(p.sq, p.sk, which == 1u);
        }
      }
      if (bad) {
        atomicAdd(&cu_bad_count, 1u);
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      cu_bad_flag = atomicLoad(&cu_bad_count);
    }
  }
  let cu_ok = workgroupUniformLoad(&cu_bad_flag) == 0u;
