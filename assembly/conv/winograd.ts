// Winograd minimal filtering along the image rows, for stride-1 convolutions with 5-wide kernels
// (F(4,5)) and 3-wide kernels (F(6,3)): the forward pass, the input gradient and the weight
// gradient. Both use the same 8 points, so they share B^T, the gemms and the code; only A^T (S
// rows, S = 9 - KW outputs per tile) and G (KW columns) differ. Called from assembly/conv2d.ts,
// which decides when (winograd_*_fits); reference: src/engine/ref/conv2d.ts.
//   inp (B,C,H,W), weight (OC,C,KH,KW), bias (OC) -> out (B,OC,OH,OW), OH = H + 2 pad - KH + 1
//
// Derivation. Four outputs of a 1-D correlation with a 5-tap filter g over 8 inputs d,
//   y[n] = sum_j g[j] d[n + j],  n = 0..3,
// are the coefficients of a polynomial product, which is determined by its values at 8 points:
// here 0, 1, -1, 2, -2, 1/2, -1/2 and infinity (the leading coefficient). Evaluating, multiplying
// point-wise and interpolating gives (Toom-Cook; the correlation is the transpose of the
// convolution algorithm)  y = A^T [(G g) . (B^T d)]  with 8 multiplies instead of 20:
//   A^T (4x8) = [1  1  1  1  1   1    1   0]   G (8x5) = [   1     0     0     0     0 ]
//               [0  1 -1  2 -2  1/2 -1/2  0]             [-2/9  -2/9  -2/9  -2/9  -2/9 ]
//               [0  1  1  4  4  1/4  1/4  0]             [-2/9   2/9  -2/9   2/9  -2/9 ]
//               [0  1 -1  8 -8  1/8 -1/8  1]             [1/90  1/45  2/45  4/45  8/45 ]
//                                                        [1/90 -1/45  2/45 -4/45  8/45 ]
//   B^T (8x8) = [1   0  -21/4    0   21/4    0  -1  0]   [32/45 16/45  8/45  4/45  2/45 ]
//               [0   1    1   -17/4 -17/4    1   1  0]   [32/45 -16/45 8/45 -4/45  2/45 ]
//               [0  -1    1    17/4 -17/4   -1   1  0]   [   0     0     0     0     1 ]
//               [0  1/2  1/4   -5/2  -5/4    2   1  0]
//               [0 -1/2  1/4    5/2  -5/4   -2   1  0]   (columns of A^T: powers of each point;
//               [0   2    4    -5/2   -5    1/2  1  0]    rows of G: the point's powers over the
//               [0  -2    4     5/2   -5   -1/2  1  0]    product of its distances to the others;
//               [0  -1    0    21/4    0  -21/4  0  1]    B^T solves the identity; it is F(6,3)'s)
// (derived and checked in exact rationals by solving sum_j A^T[n,j] G[j,k] B^T[j,l] = [l = n+k].)
// Six outputs of a 3-tap correlation over the same 8 inputs take the same points and the same
// B^T: only the interpolation changes, A^T (6x8) = the powers 0..5 of each point (infinity: the
// last row), and G (8x3) = each point's scale above (1, -2/9, -2/9, 1/90, 1/90, 32/45, 32/45)
// times its powers 0..2 (infinity: [0 0 1]); 8 multiplies instead of 18. Below, S = 9 - KW is the
// tile's outputs (4 or 6) and KW - 1 = 8 - S its overlap with the next tile; the text says 4-wide
// tiles (KW = 5), the code covers both. (F(6,3) over F(4,3): fewer multiplies per output, 8/6 vs
// 6/4, and with OW = 10, the 3x3 layers of the presets, 2 tiles of 6 waste 2 columns where 3
// tiles of 4 waste 2 as well. The powers up to 32 in A^T cost some accuracy: see Rounding.
// 2-D F(2x2,3x3) would need 0.44 of the direct multiplies against F(6,3)'s 0.53 on 10-wide rows,
// for a second, vertical transform of every tile and code of its own: not tried.)
//
// A 2-D convolution is a sum of such row correlations: out[o,y,x..x+3] = sum over (c,i) of
// row-corr(weight[o,c,i,:], img[c, y+i, x..x+7]). Transforms are linear, so the sum moves inside:
//   U[xi](i,c; o)  = (G weight[o,c,i,:])[xi]          once per call (weights change every step)
//   X[xi](c,t,row) = (B^T img[c,row,4t..4t+7])[xi]    once per input row and tile, reused by the
//                                                     KH output rows that read it
//   M[xi](t,y; o)  = sum over (i,c) of U[xi](i,c; o) X[xi](c,t,y+i)    8 gemms, reduction C*KH
//   out[o,y,4t..4t+3] = A^T M[.](t,y; o) + bias[o]
// (Along y the kernel stays direct: 2-D F(2x2,5x5) saves little more (36 vs 40 multiplies per 4
// outputs) and F(4x4,5x5) needs 2-D transforms of overlapping 8x8 tiles and loses more accuracy.)
// The gemms hold 8/20 of the direct multiplies. Each is the stride-1 "implicit im2col" trick again
// (conv2d.ts): 4 consecutive rows y of one tile t are 4 consecutive floats of X, read with
// load32_splat at fixed offsets from a table offs[k]; the weights are vectors over 8 output
// channels: 4 rows x 8 channels = 8 accumulators, like the other micro-kernels. Where blocks of
// 5 rows waste fewer rows past OH (OH = 10, the 3x3 layers of the presets: 10 rows instead of 12,
// and 12 rows of X to transform instead of 16), the block is 5 rows: 10 accumulators.
//
// Input gradient. dinp is the transpose of the forward map. Along x the transposed algorithm
// d(d) = B [(G g) . (A dy)] scatters each 4-wide tile of dout into 8 input columns (no padding
// waste); along y, dinp row r gathers dout rows r - i over the kernel rows i:
//   X[xi](o,t,y)    = (A dout[o, y, 4t..4t+3])[xi]
//   M[xi](t,y; i,c) = sum over o of U[xi](i,c; o) X[xi](o,t,y)     8 gemms, reduction OC, one
//                                                                  row per dout row: no zero rows
//   S[xi](t,r; c)   = sum over i with 0 <= r-i < OH of M[xi](t, r-i; i,c)   (linear: sum first)
//   dimg[c,r,4t..4t+7] += B S[.](t,r; c)     (tiles overlap by 4: carried in registers, t in order)
// Same multiplies as the forward pass; the row sums are 1 add per gemm output.
//
// Rounding: the transforms scale values by up to ~10 (21/4, 17/4, 32/45 ...), so results differ
// from the exact sum by 2-4x the direct path's error: W3's conv 8->16 (values in [-1, 1], outputs
// ~5 rms) max |error| 2.6e-5 forward, 1.6e-5 dinp (direct 1.3e-5, 0.5e-5), 15x inside the tests'
// tolerance (2e-6 per term of the reduction, test/conv2d.test.ts). F(6,3)'s A^T reaches 32 (G
// shrinks point 2 by 1/90 to match): the recipe's conv 24->32 3x3, same values, max |error| 3.0e-5
// forward, 1.8e-5 dinp, 2.3e-5 dweight (direct 1.0e-5, 0.3e-5, 1.7e-5), 14x inside the tolerance.
// Every image is computed the same way wherever it runs (threads split by images): same bits.
// Scratch: winograd_scratch_bytes (the host allocates it through conv2d_scratch_bytes).

