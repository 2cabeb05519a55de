// Reference 2-D convolution (cross-correlation, like PyTorch's Conv2d) over channels-first images:
// the plain nested loops that assembly/conv2d.ts is checked against. Written to be read, not fast.
//   inp (B,C,H,W), weight (OC,C,KH,KW), bias (OC) -> out (B,OC,OH,OW)
//   out[b,o,y,x] = bias[o] + sum over c,i,j of weight[o,c,i,j] * inp[b,c, y*stride+i-pad, x*stride+j-pad]
// where pixels outside the image (the zero padding) count as 0, and OH = (H + 2 pad - KH) / stride + 1.
import type { Conv2dShape } from '../backend.js';

/** Output side of a convolution or pooling window: floor((n + 2 pad - k) / stride) + 1. */
export function convOutSize(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

/** Full Conv2dShape from the input geometry and the layer's hyper-parameters. */
export function conv2dShape(B: number, C: number, H: number, W: number, OC: number, KH: number,
  KW: number, stride: number, pad: number): Conv2dShape {
  return { B, C, H, W, OC, KH, KW, stride, pad,
    OH: convOutSize(H, KH, stride, pad), OW: convOutSize(W, KW, stride, pad) };
}

/** out(B,OC,OH,OW) = conv(inp(B,C,H,W), weight(OC,C,KH,KW)) [+ bias(OC)]. */
export function conv2dForward(out: Float32Array, inp: Float32Array, weight: Float32Array,
  bias: Float32Array | null, s: Conv2dShape): void {
  const { B, C, H, W, OC, KH, KW, stride, pad, OH, OW } = s;
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < OC; o++) {
      for (let y = 0; y < OH; y++) {
        for (let x = 0; x < OW; x++) {
          let sum = 0;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < KH; i++) {
              const iy = y * stride + i - pad;
              if (iy < 0 || iy >= H) continue;
              for (let j = 0; j < KW; j++) {
                const ix = x * stride + j - pad;
                if (ix < 0 || ix >= W) continue;
                sum += weight[((o * C + c) * KH + i) * KW + j] * inp[((b * C + c) * H + iy) * W + ix];
              }
            }
          }
          out[((b * OC + o) * OH + y) * OW + x] = bias ? sum + bias[o] : sum;
        }
      }
    }
  }
}

/**
 * Gradients of conv2dForward given dout(B,OC,OH,OW):
 *   dinp(B,C,H,W) = (overwritten) sum of weight * dout over every output the pixel touched,
 *   dweight(OC,C,KH,KW) += sum over b,y,x of dout * inp under the window,
 *   dbias(OC) += sum over b,y,x of dout.
 * dinp or dbias may be null (the first layer needs no input gradient).
 */
export function conv2dBackward(dinp: Float32Array | null, dweight: Float32Array,
  dbias: Float32Array | null, dout: Float32Array, inp: Float32Array, weight: Float32Array,
  s: Conv2dShape): void {
  const { B, C, H, W, OC, KH, KW, stride, pad, OH, OW } = s;
  if (dinp) dinp.fill(0, 0, B * C * H * W);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < OC; o++) {
      for (let y = 0; y < OH; y++) {
        for (let x = 0; x < OW; x++) {
          const g = dout[((b * OC + o) * OH + y) * OW + x];
          if (dbias) dbias[o] += g;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < KH; i++) {
              const iy = y * stride + i - pad;
              if (iy < 0 || iy >= H) continue;
              for (let j = 0; j < KW; j++) {
                const ix = x * stride + j - pad;
                if (ix < 0 || ix >= W) continue;
                const wi = ((o * C + c) * KH + i) * KW + j;
                const xi = ((b * C + c) * H + iy) * W + ix;
                dweight[wi] += g * inp[xi];
                if (dinp) dinp[xi] += g * weight[wi];
              }
            }
          }
        }
      }
    }
  }
}
