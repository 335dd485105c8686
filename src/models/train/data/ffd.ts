/**
 * First-fit decreasing bin packing: items taken longest first (a stable sort, so equal
 * lengths keep the caller's — shuffled — order), each into the first bin with room, a new bin
 * when none has. FFD uses at most 11/9·OPT + 6/9 bins, and its bins depend only on the
 * multiset of lengths, so every epoch packs into the same number of rows: the schedule's step
 * count is known before training starts. "First bin with room" is found in O(log n) by
 * descending a max-tree of the bins' free space (every not-yet-opened bin counts as empty, so
 * the leftmost fitting leaf is either an open bin or the next new one).
 *
 * Returns the bins as lists of item indices, in placement order; every length must be in
 * [1, capacity].
 */
export function firstFitDecreasing(lengths: ArrayLike<number>, order: readonly number[], capacity: number): number[][] {
  const sorted = [...order].sort((a, b) => lengths[b] - lengths[a]);
  let size = 1;
  while (size < Math.max(1, order.length)) size *= 2;
  const free = new Float64Array(2 * size);
  free.fill(capacity, size, size + order.length);
  for (let i = size - 1; i >= 1; i--) free[i] = Math.max(free[2 * i], free[2 * i + 1]);
  const bins: number[][] = [];
  for (const item of sorted) {
    const len = lengths[item];
    if (!(len >= 1 && len <= capacity)) throw new RangeError(`firstFitDecreasing: item ${item} has length ${len}, outside [1, ${capacity}]`);
    let node = 1;
    while (node < size) node = free[2 * node] >= len ? 2 * node : 2 * node + 1;
    const bin = node - size;
    (bins[bin] ??= []).push(item);
    free[node] -= len;
    for (node >>= 1; node >= 1; node >>= 1) free[node] = Math.max(free[2 * node], free[2 * node + 1]);
  }
  return bins;
}
