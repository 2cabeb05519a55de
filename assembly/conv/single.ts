// The single-channel convolution (C = 1: a network's first layer on grey images), stride 1, 5x5
// kernels: the forward pass and the weight and bias gradients, by Winograd F(4,5) along the rows
// (winograd.ts's derivation, transforms and notation). Called from assembly/conv/conv2d.ts, which
// decides when (single_*_fits); reference: src/engine/ref/conv2d.ts.
//   inp (B,1,H,W), weight (OC,1,5,5), bias (OC) -> out (B,OC,OH,OW), OH = H + 2 pad - 4
//
// Why a path of its own. With one input channel the reduction of the direct path (direct.ts) is
// only 25 long, and it runs at the speed of its multiply-adds: 25 per output. winograd.ts's
// F(4,5) needs 10 (8 per 4 outputs per kernel row), but its general gemm has a reduction of
// C*KH = 5 here, so every 40 multiply-adds of a block pay 8 zeroed accumulators, 8 stores and
// an offset table: no faster than direct for C = 1. Here the reduction is unrolled instead:
//
// Forward, per image and block of 4 output rows y0..y0+3:
//   x[xi](t, row)      = B^T img[row, 4t..4t+7]          (winograd.ts's forwardTransform)
//   m[xi](o, t; 4 rows) = sum over i < 5 of u[xi](i, o) x[xi](t, y0+i .. y0+i+3)
//   out[o, y0.., 4t..4t+3] = A^T m[.](o, t) + bias[o]   (vectors over the 4 rows, transposed out)
// The gemm keeps the 10 weights u[xi](i, o), u[xi](i, o+1) of two channels splatted in registers
// and streams the tiles: 5 row loads feed 10 multiply-adds, 2 stores, nothing else; m of one
// row block (8 x OC x TW vectors) stays in L1 for the output transform.
//
// Weight gradient, as winograd_weight derives it: dweight[o,0,i,j] = sum over xi of G[xi,j] times
// the sum over images, tiles t and rows y of x[xi](t, y+i) y[xi](o, t, y), with y = A of dout's
// 4-wide tiles (winograd.ts's inputTransform, vectors over 4 rows). For two channels the 10 lane
// sums acc[xi](o, i) stay in registers while the tiles stream: 5 row loads and 2 dout loads feed
// 10 multiply-adds. Each lane sum runs over (image, tile, row block) in order; at the end
// a[xi] = (l0 + l1) + (l2 + l3) and dweight += G^T a. That order differs from direct.ts's (one
// sequential sum per weight), so the last bits differ from it; it does not depend on the split.
// Units are conv2d_backward_weight's (8-channel block, weight) pairs: in each block it touches, a
// chunk computes the whole kernel rows under its units, each lane sum the same way whatever the
// chunk, and adds only its own units into dweight, so any thread split gives the same bits. dbias is biasGrad per image, as
// the other stride-1 paths do it. The forward splits by images, each computed the same way.
// Rounding: the transforms scale values by up to ~10, so errors are a few times direct's (see
// winograd.ts), well inside the tests' tolerance.
// Scratch: single_scratch_bytes (through conv2d_scratch_bytes); kernels allocate nothing.

import { hsum01_23, madd } from '../simd';
import { biasGrad } from './direct';
import { copyPadded } from './pad';
import { forwardTransform, inputTransform, storeTransposed, transformWeights } from './winograd';

// @ts-ignore: decorator
@inline function up4(n: i32): i32 {
  return (n + 3) & ~3;
}

// @ts-ignore: decorator
@inline function up8(n: i32): i32 {
  return (n + 7) & ~7;
}

