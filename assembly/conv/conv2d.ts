// 2-D convolution over channels-first images, forward and backward: the entry points and the
// planner that picks each call's algorithm.
//   inp (B,C,H,W), weight (OC,C,KH,KW), bias (OC) -> out (B,OC,OH,OW)
//   OH = (H + 2 pad - KH) / stride + 1; K = C*KH*KW (reduction length); P = OH*OW (pixels/image).
// Reference: src/engine/ref/conv2d.ts.
//
// Algorithms (one file each):
//   im2col.ts    any stride: a tile of output pixels copied into col(K,T), then a 4x8 gemm
//                micro-kernel on it; backward re-does im2col and scatters dcol back (col2im).
//   direct.ts    stride 1: implicit im2col, the micro-kernel reads the zero-padded image in place
//                through a table of offsets, nothing copied per weight.
//   winograd.ts  stride 1, 5- and 3-wide kernels: F(4,5) or F(6,3) along the rows, 8 multiplies
//                per 4 (6) outputs instead of 20 (18), for the forward pass and both gradients.
//   single.ts    stride 1, one input channel, 5x5 (a first layer): F(4,5) with the reduction of
//                5 kernel rows unrolled, for the forward pass and the weight gradient.
// Planner: stride 1 takes single.ts where single_*_fits, else Winograd where winograd_*_fits says
// it is faster, else direct; other strides im2col. im2col alone costs more than the whole direct
// forward, so stride 1 never takes it.
// scalar.ts holds the naive direct twins. Scratch (col and dcol tiles, the padded copies, the
// Winograd buffers) is conv2d_scratch_bytes(); the host allocates it, kernels allocate nothing.

import { colBackward, colForward, colScratchBytes } from './im2col';
import { biasGrad, directForward, directInput, directScratchBytes, directWeight } from './direct';
import { single_forward, single_forward_fits, single_scratch_bytes, single_weight, single_weight_fits } from './single';
import { winograd_forward, winograd_forward_fits, winograd_input, winograd_input_fits, winograd_scratch_bytes,
  winograd_weight, winograd_weight_fits } from './winograd';

/**
 * Bytes of scratch conv2d_forward/conv2d_backward need for this geometry: the largest of the
 * im2col, direct and Winograd paths'.
 */
export function conv2d_scratch_bytes(C: i32, KH: i32, KW: i32, OH: i32, OW: i32, OC: i32): usize {
  return max<usize>(max<usize>(colScratchBytes(C, KH, KW, OH, OW), directScratchBytes(C, KH, KW, OH, OW, OC)),
    max<usize>(winograd_scratch_bytes(C, KH, KW, OH, OW, OC), single_scratch_bytes(C, KH, KW, OH, OW, OC)));
}

/** out(B,OC,OH,OW) = conv(inp(B,C,H,W), weight(OC,C,KH,KW)) [+ bias(OC)]; scratch: conv2d_scratch_bytes. */
export function conv2d_forward(out: usize, inp: usize, weight: usize, bias: usize, B: i32, C: i32,
  H: i32, W: i32, OC: i32, KH: i32, KW: i32, stride: i32, pad: i32, OH: i32, OW: i32,
  scratch: usize): void {
  if (stride == 1 && single_forward_fits(C, KH, KW)) {
    single_forward(out, inp, weight, bias, B, H, W, OC, pad, OH, OW, scratch);
    return;
  }
  if (stride == 1 && winograd_forward_fits(C, KW, OC, OW)) {
    winograd_forward(out, inp, weight, bias, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch);
    return;
  }
  if (stride == 1) {
    directForward(out, inp, weight, bias, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch);
    return;
  }
  colForward(out, inp, weight, bias, B, C, H, W, OC, KH, KW, stride, pad, OH, OW, scratch);
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

// Split parts of conv2d_backward, for threads (src/engine/kernels.ts). Each computes its
// elements with the same code and operation order as conv2d_backward, so any split of the images
// (input part) or of the weight units (weight part: (8-channel block, weight) pairs with stride 1,
// output channels in multiples of 4 otherwise, where the 4-row blocks start at u0 as they start
// at 0) gives the same bits.

/**
 * The stride-1 dweight/dbias of units [u0, u1): single.ts for one input channel, Winograd where
 * it is faster (dbias then per image here, in the same order as directWeight), else directWeight.
 */
function strideOneWeight(dweight: usize, dbias: usize, dout: usize, inp: usize, B: i32, C: i32, H: i32,
  W: i32, OC: i32, KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize, u0: i32, u1: i32): void {
  if (single_weight_fits(C, KH, KW)) {
    single_weight(dweight, dbias, dout, inp, B, H, W, OC, pad, OH, OW, scratch, u0, u1);
    return;
  }
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
  winograd_weight(dweight, dout, inp, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch, u0, u1);
}

/** The stride-1 input gradient: Winograd where it is faster, else the direct scatter. */
function strideOneInput(dinp: usize, dout: usize, weight: usize, B: i32, C: i32, H: i32, W: i32, OC: i32,
  KH: i32, KW: i32, pad: i32, OH: i32, OW: i32, scratch: usize): void {
  if (winograd_input_fits(C, KW, OC, OW)) winograd_input(dinp, dout, weight, B, C, H, W, OC, KH, KW, pad, OH, OW, scratch);
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


/** Units of conv2d_backward_weight: (8-channel block, weight) pairs with stride 1, else output channels. */
// @ts-ignore: decorator
@inline export function weightUnits(OC: i32, K: i32, stride: i32): i32 {
  return stride == 1 ? ((OC + 7) >> 3) * K : OC;
}
