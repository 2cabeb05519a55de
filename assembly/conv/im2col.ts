// The im2col convolution (any stride). For each image, im2col copies a tile of up to TMAX output
// pixels into col (K,T): row k = (c,i,j) holds the input pixel under weight (c,i,j) for every
// pixel of the tile (0 in the padding). Then out(OC,P) = weight(OC,K) col(K,P) is a gemm whose B
// operand is already packed (unit stride along pixels), so a 4x8 micro-kernel (8 v128
// accumulators, weights broadcast with load32_splat, like assembly/gemm/packed.ts) runs on it
// without another copy. Backward re-does im2col, then
//   dweight(OC,K) += dout(OC,P) col(K,P)^T    (4x2 block of dot products along the pixels)
//   dcol(K,P)      = weight(OC,K)^T dout(OC,P) (4x8 micro-kernel), scattered back by col2im.

import { hsum01_23, madd, store8, storeN } from '../simd';
import { biasGrad } from './direct';

/** Output pixels per im2col tile (keeps col within L2: K*TMAX*4 bytes). */
const TMAX: i32 = 512;

// @ts-ignore: decorator
@inline function tileCols(P: i32): i32 {
  return min(TMAX, (P + 7) & ~7);
}

/** Bytes of the im2col path's scratch: a col and a dcol tile. */
export function colScratchBytes(C: i32, KH: i32, KW: i32, OH: i32, OW: i32): usize {
  return <usize>2 * <usize>(C * KH * KW) * <usize>tileCols(OH * OW) * 4;
}

/**
 * col(K,T) columns 0..tn-1 = input pixels under each weight for output pixels p0..p0+tn-1 of one
 * image img (C,H,W); with add, the reverse: img += col scattered back (col2im). Walks the tile one
 * output row segment at a time so each (k, segment) is a strided (unit stride when stride = 1) copy.
 */
