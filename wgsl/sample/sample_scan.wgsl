// Workgroup scans for the sampler kernels (WG invocations, every one must call, from uniform
// control flow). Hillis–Steele over workgroup memory: log2(WG) steps of two barriers — a
// handful of microseconds at most, and the same on every adapter (no subgroup sizes to assume).
// Needs sample_common.wgsl (add64) before it.

var<workgroup> scan_buf: array<vec2<u32>, WG>;

// Inclusive scan of two u32 counts per invocation (lanewise; counts never exceed 2^32).
// scan_total() right after gives the workgroup's totals.
fn wg_scan2(v: vec2<u32>, lid: u32) -> vec2<u32> {
  var x = v;
  for (var s = 1u; s < WG; s = s << 1u) {
    scan_buf[lid] = x;
    workgroupBarrier();
    if (lid >= s) {
      x = x + scan_buf[lid - s];
    }
    workgroupBarrier();
  }
  scan_buf[lid] = x;
  return x;
}

// Inclusive scan of one 64-bit value (lo, hi) per invocation.
fn wg_scan64(v: vec2<u32>, lid: u32) -> vec2<u32> {
  var x = v;
  for (var s = 1u; s < WG; s = s << 1u) {
    scan_buf[lid] = x;
    workgroupBarrier();
    if (lid >= s) {
      x = add64(x, scan_buf[lid - s]);
    }
    workgroupBarrier();
  }
  scan_buf[lid] = x;
  return x;
}

// The last invocation's inclusive value of the scan just done (uniform; its barriers also
// keep the next scan's first writes after every read of this one).
fn scan_total() -> vec2<u32> {
  return workgroupUniformLoad(&scan_buf[WG - 1u]);
}
