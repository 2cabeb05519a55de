// 2-D convolution over channels-first images, forward and backward: im2col tiles feeding a
// register-blocked SIMD micro-kernel, with naive direct scalar twins.
//   inp (B,C,H,W), weight (OC,C,KH,KW), bias (OC) -> out (B,OC,OH,OW)
//   OH = (H + 2 pad - KH) / stride + 1; K = C*KH*KW (reduction length); P = OH*OW (pixels/image).
// Reference: src/engine/ref/conv2d.ts.
//
// Method. For each image, im2col copies a tile of up to TMAX output pixels into col (K,T): row k =
// (c,i,j) holds the input pixel under weight (c,i,j) for every pixel of the tile (0 in the padding).
// Then out(OC,P) = weight(OC,K) col(K,P) is a gemm whose B operand is already packed (unit stride
// along pixels), so a 4x8 micro-kernel (8 v128 accumulators, weights broadcast with load32_splat,
// like assembly/gemm/packed.ts) runs on it without another copy. Backward re-does im2col, then
//   dweight(OC,K) += dout(OC,P) col(K,P)^T    (4x2 block of dot products along the pixels)
//   dcol(K,P)      = weight(OC,K)^T dout(OC,P) (4x8 micro-kernel), scattered back by col2im.
// Stride 1 (the usual case) skips im2col: see "stride 1: implicit im2col" below; its dweight runs
// vectors over output channels and its dinp a scatter in (c, j, i) weight order (see there).
// Measured, W3 net (batch 64, one thread, Node 20, 2-core EPYC (Zen 4), wasm-simd, min of 200+
// calls). 47 GFLOP/s is this core's peak for separate mul and add (2 + 2 per cycle, 128-bit):
//                         im2col tiles + micro-kernel    implicit im2col (stride-1 path)
//   conv 1->8 5x5 fwd       0.71 ms (im2col alone 0.38)    0.33 ms  (45 GFLOP/s)
//   conv 8->16 5x5 fwd      1.37 ms (im2col alone 0.81)    0.54 ms  (48 GFLOP/s)
//   conv 1->8 5x5 dW                                       0.35 ms  (42; was 0.50 with a 4x2
//                                                                    block of hsummed dot products)
//   conv 8->16 5x5 dW                                      0.57 ms  (46; was 1.46)
//   conv 8->16 5x5 dinp                                    0.54 ms  (48; was 0.85)
//   conv 8->16 5x5 bwd      2.72 ms                        1.2 ms   (dW + dinp + dbias; was 2.43)
// im2col alone costs more than the whole implicit forward, so im2col + any gemm (the generic
// packed gemm would also re-pack col) cannot win here: stride 1 runs direct, other strides im2col.
// At peak, only fewer multiplies help: stride-1 5-wide kernels with OW >= 8, OC >= 8 and C >= 4
// (C >= 8 for dinp) take Winograd F(4,5) along the rows (assembly/winograd.ts), 8 multiplies per
// 4 outputs instead of 20, for the forward pass and both gradients. Old and new kernels A/B in
// one process (median of 300 calls, same card, a quiet spell):
//                         implicit im2col    Winograd F(4,5)
//   conv 8->16 5x5 fwd      0.55 ms            0.27 ms  (2.1x; 97 GFLOP/s of direct-equivalent work)
//   conv 8->16 5x5 dinp     0.58 ms            0.32 ms  (1.8x)
//   conv 8->16 5x5 dW       0.59 ms            0.33 ms  (1.8x)
//   conv 8->16 5x5 bwd      1.20 ms            0.70 ms  (in the W3 step)
//   W3 step, one thread     2.73 ms            1.95 ms  (medians, alternating blocks of 10 steps)
// With C = 1 (conv 1->8 5x5, 28x28) Winograd measured 0-5% faster (forward and dW: 5 kernel rows
// per point are too little work per transform), within the noise of the W3 step: it stays direct.
// Scratch: col and dcol tiles or the padded copies, conv2d_scratch_bytes(); the host allocates it, kernels allocate nothing.

import { hsum01_23, madd, storeN } from './simd';
import { copyPadded } from './pad';
import { winograd_forward, winograd_forward_fits, winograd_input, winograd_input_fits, winograd_scratch_bytes,
  winograd_weight, winograd_weight_fits } from './winograd';

/** Output pixels per im2col tile (keeps col within L2: K*TMAX*4 bytes). */
const TMAX: i32 = 512;

