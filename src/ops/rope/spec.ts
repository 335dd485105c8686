import { ropeOp } from './op.js';

export { ropeOptions, type RopeOptions } from './options.js';

export const rope = ropeOp({
  name: 'rope',
  summary: 'Rotary position embedding (NeoX or GPT-J pairs, partial rotary dim, linear/Llama-3/YaRN frequency scaling), positions from a tensor or an offset.',
  x: 'x',
  xDoc: '[B, S, H, D] or [S, H, D] queries or keys',
  y: 'y',
  yDoc: 'shape and dtype of x',
  k: 'k',
  kDoc: '[B, S, Hk, D] or [S, Hk, D] keys rotated in the same dispatch (x\'s B, S, D and dtype; any head count)',
  yk: 'yk',
  ykDoc: 'shape and dtype of k, produced when k is given',
  sign: 1,
});