import { loadN, madd, storeN } from '../simd';
import { copyPadded } from './pad';

// @ts-ignore: decorator
@inline function splat(x: f32): v128 {
  return f32x4.splat(x);
}

// @ts-ignore: decorator
@inline function up4(n: i32): i32 {
  return (n + 3) & ~3;
}

// @ts-ignore: decorator
@inline function up8(n: i32): i32 {
  return (n + 7) & ~7;
}

// Scratch layout of one call, Cin input planes -> NO output planes (floats unless said):
//   offs   Kp = Cin*KH i32: byte offset of X(c, 0, i) for k = (i, c), i-major
//   u      8 x Kp x NR   transformed weights, output planes padded to NR = up8(NO) with zeros
//                        (weight gradient: the accumulators)
//   bias   NR            bias padded with zeros (forward)
//   x      8 x Cin x TW x Rr   transformed input rows (TW tiles of 4 columns, Rr rows)
//   m      8 x TW x NY x NR    gemm results (weight gradient: dout's transform)
//   buf    padded image (forward) or padded input gradient (backward) when not in place

/** Bytes from the start of scratch to the end of region `part` (0 offs .. 5 buf) of the layout above. */
function regionEnd(part: i32, Cin: i32, NO: i32, KH: i32, TW: i32, Rr: i32, NY: i32, bufFloats: i32): usize {
  const Kp = Cin * KH, NR = up8(NO);
  let e: usize = ((<usize>Kp << 2) + 63) & ~63;
  if (part == 0) return e;
  e += <usize>(8 * Kp * NR) << 2;
  if (part == 1) return e;
  e += <usize>NR << 2;
  if (part == 2) return e;
  e += <usize>(8 * Cin * TW * Rr) << 2;
  if (part == 3) return e;
  e += <usize>(8 * TW * NY * NR) << 2;
  if (part == 4) return e;
  return e + (<usize>bufFloats << 2) + 64;
}

/** Rows of a gemm block: 5 where blocks of 5 waste fewer rows past OH than blocks of 4 (OH 10: none vs 2). */
// @ts-ignore: decorator
@inline function rowBlock(OH: i32): i32 {
  return (OH + 4) / 5 * 5 < up4(OH) ? 5 : 4;
}

/** Gemm rows per tile: OH rounded up to whole blocks (at most up4(OH)). */
// @ts-ignore: decorator
@inline function gemmRows(OH: i32): i32 {
  const rb = rowBlock(OH);
  return (OH + rb - 1) / rb * rb;
}

/** Rows of X in the forward pass: the gemm rows read KH-1 rows more; transformed 4 at a time. */
// @ts-ignore: decorator
@inline function forwardRows(KH: i32, OH: i32): i32 {
  return up4(gemmRows(OH) + KH - 1);
}

/** Tiles of S = 9 - KW outputs covering a row of OW outputs. */
// @ts-ignore: decorator
@inline function tiles(KW: i32, OW: i32): i32 {
  return (OW + 8 - KW) / (9 - KW);
}

/** Bytes of scratch the Winograd forward and input gradient need for this geometry (any pad). */
export function winograd_scratch_bytes(C: i32, KH: i32, KW: i32, OH: i32, OW: i32, OC: i32): usize {
  if (KW != 5 && KW != 3) return 0;
  const TW = tiles(KW, OW), Wt = (9 - KW) * TW + KW - 1;
  const Rf = forwardRows(KH, OH);
  let n = regionEnd(5, C, OC, KH, TW, Rf, up4(OH), C * Rf * Wt);
  for (let pad = 0; pad < KH; pad++) { // conv2d_scratch_bytes has no pad: the largest over all
    const H = OH + KH - 1 - 2 * pad;
    if (H <= 0) break;
    n = max(n, regionEnd(5, OC, KH * up4(C), 1, TW, up4(OH), up4(OH), C * H * Wt));
  }
  return n;
}

// ---- weights: U = G g for every kernel row g = weight[o,c,i,:] ----

/**
 * u(8, Kp, NR) = G weight rows, zero past the output planes. Forward (flip false): k = (i, c),
 * planes o (Kp = C*KH, NR = up8(OC)). Input gradient (flip true): k = o, planes (i, c) with c
 * padded to C4 = up4(C) (Kp = OC, NR = up8(KH*C4)).
 */
export function transformWeights(u: usize, weight: usize, C: i32, OC: i32, KH: i32, KW: i32, flip: bool): void {
  const C4 = up4(C), NR = flip ? up8(KH * C4) : up8(OC), Kp = flip ? OC : C * KH;
  const plane = <usize>(Kp * NR) << 2;
  memory.fill(u, 0, plane << 3);
  // G's columns as two vectors each (points 0..3 and 4..7): U = sum over j of g[j] * G[:, j]
  // (column j: the scales times the points' j-th powers; infinity's 1 is in the last column)
  const a0 = f32x4(1, -2.0 / 9, -2.0 / 9, 1.0 / 90), b0 = f32x4(1.0 / 90, 32.0 / 45, 32.0 / 45, 0);
  const a1 = f32x4(0, -2.0 / 9, 2.0 / 9, 1.0 / 45), b1 = f32x4(-1.0 / 45, 16.0 / 45, -16.0 / 45, 0);
  const a2 = f32x4(0, -2.0 / 9, -2.0 / 9, 2.0 / 45), b2 = f32x4(2.0 / 45, 8.0 / 45, 8.0 / 45, KW == 3 ? 1 : 0);
  const a3 = f32x4(0, -2.0 / 9, 2.0 / 9, 4.0 / 45), b3 = f32x4(-4.0 / 45, 4.0 / 45, -4.0 / 45, 0);
  const a4 = f32x4(0, -2.0 / 9, -2.0 / 9, 8.0 / 45), b4 = f32x4(8.0 / 45, 2.0 / 45, 2.0 / 45, 1);
  let w = weight;
  const wStep = <usize>KW << 2;
  for (let o = 0; o < OC; o++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < KH; i++) {
        const g0 = v128.load32_splat(w), g1 = v128.load32_splat(w, 4), g2 = v128.load32_splat(w, 8);
        let lo: v128, hi: v128;
        if (KW == 5) {
          const g3 = v128.load32_splat(w, 12), g4 = v128.load32_splat(w, 16);
          lo = f32x4.add(f32x4.add(f32x4.add(f32x4.mul(g0, a0), f32x4.mul(g1, a1)), f32x4.add(f32x4.mul(g2, a2), f32x4.mul(g3, a3))), f32x4.mul(g4, a4));
          hi = f32x4.add(f32x4.add(f32x4.add(f32x4.mul(g0, b0), f32x4.mul(g1, b1)), f32x4.add(f32x4.mul(g2, b2), f32x4.mul(g3, b3))), f32x4.mul(g4, b4));
        } else {
          lo = f32x4.add(f32x4.add(f32x4.mul(g0, a0), f32x4.mul(g1, a1)), f32x4.mul(g2, a2));
          hi = f32x4.add(f32x4.add(f32x4.mul(g0, b0), f32x4.mul(g1, b1)), f32x4.mul(g2, b2));
        }
        w += wStep;
        const k = flip ? o : i * C + c, n = flip ? i * C4 + c : o;
        const p = u + (<usize>(k * NR + n) << 2);
        store<f32>(p, f32x4.extract_lane(lo, 0)); store<f32>(p + plane, f32x4.extract_lane(lo, 1));
        store<f32>(p + 2 * plane, f32x4.extract_lane(lo, 2)); store<f32>(p + 3 * plane, f32x4.extract_lane(lo, 3));
        store<f32>(p + 4 * plane, f32x4.extract_lane(hi, 0)); store<f32>(p + 5 * plane, f32x4.extract_lane(hi, 1));
        store<f32>(p + 6 * plane, f32x4.extract_lane(hi, 2)); store<f32>(p + 7 * plane, f32x4.extract_lane(hi, 3));
      }
    }
  }
}

