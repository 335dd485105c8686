/** silu(g)·u = g·u / (1 + e^{−g}) and its parts, in float64. */
export const sigmoid = (g: number) => 1 / (1 + Math.exp(-g));

export function swigluRef(g: Float64Array, u: Float64Array): Float64Array {
  const y = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) y[i] = g[i] * sigmoid(g[i]) * u[i];
  return y;
}

/** d/dg: dy·u·s·(1 + g·(1−s)); d/du: dy·g·s. */
export function swigluBackwardRef(dy: Float64Array, g: Float64Array, u: Float64Array) {
  const dgate = new Float64Array(g.length);
  const dup = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const s = sigmoid(g[i]);
    dgate[i] = dy[i] * u[i] * s * (1 + g[i] * (1 - s));
    dup[i] = dy[i] * g[i] * s;
  }
  return { dgate, dup };
}