// @ts-ignore: decorator
@inline function tileCols(P: i32): i32 {
  return min(TMAX, (P + 7) & ~7);
}

/** Floats of one padded image copy of the stride-1 path, with slack for 8-wide reads past the end. */
// @ts-ignore: decorator
@inline function paddedFloats(C: i32, KH: i32, KW: i32, OH: i32, OW: i32): usize {
  return <usize>C * <usize>(OH + KH - 1) * <usize>(OW + KW - 1) + 16;
}

/**
 * Bytes of scratch conv2d_forward/conv2d_backward need for this geometry: the larger of the
 * im2col path (col + dcol tiles) and the stride-1 path (offset table, padded image and gradient,
 * transposed dout and dweight accumulators of up to OC channels rounded up to 8).
 */
export function conv2d_scratch_bytes(C: i32, KH: i32, KW: i32, OH: i32, OW: i32, OC: i32): usize {
  const K = <usize>(C * KH * KW);
  const cols: usize = <usize>2 * K * <usize>tileCols(OH * OW) * 4;
  const ocr = <usize>((OC + 7) & ~7);
  const direct = ((K * 4 + 63) & ~63) + 2 * paddedFloats(C, KH, KW, OH, OW) * 4 + (<usize>(OH * ((OW + 7) & ~7)) + K) * ocr * 4;
  return max<usize>(max<usize>(cols, direct), winograd_scratch_bytes(C, KH, KW, OH, OW, OC));
}

/** Stores the first n (1..8) of the 8 values in v0,v1 at p. */
// @ts-ignore: decorator
@inline function store8(p: usize, v0: v128, v1: v128, n: i32): void {
  if (n >= 8) { v128.store(p, v0); v128.store(p, v1, 16); }
  else if (n >= 4) { v128.store(p, v0); storeN(p + 16, v1, n - 4); }
  else storeN(p, v0, n);
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

/** out(B,OC,OH,OW) = conv(inp(B,C,H,W), weight(OC,C,KH,KW)) [+ bias(OC)]; scratch: conv2d_scratch_bytes. */
export function conv2d_forward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, C: i32,
  H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, OH: i32, OW: i32,
  scratch: usize): void {
  if (stride == 1 && winograd_forward_fits(C, KW, OC, OW)) {
    winograd_forward(out, inp, weight, bias, B, C, H, W, OC, KH, pad, OH, OW, scratch);
    return;
  }
  if (stride == 1) {
    directForward(out, inp, weight, bias, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch);
    return;
  }
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

/**
 * Gradients of conv2d_forward for dout(B,OC,OH,OW): dinp(B,C,H,W) = (overwritten; 0: skip),
 * dweight(OC,C,KH,KW) +=, dbias(OC) += (0: skip). scratch: conv2d_scratch_bytes.
 */
export function conv2d_backward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize,
  weight: usize, B: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32,
  OH: i32, OW: i32, scratch: usize): void {
  if (stride == 1) {
    strideOneWeight(dweight, dbias, dout, inp, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch, 0, weightUnits(OC, C * KH * KW, 1));
    if (dinp) strideOneInput(dinp, dout, weight, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch);
  } else colBackward(dinp, dweight, dbias, dout, inp, weight, B, C, H, W, OC, KH, KW, stride, pad, OH, OW, scratch, 0, OC);
}

// Split parts of conv2d_backward, for threads (src/engine/threads/backend.ts). Each computes its
// elements with the same code and operation order as conv2d_backward, so any split of the images
// (input part) or of the weight units (weight part: (8-channel block, weight) pairs with stride 1,
// output channels in multiples of 4 otherwise, where the 4-row blocks start at u0 as they start
// at 0) gives the same bits.

/**
 * The stride-1 dweight/dbias of units [u0, u1): Winograd where it measures faster (dbias then per
 * image here, in the same order as directWeight), else directWeight.
 */
function strideOneWeight(dweight: usize, dbias: usize, dout: usize, inp: usize, B: i32, C: i32, H: i32,
  W: i32, OC: i32, KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize, u0: i32, u1: i32): void {
  if (!winograd_weight_fits(C, KW, OC, OW)) {
    directWeight(dweight, dbias, dout, inp, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch, u0, u1);
    return;
  }
  const K = C * KH * KW, P = OH * OW;
  if (dbias) {
    for (let b = 0; b < B; b++) {
      const db = dout + (<usize>(b * OC * P) << 2);
      for (let ob = 0; ob << 3 < OC; ob++) if (ob * K >= u0 && ob * K < u1) biasGrad(dbias, db, ob << 3, min(OC, (ob + 1) << 3), P);
    }
  }
  winograd_weight(dweight, dout, inp, B, C, H, W, OC, KH, pad, OH, OW, scratch, u0, u1);
}

