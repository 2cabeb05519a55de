// gemm and bias_backward of every backend against the reference (src/engine/ref/matmul.ts), and
// the property the thread pool relies on: a gemm over a row or column range of C gives the same
// bits as those elements of the whole call.
import { describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../src/engine/index.js';
import {
  enableRelaxedSimd, kBlocked, kBlockRows, KB_COUNT, relaxedSupported, type WasmBackend,
} from '../src/engine/wasm.js';
import { TsFastBackend } from '../src/engine/fast/matmul.js';
import { gemm as refGemm, biasBackward as refBiasBackward } from '../src/engine/ref/matmul.js';
import { randomF32 } from './helpers.js';
import { bits, check, putF32, reportMaxDiffs } from './kernel_backends.js';

enableRelaxedSimd();
const wasm: WasmBackend[] = [createBackend('wasm-simd'), createBackend('wasm-scalar')] as WasmBackend[];
if (relaxedSupported()) wasm.push(createBackend('wasm-relaxed') as WasmBackend);
const backends: Backend[] = [new TsFastBackend(), ...wasm];

// (M,N,K): tiny, block multiples, 785s in each place, and tails across every blocking
// (4 rows, 8 columns, depth 256, 128 rows, 512 columns), plus an empty sum (K = 0).
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 3, 3], [7, 7, 7], [64, 64, 64], [1, 10, 785], [785, 9, 13], [5, 785, 11],
  [6, 10, 785], [130, 17, 600], [37, 29, 257], [9, 515, 5], [4, 8, 0],
  // the seed's dense layer (784-10): forward (narrow path) and dW (short path), odd rows, tails
  [203, 10, 784], [10, 785, 300], [13, 9, 300], [12, 45, 513], [11, 16, 2], [2, 10, 0],
  // the dot path (B transposed, N <= 12, K >= 32): column groups of 4 and 3, N < 3, K % 4 tails
  [9, 5, 37], [7, 11, 130], [5, 2, 33], [3, 1, 64], [4, 12, 35], [1, 7, 32],
  // K blocks (A transposed, no bias, M <= 12, K >= 512): the seed's dW, K not a multiple of 8
  [10, 784, 1000], [1, 7, 512], [12, 33, 1003],
];
const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/** Tolerance of an f32 sum of K products of values in [-1, 1]. */
const atolFor = (K: number) => 1e-6 * (K + 1);
const RTOL = 1e-5;

reportMaxDiffs('matmul: worst |diff| against the reference');

describe.each(backends.map((be) => [be.name, be] as const))('%s', (name, be) => {
  it.each(SHAPES)('gemm M=%i N=%i K=%i, all transposes, bias and accumulate on/off', (M, N, K) => {
    let seed = M * 1_000_003 + N * 1009 + K;
    for (const [transA, transB] of TRANS) {
      for (const withBias of [false, true]) {
        for (const accumulate of [false, true]) {
          const a = randomF32(M * K, seed++), b = randomF32(K * N, seed++);
          const c0 = randomF32(M * N, seed++), bias = randomF32(N, seed++);
          const want = c0.slice();
          refGemm(want, a, b, withBias ? bias : null, M, N, K, transA, transB, accumulate);
          // Shift 1 puts every pointer 4 bytes past a 16-byte boundary: no alignment is assumed.
          const shift = seed % 2;
          const c = putF32(be, c0, shift);
          be.gemm(c, putF32(be, a, shift), putF32(be, b, shift), withBias ? putF32(be, bias, shift) : null,
            M, N, K, transA, transB, accumulate);
          check(`${name} gemm`, c, want, atolFor(K), RTOL);
        }
      }
    }
  });

  it('bias_backward adds column sums to dbias', () => {
    for (const [B, O] of [[1, 1], [128, 10], [7, 785], [33, 17], [128, 512]]) {
      const dout = randomF32(B * O, B + O), d0 = randomF32(O, B * O);
      const want = d0.slice();
      refBiasBackward(want, dout, B, O);
      const dbias = putF32(be, d0, O % 2);
      be.biasBackward(dbias, putF32(be, dout, O % 2), B, O);
      check(`${name} bias_backward`, dbias, want, 1e-6 * B, RTOL);
    }
  });
});

