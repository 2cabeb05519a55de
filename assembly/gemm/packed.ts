// The packed gemm path: the register-blocked SIMD gemm that takes any shape.
//   C(M,N) = op(A)(M,K) op(B)(K,N) [+ bias(N) on every row] [+ old C when accumulate]
//   A is stored (M,K), or (K,M) when transA; B is stored (K,N), or (N,K) when transB.
//
// Method (GotoBLAS / BLIS loop nest, see: Goto & van de Geijn 2008, "Anatomy of high-performance
// matrix multiplication"): B is packed into 8-column panels and A into 4-row panels, transposing
// while packing (generic strides), so op(A) and op(B) of any transpose pair feed one micro-kernel:
// a 4x8 block of C in 8 v128 accumulators, A broadcast with load32_splat, two v128 loads of the
// packed B row per k. The block is as big as the 16 xmm registers hold without spilling.
//
// Determinism (every gemm path but dot keeps it): every C element follows one sequence of
// operations whatever the call's M and N:
//   s = [old C] [+ bias]  (f32 add, skipped parts omitted)
//   for k = 0..K-1: s = s + a_ik * b_kj   (relaxed build: fused multiply-add)
// Blocks over K depend only on K and keep s exactly in C between blocks (f32 in, f32 out), and the
// tails at the right and bottom edges run the same micro-kernel on zero-padded copies. So a gemm
// over a row range or a column range of a bigger problem is bit-identical to those elements of the
// whole call: threads can split C freely.

import { madd, transpose4 } from '../simd';

/** Rows of C per micro-kernel block. */
export const MR = 4;
/** Columns of C per micro-kernel block (two v128). */
export const NR = 8;
/** Depth of one packed block (the only blocking the result depends on). */
export const KC = 256;
/** Rows of A packed at once (stays in L2 with the B panel). */
const MC = 128;
/** Columns of B packed at once. */
const NC = 512;

export const BP_BYTES: usize = <usize>KC * NC * 4;
export const AP_BYTES: usize = <usize>MC * KC * 4;
const TILE_BYTES: usize = <usize>MR * NR * 4;

/** Bytes of packing scratch one thread needs; the host allocates it once and passes it to gemm. */
export function gemm_scratch_bytes(): usize {
  return BP_BYTES + AP_BYTES + TILE_BYTES + NR * 4;
}

/**
 * The 4x8 micro-kernel. pa: packed A panel (kc,4), pb: packed B panel (kc,8), c: top-left of the
 * C block with row stride ldcB bytes, bias: 8 floats. mode bit 2: start from C, bit 1: add bias.
 */
// @ts-ignore: decorator
@inline function kernel4x8(pa: usize, pb: usize, kc: i32, c: usize, ldcB: usize, bias: usize,
  mode: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (mode & 2) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldcB); c11 = v128.load(c + ldcB, 16);
    c20 = v128.load(c + 2 * ldcB); c21 = v128.load(c + 2 * ldcB, 16);
    c30 = v128.load(c + 3 * ldcB); c31 = v128.load(c + 3 * ldcB, 16);
  }
  if (mode & 1) {
    const b0 = v128.load(bias), b1 = v128.load(bias, 16);
    c00 = f32x4.add(c00, b0); c01 = f32x4.add(c01, b1);
    c10 = f32x4.add(c10, b0); c11 = f32x4.add(c11, b1);
    c20 = f32x4.add(c20, b0); c21 = f32x4.add(c21, b1);
    c30 = f32x4.add(c30, b0); c31 = f32x4.add(c31, b1);
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    pa += 16;
    pb += 32;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldcB, c10); v128.store(c + ldcB, c11, 16);
  v128.store(c + 2 * ldcB, c20); v128.store(c + 2 * ldcB, c21, 16);
  v128.store(c + 3 * ldcB, c30); v128.store(c + 3 * ldcB, c31, 16);
}

/**
 * Packs op(A) rows [i0, i0+mc) x depth [k0, k0+kc) into 4-row panels (kc,4), zero-padding the
 * last panel. op(A)(i,k) sits at a + 4*(i*rs + k*cs) (rs,cs = lda,1 or 1,lda with transA).
 */
function packA(dst: usize, a: usize, i0: i32, k0: i32, mc: i32, kc: i32, transA: bool, lda: i32): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const mr = min(MR, mc - ip);
    const i = i0 + ip;
    if (mr == MR && transA) {
      // Rows of op(A) are columns of A: each k is one contiguous v128.
      let src = a + ((<usize>k0 * lda + i) << 2);
      const strideB = <usize>lda << 2;
      for (let k = 0; k < kc; k++) {
        v128.store(dst + (<usize>k << 4), v128.load(src));
        src += strideB;
      }
    } else if (mr == MR) {
      const r0 = a + ((<usize>i * lda + k0) << 2);
      const rowB = <usize>lda << 2;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const off = <usize>k << 2;
        transpose4(dst + (<usize>k << 4), 16, r0 + off, r0 + rowB + off, r0 + 2 * rowB + off, r0 + 3 * rowB + off);
      }
      for (; k < kc; k++) {
        for (let r = 0; r < MR; r++) {
          store<f32>(dst + ((<usize>k * MR + r) << 2), load<f32>(r0 + <usize>r * rowB + (<usize>k << 2)));
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < MR; r++) {
          let v: f32 = 0;
          if (r < mr) {
            v = transA
              ? load<f32>(a + ((<usize>(k0 + k) * lda + i + r) << 2))
              : load<f32>(a + ((<usize>(i + r) * lda + k0 + k) << 2));
          }
          store<f32>(dst + ((<usize>k * MR + r) << 2), v);
        }
      }
    }
    dst += <usize>kc * MR * 4;
  }
}