/** The stride-1 input gradient: Winograd where it measures faster, else the direct scatter. */
function strideOneInput(dinp: usize, dout: usize, weight: usize, B: i32, C: i32, H: i32, W: i32, OC: i32,
  KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  if (winograd_input_fits(C, KW, OC, OW)) winograd_input(dinp, dout, weight, B, C, H, W, OC, KH, pad, OH, OW, scratch);
  else directInput(dinp, dout, weight, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch);
}

/** conv2d_backward's dinp(B,C,H,W) alone (overwritten): images are independent, so chunks of the batch. */
export function conv2d_backward_input(dinp: usize, dout: usize, weight: usize, B: i32, C: i32, H: i32,
  W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  if (stride == 1) strideOneInput(dinp, dout, weight, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch);
  else colBackward(dinp, 0, 0, dout, 0, weight, B, C, H, W, OC, KH, KW, stride, pad, OH, OW, scratch, 0, 0);
}

/**
 * conv2d_backward's dweight += and dbias += (0: skip) alone, for weight units [u0, u0+un) summed
 * over the whole batch in image order. Units: with stride 1 the ceil(OC/8)*K (8-channel block,
 * weight k) pairs, block-major (dbias of a block goes with its k = 0); otherwise the OC output
 * channels, u0 a multiple of 4. (No OH, OW: a split call has at most 16 arguments; they follow
 * from the rest.)
 */
export function conv2d_backward_weight(dweight: usize, dbias: usize, dout: usize, inp: usize, B: i32, C: i32,
  H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, scratch: usize, u0: i32, un: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  if (stride == 1) strideOneWeight(dweight, dbias, dout, inp, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch, u0, u0 + un);
  else colBackward(0, dweight, dbias, dout, inp, 0, B, C, H, W, OC, KH, KW, stride, pad, OH, OW, scratch, u0, u0 + un);
}

/** Weight units of conv2d_backward_weight for this geometry (what threads split). */
export function conv2d_weight_units(C: i32, KH: i32, KW: i32, OC: i32, stride: i32): i32 {
  return weightUnits(OC, C * KH * KW, stride);
}

/** The im2col path of conv2d_backward: dinp (0: skip), and dweight/dbias rows [o0, o1) (empty: skip). */
function colBackward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize,
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

/** dbias[o0..o1) += sum over the P pixels of each row of dout(OC,P) (one image). */
function biasGrad(dbias: usize, db: usize, o0: i32, o1: i32, P: i32): void {
  const P4 = <usize>P << 2;
  for (let o = o0; o < o1; o++) {
    const r = db + <usize>o * P4;
    let acc = f32x4.splat(0);
    let t = 0;
    for (; t + 4 <= P; t += 4) acc = f32x4.add(acc, v128.load(r + (<usize>t << 2)));
    let s = hsum01_23(acc);
    for (; t < P; t++) s += load<f32>(r + (<usize>t << 2));
    store<f32>(dbias + (<usize>o << 2), load<f32>(dbias + (<usize>o << 2)) + s);
  }
}

// ---- stride 1: implicit im2col ----
// With stride 1, the 8 im2col values of weight k=(c,i,j) for output pixels (y, x..x+7) are 8
// consecutive floats of the zero-padded image: img[c, y+i, x+j ..]. So the micro-kernel reads them
// in place through a table offs[k] = byte offset of (c,i,j), and nothing is copied per k: only the
// image is copied once into a padded buffer (C*Hp*Wp floats instead of K*P), or not at all without
// padding when no lane can read past a row. The input gradient is accumulated the same way into a
// padded buffer, then cropped. Lanes past the row end read (and in backward add zeros to)
// neighbouring padded pixels; they are never stored to out.

/** dst(C,Hp,Wp) = src(C,H,W) with `pad` zeros around, plus zeroed slack. */
function padImage(dst: usize, src: usize, C: i32, H: i32, W: i32, pad: i32, Hp: i32, Wp: i32, total: usize): void {
  memory.fill(dst, 0, total << 2);
  copyPadded(dst, src, C, H, W, pad, Hp, Wp);
}