// Geometry shared by both passes (as winograd.ts's): TW tiles of 4 output columns read 8-column
// windows of an image padded to Wt = 4 TW + 4 columns and Rr rows (whole 4-row blocks plus the
// kernel's 4 more rows). Scratch, in floats: u(8, 5, up8(OC)) transformed weights or
// acc(8, up8(OC), 5, 4) lane sums; x(8, TW, Rr); m(8, OC, TW, 4); the padded image (Rr, Wt);
// y(8, 8, TW, up4(OH)) of one 8-channel block.

// @ts-ignore: decorator
@inline function tiles(OW: i32): i32 {
  return (OW + 3) >> 2;
}

// @ts-ignore: decorator
@inline function rows(OH: i32): i32 {
  return up4(OH) + 4;
}

/** Bytes from scratch to region `part`: 1 x, 2 m, 3 the padded image, 4 y, 5 the end. */
function regionAt(part: i32, OH: i32, OW: i32, OC: i32): usize {
  const TW = tiles(OW), Rr = rows(OH);
  let e = <usize>(160 * up8(OC));
  if (part > 1) e += <usize>(8 * TW * Rr);
  if (part > 2) e += <usize>(32 * OC * TW);
  if (part > 3) e += <usize>(Rr * (4 * TW + 4));
  if (part > 4) e += <usize>(64 * TW * up4(OH));
  return e << 2;
}

/** Bytes of scratch the single-channel paths need for this geometry (any pad). */
export function single_scratch_bytes(C: i32, KH: i32, KW: i32, OH: i32, OW: i32, OC: i32): usize {
  return C == 1 && KH == 5 && KW == 5 ? regionAt(5, OH, OW, OC) : 0;
}

// ---- forward ----

/**
 * Whether conv2d_forward takes this path (stride 1 is the caller's). Not in the relaxed build:
 * with fused multiply-adds direct.ts does its 25 per output as fast as the transforms cost here.
 */
export function single_forward_fits(C: i32, KH: i32, KW: i32): bool {
  return !ASC_FEATURE_RELAXED_SIMD && C == 1 && KH == 5 && KW == 5;
}

/**
 * m[xi](o..o+no-1, t, 4 rows) = sum over i of u[xi](i, o) x[xi](t, y0 + i .. y0 + i + 3), no = 1
 * or 2 channels: their 5 (or 10) weights splatted in registers, the 5 rows of each tile loaded.
 */
// @ts-ignore: decorator
@inline function rowGemm(m: usize, mo: usize, u: usize, NR4: usize, x: usize, TW: i32, Rr4: usize, no: i32): void {
  const p0 = v128.load32_splat(u), p1 = v128.load32_splat(u + NR4), p2 = v128.load32_splat(u + 2 * NR4);
  const p3 = v128.load32_splat(u + 3 * NR4), p4 = v128.load32_splat(u + 4 * NR4);
  const q0 = no > 1 ? v128.load32_splat(u, 4) : p0, q1 = no > 1 ? v128.load32_splat(u + NR4, 4) : p0;
  const q2 = no > 1 ? v128.load32_splat(u + 2 * NR4, 4) : p0, q3 = no > 1 ? v128.load32_splat(u + 3 * NR4, 4) : p0;
  const q4 = no > 1 ? v128.load32_splat(u + 4 * NR4, 4) : p0;
  let px = x, pm = m;
  for (let t = 0; t < TW; t++) {
    let r = v128.load(px);
    let a = f32x4.mul(p0, r), c = f32x4.mul(q0, r);
    r = v128.load(px, 4);
    a = madd(p1, r, a); if (no > 1) c = madd(q1, r, c);
    r = v128.load(px, 8);
    a = madd(p2, r, a); if (no > 1) c = madd(q2, r, c);
    r = v128.load(px, 12);
    a = madd(p3, r, a); if (no > 1) c = madd(q3, r, c);
    r = v128.load(px, 16);
    a = madd(p4, r, a); if (no > 1) c = madd(q4, r, c);
    v128.store(pm, a);
    if (no > 1) v128.store(pm + mo, c);
    px += Rr4;
    pm += 16;
  }
}

