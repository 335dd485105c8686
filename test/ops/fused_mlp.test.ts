import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { DTypeError, OptionsError, ShapeError } from '../../src/errors.js';

const cpu = new CpuBackend();

describe('fused_mlp input checks', () => {
  const f = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const base = () => ({ x: f([3, 8]), wGate: f([6, 8]), wUp: f([6, 8]), wDown: f([8, 6]) });
  it.each([
    ['wUp of another shape', () => cpu.fusedMlp({ ...base(), wUp: f([5, 8]) }), ShapeError, /^\[fused_mlp\] wUp: expected f32\[6,8\], got f32\[5,8\]$/],
    ['wDown not [N, I]', () => cpu.fusedMlp({ ...base(), wDown: f([8, 5]) }), ShapeError, /^\[fused_mlp\] wDown: expected f32\[8,6\], got f32\[8,5\]$/],
    ['wGate of another dtype', () => cpu.fusedMlp({ ...base(), wGate: cpu.tensor(new Uint16Array(48), [6, 8], 'f16') }), DTypeError, /^\[fused_mlp\] wGate: expected f32\[6,8\], got f16\[6,8\]$/],
    ['wDown missing', () => cpu.fusedMlp({ ...base(), wDown: undefined as never }), ShapeError, /^\[fused_mlp\] wDown: required input is missing$/],
    ['I = 0', () => cpu.fusedMlp({ x: f([3, 8]), wGate: f([0, 8]), wUp: f([0, 8]), wDown: f([8, 0]) }), ShapeError, /^\[fused_mlp\] wGate: the intermediate size I must be ≥ 1 \(dimension 0\), got f32\[0,8\]$/],
    ['K = 0', () => cpu.fusedMlp({ x: f([3, 0]), wGate: f([6, 0]), wUp: f([6, 0]), wDown: f([0, 6]) }), ShapeError, /^\[fused_mlp\] x: the input features K must be ≥ 1 \(dimension 1\), got f32\[3,0\]$/],
    ['an adapter half alone', () => cpu.fusedMlp({ ...base(), upA: f([2, 8]) }), ShapeError, /^\[fused_mlp\] upB: expected with upA \(an adapter is A and B together\), got none$/],
    ['down adapter A over K instead of I', () => cpu.fusedMlp({ ...base(), downA: f([2, 8]), downB: f([8, 2]) }), ShapeError, /^\[fused_mlp\] downA: expected f32\[2,6\], got f32\[2,8\]$/],
    ['gate adapter rank 0', () => cpu.fusedMlp({ ...base(), gateA: f([0, 8]), gateB: f([6, 0]) }), ShapeError, /^\[fused_mlp\] gateA: the LoRA rank r must be ≥ 1 \(dimension 0\), got f32\[0,8\]$/],
    ['gate B of another rank', () => cpu.fusedMlp({ ...base(), gateA: f([2, 8]), gateB: f([6, 3]) }), ShapeError, /^\[fused_mlp\] gateB: expected f32\[6,2\], got f32\[6,3\]$/],
    ['dropout 1', () => cpu.fusedMlp(base(), { dropout: 1 }), OptionsError, /^\[fused_mlp\] dropout: /],
    ['a QLoRA format (dense W only)', () => cpu.fusedMlp(base(), { format: 'q4_0' } as never), OptionsError, /^\[fused_mlp\] options: /],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});