/** offs(K) i32 = byte offset of weight (c,i,j)'s pixel from the window's top-left in the padded image. */
function fillOffsets(offs: usize, C: i32, KH: i32, KW: i32, Hp: i32, Wp: i32): void {
  let k: usize = 0;
  for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
    store<i32>(offs + (k++ << 2), ((c * Hp + i) * Wp + j) << 2);
  }
}

function directForward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, C: i32, H: i32,
  W: i32, OC: i32, KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  const K = C * KH * KW, P = OH * OW, Hp = OH + KH - 1, Wp = OW + KW - 1;
  const K4 = <usize>K << 2, P4 = <usize>P << 2, Wp4 = <usize>Wp << 2;
  const offs = scratch, img = scratch + ((K4 + 63) & ~63);
  const total = paddedFloats(C, KH, KW, OH, OW);
  fillOffsets(offs, C, KH, KW, Hp, Wp);
  // no padding and whole 8-pixel row blocks: the image is its own padded copy (no lane reads past a row)
  const inPlace = pad == 0 && (OW & 7) == 0;
  for (let b = 0; b < B; b++) {
    const src = inp + (<usize>(b * C * H * W) << 2);
    if (!inPlace) padImage(img, src, C, H, W, pad, Hp, Wp, total);
    const im = inPlace ? src : img;
    const ob = out + <usize>(b * OC) * P4;
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x += 8) {
        const base = im + <usize>y * Wp4 + (<usize>x << 2);
        const dst = ob + (<usize>(y * OW + x) << 2);
        const n = OW - x;
        let o = 0;
        for (; o + 4 <= OC; o += 4) {
          const w0 = weight + <usize>o * K4;
          const bb = bias + (<usize>o << 2);
          let c00 = f32x4.splat(bias ? load<f32>(bb) : 0), c01 = c00;
          let c10 = f32x4.splat(bias ? load<f32>(bb, 4) : 0), c11 = c10;
          let c20 = f32x4.splat(bias ? load<f32>(bb, 8) : 0), c21 = c20;
          let c30 = f32x4.splat(bias ? load<f32>(bb, 12) : 0), c31 = c30;
          for (let k: usize = 0; k < <usize>K; k++) {
            const pb = base + <usize>load<i32>(offs + (k << 2));
            const x0 = v128.load(pb), x1 = v128.load(pb, 16);
            const pa = w0 + (k << 2);
            let a = v128.load32_splat(pa);
            c00 = madd(a, x0, c00); c01 = madd(a, x1, c01);
            a = v128.load32_splat(pa + K4);
            c10 = madd(a, x0, c10); c11 = madd(a, x1, c11);
            a = v128.load32_splat(pa + 2 * K4);
            c20 = madd(a, x0, c20); c21 = madd(a, x1, c21);
            a = v128.load32_splat(pa + 3 * K4);
            c30 = madd(a, x0, c30); c31 = madd(a, x1, c31);
          }
          const d = dst + <usize>o * P4;
          store8(d, c00, c01, n);
          store8(d + P4, c10, c11, n);
          store8(d + 2 * P4, c20, c21, n);
          store8(d + 3 * P4, c30, c31, n);
        }
        for (; o < OC; o++) {
          let c00 = f32x4.splat(bias ? load<f32>(bias + (<usize>o << 2)) : 0), c01 = c00;
          const w0 = weight + <usize>o * K4;
          for (let k: usize = 0; k < <usize>K; k++) {
            const pb = base + <usize>load<i32>(offs + (k << 2));
            const a = v128.load32_splat(w0 + (k << 2));
            c00 = madd(a, v128.load(pb), c00); c01 = madd(a, v128.load(pb, 16), c01);
          }
          store8(dst + <usize>o * P4, c00, c01, n);
        }
      }
    }
  }
}

// dweight with stride 1: vectors over output channels. dweight[o, k=(c,i,j)] is the sum over
// images and pixels of dout[o, y, x] * img[c, y+i, x+j]. Channels go in blocks of 8 (lanes past
// OC are 0). Per image, each block's dout rows are transposed to dT(P, 8), so its 8 channels of
// one pixel are two vector loads, and the pixels under weights j..j+2 of kernel row (c,i) are
// consecutive floats of the padded image (load32_splat at fixed offsets from one pointer). An 8x3
// block holds 6 accumulators, 2 gradient vectors and 3 splats (8x5 spilled: V8 hoists the splats)
// for every pixel of the image, kept in acc(blocks, K, 8) between images: each element is one
// sequential sum over (image, pixel) whatever the blocking or the split, and dweight += acc once
// at the end. No horizontal sums, no per-image stores into dweight.
// Units: the (block, k) pairs, block-major, are what threads split (conv2d_backward_weight): a
// chunk of consecutive units may start or end inside a kernel row; blocks of 3, 2 or 1 weights
// never change a sum.

