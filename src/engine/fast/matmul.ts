// The fastest gemm plain TypeScript manages: op(A) and op(B) are packed into 4-row and 4-column
// panels (transposing while packing), then a 4x4 block of C is summed in 16 local variables, so
// each loaded value is used four times. It exists to keep the benchmark honest: the WASM speedups
// are quoted against this as well as against the readable reference in ../ref/matmul.ts.
// Each element is summed over k in order in f64 and then gets + bias, + old C, like the reference,
// so the two agree bit for bit.
import { TsBackend } from '../ts.js';

let packA = new Float64Array(0);
let packB = new Float64Array(0);

/** Packs op(X) as panels of 4 along `rows`: panel p holds (depth, 4), zero-padded at the edge. */
function pack(dst: Float64Array, x: Float32Array, rows: number, depth: number, rowStride: number,
  depthStride: number): void {
  let o = 0;
  for (let p = 0; p < rows; p += 4) {
    const n = Math.min(4, rows - p);
    for (let k = 0; k < depth; k++) {
      const base = p * rowStride + k * depthStride;
      for (let r = 0; r < 4; r++) dst[o++] = r < n ? x[base + r * rowStride] : 0;
    }
  }
}

/**
 * C(M,N) = op(A) op(B) [+ bias(N)] [+ C when accumulate], 4x4 register blocked.
 * A is (M,K), or (K,M) when transA; B is (K,N), or (N,K) when transB.
 */
export function gemm(c: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
  M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
  const Mp = Math.ceil(M / 4) * 4, Np = Math.ceil(N / 4) * 4;
  if (packA.length < Mp * K) packA = new Float64Array(Mp * K);
  if (packB.length < Np * K) packB = new Float64Array(Np * K);
  // op(A)(i,k) = a[i*K + k] or a[k*M + i]; op(B)(k,j) = b[k*N + j] or b[j*K + k].
  pack(packA, a, M, K, transA ? 1 : K, transA ? M : 1);
  pack(packB, b, N, K, transB ? K : 1, transB ? 1 : N);
  const pa = packA, pb = packB;
  for (let j = 0; j < N; j += 4) {
    const ob = j * K;
    for (let i = 0; i < M; i += 4) {
      const oa = i * K;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < K; k++) {
        const ka = oa + 4 * k, kb = ob + 4 * k;
        const a0 = pa[ka], a1 = pa[ka + 1], a2 = pa[ka + 2], a3 = pa[ka + 3];
        const b0 = pb[kb], b1 = pb[kb + 1], b2 = pb[kb + 2], b3 = pb[kb + 3];
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
      }
      const rows = Math.min(4, M - i), cols = Math.min(4, N - j);
      if (rows === 4 && cols === 4) {
        store(c, bias, N, i, j, s00, s01, s02, s03, accumulate);
        store(c, bias, N, i + 1, j, s10, s11, s12, s13, accumulate);
        store(c, bias, N, i + 2, j, s20, s21, s22, s23, accumulate);
        store(c, bias, N, i + 3, j, s30, s31, s32, s33, accumulate);
      } else {
        const s = [s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33];
        for (let r = 0; r < rows; r++) {
          for (let q = 0; q < cols; q++) {
            let v = s[r * 4 + q];
            if (bias) v += bias[j + q];
            const o = (i + r) * N + j + q;
            c[o] = accumulate ? c[o] + v : v;
          }
        }
      }
    }
  }
}

/** Writes one row of a full 4x4 block: + bias, + old C, in the reference's order. */
function store(c: Float32Array, bias: Float32Array | null, N: number, i: number, j: number,
  v0: number, v1: number, v2: number, v3: number, accumulate: boolean): void {
  if (bias) { v0 += bias[j]; v1 += bias[j + 1]; v2 += bias[j + 2]; v3 += bias[j + 3]; }
  const o = i * N + j;
  if (accumulate) { v0 += c[o]; v1 += c[o + 1]; v2 += c[o + 2]; v3 += c[o + 3]; }
  c[o] = v0; c[o + 1] = v1; c[o + 2] = v2; c[o + 3] = v3;
}

/** The reference backend with this gemm: the "best plain TypeScript" column of the benchmark. */
export class TsFastBackend extends TsBackend {
  override readonly name: string = 'ts-fast';
  override gemm = gemm;
}
