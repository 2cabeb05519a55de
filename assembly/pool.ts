// 2-D max and average pooling over channels-first images, forward and backward.
//   inp (B,C,H,W) -> out (B,C,OH,OW), window k, stride s, no padding: OH = (H - k) / s + 1
//   argmax (B,C,OH,OW) i32: i0 + index into inp of each window's first maximum (row-major order)
//   relu (max forward): out = max(0, window max), and argmax -1 where that is 0: a relu after the
//   pool fused into it (the layers run relu then max pool as pool then relu: model.ts), the same
//   bits as the two kernels, and the backward routes no gradient from a window the relu zeroed.
// Reference: src/engine/ref/pool.ts. Flatten needs no kernel: (B,C,H,W) is (B,C*H*W) in memory.
// i0 lets a thread run images b0.. of a batch (inp, out, argmax, dinp, dout advanced to image b0,
// i0 = b0*C*H*W) and still store and read the batch-wide indices of the Backend contract; one
// call over the whole batch passes 0. Windows never cross images, so any split by images gives
// the same bytes.
// SIMD pays for the common 2x2 stride-2 case: forward de-interleaves even/odd columns with
// shuffles; max backward writes each 2x2 window's 4 gradients directly (g where argmax points, 0
// elsewhere: no fill, no scatter), avg backward writes g/4 to all 4. A row's last 1-3 max windows
// run the same vector code on partial loads and stores (the scalar code's compares would branch
// on the data). Other windows share the scalar code (a fill plus a scatter).
import { loadN, store8, storeN } from './simd';

/** Scalar twin of maxpool_forward: out = max over each window, argmax = where it came from. */
export function maxpool_forward_scalar(out: usize, argmax: usize, inp: usize, B: i32, C: i32, H: i32,
  W: i32, k: i32, stride: i32, OH: i32, OW: i32, i0: i32, relu: bool): void {
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x++) maxWindow(out, argmax, inp, bc, H, W, k, stride, OH, OW, y, x, i0, relu);
    }
  }
}

/** Max pooling of one window: output (y, x) of plane bc. */
// @ts-ignore: decorator
@inline function maxWindow(out: usize, argmax: usize, inp: usize, bc: i32, H: i32, W: i32, k: i32,
  stride: i32, OH: i32, OW: i32, y: i32, x: i32, i0: i32, relu: bool): void {
  const plane = bc * H * W;
  let at = plane + y * stride * W + x * stride;
  let best = load<f32>(inp + (<usize>at << 2));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const idx = plane + (y * stride + i) * W + x * stride + j;
      const v = load<f32>(inp + (<usize>idx << 2));
      if (v > best) { best = v; at = idx; }
    }
  }
  const o = <usize>((bc * OH + y) * OW + x) << 2;
  const zeroed = relu && !(best > 0);
  store<f32>(out + o, zeroed ? 0 : best);
  store<i32>(argmax + o, zeroed ? -1 : i0 + at);
}

/**
 * Max pooling of 2x2 windows x..x+n-1 (n <= 4) of one row pair: a0, a1 the top row's 8 floats, b0, b1
 * the bottom row's, tl and bl the indices of each window's top-left and bottom-left pixels, one 1s;
 * relu as maxpool_forward's.
 * The scalar code's walk over the window in row-major order (best = v where v > best), on four
 * windows at once: pmax(best, v) is best < v ? v : best, so a tie keeps the earlier pixel and a NaN
 * never replaces nor is replaced (a compare with it is false): the scalar code's bits. A true
 * compare mask is -1, so tl - mask is tl + 1.
 */
