// The K-blocked gemm path: C = A^T B with few rows and a long reduction (a narrow layer's dW over
// a full batch). Split by columns, every thread would read every row of the batch, which the
// gather and the forward pass (both split by rows) have just written on the other core. So this
// shape splits the reduction: rows go in fixed blocks (their count and size depend only on K);
// block q gives a partial product P_q (summed from 0 over its rows, by gemm_strided), and
// C = [old C] + P_0 + P_1 + ... in block order. Any thread count gives the same bits, and each
// thread reads only the rows it gathered. The host picks this path for a whole call
// (src/engine/tuning.ts gemmPath) and the blocks' path (path, as gemm_strided).

import { gemm_strided } from './gemm';
import { gemm_strided_scalar } from './scalar';

/** Partials P_q(M,N) = A(rows of block q, M)^T B(rows of block q, N) for q in [q0, q0+nq). */
export function gemm_partials(p: usize, a: usize, b: usize, M: i32, N: i32, K: i32, kb: i32, q0: i32,
  nq: i32, scratch: usize, path: i32): void {
  for (let q = q0; q < q0 + nq; q++) {
    const k0 = q * kb;
    gemm_strided(p + (<usize>q * M * N << 2), a + (<usize>k0 * M << 2), b + (<usize>k0 * N << 2), 0, M, N,
      min(kb, K - k0), 1, 0, 0, scratch, M, N, N, path);
  }
}

/** Scalar twin of gemm_partials. */
export function gemm_partials_scalar(p: usize, a: usize, b: usize, M: i32, N: i32, K: i32, kb: i32, q0: i32,
  nq: i32, scratch: usize, path: i32): void {
  for (let q = q0; q < q0 + nq; q++) {
    const k0 = q * kb;
    gemm_strided_scalar(p + (<usize>q * M * N << 2), a + (<usize>k0 * M << 2), b + (<usize>k0 * N << 2), 0, M,
      N, min(kb, K - k0), 1, 0, 0, scratch, M, N, N);
  }
}

/** c(n) = [c +] p_0 + p_1 + ... + p_{parts-1} (partials n floats apart), added in that order. */
export function sum_partials(c: usize, p: usize, n: i32, parts: i32, accumulate: i32): void {
  const stride = <usize>n << 2;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let s = accumulate ? v128.load(c + o) : f32x4.splat(0);
    for (let q = 0; q < parts; q++) s = f32x4.add(s, v128.load(p + <usize>q * stride + o));
    v128.store(c + o, s);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let s: f32 = accumulate ? load<f32>(c + o) : 0;
    for (let q = 0; q < parts; q++) s += load<f32>(p + <usize>q * stride + o);
    store<f32>(c + o, s);
  }
}

/** Scalar twin of sum_partials. */
export function sum_partials_scalar(c: usize, p: usize, n: i32, parts: i32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    let s: f32 = accumulate ? load<f32>(c + o) : 0;
    for (let q = 0; q < parts; q++) s += load<f32>(p + ((<usize>q * n) << 2) + o);
    store<f32>(c + o, s);
  }
}

/** Naive scalar gemm with leading dimensions: sum over k, then + bias, then + old C. */
