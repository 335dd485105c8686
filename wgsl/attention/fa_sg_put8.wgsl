// The 8 halves of word w into ARR at AT.. (one invocation per 16-byte word: no 32-bit word of
// workgroup memory has two writers).
{
  let h0 = bitcast<vec2<f16>>(w.x);
  let h1 = bitcast<vec2<f16>>(w.y);
  let h2 = bitcast<vec2<f16>>(w.z);
  let h3 = bitcast<vec2<f16>>(w.w);
  let at = AT;
  ARR[at] = h0.x;
  ARR[at + 1u] = h0.y;
  ARR[at + 2u] = h1.x;
  ARR[at + 3u] = h1.y;
  ARR[at + 4u] = h2.x;
  ARR[at + 5u] = h2.y;
  ARR[at + 6u] = h3.x;
  ARR[at + 7u] = h3.y;
}