// @ts-ignore: decorator
@inline function maxWindows4(o: usize, g: usize, n: i32, a0: v128, a1: v128, b0: v128, b1: v128, tl: v128, bl: v128,
  one: v128, relu: bool): void {
  const tlv = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), trv = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
  const blv = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), brv = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
  const m1 = f32x4.pmax(tlv, trv);
  let at = i32x4.sub(tl, f32x4.lt(tlv, trv));
  const m2 = f32x4.pmax(m1, blv);
  at = v128.bitselect(bl, at, f32x4.lt(m1, blv));
  at = v128.bitselect(i32x4.add(bl, one), at, f32x4.lt(m2, brv));
  let m = f32x4.pmax(m2, brv);
  if (relu) {
    // x > 0 ? x : 0 by mask, as the relu kernel: NaN and -0 give +0
    const keep = f32x4.gt(m, f32x4.splat(0));
    m = v128.and(m, keep);
    at = v128.bitselect(at, i32x4.splat(-1), keep);
  }
  storeN(o, m, n);
  storeN(g, at, n);
}

/** out(B,C,OH,OW) = max over each k x k window of inp(B,C,H,W); argmax(B,C,OH,OW) = i0 + its index. */
export function maxpool_forward(out: usize, argmax: usize, inp: usize, B: i32, C: i32, H: i32,
  W: i32, k: i32, stride: i32, OH: i32, OW: i32, i0: i32, relu: bool): void {
  if (k != 2 || stride != 2) {
    maxpool_forward_scalar(out, argmax, inp, B, C, H, W, k, stride, OH, OW, i0, relu);
    return;
  }
  const W4 = <usize>W << 2;
  const one = i32x4.splat(1), w = i32x4.splat(W), step = i32x4.splat(8);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      const r0 = inp + (<usize>((bc * H + 2 * y) * W) << 2);
      const o = out + (<usize>((bc * OH + y) * OW) << 2);
      const g = argmax + (<usize>((bc * OH + y) * OW) << 2);
      // index of the top-left and bottom-left pixels of windows x..x+3
      let tl = i32x4.add(i32x4.splat(i0 + (bc * H + 2 * y) * W), i32x4(0, 2, 4, 6));
      let bl = i32x4.add(tl, w);
      let x = 0;
      for (; x + 4 <= OW; x += 4) {
        const p = r0 + (<usize>(2 * x) << 2);
        maxWindows4(o + (<usize>x << 2), g + (<usize>x << 2), 4,
          v128.load(p), v128.load(p, 16), v128.load(p + W4), v128.load(p + W4, 16), tl, bl, one, relu);
        tl = i32x4.add(tl, step);
        bl = i32x4.add(bl, step);
      }
      // the last 1-3 windows: the same code on the lanes they fill (loads and stores of n floats)
      const n = OW - x;
      if (n > 0) {
        const p = r0 + (<usize>(2 * x) << 2);
        maxWindows4(o + (<usize>x << 2), g + (<usize>x << 2), n,
          loadN(p, 2 * n), loadN(p + 16, 2 * n - 4), loadN(p + W4, 2 * n), loadN(p + W4 + 16, 2 * n - 4), tl, bl, one, relu);
      }
    }
  }
}

/** dinp(B,C,H,W) = 0, then dinp[argmax - i0] += dout (windows overlap when stride < k; argmax -1: none). */
export function maxpool_backward(dinp: usize, dout: usize, argmax: usize, B: i32, C: i32, H: i32,
  W: i32, k: i32, stride: i32, OH: i32, OW: i32, i0: i32): void {
  if (k != 2 || stride != 2) {
    maxpool_backward_scalar(dinp, dout, argmax, B, C, H, W, k, stride, OH, OW, i0);
    return;
  }
  // rows or columns past the last window get no gradient: zero them first. An argmax of -1 (relu)
  // matches none of a window's 4 pixels, so its window gets zeros.
  if (H != 2 * OH || W != 2 * OW) memory.fill(dinp, 0, <usize>(B * C * H * W) << 2);
  const W4 = <usize>W << 2;
  const w = i32x4.splat(W), w1 = i32x4.splat(W + 1), step = i32x4.splat(8);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      const r0 = dinp + (<usize>((bc * H + 2 * y) * W) << 2);
      const go = dout + (<usize>((bc * OH + y) * OW) << 2);
      const ga = argmax + (<usize>((bc * OH + y) * OW) << 2);
      // index of the top-left pixel of windows x..x+3
      let tl = i32x4.add(i32x4.splat(i0 + (bc * H + 2 * y) * W), i32x4(0, 2, 4, 6));
      let x = 0;
      for (; x + 4 <= OW; x += 4) {
        maxGrad4(r0 + (<usize>(2 * x) << 2), W4, 4, v128.load(go + (<usize>x << 2)), v128.load(ga + (<usize>x << 2)), tl, w, w1);
        tl = i32x4.add(tl, step);
      }
      // the last 1-3 windows: the same code on the lanes they fill (loads and stores of n floats)
      const n = OW - x;
      if (n > 0) maxGrad4(r0 + (<usize>(2 * x) << 2), W4, n, loadN(go + (<usize>x << 2), n), loadN(ga + (<usize>x << 2), n), tl, w, w1);
    }
  }
}

