// Matrix multiply kernels: the packed, register-blocked SIMD gemm and its naive scalar twin.
//   C(M,N) = op(A)(M,K) op(B)(K,N) [+ bias(N) on every row] [+ old C when accumulate]
//   A is stored (M,K), or (K,M) when transA; B is stored (K,N), or (N,K) when transB.
// A dense layer uses it three ways: out = inp W^T + b (transB), dW += dout^T inp (transA,
// accumulate), dinp = dout W (no transpose).
//
// Method (GotoBLAS / BLIS loop nest, see: Goto & van de Geijn 2008, "Anatomy of high-performance
// matrix multiplication"): B is packed into 8-column panels and A into 4-row panels, transposing
// while packing (generic strides), so op(A) and op(B) of any transpose pair feed one micro-kernel:
// a 4x8 block of C in 8 v128 accumulators, A broadcast with load32_splat, two v128 loads of the
// packed B row per k. Bigger blocks spill registers and run slower (measured, DESIGN.md).
//
// Determinism: every C element follows one sequence of operations whatever the call's M and N:
//   s = [old C] [+ bias]  (f32 add, skipped parts omitted)
//   for k = 0..K-1: s = s + a_ik * b_kj   (relaxed build: fused multiply-add)
// Blocks over K depend only on K and keep s exactly in C between blocks (f32 in, f32 out), and the
// tails at the right and bottom edges run the same micro-kernel on zero-padded copies. So a gemm
// over a row range or a column range of a bigger problem is bit-identical to those elements of the
// whole call: threads can split C freely.

import { hsum01_23, loadN, madd, storeN, transpose4 } from './simd';

/** Rows of C per micro-kernel block. */
const MR = 4;
/** Columns of C per micro-kernel block (two v128). */
const NR = 8;
/** Depth of one packed block (the only blocking the result depends on). */
const KC = 256;
/** Rows of A packed at once (stays in L2 with the B panel). */
const MC = 128;
/** Columns of B packed at once. */
const NC = 512;

const BP_BYTES: usize = <usize>KC * NC * 4;
const AP_BYTES: usize = <usize>MC * KC * 4;
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

// ---- Narrow and short C: the seed's shapes ----
// A dense layer with 10 outputs (the seed's) gives C with N = 10 in the forward pass and M = 10
// in dW. The 4x8 path fills its 8-column panels to 62.5% there and repacks the big operand (the
// batch, 1000x784) on every call: as much memory traffic as the math. These two paths read the
// big operand in place instead:
//   narrow (N = 9 or 10): 3x10 blocks (8 accumulators, see kernel3x10), A broadcast straight
//                         from its rows (or columns, transA), B packed into one (kc,12) panel
//                         per depth block.
//   short (M <= 12, B not transposed): 2x16 blocks, A broadcast in place, four v128 loads (one
//                         cache line) straight from each row of B.
// Small blocks on purpose: V8 issues every load of an iteration before the arithmetic, so the
// splats of A, the B vectors and the accumulators are all live at once in the 15 free xmm
// registers (measured: 3x12 and 5x8 blocks spill and run at half speed).
// Each C element still follows the one sequence of operations above (same init, same madd per k
// in increasing order; C holds s exactly between depth blocks), so these paths give the same bits
// as the 4x8 path and a thread's row or column chunk may take another path than the whole call.

/** Columns of the narrow path's one B panel. */
const NRN = 12;
/** Columns per block of the short path (one cache line of B per k). */
const NRS = 16;

/**
 * The 3x10 micro-kernel of the narrow path. Columns 0..7 of each row take two accumulators;
 * columns 8..9 of rows 0 and 1 share one, lanes (row 0: 8, 9, row 1: 8, 9), against a B panel
 * row (b0..b7, b8, b9, b8, b9), and those of row 2 take the low half of another: 8 madds per k
 * for 30 elements. Row r (< mr <= 3) of the A block starts at pa + r*ai and steps ak bytes per k;
 * c: the C block (row stride ldcB bytes) with nt (1..2) valid columns past 8; bias: 12 floats
 * laid out like a B panel row. Mode as kernel4x8.
 */
