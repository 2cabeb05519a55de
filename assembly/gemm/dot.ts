// The dot gemm path: C = A B^T with few columns (every 10-class output layer).
// With A stored (M,K) and B stored (N,K), both operands run along k in memory, so each C element is
// the dot product of two rows: 2x4 (or 2x3) blocks of C in v128 accumulators that each sum 4 lanes
// of k, nothing packed: no lanes wasted on few columns, no repacking of the big operand.
// Its order of operations differs from the other paths (4 lane sums over k, then hsum01_23, then
// s = [old C] [+ bias], s + that) but not with M, N or a block's place, so the host picks it for a
// whole call (src/engine/tuning.ts gemmPath) and every row or column chunk takes it too.

import { hsum01_23, loadN, madd } from '../simd';
import { gemm_strided_scalar } from './scalar';

/** Rows of C per block of the dot path. */
const DR = 2;

/** C element at p gets init + dot: init is [old C] [+ bias], by mode as kernel4x8. */
// @ts-ignore: decorator
@inline function dotStore(p: usize, acc: v128, bias: usize, mode: i32): void {
  let s: f32 = mode & 2 ? load<f32>(p) : 0;
  if (mode & 1) s += load<f32>(bias);
  store<f32>(p, s + hsum01_23(acc));
}

/**
 * The kernel of the dot path: rows pa, pa + ldaB of A (mr valid, 1..2) against rows pb + q*ldbB of
 * B (nq valid, 1..4) over K, into C at c (row stride ldcB). Absent rows and columns re-read the
 * first and are not stored. `four` (a constant at each call, so each variant compiles without the
 * other's work) gives 4 columns of accumulators, else 3.
 */
// @ts-ignore: decorator
@inline function kernelDot(pa: usize, ldaB: usize, pb: usize, ldbB: usize, K: i32, c: usize, ldcB: usize,
  bias: usize, mode: i32, mr: i32, nq: i32, four: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
  let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  const a1p = mr > 1 ? pa + ldaB : pa;
  const b1p = nq > 1 ? pb + ldbB : pb, b2p = nq > 2 ? pb + 2 * ldbB : pb, b3p = nq > 3 ? pb + 3 * ldbB : pb;
  const K4 = K & ~3;
  let o: usize = 0;
  for (let k = 0; k < K4; k += 4) {
    const a0 = v128.load(pa + o), a1 = v128.load(a1p + o);
    let b = v128.load(pb + o);
    c00 = madd(a0, b, c00); c10 = madd(a1, b, c10);
    b = v128.load(b1p + o);
    c01 = madd(a0, b, c01); c11 = madd(a1, b, c11);
    b = v128.load(b2p + o);
    c02 = madd(a0, b, c02); c12 = madd(a1, b, c12);
    if (four) {
      b = v128.load(b3p + o);
      c03 = madd(a0, b, c03); c13 = madd(a1, b, c13);
    }
    o += 16;
  }
  if (K4 < K) {
    // the last K % 4 of k, zero in the other lanes (0 * 0 adds nothing)
    const t = K - K4;
    const a0 = loadN(pa + o, t), a1 = loadN(a1p + o, t);
    let b = loadN(pb + o, t);
    c00 = madd(a0, b, c00); c10 = madd(a1, b, c10);
    b = loadN(b1p + o, t);
    c01 = madd(a0, b, c01); c11 = madd(a1, b, c11);
    b = loadN(b2p + o, t);
    c02 = madd(a0, b, c02); c12 = madd(a1, b, c12);
    if (four) {
      b = loadN(b3p + o, t);
      c03 = madd(a0, b, c03); c13 = madd(a1, b, c13);
    }
  }
  dotStore(c, c00, bias, mode);
  if (nq > 1) dotStore(c + 4, c01, bias + 4, mode);
  if (nq > 2) dotStore(c + 8, c02, bias + 8, mode);
  if (four && nq > 3) dotStore(c + 12, c03, bias + 12, mode);
  if (mr > 1) {
    const c1 = c + ldcB;
    dotStore(c1, c10, bias, mode);
    if (nq > 1) dotStore(c1 + 4, c11, bias + 4, mode);
    if (nq > 2) dotStore(c1 + 8, c12, bias + 8, mode);
    if (four && nq > 3) dotStore(c1 + 12, c13, bias + 12, mode);
  }
}

/**
 * C(M,N) = A(M,K) B(N,K)^T [+ bias] [+ old C] by the dot path, with leading dimensions as
 * gemm_strided (lda, ldb: elements between rows of A and of B). Any N; meant for small N.
 */
export function gemm_dot(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32, accumulate: i32,
  lda: i32, ldb: i32, ldc: i32): void {
  if (M <= 0 || N <= 0) return;
  if (K < 0) K = 0;
  const mode = (accumulate != 0 ? 2 : 0) | (bias != 0 ? 1 : 0);
  const ldaB = <usize>lda << 2, ldbB = <usize>ldb << 2, ldcB = <usize>ldc << 2;
  // Columns in groups of at most 4, as even as can be (10 = 4 + 3 + 3: a 3-group runs the 3-column
  // kernel, no work wasted); each group's B rows (K floats each) stay in L1 while A streams past.
  const groups = (N + 3) >> 2;
  let j = 0;
  for (let g = 0; g < groups; g++) {
    const nq = (N - j) / (groups - g) + ((N - j) % (groups - g) != 0 ? 1 : 0);
    const pb = b + <usize>j * ldbB, bj = bias + (<usize>j << 2), cj = c + (<usize>j << 2);
    for (let i = 0; i < M; i += DR) {
      const mr = min(DR, M - i);
      if (nq == 4) kernelDot(a + <usize>i * ldaB, ldaB, pb, ldbB, K, cj + <usize>i * ldcB, ldcB, bj, mode, mr, 4, true);
      else kernelDot(a + <usize>i * ldaB, ldaB, pb, ldbB, K, cj + <usize>i * ldcB, ldcB, bj, mode, mr, nq, false);
    }
    j += nq;
  }
}

/** Scalar twin of gemm_dot: the naive gemm with transB. */
export function gemm_dot_scalar(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32, accumulate: i32,
  lda: i32, ldb: i32, ldc: i32): void {
  gemm_strided_scalar(c, a, b, bias, M, N, K, 0, 1, accumulate, 0, lda, ldb, ldc);
}