/**
 * The 4 gradients of each 2x2 window x..x+n-1 (n <= 4) of a row pair at p (rows W4 bytes apart):
 * g where its argmax a points (its top-left pixel tl + 0, 1, W or W+1: w, w1 hold W and W+1), 0
 * elsewhere. g + 0 as the scalar code's fill-and-add gives (-0 becomes +0).
 */
// @ts-ignore: decorator
@inline function maxGrad4(p: usize, W4: usize, n: i32, g: v128, a: v128, tl: v128, w: v128, w1: v128): void {
  const zero = f32x4.splat(0);
  const g0 = f32x4.add(g, zero);
  const at = i32x4.sub(a, tl);
  const l = v128.and(g0, i32x4.eq(at, zero));
  const r = v128.and(g0, i32x4.eq(at, i32x4.splat(1)));
  const dl = v128.and(g0, i32x4.eq(at, w));
  const dr = v128.and(g0, i32x4.eq(at, w1));
  store8(p, v128.shuffle<f32>(l, r, 0, 4, 1, 5), v128.shuffle<f32>(l, r, 2, 6, 3, 7), 2 * n);
  store8(p + W4, v128.shuffle<f32>(dl, dr, 0, 4, 1, 5), v128.shuffle<f32>(dl, dr, 2, 6, 3, 7), 2 * n);
}

/** Scalar twin of maxpool_backward: the fill and scatter, for every window. */
export function maxpool_backward_scalar(dinp: usize, dout: usize, argmax: usize, B: i32, C: i32, H: i32,
  W: i32, k: i32, stride: i32, OH: i32, OW: i32, i0: i32): void {
  memory.fill(dinp, 0, <usize>(B * C * H * W) << 2);
  const n = B * C * OH * OW;
  for (let o = 0; o < n; o++) {
    const a = load<i32>(argmax + (<usize>o << 2));
    if (a < 0) continue;
    const q = dinp + (<usize>(a - i0) << 2);
    store<f32>(q, load<f32>(q) + load<f32>(dout + (<usize>o << 2)));
  }
}

/** Scalar twin of avgpool_forward. */
export function avgpool_forward_scalar(out: usize, inp: usize, B: i32, C: i32, H: i32, W: i32, k: i32,
  stride: i32, OH: i32, OW: i32): void {
  const inv: f32 = 1 / <f32>(k * k);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x++) {
        let s: f32 = 0;
        for (let i = 0; i < k; i++) {
          const r = inp + (<usize>((bc * H + y * stride + i) * W + x * stride) << 2);
          for (let j = 0; j < k; j++) s += load<f32>(r + (<usize>j << 2));
        }
        store<f32>(out + (<usize>((bc * OH + y) * OW + x) << 2), s * inv);
      }
    }
  }
}