/**
 * Forward, C = 1, stride 1, 5x5 kernels: out(B,OC,OH,OW) = conv(inp, weight) [+ bias]; scratch:
 * single_scratch_bytes.
 */
export function single_forward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, H: i32, W: i32,
  OC: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  const TW = tiles(OW), Wt = 4 * TW + 4, Rr = rows(OH), NR = up8(OC);
  const NR4 = <usize>NR << 2, Rr4 = <usize>Rr << 2, P4 = <usize>(OH * OW) << 2, OW4 = <usize>OW << 2;
  const u = scratch, x = scratch + regionAt(1, OH, OW, OC), m = scratch + regionAt(2, OH, OW, OC);
  const buf = scratch + regionAt(3, OH, OW, OC);
  const xPlane = <usize>(TW * Rr) << 2, uPlane = NR4 * 5, mPlane = <usize>(OC * TW) << 4, mo = <usize>TW << 4;
  transformWeights(u, weight, 1, OC, 5, 5, false);
  // without padding, with whole tiles and X's rows = the image's, the image is read in place
  const inPlace = pad == 0 && W == Wt && H == Rr;
  if (!inPlace) memory.fill(buf, 0, <usize>(Rr * Wt) << 2); // the padding stays 0 for every image
  const c2 = f32x4.splat(2), c4 = f32x4.splat(4), c8 = f32x4.splat(8);
  const c1_2 = f32x4.splat(0.5), c1_4 = f32x4.splat(0.25), c1_8 = f32x4.splat(0.125);
  for (let b = 0; b < B; b++) {
    const src = inp + (<usize>(b * H * W) << 2);
    if (!inPlace) copyPadded(buf, src, 1, H, W, pad, Rr, Wt);
    forwardTransform(x, inPlace ? src : buf, 1, TW, Rr, Wt, 4);
    const ob = out + <usize>(b * OC) * P4;
    for (let y0 = 0; y0 < OH; y0 += 4) {
      // the 8 gemms of output rows y0..y0+3: m[xi](o, t, 4 rows)
      for (let xi = 0; xi < 8; xi++) {
        const ux = u + <usize>xi * uPlane, xx = x + <usize>xi * xPlane + (<usize>y0 << 2), mx = m + <usize>xi * mPlane;
        let o = 0;
        for (; o + 2 <= OC; o += 2) rowGemm(mx + <usize>o * mo, mo, ux + (<usize>o << 2), NR4, xx, TW, Rr4, 2);
        if (o < OC) rowGemm(mx + <usize>o * mo, mo, ux + (<usize>o << 2), NR4, xx, TW, Rr4, 1);
      }
      // out[o, y0..y0+3, 4t..4t+3] = A^T m[.](o, t) + bias[o]: vectors over the 4 rows, one per column
      const nl = OH - y0;
      for (let o = 0; o < OC; o++) {
        const bo = f32x4.splat(bias ? load<f32>(bias + (<usize>o << 2)) : 0);
        let pm = m + <usize>o * mo;
        const dst = ob + <usize>o * P4 + <usize>y0 * OW4;
        for (let t = 0; t < TW; t++) {
          const m0 = v128.load(pm), m7 = v128.load(pm + 7 * mPlane);
          const m1 = v128.load(pm + mPlane), m2 = v128.load(pm + 2 * mPlane);
          const m3 = v128.load(pm + 3 * mPlane), m4 = v128.load(pm + 4 * mPlane);
          const m5 = v128.load(pm + 5 * mPlane), m6 = v128.load(pm + 6 * mPlane);
          const s12 = f32x4.add(m1, m2), d12 = f32x4.sub(m1, m2), s34 = f32x4.add(m3, m4), d34 = f32x4.sub(m3, m4);
          const s56 = f32x4.add(m5, m6), d56 = f32x4.sub(m5, m6);
          const v0 = f32x4.add(f32x4.add(f32x4.add(m0, s12), f32x4.add(s34, s56)), bo);
          const v1 = f32x4.add(f32x4.add(d12, f32x4.mul(c2, d34)), f32x4.add(f32x4.mul(c1_2, d56), bo));
          const v2 = f32x4.add(f32x4.add(s12, f32x4.mul(c4, s34)), f32x4.add(f32x4.mul(c1_4, s56), bo));
          const v3 = f32x4.add(f32x4.add(f32x4.add(d12, f32x4.mul(c8, d34)), f32x4.add(f32x4.mul(c1_8, d56), m7)), bo);
          storeTransposed(dst + (<usize>t << 4), OW4, v0, v1, v2, v3, nl, OW - 4 * t);
          pm += 16;
        }
      }
    }
  }
}