// @ts-ignore: decorator
@inline function kernel3x10(pa: usize, ai: usize, ak: usize, pb: usize, kc: i32, c: usize, ldcB: usize,
  bias: usize, mode: i32, mr: i32, nt: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let cx = f32x4.splat(0), cy = f32x4.splat(0);
  const c1 = c + ldcB, c2 = c1 + ldcB;
  if (mode & 2) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    cx = nt == 2 ? v128.load64_zero(c, 32) : v128.load32_zero(c, 32);
    if (mr > 1) {
      c10 = v128.load(c1); c11 = v128.load(c1, 16);
      cx = nt == 2 ? v128.load64_lane(c1, cx, 1, 32) : v128.load32_lane(c1, cx, 2, 32);
    }
    if (mr > 2) {
      c20 = v128.load(c2); c21 = v128.load(c2, 16);
      cy = nt == 2 ? v128.load64_zero(c2, 32) : v128.load32_zero(c2, 32);
    }
  }
  if (mode & 1) {
    const b0 = v128.load(bias), b1 = v128.load(bias, 16), b2 = v128.load(bias, 32);
    c00 = f32x4.add(c00, b0); c01 = f32x4.add(c01, b1);
    c10 = f32x4.add(c10, b0); c11 = f32x4.add(c11, b1);
    c20 = f32x4.add(c20, b0); c21 = f32x4.add(c21, b1);
    cx = f32x4.add(cx, b2); cy = f32x4.add(cy, b2);
  }
  // absent rows re-read the first and are not stored
  const o1: usize = mr > 1 ? ai : 0, o2: usize = mr > 2 ? 2 * ai : o1;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16), b2 = v128.load(pb, 32);
    const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa + o1), a2 = v128.load32_splat(pa + o2);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    cx = madd(v128.shuffle<i64>(a0, a1, 0, 2), b2, cx);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    cy = madd(a2, b2, cy);
    pa += ak;
    pb += NRN * 4;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  if (nt == 2) v128.store64_lane(c, cx, 0, 32); else v128.store32_lane(c, cx, 0, 32);
  if (mr > 1) {
    v128.store(c1, c10); v128.store(c1, c11, 16);
    if (nt == 2) v128.store64_lane(c1, cx, 1, 32); else v128.store32_lane(c1, cx, 2, 32);
  }
  if (mr > 2) {
    v128.store(c2, c20); v128.store(c2, c21, 16);
    if (nt == 2) v128.store64_lane(c2, cy, 0, 32); else v128.store32_lane(c2, cy, 0, 32);
  }
}

/**
 * The 2x16 micro-kernel of the short path: A as in kernel3x10; B rows in place at pb, ldbB bytes
 * apart (or a padded copy); n0..n3 valid columns per v128; bias: 16 floats. Mode as kernel4x8.
 */
// @ts-ignore: decorator
@inline function kernel2x16(pa: usize, ai: usize, ak: usize, pb: usize, ldbB: usize, kc: i32, c: usize,
  ldcB: usize, bias: usize, mode: i32, mr: i32, n0: i32, n1: i32, n2: i32, n3: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const c1 = c + ldcB;
  if (mode & 2) {
    c00 = loadN(c, n0); c01 = loadN(c + 16, n1); c02 = loadN(c + 32, n2); c03 = loadN(c + 48, n3);
    if (mr > 1) { c10 = loadN(c1, n0); c11 = loadN(c1 + 16, n1); c12 = loadN(c1 + 32, n2); c13 = loadN(c1 + 48, n3); }
  }
  if (mode & 1) {
    const b0 = v128.load(bias), b1 = v128.load(bias, 16), b2 = v128.load(bias, 32), b3 = v128.load(bias, 48);
    c00 = f32x4.add(c00, b0); c01 = f32x4.add(c01, b1); c02 = f32x4.add(c02, b2); c03 = f32x4.add(c03, b3);
    c10 = f32x4.add(c10, b0); c11 = f32x4.add(c11, b1); c12 = f32x4.add(c12, b2); c13 = f32x4.add(c13, b3);
  }
  const o1: usize = mr > 1 ? ai : 0;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16), b2 = v128.load(pb, 32), b3 = v128.load(pb, 48);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01); c02 = madd(a, b2, c02); c03 = madd(a, b3, c03);
    a = v128.load32_splat(pa + o1);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11); c12 = madd(a, b2, c12); c13 = madd(a, b3, c13);
    pa += ak;
    pb += ldbB;
  }
  storeN(c, c00, n0); storeN(c + 16, c01, n1); storeN(c + 32, c02, n2); storeN(c + 48, c03, n3);
  if (mr > 1) { storeN(c1, c10, n0); storeN(c1 + 16, c11, n1); storeN(c1 + 32, c12, n2); storeN(c1 + 48, c13, n3); }
}

