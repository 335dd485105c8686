// The WGSL preprocessor's #for (src/backend/webgpu/preprocess.ts): unrolled bodies, nesting,
// counts from defines, line maps that still point at the source, and its errors.
import { describe, expect, it } from 'vitest';
import { preprocess } from '../../src/backend/webgpu/preprocess.js';

const run = (src: string, defines = {}) => preprocess({ 'a.wgsl': src }, 'a.wgsl', defines);

describe('preprocess #for', () => {
  it('pastes the body COUNT times with the name replaced by 0, 1, …', () => {
    expect(run('x\n#for I 3\nm[I] = I;\n#endfor\ny').code).toBe('x\nm[0] = 0;\nm[1] = 1;\nm[2] = 2;\ny');
  });

  it('nests, takes its count from a define with a u suffix, and pastes tokens', () => {
    const out = run('#for U N\n#for R 2\nacc_##U##_##R = sc[U * 2 + R];\n#endfor\n#endfor', { N: '2u' }).code;
    expect(out.split('\n')).toEqual(['acc_0_0 = sc[0 * 2 + 0];', 'acc_0_1 = sc[0 * 2 + 1];', 'acc_1_0 = sc[1 * 2 + 0];', 'acc_1_1 = sc[1 * 2 + 1];']);
  });

  it('a count of 0 pastes nothing; #if inside a body sees the index', () => {
    expect(run('a\n#for I 0\nz\n#endfor\nb').code).toBe('a\nb');
    expect(run('#for I 3\n#if I == 1\none\n#else\nother\n#endif\n#endfor').code).toBe('other\none\nother');
  });

  it('is skipped inside an inactive #if, and maps every pasted line to its source line', () => {
    expect(run('#if 0\n#for I 2\nq\n#endfor\n#endif\nr').code).toBe('r');
    const p = run('a\n#for I 2\nb\nc\n#endfor');
    expect(p.lineMap.map((l) => l.line)).toEqual([1, 3, 4, 3, 4]);
  });

  it('with ROLL_FOR the body becomes a WGSL loop over the same name', () => {
    expect(run('#for I N\nm[I] = I;\n#endfor', { N: '3u', ROLL_FOR: 1 }).code).toBe('for (var I = 0u; I < 3u; I = I + 1u) {\nm[I] = I;\n}');
  });

  it('an unterminated #for, a stray #endfor and a bad count are errors naming the line', () => {
    expect(() => run('x\n#for I 2\ny')).toThrow(/a.wgsl:2: #for without #endfor/);
    expect(() => run('#endfor')).toThrow(/a.wgsl:1: #endfor without #for/);
    expect(() => run('#for I\n#endfor')).toThrow(/a.wgsl:1: bad #for/);
  });
});