describe.each(wasm.map((be) => [be.name, be] as const))('%s: row and column splits', (name, be) => {
  const strided = (be.variant === 'scalar' ? be.k.gemm_strided_scalar : be.k.gemm_strided) as
    (...args: number[]) => void;
  // K crosses the depth blocking; M and N leave tails. The chunks mix the three paths of
  // assembly/matmul.ts: whole calls take 4x8 (37,29), narrow (14,10) and short (10,40, 4x8 with
  // transB); chunks of 9 or 10 columns take the narrow path, chunks of at most 12 rows the short
  // one (4x8 with transB), the others 4x8.
  const SPLITS: [number, number, number, boolean, boolean][] = [];
  for (const [M, N] of [[37, 29], [14, 10], [10, 40]]) for (const [ta, tb] of TRANS) SPLITS.push([M, N, 600, ta, tb]);
  const cuts = (n: number) => [0, 1, 5, 15, 24, n].filter((x) => x <= n);

  it.each(SPLITS)('(%i,%i,%i) transA=%s transB=%s: row ranges and column ranges equal the whole call bit for bit',
    (M, N, K, transA, transB) => {
      const a = putF32(be, randomF32(M * K, 1)), b = putF32(be, randomF32(K * N, 2));
      const bias = putF32(be, randomF32(N, 3)), c0 = randomF32(M * N, 4);
      const lda = transA ? M : K, ldb = transB ? K : N;
      const ta = transA ? 1 : 0, tb = transB ? 1 : 0;
      const p = (x: Float32Array, elems: number) => be.ptr(x) + 4 * elems;
      const whole = putF32(be, c0);
      strided(be.ptr(whole), be.ptr(a), be.ptr(b), be.ptr(bias), M, N, K, ta, tb, 1, be.scratch, lda, ldb, N);

      const rows = putF32(be, c0);
      const rc = cuts(M);
      for (let s = 0; s + 1 < rc.length; s++) {
        const r0 = rc[s], m = rc[s + 1] - r0;
        strided(p(rows, r0 * N), p(a, transA ? r0 : r0 * K), be.ptr(b), be.ptr(bias), m, N, K, ta, tb, 1,
          be.scratch, lda, ldb, N);
      }
      expect(bits(rows)).toEqual(bits(whole));

      const cols = putF32(be, c0);
      const cc = cuts(N);
      for (let s = 0; s + 1 < cc.length; s++) {
        const j0 = cc[s], n = cc[s + 1] - j0;
        strided(p(cols, j0), be.ptr(a), p(b, transB ? j0 * K : j0), p(bias, j0), M, n, K, ta, tb, 1,
          be.scratch, lda, ldb, N);
      }
      expect(bits(cols)).toEqual(bits(whole));
      // The split results are also right, not merely equal to each other.
      const want = c0.slice();
      refGemm(want, randomF32(M * K, 1), randomF32(K * N, 2), randomF32(N, 3), M, N, K, transA, transB, true);
      check(`${name} gemm (split)`, whole, want, atolFor(K), RTOL);
    });

  // gemm_dot (C = A B^T, taken by the host for a whole call): any row or column range of it gives
  // the same bits as the whole call, whatever 2-row pairs and 3/4-column groups the ranges make.
  const dot = (be.variant === 'scalar' ? be.k.gemm_dot_scalar : be.k.gemm_dot) as (...args: number[]) => void;
  it.each([[14, 10, 600], [9, 7, 33], [5, 12, 130]])('gemm_dot (%i,%i,%i): row and column ranges equal the whole call bit for bit',
    (M, N, K) => {
      const a = putF32(be, randomF32(M * K, 5)), b = putF32(be, randomF32(N * K, 6));
      const bias = putF32(be, randomF32(N, 7)), c0 = randomF32(M * N, 8);
      const p = (x: Float32Array, elems: number) => be.ptr(x) + 4 * elems;
      const whole = putF32(be, c0);
      dot(be.ptr(whole), be.ptr(a), be.ptr(b), be.ptr(bias), M, N, K, 1, K, K, N);
      const rows = putF32(be, c0);
      const rc = cuts(M);
      for (let s = 0; s + 1 < rc.length; s++) {
        const r0 = rc[s];
        dot(p(rows, r0 * N), p(a, r0 * K), be.ptr(b), be.ptr(bias), rc[s + 1] - r0, N, K, 1, K, K, N);
      }
      expect(bits(rows)).toEqual(bits(whole));
      const cols = putF32(be, c0);
      const cc = cuts(N);
      for (let s = 0; s + 1 < cc.length; s++) {
        const j0 = cc[s];
        dot(p(cols, j0), be.ptr(a), p(b, j0 * K), p(bias, j0), M, cc[s + 1] - j0, K, 1, K, K, N);
      }
      expect(bits(cols)).toEqual(bits(whole));
      const want = c0.slice();
      refGemm(want, randomF32(M * K, 5), randomF32(N * K, 6), randomF32(N, 7), M, N, K, false, true, true);
      check(`${name} gemm_dot`, whole, want, atolFor(K), RTOL);
    });
});

describe.each(wasm.map((be) => [be.name, be] as const))('%s: K blocks', (name, be) => {
  const strided = (be.variant === 'scalar' ? be.k.gemm_strided_scalar : be.k.gemm_strided) as
    (...args: number[]) => void;
  it.each([[10, 784, 1000], [3, 17, 515], [12, 40, 4096]])(
    '(%i,%i,%i) A^T B is [old C] + the blocks\' partial products, added in block order', (M, N, K) => {
      expect(kBlocked(M, N, K, true, false, false)).toBe(true);
      const kb = kBlockRows(K);
      expect(kb % 8).toBe(0);
      expect(Math.ceil(K / kb)).toBeLessThanOrEqual(KB_COUNT);
      const a = randomF32(K * M, 5), b = randomF32(K * N, 6), c0 = randomF32(M * N, 7);
      const got = putF32(be, c0);
      be.gemm(got, putF32(be, a), putF32(be, b), null, M, N, K, true, false, true);
      // The same sums by hand: each block one plain gemm from zero, then C + P_0 + P_1 + ... in f32.
      const want = c0.slice();
      for (let k0 = 0; k0 < K; k0 += kb) {
        const rows = Math.min(kb, K - k0);
        const part = putF32(be, new Float32Array(M * N));
        strided(be.ptr(part), be.ptr(putF32(be, a.subarray(k0 * M, (k0 + rows) * M))),
          be.ptr(putF32(be, b.subarray(k0 * N, (k0 + rows) * N))), 0, M, N, rows, 1, 0, 0, be.scratch, M, N, N);
        for (let i = 0; i < M * N; i++) want[i] = Math.fround(want[i] + part[i]);
      }
      expect(bits(got)).not.toEqual(bits(plainSum(M, N, K, a, b, c0)));
      expect(bits(got)).toEqual(bits(want));
    });

  /** The one-pass sum over all of K, for showing that the blocks are really taken. */
  function plainSum(M: number, N: number, K: number, a: Float32Array, b: Float32Array, c0: Float32Array) {
    const c = putF32(be, c0);
    strided(be.ptr(c), be.ptr(putF32(be, a)), be.ptr(putF32(be, b)), 0, M, N, K, 1, 0, 1, be.scratch, M, N, N);
    return c;
  }
});