/** Valid lanes of v128 column v (0-based) of a block with n valid columns. */
// @ts-ignore: decorator
@inline function lanes(n: i32, v: i32): i32 {
  return max(0, min(4, n - 4 * v));
}

/**
 * Copies op(B) depth [k0, k0+kc) x columns [j0, j0+n) (n <= w) into a zero-padded (kc,w) panel,
 * walking B in storage order (along k for transB, whose rows are columns of op(B)).
 */
function packNarrowB(dst: usize, b: usize, k0: i32, j0: i32, kc: i32, n: i32, w: i32, transB: bool, ldb: i32): void {
  const rowB = <usize>w << 2;
  if (transB) {
    for (let k = 0; k < kc; k++) {
      for (let q = 0; q < w; q += 4) v128.store(dst + <usize>k * rowB + (<usize>q << 2), f32x4.splat(0));
    }
    for (let q = 0; q < n; q++) {
      const src = b + ((<usize>(j0 + q) * ldb + k0) << 2);
      for (let k = 0; k < kc; k++) store<f32>(dst + <usize>k * rowB + (<usize>q << 2), load<f32>(src + (<usize>k << 2)));
    }
  } else {
    // a row of B at a time, a v128 per 4 columns (zeros past n, nothing read past the row): the
    // seed's dW2 (10x10 over 2000 rows) spent most of its time here copying float by float
    for (let k = 0; k < kc; k++) {
      const src = b + ((<usize>(k0 + k) * ldb + j0) << 2), d = dst + <usize>k * rowB;
      for (let q = 0; q < w; q += 4) v128.store(d + (<usize>q << 2), loadN(src + (<usize>q << 2), lanes(n, q >> 2)));
    }
  }
}

/** The narrow path: C with 9 or 10 columns. Arguments as gemm_strided. */
function gemmNarrow(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32, ta: bool, tb: bool,
  firstMode: i32, scratch: usize, lda: i32, ldb: i32, ldc: i32): void {
  const bp = scratch;
  const biasPad = scratch + BP_BYTES + AP_BYTES; // the tile area
  if (bias) {
    packNarrowB(biasPad, bias, 0, 0, 1, N, NRN, false, N);
    v128.store(biasPad, v128.shuffle<i64>(v128.load(biasPad, 32), v128.load(biasPad, 32), 0, 0), 32);
  }
  const ldcB = <usize>ldc << 2;
  const ai: usize = ta ? 4 : <usize>lda << 2, ak: usize = ta ? <usize>lda << 2 : 4;
  for (let pc = 0; pc == 0 || pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    const mode = pc == 0 ? firstMode : 2;
    packNarrowB(bp, b, pc, 0, kc, N, NRN, tb, ldb);
    // (b8, b9, 0, 0) -> (b8, b9, b8, b9) in every panel row
    for (let k = 0; k < kc; k++) {
      const p = bp + <usize>k * NRN * 4 + 32;
      v128.store(p, v128.shuffle<i64>(v128.load(p), v128.load(p), 0, 0));
    }
    const a0 = a + <usize>pc * ak;
    for (let i = 0; i < M; i += 3) {
      kernel3x10(a0 + <usize>i * ai, ai, ak, bp, kc, c + <usize>i * ldcB, ldcB, biasPad, mode, min(3, M - i), N - 8);
    }
  }
}