/** Units of conv2d_backward_weight: (8-channel block, weight) pairs with stride 1, else output channels. */
// @ts-ignore: decorator
@inline function weightUnits(OC: i32, K: i32, stride: i32): i32 {
  return stride == 1 ? ((OC + 7) >> 3) * K : OC;
}

/** acc(K, 8) rows k..k+jb-1 += sum over pixels of g(pixel, 8 channels) * u(pixel + j): jb = 1, 2, 3. */
// @ts-ignore: decorator
@inline function dwBlock8(acc: usize, g: usize, u: usize, OH: i32, OW: i32, Wp4: usize, jb: i32): void {
  let a00 = v128.load(acc), a01 = v128.load(acc, 16);
  let a10 = f32x4.splat(0), a11 = a10, a20 = a10, a21 = a10;
  if (jb > 1) { a10 = v128.load(acc, 32); a11 = v128.load(acc, 48); }
  if (jb > 2) { a20 = v128.load(acc, 64); a21 = v128.load(acc, 80); }
  let pg = g;
  for (let y = 0; y < OH; y++) {
    let pu = u + <usize>y * Wp4;
    const end = pu + (<usize>OW << 2);
    for (; pu < end; pu += 4) {
      const g0 = v128.load(pg), g1 = v128.load(pg, 16);
      let s = v128.load32_splat(pu);
      a00 = madd(g0, s, a00); a01 = madd(g1, s, a01);
      if (jb > 1) { s = v128.load32_splat(pu, 4); a10 = madd(g0, s, a10); a11 = madd(g1, s, a11); }
      if (jb > 2) { s = v128.load32_splat(pu, 8); a20 = madd(g0, s, a20); a21 = madd(g1, s, a21); }
      pg += 32;
    }
  }
  v128.store(acc, a00); v128.store(acc, a01, 16);
  if (jb > 1) { v128.store(acc, a10, 32); v128.store(acc, a11, 48); }
  if (jb > 2) { v128.store(acc, a20, 64); v128.store(acc, a21, 80); }
}

/** Weights j0..j1-1 of one kernel row (acc at j = 0, u the row's first pixel) in blocks of 3 or 2 (1 at most once). */
function dwRow(acc: usize, g: usize, u: usize, OH: i32, OW: i32, Wp4: usize, j0: i32, j1: i32): void {
  let j = j0;
  while (j < j1) {
    const a = acc + (<usize>j << 5), v = u + (<usize>j << 2);
    const r = j1 - j;
    if (r == 3 || r > 4) {
      dwBlock8(a, g, v, OH, OW, Wp4, 3);
      j += 3;
    } else if (r != 1) {
      dwBlock8(a, g, v, OH, OW, Wp4, 2);
      j += 2;
    } else {
      dwBlock8(a, g, v, OH, OW, Wp4, 1);
      j += 1;
    }
  }
}

/** dT(P, 8) columns 0..on-1 = rows 0..on-1 of g(on, P), on <= 8 (4x4 shuffles; other columns untouched). */
function transposeRows(dT: usize, g: usize, on: i32, P: i32): void {
  const P4 = <usize>P << 2;
  const p4 = P & ~3;
  let o = 0;
  for (; o + 4 <= on; o += 4) {
    const r0 = g + <usize>o * P4, d = dT + (<usize>o << 2);
    for (let p = 0; p < p4; p += 4) {
      const q = <usize>p << 2;
      const a = v128.load(r0 + q), b = v128.load(r0 + P4 + q), c = v128.load(r0 + 2 * P4 + q), e = v128.load(r0 + 3 * P4 + q);
      const ab0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), ab1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
      const ce0 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), ce1 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
      const dp = d + (<usize>p << 5);
      v128.store(dp, v128.shuffle<f32>(ab0, ce0, 0, 1, 4, 5));
      v128.store(dp, v128.shuffle<f32>(ab0, ce0, 2, 3, 6, 7), 32);
      v128.store(dp, v128.shuffle<f32>(ab1, ce1, 0, 1, 4, 5), 64);
      v128.store(dp, v128.shuffle<f32>(ab1, ce1, 2, 3, 6, 7), 96);
    }
    for (let p = p4; p < P; p++) {
      for (let r = 0; r < 4; r++) store<f32>(d + (<usize>p << 5) + (<usize>r << 2), load<f32>(r0 + <usize>r * P4 + (<usize>p << 2)));
    }
  }
  for (; o < on; o++) {
    for (let p = 0; p < P; p++) store<f32>(dT + (<usize>p << 5) + (<usize>o << 2), load<f32>(g + <usize>o * P4 + (<usize>p << 2)));
  }
}