/**
 * Packs op(B) depth [k0, k0+kc) x columns [j0, j0+nc) into 8-column panels (kc,8), zero-padding
 * the last panel. op(B)(k,j) sits at b + 4*(k*ldb + j), or b + 4*(j*ldb + k) with transB.
 */
function packB(dst: usize, b: usize, k0: i32, j0: i32, kc: i32, nc: i32, transB: bool, ldb: i32): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const nr = min(NR, nc - jp);
    const j = j0 + jp;
    if (nr == NR && !transB) {
      let src = b + ((<usize>k0 * ldb + j) << 2);
      const strideB = <usize>ldb << 2;
      for (let k = 0; k < kc; k++) {
        const d = dst + (<usize>k << 5);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        src += strideB;
      }
    } else if (nr == NR) {
      // Columns of op(B) are rows of B: transpose 4x4 blocks from two groups of 4 rows.
      const rowB = <usize>ldb << 2;
      const r0 = b + ((<usize>j * ldb + k0) << 2);
      const r4 = r0 + 4 * rowB;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const off = <usize>k << 2;
        const d = dst + (<usize>k << 5);
        transpose4(d, 32, r0 + off, r0 + rowB + off, r0 + 2 * rowB + off, r0 + 3 * rowB + off);
        transpose4(d + 16, 32, r4 + off, r4 + rowB + off, r4 + 2 * rowB + off, r4 + 3 * rowB + off);
      }
      for (; k < kc; k++) {
        for (let q = 0; q < NR; q++) {
          store<f32>(dst + ((<usize>k * NR + q) << 2), load<f32>(r0 + <usize>q * rowB + (<usize>k << 2)));
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let q = 0; q < NR; q++) {
          let v: f32 = 0;
          if (q < nr) {
            v = transB
              ? load<f32>(b + ((<usize>(j + q) * ldb + k0 + k) << 2))
              : load<f32>(b + ((<usize>(k0 + k) * ldb + j + q) << 2));
          }
          store<f32>(dst + ((<usize>k * NR + q) << 2), v);
        }
      }
    }
    dst += <usize>kc * NR * 4;
  }
}

/** The packed path over the whole of C; arguments as gemm_strided (M, N > 0, K >= 0). */
export function gemmPacked(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32, ta: bool, tb: bool,
  firstMode: i32, scratch: usize, lda: i32, ldb: i32, ldc: i32): void {
  const bp = scratch;
  const ap = scratch + BP_BYTES;
  const tile = ap + AP_BYTES;
  const btile = tile + TILE_BYTES;
  const ldcB = <usize>ldc << 2;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    // pc == 0 runs even when K == 0, so C still gets bias / old C.
    for (let pc = 0; pc == 0 || pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const mode = pc == 0 ? firstMode : 2;
      packB(bp, b, pc, jc, kc, nc, tb, ldb);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(ap, a, ic, pc, mc, kc, ta, lda);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const pb = bp + <usize>jr * kc * 4;
          const j = jc + jr;
          const biasJ = bias + (<usize>j << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const pa = ap + <usize>ir * kc * 4;
            const cij = c + <usize>(ic + ir) * ldcB + (<usize>j << 2);
            if (mr == MR && nr == NR) {
              kernel4x8(pa, pb, kc, cij, ldcB, biasJ, mode);
            } else {
              // Edge block: same kernel on a zero-padded copy of C (and of the bias).
              for (let r = 0; r < MR; r++) {
                for (let q = 0; q < NR; q++) {
                  let v: f32 = 0;
                  if ((mode & 2) && r < mr && q < nr) v = load<f32>(cij + <usize>r * ldcB + (<usize>q << 2));
                  store<f32>(tile + ((<usize>r * NR + q) << 2), v);
                }
              }
              if (mode & 1) {
                for (let q = 0; q < NR; q++) {
                  store<f32>(btile + (<usize>q << 2), q < nr ? load<f32>(biasJ + (<usize>q << 2)) : 0);
                }
              }
              kernel4x8(pa, pb, kc, tile, NR * 4, btile, mode | 2);
              for (let r = 0; r < mr; r++) {
                for (let q = 0; q < nr; q++) {
                  store<f32>(cij + <usize>r * ldcB + (<usize>q << 2), load<f32>(tile + ((<usize>r * NR + q) << 2)));
                }
              }
            }
          }
        }
      }
    }
  }
}