/** The short path: C with M <= 12 rows, B stored (K,N). Arguments as gemm_strided. */
function gemmShort(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32, ta: bool,
  firstMode: i32, scratch: usize, lda: i32, ldb: i32, ldc: i32): void {
  const bp = scratch;
  const biasPad = scratch + BP_BYTES + AP_BYTES;
  const ldcB = <usize>ldc << 2, ldbB = <usize>ldb << 2;
  const ai: usize = ta ? 4 : <usize>lda << 2, ak: usize = ta ? <usize>lda << 2 : 4;
  const nFull = N & ~(NRS - 1), nt = N - nFull;
  if (bias && nt) {
    for (let q = 0; q < NRS; q++) store<f32>(biasPad + (<usize>q << 2), q < nt ? load<f32>(bias + (<usize>(nFull + q) << 2)) : 0);
  }
  for (let pc = 0; pc == 0 || pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    const mode = pc == 0 ? firstMode : 2;
    const a0 = a + <usize>pc * ak, b0 = b + <usize>pc * ldbB;
    // Each 16-column strip of this depth block stays in L1 while every row pair of C uses it.
    for (let j = 0; j < nFull; j += NRS) {
      const jB = <usize>j << 2;
      for (let i = 0; i < M; i += 2) {
        kernel2x16(a0 + <usize>i * ai, ai, ak, b0 + jB, ldbB, kc, c + <usize>i * ldcB + jB, ldcB, bias + jB, mode,
          min(2, M - i), 4, 4, 4, 4);
      }
    }
    if (nt) {
      // The last nt < 16 columns from a zero-padded copy, so no load reads past a row of B.
      packNarrowB(bp, b, pc, nFull, kc, nt, NRS, false, ldb);
      const jB = <usize>nFull << 2;
      for (let i = 0; i < M; i += 2) {
        kernel2x16(a0 + <usize>i * ai, ai, ak, bp, NRS * 4, kc, c + <usize>i * ldcB + jB, ldcB, biasPad, mode,
          min(2, M - i), lanes(nt, 0), lanes(nt, 1), lanes(nt, 2), lanes(nt, 3));
      }
    }
  }
}

// ---- Dot path: C = A B^T with few columns (the seed's forward, every 10-class output layer) ----
// With A stored (M,K) and B stored (N,K), both operands run along k in memory, so each C element is
// the dot product of two rows: 2x4 (or 2x3) blocks of C in v128 accumulators that each sum 4 lanes of k,
// nothing packed. Measured against gemm_strided, one thread, GFLOP/s: seed forward (1000,10,784)
// 42.5 -> 44.2; (128,12,784) 29.4 -> 48.0; (128,5,784) 19.8 -> 38.1 (the 4x8 path wastes lanes
// there, and the narrow path only takes N = 9, 10).
// Its order of operations differs from the other paths (4 lane sums over k, then (l0+l1)+(l2+l3),
// then s = [old C] [+ bias], s + that) but not with M, N or a block's place, so the host picks it
// for a whole call (src/engine/wasm.ts: dotPath) and every row or column chunk takes it too.

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

/**
 * gemm with explicit leading dimensions (elements between rows of the stored A, B and C), so a
 * thread can compute any row or column range of a bigger product. Same result for each element
 * as the whole call, bit for bit.
 */
