// gemm with explicit leading dimensions, on the path the host chose for the whole call.
//   C(M,N) = op(A)(M,K) op(B)(K,N) [+ bias(N) on every row] [+ old C when accumulate]
// The host's planner (src/engine/tuning.ts gemmPath) owns every threshold that picks a path; the
// paths here (packed, narrow, short) give the same bits for any shape (packed.ts), so a row or
// column chunk of a split call computes its elements as the whole call does. Dot (dot.ts) and
// K-blocked (kblocked.ts) sum in another order and are kernels of their own.

import { gemmPacked, NR } from './packed';
import { gemmNarrow, gemmShort, NARROW_MAX_N } from './narrow';

/** Path codes, shared with GEMM_PATH_CODE in src/engine/tuning.ts. */
const PACKED = 0;
const NARROW = 1;
const SHORT = 2;

/**
 * C = op(A) op(B) [+ bias] [+ C] with lda, ldb, ldc the elements between rows of the stored A, B
 * and C, so that a thread can compute any row or column range of a bigger product. path: PACKED,
 * NARROW or SHORT; a path the shape does not fit (narrow: 9 or 10 columns; short: B not
 * transposed) runs as PACKED, with the same result.
 */
export function gemm_strided(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32,
  transA: i32, transB: i32, accumulate: i32, scratch: usize, lda: i32, ldb: i32, ldc: i32, path: i32): void {
  if (M <= 0 || N <= 0) return;
  if (K < 0) K = 0;
  const ta = transA != 0, tb = transB != 0;
  const firstMode = (accumulate != 0 ? 2 : 0) | (bias != 0 ? 1 : 0);
  if (path == NARROW && N > NR && N <= NARROW_MAX_N) {
    gemmNarrow(c, a, b, bias, M, N, K, ta, tb, firstMode, scratch, lda, ldb, ldc);
  } else if (path == SHORT && !tb) {
    gemmShort(c, a, b, bias, M, N, K, ta, firstMode, scratch, lda, ldb, ldc);
  } else {
    gemmPacked(c, a, b, bias, M, N, K, ta, tb, firstMode, scratch, lda, ldb, ldc);
  }
}

export { gemm_strided_scalar } from './scalar';
