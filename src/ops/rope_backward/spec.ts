import { ropeOp } from '../rope/op.js';

export { ropeOptions as ropeBackwardOptions, type RopeOptions as RopeBackwardOptions } from '../rope/options.js';

const op = ropeOp({
  name: 'rope_backward',
  summary: 'Gradient of rope: dx = rotation of dy by −angle (same options and positions as the forward).',
  x: 'dy',
  xDoc: '[B, S, H, D] or [S, H, D] upstream gradient',
  y: 'dx',
  yDoc: 'shape and dtype of dy',
  k: 'dk',
  kDoc: "[B, S, Hk, D] or [S, Hk, D] upstream gradient of rope's yk, rotated back in the same dispatch",
  yk: 'dxk',
  ykDoc: 'shape and dtype of dk (the gradient of k), produced when dk is given',
  sign: -1,
});

export const ropeBackward = {
  ...op,
  gradCheck: {
    forward: 'rope',
    grads: { x: 'dx', k: 'dxk' },
    upstream: { y: 'dy', yk: 'dk' },
    backwardInputs: (fin, _fout, up) => ({ dy: up.y, ...(up.yk ? { dk: up.yk } : {}), ...(fin.positions ? { positions: fin.positions } : {}) }),
  },
} satisfies typeof op;
