// Reference 2-D pooling over channels-first images (B,C,H,W) -> (B,C,OH,OW), window k, stride s,
// no padding: OH = floor((H - k) / s) + 1. Each (b,c) plane is pooled on its own.
// Max pooling remembers where each maximum came from (argmax, an index into the whole input), so
// its backward routes each gradient to that one pixel; average pooling spreads it evenly.
// Flatten needs no kernel: (B,C,H,W) and (B,C*H*W) are the same bytes, so it is a view.
import type { Pool2dShape } from '../backend.js';

/** Full Pool2dShape from the input geometry, window k and stride. */
export function pool2dShape(B: number, C: number, H: number, W: number, k: number, stride: number): Pool2dShape {
  return { B, C, H, W, k, stride, OH: Math.floor((H - k) / stride) + 1, OW: Math.floor((W - k) / stride) + 1 };
}

/**
 * out = max over each window; argmax = index in inp of the first maximum (row-major window order).
 * p.relu: out = relu(max), argmax -1 where that is 0 (the relu's gradient there is 0).
 */
export function maxPoolForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, p: Pool2dShape): void {
  const { B, C, H, W, k, stride, OH, OW } = p;
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x++) {
        // Start at the window's first pixel, as the kernels do: a NaN there stays the maximum
        // (nothing compares greater), and an all -Infinity window points at its first pixel.
        let at = bc * H * W + y * stride * W + x * stride;
        let best = inp[at];
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) {
            const idx = bc * H * W + (y * stride + i) * W + (x * stride + j);
            if (inp[idx] > best) { best = inp[idx]; at = idx; }
          }
        }
        const o = (bc * OH + y) * OW + x;
        const zeroed = p.relu === true && !(inp[at] > 0);
        out[o] = zeroed ? 0 : inp[at];
        argmax[o] = zeroed ? -1 : at;
      }
    }
  }
}

/** dinp = 0, then dinp[argmax] += dout (windows may overlap when stride < k; argmax -1: none). */
export function maxPoolBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, p: Pool2dShape): void {
  const { B, C, H, W, OH, OW } = p;
  dinp.fill(0, 0, B * C * H * W);
  for (let o = 0; o < B * C * OH * OW; o++) if (argmax[o] >= 0) dinp[argmax[o]] += dout[o];
}

/** out = mean over each k x k window. */
export function avgPoolForward(out: Float32Array, inp: Float32Array, p: Pool2dShape): void {
  const { B, C, H, W, k, stride, OH, OW } = p;
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x++) {
        let sum = 0;
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) sum += inp[bc * H * W + (y * stride + i) * W + (x * stride + j)];
        }
        out[(bc * OH + y) * OW + x] = sum / (k * k);
      }
    }
  }
}

/** dinp = 0, then every pixel of each window gets dout / (k*k). */
export function avgPoolBackward(dinp: Float32Array, dout: Float32Array, p: Pool2dShape): void {
  const { B, C, H, W, k, stride, OH, OW } = p;
  dinp.fill(0, 0, B * C * H * W);
  for (let bc = 0; bc < B * C; bc++) {
    for (let y = 0; y < OH; y++) {
      for (let x = 0; x < OW; x++) {
        const g = dout[(bc * OH + y) * OW + x] / (k * k);
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) dinp[bc * H * W + (y * stride + i) * W + (x * stride + j)] += g;
        }
      }
    }
  }
}