/** offs(Kp) i32 = byte offset of X(c, t=0, row i) for k = (i, c), i-major (so row ranges are k ranges). */
function fillOffsets(offs: usize, Cin: i32, KH: i32, TW: i32, Rr: i32): void {
  let k: usize = 0;
  for (let i = 0; i < KH; i++) for (let c = 0; c < Cin; c++) store<i32>(offs + (k++ << 2), (c * TW * Rr + i) << 2);
}

// ---- the 8 gemms ----

/**
 * m[xi](TW, NY, NR) = sum over k = (i, c) of u[xi](k, NR) x[xi](c, t, y0 + y + i), for gemm rows
 * y in blocks of RB = 4 or 5 rows (NY a multiple of RB). X rows outside [d0, d1) are zero: a
 * block skips the kernel rows that read only those.
 */
function pointGemms(m: usize, u: usize, x: usize, offs: usize, Cin: i32, KH: i32, NR: i32, TW: i32,
  Rr: i32, NY: i32, RB: i32, y0: i32, d0: i32, d1: i32): void {
  const NR4 = <usize>NR << 2;
  const xPlane = <usize>(Cin * TW * Rr) << 2, uPlane = <usize>(Cin * KH) * NR4, mPlane = <usize>(TW * NY) * NR4;
  for (let xi = 0; xi < 8; xi++) {
    const ux = u + <usize>xi * uPlane, xx = x + <usize>xi * xPlane, mx = m + <usize>xi * mPlane;
    for (let t = 0; t < TW; t++) {
      for (let y = 0; y < NY; y += RB) {
        const base = xx + (<usize>(t * Rr + y0 + y) << 2);
        const i0 = max(0, d0 - (y0 + y + RB - 1)), i1 = min(KH, d1 - (y0 + y));
        const k0 = i0 * Cin, k1 = max(i1 * Cin, k0);
        const dst = mx + <usize>(t * NY + y) * NR4;
        for (let n = 0; n < NR; n += 8) {
          const pa = ux + <usize>k0 * NR4 + (<usize>n << 2), d = dst + (<usize>n << 2);
          if (RB == 5) gemmTile(d, pa, base, offs, k0, k1, NR4, true);
          else gemmTile(d, pa, base, offs, k0, k1, NR4, false);
        }
      }
    }
  }
}

/**
 * One micro-tile: rows y..y+3 (and y+4 when five) x 8 planes at d (row stride NR4) = the sum over
 * k in [k0, k1) of the weights at pa (8 floats, stride NR4) times X at base + offs[k] (one float
 * per row, consecutive). Inlined with a constant `five`, so each size compiles to its own loop.
 */
// @ts-ignore: decorator
@inline function gemmTile(d: usize, pa: usize, base: usize, offs: usize, k0: i32, k1: i32, NR4: usize, five: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
  let c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00;
  for (let k = k0; k < k1; k++) {
    const pb = base + <usize>load<i32>(offs + (<usize>k << 2));
    const w0 = v128.load(pa), w1 = v128.load(pa, 16);
    let s = v128.load32_splat(pb);
    c00 = madd(s, w0, c00); c01 = madd(s, w1, c01);
    s = v128.load32_splat(pb, 4);
    c10 = madd(s, w0, c10); c11 = madd(s, w1, c11);
    s = v128.load32_splat(pb, 8);
    c20 = madd(s, w0, c20); c21 = madd(s, w1, c21);
    s = v128.load32_splat(pb, 12);
    c30 = madd(s, w0, c30); c31 = madd(s, w1, c31);
    if (five) {
      s = v128.load32_splat(pb, 16);
      c40 = madd(s, w0, c40); c41 = madd(s, w1, c41);
    }
    pa += NR4;
  }
  v128.store(d, c00); v128.store(d, c01, 16);
  v128.store(d + NR4, c10); v128.store(d + NR4, c11, 16);
  v128.store(d + 2 * NR4, c20); v128.store(d + 2 * NR4, c21, 16);
  v128.store(d + 3 * NR4, c30); v128.store(d + 3 * NR4, c31, 16);
  if (five) { v128.store(d + 4 * NR4, c40); v128.store(d + 4 * NR4, c41, 16); }
}

// ---- forward ----

/**
 * x[xi](C, TW, Rr) = B^T of the 8-column windows at S t of every row of src(C, Rr, Wt), 4 rows at
 * a time: the 4 rows' windows are transposed so each vector holds one column of 4 rows.
 */
