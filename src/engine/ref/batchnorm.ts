// Reference batch normalization per channel over (B, C, HW): channel c of sample b is the HW
// values at (b*C + c)*HW. A conv's output is (B, C, H*W); a dense layer's is (B, O, 1).
// Training, n = B*HW values per channel:
//   mean = sum x / n, var = sum (x - mean)^2 / n, invstd = 1 / sqrt(var + eps)
//   xhat = (x - mean) invstd, y = gamma xhat + beta
//   runMean += momentum (mean - runMean), runVar += momentum (var n/(n-1) - runVar)  (PyTorch's rule)
// Evaluation: y = gamma (x - runMean) / sqrt(runVar + eps) + beta.
// Backward (g = sum dy, h = sum dy xhat over the channel):
//   dgamma += h, dbeta += g, dx = gamma invstd (dy - g/n - xhat h/n)
// The forward keeps mean and invstd; the backward recomputes xhat from its input.
// Sums in f64 here; the kernels (assembly/batchnorm.ts) sum f32 lanes per sample into f64.
import type { BatchNormMode, BatchNormShape } from '../backend.js';

export function batchNormForward(y: Float32Array, mean: Float32Array, inp: Float32Array, gamma: Float32Array,
  beta: Float32Array, invstd: Float32Array, runMean: Float32Array, runVar: Float32Array,
  s: BatchNormShape, mode: BatchNormMode): void {
  const { B, C, HW } = s;
  const n = B * HW;
  const at = (b: number, c: number): number => (b * C + c) * HW;
  for (let c = 0; c < C; c++) {
    if (!mode.training) {
      const sc = Math.fround(gamma[c] / Math.sqrt(runVar[c] + mode.eps));
      const sh = Math.fround(beta[c] - Math.fround(runMean[c] * sc));
      for (let b = 0; b < B; b++) for (let i = at(b, c); i < at(b, c) + HW; i++) y[i] = inp[i] * sc + sh;
      continue;
    }
    let sum = 0;
    for (let b = 0; b < B; b++) for (let i = at(b, c); i < at(b, c) + HW; i++) sum += inp[i];
    const mu = sum / n;
    const m = Math.fround(mu);
    mean[c] = m;
    let sq = 0;
    for (let b = 0; b < B; b++) for (let i = at(b, c); i < at(b, c) + HW; i++) sq += (inp[i] - m) ** 2;
    const variance = sq / n;
    invstd[c] = 1 / Math.sqrt(variance + mode.eps);
    const unbiased = n > 1 ? sq / (n - 1) : variance;
    runMean[c] += mode.momentum * (mu - runMean[c]);
    runVar[c] += mode.momentum * (unbiased - runVar[c]);
    for (let b = 0; b < B; b++) {
      for (let i = at(b, c); i < at(b, c) + HW; i++) {
        y[i] = gamma[c] * ((inp[i] - m) * invstd[c]) + beta[c];
      }
    }
  }
}

export function batchNormBackward(dinp: Float32Array | null, dgamma: Float32Array, dbeta: Float32Array,
  dout: Float32Array, inp: Float32Array, gamma: Float32Array, mean: Float32Array, invstd: Float32Array,
  s: BatchNormShape): void {
  const { B, C, HW } = s;
  const n = B * HW;
  const at = (b: number, c: number): number => (b * C + c) * HW;
  for (let c = 0; c < C; c++) {
    const xhat = (i: number): number => (inp[i] - mean[c]) * invstd[c];
    let g = 0;
    let h = 0;
    for (let b = 0; b < B; b++) {
      for (let i = at(b, c); i < at(b, c) + HW; i++) {
        g += dout[i];
        h += dout[i] * xhat(i);
      }
    }
    dgamma[c] += h;
    dbeta[c] += g;
    if (!dinp) continue;
    const k = gamma[c] * invstd[c];
    for (let b = 0; b < B; b++) {
      for (let i = at(b, c); i < at(b, c) + HW; i++) dinp[i] = k * (dout[i] - g / n - xhat(i) * h / n);
    }
  }
}
