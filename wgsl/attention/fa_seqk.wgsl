// The sequence of packed key j < cuk[B]: the largest b with cuk[b] ≤ j.
fn seqk_of(j: u32) -> u32 {
  var lo = 0u;
  var hi = p.batches - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (u32(cuk[mid]) <= j) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  return lo;
}