export function forwardTransform(x: usize, src: usize, C: i32, TW: i32, Rr: i32, Wt: i32, S: i32): void {
  const xPlane = <usize>(C * TW * Rr) << 2, Wt4 = <usize>Wt << 2;
  const c21_4 = f32x4.splat(21.0 / 4), c17_4 = f32x4.splat(17.0 / 4), c5_4 = f32x4.splat(5.0 / 4);
  const c5_2 = f32x4.splat(5.0 / 2), c1_4 = f32x4.splat(0.25), c1_2 = f32x4.splat(0.5);
  const c2 = f32x4.splat(2), c4 = f32x4.splat(4), c5 = f32x4.splat(5);
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < TW; t++) {
      for (let q = 0; q < Rr; q += 4) {
        const p = src + (<usize>((c * Rr + q) * Wt + S * t) << 2);
        // rows q..q+3, columns 0..3 (r*0) and 4..7 (r*1), transposed to columns d0..d7
        let r0 = v128.load(p), r1 = v128.load(p + Wt4), r2 = v128.load(p + 2 * Wt4), r3 = v128.load(p + 3 * Wt4);
        let ab0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), ab1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        let cd0 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), cd1 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const d0 = v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5), d1 = v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7);
        const d2 = v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5), d3 = v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7);
        r0 = v128.load(p, 16); r1 = v128.load(p + Wt4, 16); r2 = v128.load(p + 2 * Wt4, 16); r3 = v128.load(p + 3 * Wt4, 16);
        ab0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5); ab1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        cd0 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5); cd1 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const d4 = v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5), d5 = v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7);
        const d6 = v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5), d7 = v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7);
        // B^T d: rows in +-pairs share an even part e and an odd part o
        const dst = x + (<usize>((c * TW + t) * Rr + q) << 2);
        v128.store(dst, f32x4.add(f32x4.sub(d0, d6), f32x4.mul(c21_4, f32x4.sub(d4, d2))));
        let e = f32x4.sub(f32x4.add(d2, d6), f32x4.mul(c17_4, d4));
        let o = f32x4.sub(f32x4.add(d1, d5), f32x4.mul(c17_4, d3));
        v128.store(dst + xPlane, f32x4.add(e, o));
        v128.store(dst + 2 * xPlane, f32x4.sub(e, o));
        e = f32x4.add(f32x4.sub(f32x4.mul(c1_4, d2), f32x4.mul(c5_4, d4)), d6);
        o = f32x4.add(f32x4.sub(f32x4.mul(c1_2, d1), f32x4.mul(c5_2, d3)), f32x4.mul(c2, d5));
        v128.store(dst + 3 * xPlane, f32x4.add(e, o));
        v128.store(dst + 4 * xPlane, f32x4.sub(e, o));
        e = f32x4.add(f32x4.sub(f32x4.mul(c4, d2), f32x4.mul(c5, d4)), d6);
        o = f32x4.add(f32x4.sub(f32x4.mul(c2, d1), f32x4.mul(c5_2, d3)), f32x4.mul(c1_2, d5));
        v128.store(dst + 5 * xPlane, f32x4.add(e, o));
        v128.store(dst + 6 * xPlane, f32x4.sub(e, o));
        v128.store(dst + 7 * xPlane, f32x4.add(f32x4.sub(d7, d1), f32x4.mul(c21_4, f32x4.sub(d3, d5))));
      }
    }
  }
}

/**
 * Rows 0..nl-1 of the 4x4 transpose of (v0 v1 v2 v3), the first nx floats of each, at p, p + ld, ..:
 * vectors over 4 planes holding columns 0..3 become each plane's 4 columns.
 */
// @ts-ignore: decorator
@inline export function storeTransposed(p: usize, ld: usize, v0: v128, v1: v128, v2: v128, v3: v128, nl: i32, nx: i32): void {
  const ab0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), ab1 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
  const cd0 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5), cd1 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
  if (nl >= 4 && nx >= 4) {
    v128.store(p, v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5));
    v128.store(p + ld, v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7));
    v128.store(p + 2 * ld, v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5));
    v128.store(p + 3 * ld, v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7));
  } else {
    storeN(p, v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5), nx);
    if (nl > 1) storeN(p + ld, v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7), nx);
    if (nl > 2) storeN(p + 2 * ld, v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5), nx);
    if (nl > 3) storeN(p + 3 * ld, v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7), nx);
  }
}

/**
 * Whether the tiles of a row of OW outputs waste few enough columns to pay: KW = 5 from OW = 8;
 * KW = 3 where F(6,3)'s gemm multiplies (8 per tile) are at most num/den of the direct path's (3
 * per output). The break-evens (fits below) were measured against direct on small shapes.
 */
// @ts-ignore: decorator
@inline function tilesPay(KW: i32, OW: i32, num: i32, den: i32): bool {
  return OW >= 8 && (KW == 5 || (KW == 3 && 8 * tiles(3, OW) * den <= 3 * OW * num));
}

/** Whether conv2d_forward takes the Winograd path for this stride-1 geometry (where it beats direct). */
export function winograd_forward_fits(C: i32, KW: i32, OC: i32, OW: i32): bool {
  return tilesPay(KW, OW, 3, 5) && OC >= 8 && C >= (KW == 3 ? 6 : 4);
}

