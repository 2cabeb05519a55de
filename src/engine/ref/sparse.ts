// Reference kernels of the zero-skipping first dense layer (see assembly/sparse.ts): the input
// row is compressed to its nonzeros, and forward and weight gradient loop over those only.
// Shapes: x (B,D) input rows, wt (D,ldw) the layer's W (O,D) transposed, y and dy (B,O).

/** idx/val[b*D, b*D + cnt[b]) = columns and values of row b's nonzeros; returns their total. */
export function sparseRows(idx: Int32Array, val: Float32Array, cnt: Int32Array, x: Float32Array,
  B: number, D: number): number {
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
    cnt[b] = n;
    total += n;
  }
  return total;
}

/** forward: y[b,o] = bias[o] + sum over row b's nonzeros (k, v) of v * wt[k,o]. */
export function sparseForward(y: Float32Array, idx: Int32Array, val: Float32Array, cnt: Int32Array,
  wt: Float32Array, bias: Float32Array | null, B: number, D: number, O: number, ldw: number): void {
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      let sum = 0;
      for (let n = 0; n < cnt[b]; n++) sum += val[b * D + n] * wt[idx[b * D + n] * ldw + o];
      if (bias) sum += bias[o];
      y[b * O + o] = sum;
    }
  }
}

/** backward: dwt[k,o] += v * dy[b,o] for each nonzero (k, v) of row b (dW = dyᵀ x, transposed). */
export function sparseWeightGrad(dwt: Float32Array, idx: Int32Array, val: Float32Array, cnt: Int32Array,
  dy: Float32Array, B: number, D: number, O: number, ldw: number): void {
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < cnt[b]; n++) {
      const row = idx[b * D + n] * ldw;
      const v = val[b * D + n];
      for (let o = 0; o < O; o++) dwt[row + o] += v * dy[b * O + o];
    }
  }
}

/** dst(C,ldd)[c,r] = src(R,lds)[r,c]. */
export function transpose(dst: Float32Array, src: Float32Array, R: number, C: number, lds: number,
  ldd: number): void {
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) dst[c * ldd + r] = src[r * lds + c];
  }
}
