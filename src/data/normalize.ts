// Input normalization: u8 pixels -> the floats a network sees. Grey data (MNIST) uses one scale
// and shift (x = u8/255 by default); colour data uses a mean and std per channel, measured on the
// training set and kept in the checkpoint, so eval, infer and the library see what training saw.
import type { Dataset } from './dataset.js';

/**
 * Input normalization x = u8 * scale + shift; when mean and std are present (one per channel, in
 * 0..1 units, from the training set), x = (u8/255 - mean[c]) / std[c] in channel c instead.
 */
export interface Normalization { scale: number; shift: number; mean?: number[]; std?: number[] }

/** The normalization as a (C,2) table [scale0, shift0, scale1, ...] for C channels. */
export function channelNorm(n: Normalization, C: number): Float32Array {
  const out = new Float32Array(2 * C);
  for (let c = 0; c < C; c++) {
    const per = n.mean && n.std && n.mean.length === C;
    out[2 * c] = per ? 1 / (255 * n.std![c]) : n.scale;
    out[2 * c + 1] = per ? -n.mean![c] / n.std![c] : n.shift;
  }
  return out;
}

/** The normalization a config trains with. */
export function normalizationOf(c: Normalization): Normalization {
  return c.mean && c.std ? { scale: c.scale, shift: c.shift, mean: c.mean, std: c.std } : { scale: c.scale, shift: c.shift };
}

/**
 * Mean and standard deviation of each channel over every training pixel, in 0..1 units (as
 * torchvision's Normalize takes them). A constant channel gets std 1/255, not 0.
 */
export function channelStats(ds: Dataset): { mean: number[]; std: number[] } {
  const C = ds.channels ?? 1, P = ds.height * ds.width, D = C * P;
  const mean: number[] = [], std: number[] = [];
  for (let c = 0; c < C; c++) {
    let sum = 0, sq = 0;
    for (let i = 0; i < ds.n; i++) {
      const o = i * D + c * P;
      for (let p = 0; p < P; p++) { const v = ds.images[o + p]; sum += v; sq += v * v; }
    }
    const n = ds.n * P, m = sum / n;
    mean.push(+(m / 255).toFixed(6));
    std.push(+(Math.max(1, Math.sqrt(Math.max(0, sq / n - m * m))) / 255).toFixed(6));
  }
  return { mean, std };
}