/** Forward, stride 1, KW = 5 or 3: out(B,OC,OH,OW) = conv(inp, weight) [+ bias]; scratch: winograd_scratch_bytes. */
export function winograd_forward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, C: i32,
  H: i32, W: i32, OC: i32, KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  const S = 9 - KW, TW = tiles(KW, OW), Wt = S * TW + KW - 1, Rr = forwardRows(KH, OH), NY = gemmRows(OH), NR = up8(OC);
  const offs = scratch, u = scratch + regionEnd(0, C, OC, KH, TW, Rr, NY, 0);
  const bv = scratch + regionEnd(1, C, OC, KH, TW, Rr, NY, 0);
  const x = scratch + regionEnd(2, C, OC, KH, TW, Rr, NY, 0);
  const m = scratch + regionEnd(3, C, OC, KH, TW, Rr, NY, 0);
  const buf = scratch + regionEnd(4, C, OC, KH, TW, Rr, NY, 0);
  transformWeights(u, weight, C, OC, KH, KW, false);
  fillOffsets(offs, C, KH, TW, Rr);
  memory.fill(bv, 0, <usize>NR << 2);
  if (bias) memory.copy(bv, bias, <usize>OC << 2);
  // without padding, with whole tiles and X's rows = the image's, the image is read in place
  const inPlace = pad == 0 && W == Wt && H == Rr;
  if (!inPlace) memory.fill(buf, 0, <usize>(C * Rr * Wt) << 2); // the padding stays 0 for every image
  const NR4 = <usize>NR << 2, mPlane = <usize>(TW * NY) * NR4, P4 = <usize>(OH * OW) << 2;
  const c2 = f32x4.splat(2), c4 = f32x4.splat(4), c8 = f32x4.splat(8);
  const c1_2 = f32x4.splat(0.5), c1_4 = f32x4.splat(0.25), c1_8 = f32x4.splat(0.125);
  const c16 = f32x4.splat(16), c32 = f32x4.splat(32), c1_16 = f32x4.splat(0.0625), c1_32 = f32x4.splat(0.03125);
  for (let b = 0; b < B; b++) {
    const img = inp + (<usize>(b * C * H * W) << 2);
    if (!inPlace) copyPadded(buf, img, C, H, W, pad, Rr, Wt);
    forwardTransform(x, inPlace ? img : buf, C, TW, Rr, Wt, S);
    pointGemms(m, u, x, offs, C, KH, NR, TW, Rr, NY, rowBlock(OH), 0, pad, pad + H);
    // out[o, y, St..St+S-1] = A^T m[.](t, y; o) + bias: vectors over 4 channels, then transposed
    // (rows of A^T: even powers take the +-pairs' sums, odd ones their differences)
    const ob = out + <usize>(b * OC) * P4;
    for (let t = 0; t < TW; t++) {
      const nx = min(4, OW - S * t), nx2 = OW - S * t - 4;
      for (let y = 0; y < OH; y++) {
        const src = m + <usize>(t * NY + y) * NR4;
        for (let n = 0; n < OC; n += 4) {
          const p = src + (<usize>n << 2);
          const m0 = v128.load(p), m7 = v128.load(p + 7 * mPlane);
          const m1 = v128.load(p + mPlane), m2 = v128.load(p + 2 * mPlane);
          const m3 = v128.load(p + 3 * mPlane), m4 = v128.load(p + 4 * mPlane);
          const m5 = v128.load(p + 5 * mPlane), m6 = v128.load(p + 6 * mPlane);
          const s12 = f32x4.add(m1, m2), d12 = f32x4.sub(m1, m2);
          const s34 = f32x4.add(m3, m4), d34 = f32x4.sub(m3, m4);
          const s56 = f32x4.add(m5, m6), d56 = f32x4.sub(m5, m6);
          const bb = v128.load(bv + (<usize>n << 2));
          const y0 = f32x4.add(f32x4.add(f32x4.add(m0, s12), f32x4.add(s34, s56)), bb);
          const y1 = f32x4.add(f32x4.add(d12, f32x4.mul(c2, d34)), f32x4.add(f32x4.mul(c1_2, d56), bb));
          const y2 = f32x4.add(f32x4.add(s12, f32x4.mul(c4, s34)), f32x4.add(f32x4.mul(c1_4, s56), bb));
          const dst = ob + <usize>n * P4 + (<usize>(y * OW + S * t) << 2);
          if (S == 4) {
            const y3 = f32x4.add(f32x4.add(f32x4.add(d12, f32x4.mul(c8, d34)), f32x4.add(f32x4.mul(c1_8, d56), m7)), bb);
            storeTransposed(dst, P4, y0, y1, y2, y3, OC - n, nx);
          } else {
            const y3 = f32x4.add(f32x4.add(d12, f32x4.mul(c8, d34)), f32x4.add(f32x4.mul(c1_8, d56), bb));
            const y4 = f32x4.add(f32x4.add(s12, f32x4.mul(c16, s34)), f32x4.add(f32x4.mul(c1_16, s56), bb));
            const y5 = f32x4.add(f32x4.add(f32x4.add(d12, f32x4.mul(c32, d34)), f32x4.add(f32x4.mul(c1_32, d56), m7)), bb);
            storeTransposed(dst, P4, y0, y1, y2, y3, OC - n, nx);
            if (nx2 > 0) storeTransposed(dst + 16, P4, y4, y5, y5, y5, OC - n, min(2, nx2));
          }
        }
      }
    }
  }
}

// ---- input gradient ----

/**
 * Transposes 4 rows (S values each: one tile per row; columns 0..3 in r0..r3, 4..5 in q0..q3 when
 * S = 6) into S column vectors d0..d(S-1), then stores A d at dst + xi * plane for the 8 points xi:
 * A d = (A^T)^T d, each point's powers dotted with the S values (the point infinity takes the last).
 */
// @ts-ignore: decorator
@inline function storeA(dst: usize, plane: usize, r0: v128, r1: v128, r2: v128, r3: v128,
  q0: v128, q1: v128, q2: v128, q3: v128, S: i32): void {
  const ab0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), ab1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const cd0 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), cd1 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  const d0 = v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5), d1 = v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7);
  const d2 = v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5), d3 = v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7);
  v128.store(dst, d0);
  // S = 6 adds the powers 4 and 5 of each point (d4, d5) to the sums of S = 4
  let d4 = f32x4.splat(0), d5 = d4;
  if (S == 6) {
    const ef = v128.shuffle<f32>(q0, q1, 0, 4, 1, 5), gh = v128.shuffle<f32>(q2, q3, 0, 4, 1, 5);
    d4 = v128.shuffle<f32>(ef, gh, 0, 1, 4, 5); d5 = v128.shuffle<f32>(ef, gh, 2, 3, 6, 7);
  }
  let e = f32x4.add(d0, d2), od = f32x4.add(d1, d3);
  if (S == 6) { e = f32x4.add(e, d4); od = f32x4.add(od, d5); }
  v128.store(dst + plane, f32x4.add(e, od));
  v128.store(dst + 2 * plane, f32x4.sub(e, od));
  e = f32x4.add(d0, f32x4.mul(splat(4), d2)); od = f32x4.add(f32x4.mul(splat(2), d1), f32x4.mul(splat(8), d3));
  if (S == 6) { e = f32x4.add(e, f32x4.mul(splat(16), d4)); od = f32x4.add(od, f32x4.mul(splat(32), d5)); }
  v128.store(dst + 3 * plane, f32x4.add(e, od));
  v128.store(dst + 4 * plane, f32x4.sub(e, od));
  e = f32x4.add(d0, f32x4.mul(splat(0.25), d2));
  od = f32x4.add(f32x4.mul(splat(0.5), d1), f32x4.mul(splat(0.125), d3));
  if (S == 6) { e = f32x4.add(e, f32x4.mul(splat(0.0625), d4)); od = f32x4.add(od, f32x4.mul(splat(0.03125), d5)); }
  v128.store(dst + 5 * plane, f32x4.add(e, od));
  v128.store(dst + 6 * plane, f32x4.sub(e, od));
  v128.store(dst + 7 * plane, S == 6 ? d5 : d3);
}

/** Columns 4..5 of a 6-wide tile row at p (n: the columns left in the row from p - 16). */
// @ts-ignore: decorator
@inline function loadTail(p: usize, n: i32, S: i32): v128 {
  return S == 6 ? loadN(p + 16, min(2, n - 4)) : f32x4.splat(0);
}

/**
 * x[xi](OC, TW, Rr) = A of the S-column tiles of every row of g(OC, OH, OW) (one image's dout),
 * 4 rows at a time (zeros past row OH and column OW; Rr = up4(OH)).
 */
