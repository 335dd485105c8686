// Flat (elementwise) indexing: one invocation per word pair of a window of `count`
// elements whose first element sits at `base` in every binding (same parity everywhere).
// Include after declaring `p: Params` with fields count, groups_x, base.

struct FlatPos {
  word: u32,
  m0: bool,
  m1: bool,
  valid: bool,
}

fn flat_pos(wid: vec3<u32>, lid: u32) -> FlatPos {
  let par = p.base & 1u;
  let k = (wid.x + wid.y * p.groups_x) * WG + lid;
  let nwords = (p.count + par + 1u) / 2u;
  let j0 = i32(2u * k) - i32(par);
  return FlatPos((p.base >> 1u) + k, j0 >= 0, j0 + 1 < i32(p.count), k < nwords);
}
