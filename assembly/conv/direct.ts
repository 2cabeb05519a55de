// The direct convolution, stride 1 (implicit im2col).
// With stride 1, the 8 im2col values of weight k=(c,i,j) for output pixels (y, x..x+7) are 8
// consecutive floats of the zero-padded image: img[c, y+i, x+j ..]. So the micro-kernel reads them
// in place through a table offs[k] = byte offset of (c,i,j), and nothing is copied per k: only the
// image is copied once into a padded buffer (C*Hp*Wp floats instead of K*P), or not at all without
// padding when no lane can read past a row. The input gradient is accumulated the same way into a
// padded buffer, then cropped. Lanes past the row end read (and in backward add zeros to)
// neighbouring padded pixels; they are never stored to out.

import { hsum01_23, madd, store8, storeN } from '../simd';
import { copyPadded } from './pad';

/** Floats of one padded image copy of the stride-1 path, with slack for 8-wide reads past the end. */
// @ts-ignore: decorator
@inline function paddedFloats(C: i32, KH: i32, KW: i32, OH: i32, OW: i32): usize {
  return <usize>C * <usize>(OH + KH - 1) * <usize>(OW + KW - 1) + 16;
}

/**
 * Bytes of the direct path's scratch: the offset table, a padded image and its gradient, the
 * transposed dout and the dweight accumulators of up to OC channels rounded up to 8.
 */
export function directScratchBytes(C: i32, KH: i32, KW: i32, OH: i32, OW: i32, OC: i32): usize {
  const K = <usize>(C * KH * KW);
  const ocr = <usize>((OC + 7) & ~7);
  return ((K * 4 + 63) & ~63) + 2 * paddedFloats(C, KH, KW, OH, OW) * 4 + (<usize>(OH * ((OW + 7) & ~7)) + K) * ocr * 4;
}

/** dbias[o0..o1) += sum over the P pixels of each row of dout(OC,P) (one image). */
export function biasGrad(dbias: usize, db: usize, o0: i32, o1: i32, P: i32): void {
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

export function directForward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, C: i32, H: i32,
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
export function directWeight(dweight: usize, dbias: usize, dout: usize, inp: usize, B: i32, C: i32, H: i32,
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
export function directInput(dinp: usize, dout: usize, weight: usize, B: i32, C: i32, H: i32, W: i32, OC: i32,
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