export function inputTransform(x: usize, g: usize, OC: i32, OH: i32, OW: i32, TW: i32, Rr: i32, S: i32): void {
  const xPlane = <usize>(OC * TW * Rr) << 2, OW4 = <usize>OW << 2;
  const z = f32x4.splat(0);
  for (let o = 0; o < OC; o++) {
    for (let t = 0; t < TW; t++) {
      const nx = OW - S * t;
      for (let y = 0; y < OH; y += 4) {
        const p = g + (<usize>((o * OH + y) * OW + S * t) << 2);
        const r0 = loadN(p, nx), q0 = loadTail(p, nx, S);
        const r1 = y + 1 < OH ? loadN(p + OW4, nx) : z, q1 = y + 1 < OH ? loadTail(p + OW4, nx, S) : z;
        const r2 = y + 2 < OH ? loadN(p + 2 * OW4, nx) : z, q2 = y + 2 < OH ? loadTail(p + 2 * OW4, nx, S) : z;
        const r3 = y + 3 < OH ? loadN(p + 3 * OW4, nx) : z, q3 = y + 3 < OH ? loadTail(p + 3 * OW4, nx, S) : z;
        storeA(x + (<usize>((o * TW + t) * Rr + y) << 2), xPlane, r0, r1, r2, r3, q0, q1, q2, q3, S);
      }
    }
  }
}

/** Whether the input gradient takes the Winograd path for this stride-1 geometry (where it beats direct). */
export function winograd_input_fits(C: i32, KW: i32, OC: i32, OW: i32): bool {
  return tilesPay(KW, OW, 3, 5) && C >= 8 && OC >= 8;
}

/** Input gradient, stride 1, KW = 5 or 3: dinp(B,C,H,W) (overwritten) for dout(B,OC,OH,OW); scratch: winograd_scratch_bytes. */
export function winograd_input(dinp: usize, dout: usize, weight: usize, B: i32, C: i32, H: i32, W: i32,
  OC: i32, KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  const S = 9 - KW, TW = tiles(KW, OW), Wt = S * TW + KW - 1, Rr = up4(OH), NY = gemmRows(OH), C4 = up4(C), NR = up8(KH * C4);
  const offs = scratch, u = scratch + regionEnd(0, OC, NR, 1, TW, Rr, NY, 0);
  const x = scratch + regionEnd(2, OC, NR, 1, TW, Rr, NY, 0);
  const m = scratch + regionEnd(3, OC, NR, 1, TW, Rr, NY, 0);
  const buf = scratch + regionEnd(4, OC, NR, 1, TW, Rr, NY, 0);
  transformWeights(u, weight, C, OC, KH, KW, true);
  fillOffsets(offs, OC, 1, TW, Rr);
  // without padding, with whole tiles and whole 4-channel groups, tiles go straight into dinp
  const direct = pad == 0 && W == Wt && (C & 3) == 0;
  const ldd = direct ? W : Wt; // row stride of the gradient image written below
  const NR4 = <usize>NR << 2, mPlane = <usize>(TW * NY) * NR4, plane4 = <usize>(H * ldd) << 2;
  const c2 = f32x4.splat(2), c4 = f32x4.splat(4), c5 = f32x4.splat(5);
  const c1_2 = f32x4.splat(0.5), c1_4 = f32x4.splat(0.25), c5_4 = f32x4.splat(5.0 / 4);
  const c5_2 = f32x4.splat(5.0 / 2), c17_4 = f32x4.splat(17.0 / 4), c21_4 = f32x4.splat(21.0 / 4);
  for (let b = 0; b < B; b++) {
    inputTransform(x, dout + (<usize>(b * OC * OH * OW) << 2), OC, OH, OW, TW, Rr, S);
    // m[xi](t, y; i, c) = sum over o of u[xi](o; i, c) x[xi](o, t, y): one gemm row per dout row
    pointGemms(m, u, x, offs, OC, 1, NR, TW, Rr, NY, rowBlock(OH), 0, 0, OH);
    // s[xi](t, r; c) = sum over i of m[xi](t, r-i; i, c) (padded row r = pad + y: dout rows r-i in [0, OH))
    // dimg[c, y, St..St+7] += B m[.](t, y; c): vectors over 4 channels; the 8 - S columns a tile
    // shares with the next are carried in registers, so every column is stored once, transposed
    const di = direct ? dinp + (<usize>(b * C * H * W) << 2) : buf;
    for (let y = 0; y < H; y++) {
      const r = pad + y, i0 = max(0, r - OH + 1), i1 = min(KH, r + 1);
      for (let n = 0; n < C; n += 4) {
        let k0 = f32x4.splat(0), k1 = k0, k2 = k0, k3 = k0;
        const dst = di + <usize>n * plane4 + (<usize>(y * ldd) << 2);
        for (let t = 0; t < TW; t++) {
          let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
          for (let i = i0; i < i1; i++) {
            const p = m + <usize>(t * NY + r - i) * NR4 + (<usize>(i * C4 + n) << 2);
            s0 = f32x4.add(s0, v128.load(p)); s1 = f32x4.add(s1, v128.load(p + mPlane));
            s2 = f32x4.add(s2, v128.load(p + 2 * mPlane)); s3 = f32x4.add(s3, v128.load(p + 3 * mPlane));
            s4 = f32x4.add(s4, v128.load(p + 4 * mPlane)); s5 = f32x4.add(s5, v128.load(p + 5 * mPlane));
            s6 = f32x4.add(s6, v128.load(p + 6 * mPlane)); s7 = f32x4.add(s7, v128.load(p + 7 * mPlane));
          }
          const a12 = f32x4.add(s1, s2), d12 = f32x4.sub(s1, s2);
          const a34 = f32x4.add(s3, s4), d34 = f32x4.sub(s3, s4);
          const a56 = f32x4.add(s5, s6), d56 = f32x4.sub(s5, s6);
          // B's columns 0..7 (B^T's rows transposed); the first 8 - S add the previous tile's carry
          const e0 = f32x4.add(s0, k0);
          const e1 = f32x4.add(f32x4.add(f32x4.add(d12, f32x4.mul(c1_2, d34)), f32x4.sub(f32x4.mul(c2, d56), s7)), k1);
          let e2 = f32x4.add(f32x4.sub(a12, f32x4.mul(c21_4, s0)), f32x4.add(f32x4.mul(c1_4, a34), f32x4.mul(c4, a56)));
          let e3 = f32x4.sub(f32x4.mul(c21_4, s7), f32x4.add(f32x4.mul(c17_4, d12), f32x4.mul(c5_2, f32x4.add(d34, d56))));
          const e4 = f32x4.sub(f32x4.mul(c21_4, s0), f32x4.add(f32x4.mul(c17_4, a12), f32x4.add(f32x4.mul(c5_4, a34), f32x4.mul(c5, a56))));
          const e5 = f32x4.sub(f32x4.add(d12, f32x4.add(f32x4.mul(c2, d34), f32x4.mul(c1_2, d56))), f32x4.mul(c21_4, s7));
          const e6 = f32x4.sub(f32x4.add(a12, f32x4.add(a34, a56)), s0);
          const at = dst + (<usize>(S * t) << 2);
          if (S == 4) {
            e2 = f32x4.add(e2, k2); e3 = f32x4.add(e3, k3);
            k0 = e4; k1 = e5; k2 = e6; k3 = s7;
          } else {
            storeTransposed(at + 16, plane4, e4, e5, e5, e5, C - n, 2);
            k0 = e6; k1 = s7;
          }
          storeTransposed(at, plane4, e0, e1, e2, e3, C - n, 4);
        }
        storeTransposed(dst + (<usize>(S * TW) << 2), plane4, k0, k1, k2, k3, C - n, 8 - S);
      }
    }
    if (!direct) {
      const dimg = dinp + (<usize>(b * C * H * W) << 2);
      for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) {
        memory.copy(dimg + (<usize>((c * H + y) * W) << 2), buf + (<usize>((c * H + y) * Wt + pad) << 2), <usize>W << 2);
      }
    }
  }
}