/** The stride-1 path of conv2d_backward's dweight/dbias for units [u0, u1) (see above). */
function directWeight(dweight: usize, dbias: usize, dout: usize, inp: usize, B: i32, C: i32, H: i32,
  W: i32, OC: i32, KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize, u0: i32, u1: i32): void {
  if (u1 <= u0) return;
  const K = C * KH * KW, P = OH * OW, Hp = OH + KH - 1, Wp = OW + KW - 1;
  const K4 = <usize>K << 2, P4 = <usize>P << 2, Wp4 = <usize>Wp << 2, P32 = <usize>P << 5;
  const total = paddedFloats(C, KH, KW, OH, OW);
  const img = scratch + ((K4 + 63) & ~63), dT = img + (total << 3);
  const ob0 = u0 / K, ob1 = (u1 - 1) / K; // blocks touched
  const acc = dT + <usize>(ob1 - ob0 + 1) * P32; // acc(block, K, 8) from block ob0
  memory.fill(acc + (<usize>(u0 - ob0 * K) << 5), 0, <usize>(u1 - u0) << 5);
  if ((OC & 7) && ob1 == (OC - 1) >> 3) memory.fill(dT + <usize>(ob1 - ob0) * P32, 0, P32); // lanes past OC stay 0
  for (let b = 0; b < B; b++) {
    // without padding the image is its own padded copy (the pixel loop reads no lane past a row)
    const src = inp + (<usize>(b * C * H * W) << 2);
    if (pad) padImage(img, src, C, H, W, pad, Hp, Wp, total);
    const im = pad ? img : src;
    const db = dout + <usize>(b * OC) * P4;
    for (let ob = ob0; ob <= ob1; ob++) {
      const o0 = ob << 3, on = min(8, OC - o0);
      const g = dT + <usize>(ob - ob0) * P32;
      if (dbias && ob * K >= u0) biasGrad(dbias, db, o0, o0 + on, P); // with the block's unit k = 0
      transposeRows(g, db + <usize>o0 * P4, on, P);
      const ab = acc + (<usize>((ob - ob0) * K) << 5);
      const k0 = max(u0 - ob * K, 0), k1 = min(u1 - ob * K, K);
      for (let r = k0 / KW; r * KW < k1; r++) {
        const c = r / KH, i = r - c * KH;
        dwRow(ab + (<usize>(r * KW) << 5), g, im + (<usize>((c * Hp + i) * Wp) << 2), OH, OW, Wp4,
          max(k0 - r * KW, 0), min(k1 - r * KW, KW));
      }
    }
  }
  for (let u = u0; u < u1; u++) {
    const ob = u / K, k = u - ob * K;
    const src = acc + (<usize>(u - ob0 * K) << 5);
    for (let l = 0; l < 8 && (ob << 3) + l < OC; l++) {
      const p = dweight + <usize>((ob << 3) + l) * K4 + (<usize>k << 2);
      store<f32>(p, load<f32>(p) + load<f32>(src + (<usize>l << 2)));
    }
  }
}

/**
 * dimg(offs[k..k+kb) + 8 pixels) += sum over o of weight[o, k..] g[o, 8 pixels] for kb = 4 or 1
 * weights: the scatter of one row segment (g: gradient rows with plane stride G4).
 */