/** out(B,C,OH,OW) = mean over each k x k window of inp(B,C,H,W). */
export function avgpool_forward(out: usize, inp: usize, B: i32, C: i32, H: i32, W: i32, k: i32,
  stride: i32, OH: i32, OW: i32): void {
  if (k != 2 || stride != 2) {
    avgpool_forward_scalar(out, inp, B, C, H, W, k, stride, OH, OW);
    return;
  }
  const W4 = <usize>W << 2;
  const q = f32x4.splat(0.25);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      const r0 = inp + (<usize>((bc * H + 2 * y) * W) << 2);
      const o = out + (<usize>((bc * OH + y) * OW) << 2);
      let x = 0;
      for (; x + 4 <= OW; x += 4) {
        const p = r0 + (<usize>(2 * x) << 2);
        const a0 = v128.load(p), a1 = v128.load(p, 16);
        const b0 = v128.load(p + W4), b1 = v128.load(p + W4, 16);
        // same order as the scalar sum: ((top-left + top-right) + bottom-left) + bottom-right
        let s = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), v128.shuffle<f32>(a0, a1, 1, 3, 5, 7));
        s = f32x4.add(s, v128.shuffle<f32>(b0, b1, 0, 2, 4, 6));
        s = f32x4.add(s, v128.shuffle<f32>(b0, b1, 1, 3, 5, 7));
        v128.store(o + (<usize>x << 2), f32x4.mul(s, q));
      }
      for (; x < OW; x++) {
        const p = r0 + (<usize>(2 * x) << 2);
        const s = ((load<f32>(p) + load<f32>(p, 4)) + load<f32>(p + W4)) + load<f32>(p + W4, 4);
        store<f32>(o + (<usize>x << 2), s * 0.25);
      }
    }
  }
}

/** dinp(B,C,H,W) = 0, then every pixel of each window gets dout / (k*k). */
export function avgpool_backward(dinp: usize, dout: usize, B: i32, C: i32, H: i32, W: i32, k: i32,
  stride: i32, OH: i32, OW: i32): void {
  if (k != 2 || stride != 2) {
    avgpool_backward_scalar(dinp, dout, B, C, H, W, k, stride, OH, OW);
    return;
  }
  // 2x2 stride 2: windows tile the image, so each pixel is written once (no fill, no scatter);
  // rows or columns past the last window are zeroed first
  if (H != 2 * OH || W != 2 * OW) memory.fill(dinp, 0, <usize>(B * C * H * W) << 2);
  const W4 = <usize>W << 2;
  const q = f32x4.splat(0.25), zero = f32x4.splat(0);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      const r0 = dinp + (<usize>((bc * H + 2 * y) * W) << 2);
      const go = dout + (<usize>((bc * OH + y) * OW) << 2);
      let x = 0;
      for (; x + 4 <= OW; x += 4) {
        // g / 4 + 0, as the scalar fill-and-add gives (-0 becomes +0)
        const g = f32x4.add(f32x4.mul(v128.load(go + (<usize>x << 2)), q), zero);
        const lo = v128.shuffle<f32>(g, g, 0, 0, 1, 1), hi = v128.shuffle<f32>(g, g, 2, 2, 3, 3);
        const p = r0 + (<usize>(2 * x) << 2);
        v128.store(p, lo); v128.store(p, hi, 16);
        v128.store(p + W4, lo); v128.store(p + W4, hi, 16);
      }
      for (; x < OW; x++) {
        const g: f32 = load<f32>(go + (<usize>x << 2)) * 0.25 + 0;
        const p = r0 + (<usize>(2 * x) << 2);
        store<f32>(p, g); store<f32>(p, g, 4);
        store<f32>(p + W4, g); store<f32>(p + W4, g, 4);
      }
    }
  }
}

/** Scalar twin of avgpool_backward: the fill, then the windows' adds. */
export function avgpool_backward_scalar(dinp: usize, dout: usize, B: i32, C: i32, H: i32, W: i32, k: i32,
  stride: i32, OH: i32, OW: i32): void {
  memory.fill(dinp, 0, <usize>(B * C * H * W) << 2);
  const inv: f32 = 1 / <f32>(k * k);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x++) {
        const g = load<f32>(dout + (<usize>((bc * OH + y) * OW + x) << 2)) * inv;
        for (let i = 0; i < k; i++) {
          const r = dinp + (<usize>((bc * H + y * stride + i) * W + x * stride) << 2);
          for (let j = 0; j < k; j++) store<f32>(r + (<usize>j << 2), load<f32>(r + (<usize>j << 2)) + g);
        }
      }
    }
  }
}

