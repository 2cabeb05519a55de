// The narrow and short gemm paths: C with few columns or few rows (a 10-unit layer's shapes).
// There the 4x8 packed path fills its 8-column panels to 62.5% and repacks the big operand (the
// batch) on every call, as much memory traffic as the math. These paths read it in place:
//   narrow (N = 9 or 10): 3x10 blocks (8 accumulators, see kernel3x10), A broadcast straight
//                         from its rows (or columns, transA), B packed into one (kc,12) panel
//                         per depth block.
//   short (B not transposed): 2x16 blocks, A broadcast in place, four v128 loads (one cache line)
//                         straight from each row of B.
// Small blocks on purpose: V8 issues every load of an iteration before the arithmetic, so the
// splats of A, the B vectors and the accumulators are all live at once in the 15 free xmm
// registers; bigger blocks spill.
// Each C element follows the packed path's one sequence of operations (same init, same madd per k
// in increasing order; C holds s exactly between depth blocks), so these paths give its bits.

import { loadN, madd, storeN } from '../simd';
import { AP_BYTES, BP_BYTES, KC, NR } from './packed';

/** Most columns the narrow path's 3x10 kernel takes. */
export const NARROW_MAX_N = 10;
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
export function gemmNarrow(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32, ta: bool, tb: bool,
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

/** The short path: C with few rows, B stored (K,N). Arguments as gemm_strided. */
export function gemmShort(c: usize, a: usize, b: usize, bias: usize, M: i32, N: i32, K: i32, ta: bool,
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

