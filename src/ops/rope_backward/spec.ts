import { ropeOp } from '../rope/op.js';

export { ropeOptions as ropeBackwardOptions, type RopeOptions as RopeBackwardOptions } from '../rope/options.js';

const op = ropeOp({
  name: 'rope_backward',
  summary: 'Gradient of rope: dx = rotation of dy by −angle (same options and positions as the forward).',
  x: 'dy',
  xDoc: '[B, S, H, D] or [S, H, D] upstream gradient',
  y: 'dx',
  yDoc: 'shape and dtype of dy',
  sign: -1,
});

export const ropeBackward = {
  ...op,
  gradCheck: {
    forward: 'rope',
    grads: { x: 'dx' },
    upstream: { y: 'dy' },
    backwardInputs: (fin, _fout, up) => ({ dy: up.y, ...(fin.positions ? { positions: fin.positions } : {}) }),
  },
} satisfies typeof op;
