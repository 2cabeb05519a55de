// The naive scalar twin of every gemm path: one multiply-add at a time, sum over k, then + bias,
// then + old C. The wasm-scalar backend's gemm and the benchmark's "what SIMD buys" column.

/** Naive scalar gemm with leading dimensions; arguments as gemm_strided (scratch unused). */
export function gemm_strided_scalar(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32,
  transA: i32, transB: i32, accumulate: i32, scratch: usize, lda: i32, ldb: i32, ldc: i32): void {
  // Element strides (in bytes) of op(A) along i and k, and of op(B) along k and j.
  const ai: usize = transA ? 4 : <usize>lda << 2, ak: usize = transA ? <usize>lda << 2 : 4;
  const bk: usize = transB ? 4 : <usize>ldb << 2, bj: usize = transB ? <usize>ldb << 2 : 4;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let pa = a + <usize>i * ai, pb = b + <usize>j * bj;
      let sum: f32 = 0;
      for (let k = 0; k < K; k++) {
        sum += load<f32>(pa) * load<f32>(pb);
        pa += ak;
        pb += bk;
      }
      if (bias) sum += load<f32>(bias + (<usize>j << 2));
      const pc = c + ((<usize>i * ldc + j) << 2);
      store<f32>(pc, accumulate ? load<f32>(pc) + sum : sum);
    }
  }
}

/** Naive scalar twin of gemm: the reference and the "what SIMD buys" column of the benchmark. */
export function gemm_scalar(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32,
  transA: i32, transB: i32, accumulate: i32, scratch: usize): void {
  gemm_strided_scalar(c, a, b, bias, M, N, K, transA, transB, accumulate, scratch,
    transA ? M : K, transB ? K : N, N);
}

// dout is (B,O), dbias is (O): dbias += column sums of dout, each column summed over b in order.