// @ts-ignore: decorator
@inline function dinBlock(base: usize, ko: usize, weight: usize, g: usize, OC: i32, K4: usize, G4: usize, kb: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
  let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  let pa = weight, pb = g;
  for (let o = 0; o < OC; o++) {
    const x0 = v128.load(pb), x1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, x0, c00); c01 = madd(a, x1, c01);
    if (kb > 1) {
      a = v128.load32_splat(pa, 4);
      c10 = madd(a, x0, c10); c11 = madd(a, x1, c11);
      a = v128.load32_splat(pa, 8);
      c20 = madd(a, x0, c20); c21 = madd(a, x1, c21);
      a = v128.load32_splat(pa, 12);
      c30 = madd(a, x0, c30); c31 = madd(a, x1, c31);
    }
    pa += K4;
    pb += G4;
  }
  let p = base + <usize>load<i32>(ko);
  v128.store(p, f32x4.add(v128.load(p), c00)); v128.store(p, f32x4.add(v128.load(p, 16), c01), 16);
  if (kb > 1) {
    p = base + <usize>load<i32>(ko, 4);
    v128.store(p, f32x4.add(v128.load(p), c10)); v128.store(p, f32x4.add(v128.load(p, 16), c11), 16);
    p = base + <usize>load<i32>(ko, 8);
    v128.store(p, f32x4.add(v128.load(p), c20)); v128.store(p, f32x4.add(v128.load(p, 16), c21), 16);
    p = base + <usize>load<i32>(ko, 12);
    v128.store(p, f32x4.add(v128.load(p), c30)); v128.store(p, f32x4.add(v128.load(p, 16), c31), 16);
  }
}

/**
 * The stride-1 path of conv2d_backward's dinp(B,C,H,W) (overwritten): dimg(offs[k] + (y, x..x+7))
 * += sum over o of weight[o,k] dout[o, y, x..x+7], then crop. When OW is not a multiple of 8 each
 * image's dout is first copied with its rows zero-padded to OWr (lanes past the row end then add
 * zeros to neighbouring padded pixels), so the loop has no partial loads.
 */
function directInput(dinp: usize, dout: usize, weight: usize, B: i32, C: i32, H: i32, W: i32, OC: i32,
  KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  const K = C * KH * KW, P = OH * OW, Hp = OH + KH - 1, Wp = OW + KW - 1;
  const K4 = <usize>K << 2, P4 = <usize>P << 2, Wp4 = <usize>Wp << 2;
  const OWr = (OW + 7) & ~7, OWr4 = <usize>OWr << 2, G4 = <usize>(OH * OWr) << 2;
  const total = paddedFloats(C, KH, KW, OH, OW);
  const offs = scratch, dimg = scratch + ((K4 + 63) & ~63) + (total << 2), gpad = dimg + (total << 2);
  const wp = gpad + <usize>((OC + 3) & ~3) * G4;
  // Weights in the order (c, j, i) (offs and the columns of a copy wp(OC,K) of weight): the 4
  // read-modify-writes of a block then hit different rows of dimg. In (c, i, j) order they
  // overlap by 28 of 32 bytes one after the other, and each load waits for the store before it
  // to retire (no store-to-load forwarding across two stores).
  let n: usize = 0;
  for (let c = 0; c < C; c++) for (let j = 0; j < KW; j++) for (let i = 0; i < KH; i++) {
    store<i32>(offs + (n << 2), ((c * Hp + i) * Wp + j) << 2);
    const k = (c * KH + i) * KW + j;
    for (let o = 0; o < OC; o++) store<f32>(wp + <usize>o * K4 + (n << 2), load<f32>(weight + <usize>o * K4 + (<usize>k << 2)));
    n++;
  }
  if (OWr != OW) memory.fill(gpad, 0, <usize>OC * G4);
  for (let b = 0; b < B; b++) {
    let g = dout + <usize>(b * OC) * P4;
    if (OWr != OW) {
      for (let r = 0; r < OC * OH; r++) memory.copy(gpad + <usize>r * OWr4, g + (<usize>(r * OW) << 2), <usize>OW << 2);
      g = gpad;
    }
    memory.fill(dimg, 0, total << 2);
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x += 8) {
        const gb = g + <usize>y * OWr4 + (<usize>x << 2);
        const base = dimg + <usize>y * Wp4 + (<usize>x << 2);
        let k = 0;
        for (; k + 4 <= K; k += 4) dinBlock(base, offs + (<usize>k << 2), wp + (<usize>k << 2), gb, OC, K4, G4, 4);
        for (; k < K; k++) dinBlock(base, offs + (<usize>k << 2), wp + (<usize>k << 2), gb, OC, K4, G4, 1);
      }
    }
    const di = dinp + (<usize>(b * C * H * W) << 2);
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        memory.copy(di + (<usize>((c * H + y) * W) << 2), dimg + (<usize>((c * Hp + y + pad) * Wp + pad) << 2), <usize>W << 2);
      }
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