// ---- weight and bias gradients ----

/** Whether conv2d_backward's dweight/dbias take this path (stride 1 is the caller's). */
export function single_weight_fits(C: i32, KH: i32, KW: i32): bool {
  return C == 1 && KH == 5 && KW == 5;
}

/**
 * acc[xi](o..o+no-1, i, 4 lanes) += sum over tiles t and 4-row blocks y0 of
 * x[xi](t, y0+i .. y0+i+3) * y[xi](o, t, y0..y0+3) for the kernel rows i in [r, r+nr): no = 1 or
 * 2 channels (the second's y and acc yo and ao bytes on), nr = 1, 2, 3 or 5; the lane sums in
 * registers. (Row subsets only change which sums run side by side, never a sum's own order.)
 */
// @ts-ignore: decorator
@inline function rowWeight(acc: usize, ao: usize, x: usize, y: usize, yo: usize, TW: i32, Rr4: usize, NY4: i32,
  r: i32, no: i32, nr: i32): void {
  const pa = acc + (<usize>r << 4), pb = pa + ao;
  const z = f32x4.splat(0);
  let a0 = v128.load(pa), a1 = nr > 1 ? v128.load(pa, 16) : z, a2 = nr > 2 ? v128.load(pa, 32) : z;
  let a3 = nr > 3 ? v128.load(pa, 48) : z, a4 = nr > 3 ? v128.load(pa, 64) : z;
  let b0 = z, b1 = z, b2 = z, b3 = z, b4 = z;
  if (no > 1) {
    b0 = v128.load(pb); if (nr > 1) b1 = v128.load(pb, 16); if (nr > 2) b2 = v128.load(pb, 32);
    if (nr > 3) { b3 = v128.load(pb, 48); b4 = v128.load(pb, 64); }
  }
  let py = y;
  for (let t = 0; t < TW; t++) {
    const px = x + <usize>t * Rr4 + (<usize>r << 2);
    for (let y0 = 0; y0 < NY4; y0 += 4) {
      const q = px + (<usize>y0 << 2);
      const g = v128.load(py), h = no > 1 ? v128.load(py + yo) : g;
      let v = v128.load(q);
      a0 = madd(g, v, a0); if (no > 1) b0 = madd(h, v, b0);
      if (nr > 1) {
        v = v128.load(q, 4);
        a1 = madd(g, v, a1); if (no > 1) b1 = madd(h, v, b1);
      }
      if (nr > 2) {
        v = v128.load(q, 8);
        a2 = madd(g, v, a2); if (no > 1) b2 = madd(h, v, b2);
      }
      if (nr > 3) {
        v = v128.load(q, 12);
        a3 = madd(g, v, a3); if (no > 1) b3 = madd(h, v, b3);
        v = v128.load(q, 16);
        a4 = madd(g, v, a4); if (no > 1) b4 = madd(h, v, b4);
      }
      py += 16;
    }
  }
  v128.store(pa, a0); if (nr > 1) v128.store(pa, a1, 16); if (nr > 2) v128.store(pa, a2, 32);
  if (nr > 3) { v128.store(pa, a3, 48); v128.store(pa, a4, 64); }
  if (no > 1) {
    v128.store(pb, b0); if (nr > 1) v128.store(pb, b1, 16); if (nr > 2) v128.store(pb, b2, 32);
    if (nr > 3) { v128.store(pb, b3, 48); v128.store(pb, b4, 64); }
  }
}

