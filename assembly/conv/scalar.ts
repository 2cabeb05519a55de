// The naive scalar twins of the convolution kernels: the direct loops of the reference, the same
// signatures (scratch unused).

import { weightUnits } from './conv2d';

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