// @ts-ignore: decorator
@inline function im2colTile(col: usize, T: i32, img: usize, p0: i32, tn: i32, C: i32, H: i32, W: i32,
  KH: i32, KW: i32, stride: i32, pad: i32, OW: i32, add: bool): void {
  const T4 = <usize>T << 2;
  let row = col;
  for (let c = 0; c < C; c++) {
    const plane = img + (<usize>(c * H * W) << 2);
    for (let i = 0; i < KH; i++) {
      for (let j = 0; j < KW; j++) {
        // output pixels x with 0 <= x*stride + j - pad < W
        const xlo = max(0, (pad - j + stride - 1) / stride);
        const nh = W - 1 + pad - j; // (i32 division truncates: keep the numerator >= 0)
        const xhi = nh < 0 ? 0 : min(OW, nh / stride + 1);
        let t = 0;
        let p = p0;
        while (t < tn) {
          const y = p / OW;
          const x0 = p - y * OW;
          const n = min(OW - x0, tn - t);        // this segment: pixels x0..x0+n-1 of row y
          const dst = row + (<usize>t << 2);
          const iy = y * stride + i - pad;
          if (iy < 0 || iy >= H) {
            if (!add) memory.fill(dst, 0, <usize>n << 2);
          } else {
            const a = min(max(x0, xlo), x0 + n), e = min(max(xhi, a), x0 + n); // valid x: [a, e)
            const src = plane + (<usize>(iy * W + a * stride + j - pad) << 2);
            if (!add) {
              if (a > x0) memory.fill(dst, 0, <usize>(a - x0) << 2);
              if (e < x0 + n) memory.fill(dst + (<usize>(e - x0) << 2), 0, <usize>(x0 + n - e) << 2);
            }
            const d = dst + (<usize>(a - x0) << 2);
            const m = e - a;
            if (m > 0) {
              if (stride == 1) {
                let q = 0;
                if (add) {
                  for (; q + 4 <= m; q += 4) {
                    const s = src + (<usize>q << 2);
                    v128.store(s, f32x4.add(v128.load(s), v128.load(d + (<usize>q << 2))));
                  }
                  for (; q < m; q++) {
                    const s = src + (<usize>q << 2);
                    store<f32>(s, load<f32>(s) + load<f32>(d + (<usize>q << 2)));
                  }
                } else {
                  for (; q + 4 <= m; q += 4) v128.store(d + (<usize>q << 2), v128.load(src + (<usize>q << 2)));
                  for (; q < m; q++) store<f32>(d + (<usize>q << 2), load<f32>(src + (<usize>q << 2)));
                }
              } else {
                const ss = <usize>stride << 2;
                let q = 0;
                if (stride == 2) {
                  // even lanes of 8 floats; q + 4 < m keeps the last read (2q + 7) inside [0, 2m - 1)
                  const z = f32x4.splat(0);
                  for (; q + 4 < m; q += 4) {
                    const s = src + (<usize>q << 3), dq = d + (<usize>q << 2);
                    if (add) {
                      // src[2q..2q+7] += (d0, 0, d1, 0, d2, 0, d3, 0)
                      const v = v128.load(dq);
                      v128.store(s, f32x4.add(v128.load(s), v128.shuffle<f32>(v, z, 0, 4, 1, 4)));
                      v128.store(s, f32x4.add(v128.load(s, 16), v128.shuffle<f32>(v, z, 2, 4, 3, 4)), 16);
                    } else {
                      v128.store(dq, v128.shuffle<f32>(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
                    }
                  }
                }
                for (; q < m; q++) {
                  const s = src + <usize>q * ss;
                  if (add) store<f32>(s, load<f32>(s) + load<f32>(d + (<usize>q << 2)));
                  else store<f32>(d + (<usize>q << 2), load<f32>(s));
                }
              }
            }
          }
          t += n;
          p += n;
        }
        row += T4;
      }
    }
  }
}

/** out(OC, tn) (row stride ldo bytes) = w(OC,K) col(K, tn) [+ bias]: the 4x8 micro-kernel. */
// @ts-ignore: decorator
@inline function gemmTile(out: usize, ldo: usize, w: usize, bias: usize, col: usize, T: i32,
  OC: i32, K: i32, tn: i32): void {
  const K4 = <usize>K << 2;
  const T4 = <usize>T << 2;
  let o = 0;
  for (; o + 4 <= OC; o += 4) {
    const w0 = w + <usize>o * K4;
    const b0 = bias ? load<f32>(bias + (<usize>o << 2)) : 0;
    const b1 = bias ? load<f32>(bias + (<usize>o << 2), 4) : 0;
    const b2 = bias ? load<f32>(bias + (<usize>o << 2), 8) : 0;
    const b3 = bias ? load<f32>(bias + (<usize>o << 2), 12) : 0;
    for (let t = 0; t < tn; t += 8) {
      let c00 = f32x4.splat(b0), c01 = c00, c10 = f32x4.splat(b1), c11 = c10;
      let c20 = f32x4.splat(b2), c21 = c20, c30 = f32x4.splat(b3), c31 = c30;
      let pb = col + (<usize>t << 2);
      let pa = w0;
      for (let k = 0; k < K; k++) {
        const x0 = v128.load(pb), x1 = v128.load(pb, 16);
        let a = v128.load32_splat(pa);
        c00 = madd(a, x0, c00); c01 = madd(a, x1, c01);
        a = v128.load32_splat(pa + K4);
        c10 = madd(a, x0, c10); c11 = madd(a, x1, c11);
        a = v128.load32_splat(pa + 2 * K4);
        c20 = madd(a, x0, c20); c21 = madd(a, x1, c21);
        a = v128.load32_splat(pa + 3 * K4);
        c30 = madd(a, x0, c30); c31 = madd(a, x1, c31);
        pb += T4;
        pa += 4;
      }
      const dst = out + <usize>o * ldo + (<usize>t << 2);
      const n = tn - t;
      store8(dst, c00, c01, n);
      store8(dst + ldo, c10, c11, n);
      store8(dst + 2 * ldo, c20, c21, n);
      store8(dst + 3 * ldo, c30, c31, n);
    }
  }
  for (; o < OC; o++) { // leftover rows, one at a time
    const b0 = bias ? load<f32>(bias + (<usize>o << 2)) : 0;
    for (let t = 0; t < tn; t += 8) {
      let c00 = f32x4.splat(b0), c01 = c00;
      let pb = col + (<usize>t << 2);
      let pa = w + <usize>o * K4;
      for (let k = 0; k < K; k++) {
        const a = v128.load32_splat(pa);
        c00 = madd(a, v128.load(pb), c00); c01 = madd(a, v128.load(pb, 16), c01);
        pb += T4;
        pa += 4;
      }
      store8(out + <usize>o * ldo + (<usize>t << 2), c00, c01, tn - t);
    }
  }
}

/** conv2d_forward by im2col tiles; arguments as conv2d_forward. */
export function colForward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, C: i32,
  H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, OH: i32, OW: i32,
  scratch: usize): void {
  const K = C * KH * KW, P = OH * OW, T = tileCols(P);
  const ldo = <usize>P << 2;
  for (let b = 0; b < B; b++) {
    const img = inp + (<usize>(b * C * H * W) << 2);
    const ob = out + (<usize>(b * OC) * <usize>P << 2);
    for (let p0 = 0; p0 < P; p0 += T) {
      const tn = min(T, P - p0);
      im2colTile(scratch, T, img, p0, tn, C, H, W, KH, KW, stride, pad, OW, false);
      gemmTile(ob + (<usize>p0 << 2), ldo, weight, bias, scratch, T, OC, K, tn);
    }
  }
}

/** The im2col path of conv2d_backward: dinp (0: skip), and dweight/dbias rows [o0, o1) (empty: skip). */
export function colBackward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize,
  weight: usize, B: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32,
  OH: i32, OW: i32, scratch: usize, o0: i32, o1: i32): void {
  const K = C * KH * KW, P = OH * OW, T = tileCols(P);
  const K4 = <usize>K << 2, T4 = <usize>T << 2, P4 = <usize>P << 2;
  const col = scratch, dcol = scratch + <usize>K * T4;
  for (let b = 0; b < B; b++) {
    const img = inp + (<usize>(b * C * H * W) << 2);
    const db = dout + (<usize>(b * OC) * P4);
    if (dbias) biasGrad(dbias, db, o0, o1, P);
    const dimg = dinp + (<usize>(b * C * H * W) << 2);
    if (dinp) memory.fill(dimg, 0, <usize>(C * H * W) << 2);
    for (let p0 = 0; p0 < P; p0 += T) {
      const tn = min(T, P - p0);
      const tn4 = tn & ~3;
      const dt = db + (<usize>p0 << 2);
      if (o1 > o0) im2colTile(col, T, img, p0, tn, C, H, W, KH, KW, stride, pad, OW, false);
      // dweight(OC,K) += dout(OC,tn) col(K,tn)^T: 4x2 blocks of dot products along the pixels
      let o = o0;
      for (; o + 4 <= o1; o += 4) {
        const d0 = dt + <usize>o * P4;
        let k = 0;
        for (; k + 2 <= K; k += 2) {
          const x0 = col + <usize>k * T4;
          let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00;
          let a20 = a00, a21 = a00, a30 = a00, a31 = a00;
          for (let t = 0; t < tn4; t += 4) {
            const q = <usize>t << 2;
            const u0 = v128.load(x0 + q), u1 = v128.load(x0 + T4 + q);
            let g = v128.load(d0 + q);
            a00 = madd(g, u0, a00); a01 = madd(g, u1, a01);
            g = v128.load(d0 + P4 + q);
            a10 = madd(g, u0, a10); a11 = madd(g, u1, a11);
            g = v128.load(d0 + 2 * P4 + q);
            a20 = madd(g, u0, a20); a21 = madd(g, u1, a21);
            g = v128.load(d0 + 3 * P4 + q);
            a30 = madd(g, u0, a30); a31 = madd(g, u1, a31);
          }
          const dw = dweight + <usize>o * K4 + (<usize>k << 2);
          let s00 = hsum01_23(a00), s01 = hsum01_23(a01), s10 = hsum01_23(a10), s11 = hsum01_23(a11);
          let s20 = hsum01_23(a20), s21 = hsum01_23(a21), s30 = hsum01_23(a30), s31 = hsum01_23(a31);
          for (let t = tn4; t < tn; t++) {
            const q = <usize>t << 2;
            const u0 = load<f32>(x0 + q), u1 = load<f32>(x0 + T4 + q);
            let g = load<f32>(d0 + q); s00 += g * u0; s01 += g * u1;
            g = load<f32>(d0 + P4 + q); s10 += g * u0; s11 += g * u1;
            g = load<f32>(d0 + 2 * P4 + q); s20 += g * u0; s21 += g * u1;
            g = load<f32>(d0 + 3 * P4 + q); s30 += g * u0; s31 += g * u1;
          }
          store<f32>(dw, load<f32>(dw) + s00); store<f32>(dw, load<f32>(dw, 4) + s01, 4);
          store<f32>(dw + K4, load<f32>(dw + K4) + s10); store<f32>(dw + K4, load<f32>(dw + K4, 4) + s11, 4);
          store<f32>(dw + 2 * K4, load<f32>(dw + 2 * K4) + s20); store<f32>(dw + 2 * K4, load<f32>(dw + 2 * K4, 4) + s21, 4);
          store<f32>(dw + 3 * K4, load<f32>(dw + 3 * K4) + s30); store<f32>(dw + 3 * K4, load<f32>(dw + 3 * K4, 4) + s31, 4);
        }
        for (; k < K; k++) for (let r = 0; r < 4; r++) dotInto(dweight + <usize>(o + r) * K4 + (<usize>k << 2), d0 + <usize>r * P4, col + <usize>k * T4, tn);
      }
      for (; o < o1; o++) {
        for (let k = 0; k < K; k++) dotInto(dweight + <usize>o * K4 + (<usize>k << 2), dt + <usize>o * P4, col + <usize>k * T4, tn);
      }
      if (!dinp) continue;
      // dcol(K,tn) = weight(OC,K)^T dout(OC,tn), then col2im adds it into dinp
      const tn8 = tn & ~7;
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        for (let t = 0; t < tn8; t += 8) {
          let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
          let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
          let pa = weight + (<usize>k << 2);
          let pb = dt + (<usize>t << 2);
          for (let o = 0; o < OC; o++) {
            const x0 = v128.load(pb), x1 = v128.load(pb, 16);
            let a = v128.load32_splat(pa);
            c00 = madd(a, x0, c00); c01 = madd(a, x1, c01);
            a = v128.load32_splat(pa, 4);
            c10 = madd(a, x0, c10); c11 = madd(a, x1, c11);
            a = v128.load32_splat(pa, 8);
            c20 = madd(a, x0, c20); c21 = madd(a, x1, c21);
            a = v128.load32_splat(pa, 12);
            c30 = madd(a, x0, c30); c31 = madd(a, x1, c31);
            pa += K4;
            pb += P4;
          }
          const d = dcol + <usize>k * T4 + (<usize>t << 2);
          v128.store(d, c00); v128.store(d, c01, 16);
          v128.store(d + T4, c10); v128.store(d + T4, c11, 16);
          v128.store(d + 2 * T4, c20); v128.store(d + 2 * T4, c21, 16);
          v128.store(d + 3 * T4, c30); v128.store(d + 3 * T4, c31, 16);
        }
        for (let r = 0; r < 4; r++) dcolScalar(dcol, T, weight, dt, P, K, OC, k + r, tn8, tn);
      }
      for (; k < K; k++) dcolScalar(dcol, T, weight, dt, P, K, OC, k, 0, tn);
      im2colTile(dcol, T, dimg, p0, tn, C, H, W, KH, KW, stride, pad, OW, true);
    }
  }
}

/** *dst += dot(a[0..n), b[0..n)). */
function dotInto(dst: usize, a: usize, b: usize, n: i32): void {
  let acc = f32x4.splat(0);
  let t = 0;
  for (; t + 4 <= n; t += 4) acc = madd(v128.load(a + (<usize>t << 2)), v128.load(b + (<usize>t << 2)), acc);
  let s = hsum01_23(acc);
  for (; t < n; t++) s += load<f32>(a + (<usize>t << 2)) * load<f32>(b + (<usize>t << 2));
  store<f32>(dst, load<f32>(dst) + s);
}

/** dcol[k, t0..t1) = sum over o of weight[o,k] dout[o, t] (edges the micro-kernel leaves). */
function dcolScalar(dcol: usize, T: i32, weight: usize, dt: usize, P: i32, K: i32, OC: i32, k: i32,
  t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    let s: f32 = 0;
    for (let o = 0; o < OC; o++) {
      s += load<f32>(weight + (<usize>(o * K + k) << 2)) * load<f32>(dt + (<usize>(o * P + t) << 2));
    }
    store<f32>(dcol + (<usize>(k * T + t) << 2), s);
  }
}