// ---- weight gradient ----
// dweight[o,c,i,:] is the gradient of the forward's G g, so by the chain rule
//   dweight[o,c,i,j] = sum over xi of G[xi,j] sum over (image, t, y) of X[xi](c,t,y+i) Y[xi](t,y; o)
// with X = B^T of the input rows (as forward) and Y = A of dout's 4-wide tiles (as the input
// gradient, here with the output channels as lanes): 8 gemms with reduction over the OH*TW tile
// positions, accumulated over the images per (point, kernel row, channel), and G^T once at the
// end. The units are conv2d_backward_weight's (8-channel block, weight k = (c,i,j)) pairs; every
// kernel row a unit range touches is computed whole (same code and order whatever the range),
// and only the range's units are added into dweight: any split gives the same bits.

/** Whether dweight takes the Winograd path for this stride-1 geometry. */
export function winograd_weight_fits(C: i32, KW: i32, OC: i32, OW: i32): bool {
  return tilesPay(KW, OW, 4, 7) && OC >= 8 && C >= (KW == 3 ? 8 : 4);
}

/**
 * y[xi](TW, OH, NR) = A of dout's S-column tiles with the channels as lanes (zero past OC and
 * column OW), for channels [o0, o1) (multiples of 4 apart).
 */
function weightDoutTransform(y: usize, g: usize, OC: i32, OH: i32, OW: i32, TW: i32, NR: i32, o0: i32, o1: i32, S: i32): void {
  const yPlane = <usize>(TW * OH * NR) << 2, P4 = <usize>(OH * OW) << 2;
  const z = f32x4.splat(0);
  for (let o = o0; o < o1; o += 4) {
    for (let t = 0; t < TW; t++) {
      const nx = OW - S * t;
      for (let yy = 0; yy < OH; yy++) {
        const p = g + <usize>o * P4 + (<usize>(yy * OW + S * t) << 2);
        const r0 = o < OC ? loadN(p, nx) : z, r1 = o + 1 < OC ? loadN(p + P4, nx) : z;
        const r2 = o + 2 < OC ? loadN(p + 2 * P4, nx) : z, r3 = o + 3 < OC ? loadN(p + 3 * P4, nx) : z;
        const q0 = o < OC ? loadTail(p, nx, S) : z, q1 = o + 1 < OC ? loadTail(p + P4, nx, S) : z;
        const q2 = o + 2 < OC ? loadTail(p + 2 * P4, nx, S) : z, q3 = o + 3 < OC ? loadTail(p + 3 * P4, nx, S) : z;
        storeA(y + (<usize>((t * OH + yy) * NR + o) << 2), yPlane, r0, r1, r2, r3, q0, q1, q2, q3, S);
      }
    }
  }
}

/**
 * acc[xi](rb rows, 8) += sum over positions (t, y) of x[xi](c_r, t, y + i_r) y[xi](t, y; 8 channels)
 * for rb = 4 or 1 kernel rows r (xo: their byte offsets into an x plane).
 */
// @ts-ignore: decorator
@inline function weightBlock(acc: usize, xo: usize, x: usize, y: usize, TW: i32, OH: i32, Rr: i32, NR4: usize, rb: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
  let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const x0 = x + <usize>load<i32>(xo);
  const x1 = rb > 1 ? x + <usize>load<i32>(xo, 4) : x0;
  const x2 = rb > 1 ? x + <usize>load<i32>(xo, 8) : x0;
  const x3 = rb > 1 ? x + <usize>load<i32>(xo, 12) : x0;
  let pg = y;
  for (let t = 0; t < TW; t++) {
    const tr = <usize>(t * Rr) << 2;
    for (let yy = 0; yy < OH; yy++) {
      const q = tr + (<usize>yy << 2);
      const g0 = v128.load(pg), g1 = v128.load(pg, 16);
      let s = v128.load32_splat(x0 + q);
      c00 = madd(s, g0, c00); c01 = madd(s, g1, c01);
      if (rb > 1) {
        s = v128.load32_splat(x1 + q);
        c10 = madd(s, g0, c10); c11 = madd(s, g1, c11);
        s = v128.load32_splat(x2 + q);
        c20 = madd(s, g0, c20); c21 = madd(s, g1, c21);
        s = v128.load32_splat(x3 + q);
        c30 = madd(s, g0, c30); c31 = madd(s, g1, c31);
      }
      pg += NR4;
    }
  }
  v128.store(acc, f32x4.add(v128.load(acc), c00)); v128.store(acc, f32x4.add(v128.load(acc, 16), c01), 16);
  if (rb > 1) {
    v128.store(acc, f32x4.add(v128.load(acc, 32), c10), 32); v128.store(acc, f32x4.add(v128.load(acc, 48), c11), 48);
    v128.store(acc, f32x4.add(v128.load(acc, 64), c20), 64); v128.store(acc, f32x4.add(v128.load(acc, 80), c21), 80);
    v128.store(acc, f32x4.add(v128.load(acc, 96), c30), 96); v128.store(acc, f32x4.add(v128.load(acc, 112), c31), 112);
  }
}

/**
 * Weight gradient, stride 1, KW = 5 or 3: dweight(OC,C,KH,KW) += for units [u0, u1) (see above; dbias is
 * the caller's); scratch: winograd_scratch_bytes (the forward layout: acc in u, dout's transform in m).
 */