/** rowWeight for rows [r0, r1) in runs of 5, 3, 2 or 1 (the whole kernel in one run). */
function rowsWeight(acc: usize, x: usize, y: usize, yo: usize, TW: i32, Rr4: usize, NY4: i32, r0: i32, r1: i32, no: i32): void {
  let r = r0;
  while (r < r1) {
    const n = r1 - r;
    if (n == 5) {
      if (no > 1) rowWeight(acc, 80, x, y, yo, TW, Rr4, NY4, r, 2, 5); else rowWeight(acc, 80, x, y, yo, TW, Rr4, NY4, r, 1, 5);
      r += 5;
    } else if (n >= 3) {
      if (no > 1) rowWeight(acc, 80, x, y, yo, TW, Rr4, NY4, r, 2, 3); else rowWeight(acc, 80, x, y, yo, TW, Rr4, NY4, r, 1, 3);
      r += 3;
    } else if (n == 2) {
      if (no > 1) rowWeight(acc, 80, x, y, yo, TW, Rr4, NY4, r, 2, 2); else rowWeight(acc, 80, x, y, yo, TW, Rr4, NY4, r, 1, 2);
      r += 2;
    } else {
      if (no > 1) rowWeight(acc, 80, x, y, yo, TW, Rr4, NY4, r, 2, 1); else rowWeight(acc, 80, x, y, yo, TW, Rr4, NY4, r, 1, 1);
      r += 1;
    }
  }
}

/**
 * Weight and bias gradients, C = 1, stride 1, 5x5 kernels: dweight(OC,1,5,5) += and dbias(OC) +=
 * (0: skip) for units [u0, u1) (see above); scratch: single_scratch_bytes.
 */
