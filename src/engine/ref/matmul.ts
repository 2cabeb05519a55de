// Reference matrix multiply: the clear triple loop that every faster version is checked against.
// Not fast: see assembly/gemm/packed.ts for the packed SIMD kernel.

/**
 * C(M,N) = op(A) op(B) [+ bias(N)] [+ C when accumulate].
 * A is (M,K), or (K,M) when transA; B is (K,N), or (N,K) when transB.
 */
export function gemm(c: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
  M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const aik = transA ? a[k * M + i] : a[i * K + k];
        const bkj = transB ? b[j * K + k] : b[k * N + j];
        sum += aik * bkj;
      }
      if (bias) sum += bias[j];
      c[i * N + j] = accumulate ? c[i * N + j] + sum : sum;
    }
  }
}

/** dbias(O) += sum over b of dout(B,O). */
export function biasBackward(dbias: Float32Array, dout: Float32Array, B: number, O: number): void {
  for (let o = 0; o < O; o++) {
    let sum = 0;
    for (let b = 0; b < B; b++) sum += dout[b * O + o];
    dbias[o] += sum;
  }
}