export function winograd_weight(dweight: usize, dout: usize, inp: usize, B: i32, C: i32, H: i32, W: i32,
  OC: i32, KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize, u0: i32, u1: i32): void {
  if (u1 <= u0) return;
  const S = 9 - KW, TW = tiles(KW, OW), Wt = S * TW + KW - 1, Rr = forwardRows(KH, OH), NY4 = up4(OH), NR = up8(OC);
  const K = C * KH * KW, Kp = C * KH, NR4 = <usize>NR << 2;
  const xo = scratch, acc = scratch + regionEnd(0, C, OC, KH, TW, Rr, NY4, 0);
  const x = scratch + regionEnd(2, C, OC, KH, TW, Rr, NY4, 0);
  const y = scratch + regionEnd(3, C, OC, KH, TW, Rr, NY4, 0);
  const buf = scratch + regionEnd(4, C, OC, KH, TW, Rr, NY4, 0);
  const ob0 = u0 / K, ob1 = (u1 - 1) / K;                    // 8-channel blocks touched
  const r0 = (u0 - ob0 * K) / KW, r1 = ob0 == ob1 ? (u1 - 1 - ob0 * K) / KW + 1 : Kp; // rows of the first block
  const rEnd = (u1 - 1 - ob1 * K) / KW + 1;                  // rows of the last block: [0, rEnd)
  // acc(block, xi, row, 8) with kernel rows r = (c, i); xo: row r's offset into an x plane
  const accBlock = <usize>(8 * Kp) * 32, xPlane = <usize>(C * TW * Rr) << 2, yPlane = <usize>(TW * OH) * NR4;
  for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) store<i32>(xo + (<usize>(c * KH + i) << 2), (c * TW * Rr + i) << 2);
  memory.fill(acc, 0, <usize>(ob1 - ob0 + 1) * accBlock);
  const inPlace = pad == 0 && W == Wt && H == Rr;
  if (!inPlace) memory.fill(buf, 0, <usize>(C * Rr * Wt) << 2);
  for (let b = 0; b < B; b++) {
    const img = inp + (<usize>(b * C * H * W) << 2);
    if (!inPlace) copyPadded(buf, img, C, H, W, pad, Rr, Wt);
    forwardTransform(x, inPlace ? img : buf, C, TW, Rr, Wt, S);
    weightDoutTransform(y, dout + (<usize>(b * OC * OH * OW) << 2), OC, OH, OW, TW, NR, ob0 << 3, (ob1 + 1) << 3, S);
    for (let ob = ob0; ob <= ob1; ob++) {
      const ra = ob == ob0 ? r0 : 0, rb = ob == ob1 ? (ob == ob0 ? r1 : rEnd) : Kp;
      for (let xi = 0; xi < 8; xi++) {
        const ab = acc + <usize>(ob - ob0) * accBlock + (<usize>(xi * Kp) << 5);
        const xx = x + <usize>xi * xPlane, yy = y + <usize>xi * yPlane + (<usize>ob << 5);
        let r = ra;
        for (; r + 4 <= rb; r += 4) weightBlock(ab + (<usize>r << 5), xo + (<usize>r << 2), xx, yy, TW, OH, Rr, NR4, 4);
        for (; r < rb; r++) weightBlock(ab + (<usize>r << 5), xo + (<usize>r << 2), xx, yy, TW, OH, Rr, NR4, 1);
      }
    }
  }
  // dweight[o, r, j] += sum over xi of G[xi, j] acc[xi](r, o), for the units in [u0, u1)
  const g1 = f32x4.splat(-2.0 / 9);
  const h0 = f32x4.splat(1.0 / 90), h1 = f32x4.splat(1.0 / 45), h2 = f32x4.splat(2.0 / 45), h3 = f32x4.splat(4.0 / 45), h4 = f32x4.splat(8.0 / 45);
  const p0 = f32x4.splat(32.0 / 45), p1 = f32x4.splat(16.0 / 45), p2 = f32x4.splat(8.0 / 45), p3 = f32x4.splat(4.0 / 45), p4 = f32x4.splat(2.0 / 45);
  const accPlane = <usize>Kp << 5;
  for (let ob = ob0; ob <= ob1; ob++) {
    const ra = ob == ob0 ? r0 : 0, rb = ob == ob1 ? (ob == ob0 ? r1 : rEnd) : Kp;
    for (let r = ra; r < rb; r++) {
      for (let h = 0; h < 8; h += 4) {
        const p = acc + <usize>(ob - ob0) * accBlock + (<usize>r << 5) + (<usize>h << 2);
        const a0 = v128.load(p), a7 = v128.load(p + 7 * accPlane);
        const a1 = v128.load(p + accPlane), a2 = v128.load(p + 2 * accPlane);
        const a3 = v128.load(p + 3 * accPlane), a4 = v128.load(p + 4 * accPlane);
        const a5 = v128.load(p + 5 * accPlane), a6 = v128.load(p + 6 * accPlane);
        // G^T: column j of G dotted with the 8 points; +-pairs share sums (s) and differences (d)
        const s12 = f32x4.add(a1, a2), d12 = f32x4.sub(a1, a2), s34 = f32x4.add(a3, a4), d34 = f32x4.sub(a3, a4);
        const s56 = f32x4.add(a5, a6), d56 = f32x4.sub(a5, a6);
        const w0 = f32x4.add(f32x4.add(a0, f32x4.mul(g1, s12)), f32x4.add(f32x4.mul(h0, s34), f32x4.mul(p0, s56)));
        const w1 = f32x4.add(f32x4.mul(g1, d12), f32x4.add(f32x4.mul(h1, d34), f32x4.mul(p1, d56)));
        let w2 = f32x4.add(f32x4.mul(g1, s12), f32x4.add(f32x4.mul(h2, s34), f32x4.mul(p2, s56)));
        if (KW == 3) w2 = f32x4.add(w2, a7); // the last column of G takes infinity
        const w3 = f32x4.add(f32x4.mul(g1, d12), f32x4.add(f32x4.mul(h3, d34), f32x4.mul(p3, d56)));
        const w4 = f32x4.add(f32x4.add(f32x4.mul(g1, s12), f32x4.add(f32x4.mul(h4, s34), f32x4.mul(p4, s56))), a7);
        for (let l = 0; l < 4; l++) {
          const o = (ob << 3) + h + l;
          if (o >= OC) break;
          const dw = dweight + (<usize>(o * K + r * KW) << 2);
          const k0 = ob * K + r * KW; // unit of j = 0
          let v = lane(w0, l); if (k0 >= u0 && k0 < u1) store<f32>(dw, load<f32>(dw) + v);
          v = lane(w1, l); if (k0 + 1 >= u0 && k0 + 1 < u1) store<f32>(dw, load<f32>(dw, 4) + v, 4);
          v = lane(w2, l); if (k0 + 2 >= u0 && k0 + 2 < u1) store<f32>(dw, load<f32>(dw, 8) + v, 8);
          if (KW == 3) continue;
          v = lane(w3, l); if (k0 + 3 >= u0 && k0 + 3 < u1) store<f32>(dw, load<f32>(dw, 12) + v, 12);
          v = lane(w4, l); if (k0 + 4 >= u0 && k0 + 4 < u1) store<f32>(dw, load<f32>(dw, 16) + v, 16);
        }
      }
    }
  }
}

/** Lane l (0..3, not a constant) of v. */
// @ts-ignore: decorator
@inline function lane(v: v128, l: i32): f32 {
  return l == 0 ? f32x4.extract_lane(v, 0) : l == 1 ? f32x4.extract_lane(v, 1) : l == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}
