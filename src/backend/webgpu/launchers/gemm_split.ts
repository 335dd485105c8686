import { BYTES } from '../../../dtype.js';
import { LimitError } from '../../../errors.js';
import type { GemmDims } from '../../../ops/gemm/reference.js';
import type { Tensor } from '../../../tensor.js';
import { windowLimit, windowOf } from '../launch.js';
import { recordGemm, type GemmCall, type GemmWindow } from './gemm.js';

/**
 * gemm with an operand over maxStorageBufferBindingSize (e.g. b = f32[4096,14336], 224 MiB,
 * against WebGPU's default 128 MiB): the problem of each batch is cut into blocks of
 * mb rows × nb columns of y, over the whole of K (K is never split: partial sums would need
 * an extra rounding of y, outside the error bound the conformance suite derives). The
 * kernels take the leading dimension of every operand from m, n, k, so a block's operand is
 * bound in place only where it is contiguous in the right layout — rows of a (a not
 * transposed), rows of b (b transposed), whole rows of y and c (nb = N) — and is otherwise
 * copied into a compact scratch buffer (one copy per row): a's columns when a is transposed,
 * b's columns when it is not, y's and c's column blocks when N is split (y's copied back).
 */
export function launchSplit(call: GemmCall, t: { a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor; y: Tensor }, d: GemmDims): void {
  const { ctx } = call;
  const { transA, transB } = call.variant;
  const { m: M, n: N, k: K } = d;
  const ea = BYTES[t.a.dtype];
  const ey = BYTES[t.y.dtype];
  const limit = windowLimit(ctx);
  const half = ea === 2 || ey === 2;
  const fail = (what: string) =>
    new LimitError(
      `[gemm] ${t.a.describe()} × ${t.b.describe()}: ${what}, over maxStorageBufferBindingSize (${ctx.limits.maxStorageBufferBindingSize}) of this device; gemm splits M and N but not K — use a smaller K (split the sum and add the parts), or a device with a higher limit`,
    );
  // One column of op(B) and one row of op(A) span all of K: the least a block binds.
  if (K * ea > limit) throw fail(`one row of op(A) / column of op(B) is ${K * ea} bytes`);

  // Columns per block: all of N when b and a row of y fit, else as many as one binding
  // holds; rows per block: what a's rows (or, transposed, its scratch) and y's rows allow.
  // Both at most 4·maxComputeWorkgroupsPerDimension (the narrowest tile is 4 wide), and a
  // multiple of 64 (a tile) where that many fit, even for 16-bit data (4-byte copies).
  const grid = 4 * ctx.limits.maxComputeWorkgroupsPerDimension;
  let nb = Math.min(N, K * N * ea <= limit ? N : Math.floor(limit / (K * ea)), Math.floor(limit / ey), grid);
  if (nb < N) nb = roundBlock(nb, half);
  const aWhole = M * K * ea <= limit;
  let mb = Math.min(M, aWhole ? M : Math.floor(limit / (K * ea)), Math.floor(limit / (nb * ey)), grid);
  if (mb < M) mb = roundBlock(mb, half);
  if (mb < 1 || nb < 1) throw fail(`a block of one row and ${half ? 'two columns' : 'one column'} of y does not fit`);

  // WebGPU copies whole 4-byte words: 16-bit rows copied in part must start and end on one.
  const copyA = transA && mb < M;
  const copyB = !transB && nb < N;
  const copyY = nb < N;
  if (half) {
    const odd = (copyA && M % 2 !== 0 && 'M') || (copyB && N % 2 !== 0 && 'N') || (copyY && N % 2 !== 0 && 'N');
    if (odd) throw fail(`16-bit operands copied in blocks need an even ${odd} (got ${odd === 'M' ? M : N}), and this one does not fit whole`);
  }

  const rt = ctx.rt;
  const scratch = {
    a: copyA ? rt.createBuffer(K * mb * ea) : undefined,
    b: copyB ? rt.createBuffer(K * nb * ea) : undefined,
    y: copyY ? rt.createBuffer(mb * nb * ey) : undefined,
    c: copyY && t.c ? rt.createBuffer(mb * nb * ey) : undefined,
  };
  const whole = (buffer: GPUBuffer, binding: number, bytes: number): GemmWindow => ({ b: { binding, buffer, offset: 0, size: Math.ceil(bytes / 4) * 4 }, base: 0 });
  const buf = (x: Tensor) => ctx.buffer(x);
  try {
    for (let z = 0; z < d.batch; z++) {
      const a0 = z * d.aStride;
      const b0 = z * d.bStride;
      const y0 = z * M * N;
      for (let m0 = 0; m0 < M; m0 += mb) {
        const mr = Math.min(mb, M - m0);
        for (let n0 = 0; n0 < N; n0 += nb) {
          const nr = Math.min(nb, N - n0);
          let a: GemmWindow;
          if (!transA) a = windowOf(ctx, t.a, 0, a0 + m0 * K, mr * K);
          else if (!copyA) a = windowOf(ctx, t.a, 0, a0, K * M);
          else {
            // Stored [K, M]: columns m0.. of every row k, packed as [K, mr].
            for (let kk = 0; kk < K; kk++) rt.copy(buf(t.a), (a0 + kk * M + m0) * ea, scratch.a!, kk * mr * ea, mr * ea);
            a = whole(scratch.a!, 0, K * mr * ea);
          }
          let b: GemmWindow;
          if (transB) b = windowOf(ctx, t.b, 1, b0 + n0 * K, nr * K);
          else if (!copyB) b = windowOf(ctx, t.b, 1, b0, K * N);
          else {
            // Stored [K, N]: columns n0.. of every row k, packed as [K, nr].
            for (let kk = 0; kk < K; kk++) rt.copy(buf(t.b), (b0 + kk * N + n0) * ea, scratch.b!, kk * nr * ea, nr * ea);
            b = whole(scratch.b!, 1, K * nr * ea);
          }
          let y: GemmWindow;
          let c: GemmWindow | undefined;
          if (!copyY) {
            y = windowOf(ctx, t.y, 4, y0 + m0 * N, mr * N);
            c = t.c ? windowOf(ctx, t.c, 2, y0 + m0 * N, mr * N) : undefined;
          } else {
            y = whole(scratch.y!, 4, mr * nr * ey);
            if (t.c) {
              for (let r = 0; r < mr; r++) rt.copy(buf(t.c), (y0 + (m0 + r) * N + n0) * ey, scratch.c!, r * nr * ey, nr * ey);
              c = whole(scratch.c!, 2, mr * nr * ey);
            }
          }
          const bias = t.bias ? windowOf(ctx, t.bias, 3, n0, nr) : undefined;
          recordGemm(call, mr, nr, K, { a, b, c, bias, y }, 1, 0, 0);
          if (copyY) for (let r = 0; r < mr; r++) rt.copy(scratch.y!, r * nr * ey, buf(t.y), (y0 + (m0 + r) * N + n0) * ey, nr * ey);
        }
      }
    }
  } finally {
    // Released into the pool: later commands that reuse them are recorded after these.
    for (const s of Object.values(scratch)) if (s) rt.releaseBuffer(s);
  }
}

/** A block extent: a multiple of 64 (a tile) where at least 64 fit, and even for 16-bit data. */
function roundBlock(n: number, even: boolean): number {
  if (n >= 64) return n - (n % 64);
  return even ? n - (n % 2) : n;
}