// ---- scalar twins: the direct loops of the reference, same signatures (scratch unused) ----

/** Scalar twin of conv2d_forward (direct convolution). */
export function conv2d_forward_scalar(out: usize, inp: usize, weight: usize, bias: usize, B: i32, C: i32,
  H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, OH: i32, OW: i32,
  scratch: usize): void {
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < OC; o++) {
      const bo: f32 = bias ? load<f32>(bias + (<usize>o << 2)) : 0;
      for (let y = 0; y < OH; y++) {
        for (let x = 0; x < OW; x++) {
          let s: f32 = 0;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < KH; i++) {
              const iy = y * stride + i - pad;
              if (iy < 0 || iy >= H) continue;
              for (let j = 0; j < KW; j++) {
                const ix = x * stride + j - pad;
                if (ix < 0 || ix >= W) continue;
                s += load<f32>(weight + (<usize>(((o * C + c) * KH + i) * KW + j) << 2)) *
                  load<f32>(inp + (<usize>(((b * C + c) * H + iy) * W + ix) << 2));
              }
            }
          }
          store<f32>(out + (<usize>(((b * OC + o) * OH + y) * OW + x) << 2), s + bo);
        }
      }
    }
  }
}

/** Scalar twin of conv2d_backward (direct loops). */
export function conv2d_backward_scalar(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize,
  weight: usize, B: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32,
  OH: i32, OW: i32, scratch: usize): void {
  scalarBackward(dinp, dweight, dbias, dout, inp, weight, B, C, H, W, OC, KH, KW, stride, pad, OH, OW, 0, weightUnits(OC, C * KH * KW, stride));
}

/** Scalar twin of conv2d_backward_input. */
export function conv2d_backward_input_scalar(dinp: usize, dout: usize, weight: usize, B: i32, C: i32, H: i32,
  W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  scalarBackward(dinp, 0, 0, dout, 0, weight, B, C, H, W, OC, KH, KW, stride, pad, OH, OW, 0, 0);
}

/** Scalar twin of conv2d_backward_weight. */
export function conv2d_backward_weight_scalar(dweight: usize, dbias: usize, dout: usize, inp: usize, B: i32, C: i32,
  H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, scratch: usize, u0: i32, un: i32): void {
  const OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  scalarBackward(0, dweight, dbias, dout, inp, 0, B, C, H, W, OC, KH, KW, stride, pad, OH, OW, u0, u0 + un);
}

/** Direct loops: dinp (0: skip), and dweight/dbias of weight units [u0, u1); the same order for every part. */
function scalarBackward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize,
  weight: usize, B: i32, C: i32, H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32,
  OH: i32, OW: i32, u0: i32, u1: i32): void {
  const K = C * KH * KW;
  if (dinp) memory.fill(dinp, 0, <usize>(B * C * H * W) << 2);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < OC; o++) {
      // this channel's units: (o/8)*K + k with stride 1, else o
      const ub = stride == 1 ? (o >> 3) * K : o, ue = stride == 1 ? ub + K : o + 1;
      const anyW = ub < u1 && ue > u0, doB = dbias && ub >= u0 && ub < u1;
      if (!anyW && !dinp) continue;
      for (let y = 0; y < OH; y++) {
        for (let x = 0; x < OW; x++) {
          const g = load<f32>(dout + (<usize>(((b * OC + o) * OH + y) * OW + x) << 2));
          if (doB) store<f32>(dbias + (<usize>o << 2), load<f32>(dbias + (<usize>o << 2)) + g);
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < KH; i++) {
              const iy = y * stride + i - pad;
              if (iy < 0 || iy >= H) continue;
              for (let j = 0; j < KW; j++) {
                const ix = x * stride + j - pad;
                if (ix < 0 || ix >= W) continue;
                const k = (c * KH + i) * KW + j;
                const wk = <usize>(o * K + k) << 2;
                const xi = <usize>(((b * C + c) * H + iy) * W + ix) << 2;
                const u = stride == 1 ? ub + k : o;
                if (u >= u0 && u < u1) store<f32>(dweight + wk, load<f32>(dweight + wk) + g * load<f32>(inp + xi));
                if (dinp) store<f32>(dinp + xi, load<f32>(dinp + xi) + g * load<f32>(weight + wk));
              }
            }
          }
        }
      }
    }
  }
}
