// Reference kernels of the zero-skipping first dense layer (see assembly/sparse.ts): the input
// row is compressed to its nonzeros, and forward and weight gradient loop over those only.
// Shapes: x (B,D) input rows, W and dW (O,D) as in the dense layer, y and dy (B,O); row b's
// nonzeros are rows.idx/val[start[b], start[b] + cnt[b]).
import type { SparseRows } from '../backend.js';

/** Row b's nonzeros to slots [b*D, b*D + cnt[b]) of rows.idx/val; returns their total. */
export function sparseRows(rows: SparseRows, x: Float32Array, B: number, D: number): number {
  const { idx, val, start, cnt } = rows;
  let total = 0;
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let k = 0; k < D; k++) {
      const v = x[b * D + k];
      if (v !== 0) {
        idx[b * D + n] = k;
        val[b * D + n] = v;
        n++;
      }
    }
    start[b] = b * D;
    cnt[b] = n;
    total += n;
  }
  return total;
}

/** forward: y[b,o] = bias[o] + sum over row b's nonzeros (k, v) of v * W[o,k]. */
export function sparseForward(y: Float32Array, rows: SparseRows, W: Float32Array, bias: Float32Array | null,
  B: number, D: number, O: number): void {
  const { idx, val, start, cnt } = rows;
  for (let b = 0; b < B; b++) {
    const s = start[b];
    for (let o = 0; o < O; o++) {
      let sum = 0;
      for (let n = 0; n < cnt[b]; n++) sum += val[s + n] * W[o * D + idx[s + n]];
      if (bias) sum += bias[o];
      y[b * O + o] = sum;
    }
  }
}

/** backward: dW[o,k] += v * dy[b,o] for each nonzero (k, v) of row b (dW += dyᵀ x). */
export function sparseWeightGrad(dW: Float32Array, rows: SparseRows, dy: Float32Array, B: number, D: number,
  O: number): void {
  const { idx, val, start, cnt } = rows;
  for (let b = 0; b < B; b++) {
    const s = start[b];
    for (let n = 0; n < cnt[b]; n++) {
      const k = idx[s + n];
      const v = val[s + n];
      for (let o = 0; o < O; o++) dW[o * D + k] += v * dy[b * O + o];
    }
  }
}