export function gemm_strided(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32,
  transA: i32, transB: i32, accumulate: i32, scratch: usize, lda: i32, ldb: i32, ldc: i32): void {
  if (M <= 0 || N <= 0) return;
  if (K < 0) K = 0;
  const bp = scratch;
  const ap = scratch + BP_BYTES;
  const tile = ap + AP_BYTES;
  const btile = tile + TILE_BYTES;
  const ldcB = <usize>ldc << 2;
  const ta = transA != 0, tb = transB != 0;
  const firstMode = (accumulate != 0 ? 2 : 0) | (bias != 0 ? 1 : 0);
  if (N > NR && N <= 10) {
    gemmNarrow(c, a, b, bias, M, N, K, ta, tb, firstMode, scratch, lda, ldb, ldc);
    return;
  }
  if (M <= 12 && !tb) {
    gemmShort(c, a, b, bias, M, N, K, ta, firstMode, scratch, lda, ldb, ldc);
    return;
  }
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

/** C(M,N) = op(A) op(B) [+ bias] [+ C]: packed SIMD gemm over dense row-major matrices. */
export function gemm(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32,
  transA: i32, transB: i32, accumulate: i32, scratch: usize): void {
  gemm_strided(c, a, b, bias, M, N, K, transA, transB, accumulate, scratch,
    transA ? M : K, transB ? K : N, N);
}

// ---- K-blocked path: C = A^T B with few rows and a long reduction (the seed's dW) ----
// A full-batch dense layer with few units computes dW(O,I) += dout(rows,O)^T x(rows,I) over a
// chunk of 1000 rows. Split by columns, every thread reads every row of x, which the gather and
// the forward pass (both split by rows) have just written from the other core: with 2 threads the
// gather alone took 2.5x longer than with one (13-14 vs 5-6 ms per seed epoch, measured), and
// the epoch barely gained from the second thread. So this shape splits the reduction: rows go
// in KB_COUNT fixed blocks; block q gives a partial product P_q (summed from 0 over its rows, by
// the path above), and C = [old C] + P_0 + P_1 + ... in block order. The blocks depend only on K,
// so any thread count gives the same bits, and each thread reads only the rows it gathered.
// The host picks this path for a whole call (src/engine/wasm.ts: kBlocked).

/** Partials P_q(M,N) = A(rows of block q, M)^T B(rows of block q, N) for q in [q0, q0+nq). */
export function gemm_partials(p: usize, a: usize, b: usize, M: i32, N: i32, K: i32, kb: i32, q0: i32,
  nq: i32, scratch: usize): void {
  for (let q = q0; q < q0 + nq; q++) {
    const k0 = q * kb;
    gemm_strided(p + (<usize>q * M * N << 2), a + (<usize>k0 * M << 2), b + (<usize>k0 * N << 2), 0, M, N,
      min(kb, K - k0), 1, 0, 0, scratch, M, N, N);
  }
}

/** Scalar twin of gemm_partials. */
export function gemm_partials_scalar(p: usize, a: usize, b: usize, M: i32, N: i32, K: i32, kb: i32, q0: i32,
  nq: i32, scratch: usize): void {
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

/** dbias(O) += sum over the batch of dout(B,O); 16 columns at a time in four v128 sums. */
export function bias_backward(dbias: usize, dout: usize, B: i32, O: i32): void {
  const rowB = <usize>O << 2;
  let o = 0;
  for (; o + 16 <= O; o += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = dout + (<usize>o << 2);
    for (let b = 0; b < B; b++) {
      s0 = f32x4.add(s0, v128.load(p)); s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32)); s3 = f32x4.add(s3, v128.load(p, 48));
      p += rowB;
    }
    const d = dbias + (<usize>o << 2);
    v128.store(d, f32x4.add(v128.load(d), s0)); v128.store(d, f32x4.add(v128.load(d, 16), s1), 16);
    v128.store(d, f32x4.add(v128.load(d, 32), s2), 32); v128.store(d, f32x4.add(v128.load(d, 48), s3), 48);
  }
  for (; o + 4 <= O; o += 4) {
    let s = f32x4.splat(0);
    let p = dout + (<usize>o << 2);
    for (let b = 0; b < B; b++) { s = f32x4.add(s, v128.load(p)); p += rowB; }
    const d = dbias + (<usize>o << 2);
    v128.store(d, f32x4.add(v128.load(d), s));
  }
  for (; o < O; o++) {
    let s: f32 = 0;
    let p = dout + (<usize>o << 2);
    for (let b = 0; b < B; b++) { s += load<f32>(p); p += rowB; }
    const d = dbias + (<usize>o << 2);
    store<f32>(d, load<f32>(d) + s);
  }
}

/** Naive scalar twin of bias_backward. */
export function bias_backward_scalar(dbias: usize, dout: usize, B: i32, O: i32): void {
  for (let o = 0; o < O; o++) {
    let s: f32 = 0;
    for (let b = 0; b < B; b++) s += load<f32>(dout + ((<usize>b * O + o) << 2));
    const d = dbias + (<usize>o << 2);
    store<f32>(d, load<f32>(d) + s);
  }
}