export function single_weight(dweight: usize, dbias: usize, dout: usize, inp: usize, B: i32, H: i32, W: i32,
  OC: i32, pad: i32, OH: i32, OW: i32, scratch: usize, u0: i32, u1: i32): void {
  if (u1 <= u0) return;
  const TW = tiles(OW), Wt = 4 * TW + 4, Rr = rows(OH), NY4 = up4(OH), P = OH * OW, P4 = <usize>P << 2;
  const ob0 = u0 / 25, ob1 = (u1 - 1) / 25;              // 8-channel blocks touched
  const c0 = ob0 << 3, c1 = min(OC, (ob1 + 1) << 3), NO = c1 - c0;
  // acc[xi](o - c0, i, 4 lanes); x[xi](t, row) as the forward's; y[xi](o - c0, t, row) of dout
  const acc = scratch, x = scratch + regionAt(1, OH, OW, OC);
  const buf = scratch + regionAt(3, OH, OW, OC), y = scratch + regionAt(4, OH, OW, OC);
  const Rr4 = <usize>Rr << 2, xPlane = <usize>(TW * Rr) << 2, accPlane = <usize>NO * 80;
  const yo = <usize>(TW * NY4) << 2;
  memory.fill(acc, 0, accPlane << 3);
  const inPlace = pad == 0 && W == Wt && H == Rr;
  if (!inPlace) memory.fill(buf, 0, <usize>(Rr * Wt) << 2);
  for (let b = 0; b < B; b++) {
    const src = inp + (<usize>(b * H * W) << 2), db = dout + <usize>(b * OC) * P4;
    if (!inPlace) copyPadded(buf, src, 1, H, W, pad, Rr, Wt);
    forwardTransform(x, inPlace ? src : buf, 1, TW, Rr, Wt, 4);
    for (let ob = ob0; ob <= ob1; ob++) {
      const o0 = ob << 3, o1 = min(OC, o0 + 8), yPlane = <usize>(o1 - o0) * yo;
      if (dbias && ob * 25 >= u0) biasGrad(dbias, db, o0, o1, P); // with the block's unit k = 0
      // y of the block's channels (one block at a time: it stays in L1), then its kernel rows
      // [r0, r1) under the units in [u0, u1)
      inputTransform(y, db + <usize>o0 * P4, o1 - o0, OH, OW, TW, NY4, 4);
      const r0 = max(u0 - ob * 25, 0) / 5, r1 = (min(u1 - ob * 25, 25) + 4) / 5;
      for (let xi = 0; xi < 8; xi++) {
        const ax = acc + <usize>xi * accPlane + <usize>(o0 - c0) * 80, xx = x + <usize>xi * xPlane, yx = y + <usize>xi * yPlane;
        let o = 0;
        for (; o + 2 <= o1 - o0; o += 2) rowsWeight(ax + <usize>o * 80, xx, yx + <usize>o * yo, yo, TW, Rr4, NY4, r0, r1, 2);
        if (o < o1 - o0) rowsWeight(ax + <usize>o * 80, xx, yx + <usize>o * yo, yo, TW, Rr4, NY4, r0, r1, 1);
      }
    }
  }
  // dweight[o, i, j] += sum over xi of G[xi, j] a[xi], a[xi] = (l0 + l1) + (l2 + l3) of acc[xi](o, i)
  const g1: f32 = -2.0 / 9;
  const h0: f32 = 1.0 / 90, h1: f32 = 1.0 / 45, h2: f32 = 2.0 / 45, h3: f32 = 4.0 / 45, h4: f32 = 8.0 / 45;
  const p0: f32 = 32.0 / 45, p1: f32 = 16.0 / 45, p2: f32 = 8.0 / 45, p3: f32 = 4.0 / 45, p4: f32 = 2.0 / 45;
  for (let n = u0; n < u1; n += 5 - (n - (n / 5) * 5)) { // one kernel row (c, i) per step
    const ob = n / 25, i = (n - ob * 25) / 5, j0 = n - ob * 25 - i * 5, j1 = min(5, u1 - (n - j0));
    for (let o = ob << 3; o < min(OC, (ob + 1) << 3); o++) {
      const pa = acc + <usize>(o - c0) * 80 + (<usize>i << 4);
      const a0 = hsum01_23(v128.load(pa)), a1 = hsum01_23(v128.load(pa + accPlane));
      const a2 = hsum01_23(v128.load(pa + 2 * accPlane)), a3 = hsum01_23(v128.load(pa + 3 * accPlane));
      const a4 = hsum01_23(v128.load(pa + 4 * accPlane)), a5 = hsum01_23(v128.load(pa + 5 * accPlane));
      const a6 = hsum01_23(v128.load(pa + 6 * accPlane)), a7 = hsum01_23(v128.load(pa + 7 * accPlane));
      // G^T: +-pairs of points share sums (s) and differences (d), as in winograd_weight
      const s12 = a1 + a2, d12 = a1 - a2, s34 = a3 + a4, d34 = a3 - a4, s56 = a5 + a6, d56 = a5 - a6;
      const dw = dweight + (<usize>(o * 25 + i * 5) << 2);
      for (let j = j0; j < j1; j++) {
        const v: f32 = j == 0 ? (a0 + g1 * s12) + (h0 * s34 + p0 * s56)
          : j == 1 ? g1 * d12 + (h1 * d34 + p1 * d56)
          : j == 2 ? g1 * s12 + (h2 * s34 + p2 * s56)
          : j == 3 ? g1 * d12 + (h3 * d34 + p3 * d56)
          : (g1 * s12 + (h4 * s34 + p4 * s56)) + a7;
        store<f32>(dw + (<usize>j << 2), load<f32>(dw + (<usize>j << 2)) + v);
      }
    }
  }
}
