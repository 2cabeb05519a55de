// Parameter initialization rules, drawn from the run's one PRNG in arena order (W1, b1, W2, ...):
//   he       W ~ N(0, 2/fanIn), b = 0                      (He et al. 2015, for ReLU)
//   glorot   W ~ U(-a, a), a = sqrt(6/(fanIn+fanOut)), b = 0  (Glorot & Bengio 2010)
//   uniform  W, b ~ U(-0.5, 0.5)                            (the seed: np.random.rand(...) - 0.5)
// Batch normalization starts as the identity under every rule: gamma = var = 1, beta = mean = 0
// (nothing drawn).
import type { Rng } from '../util/rng.js';
import type { InitRule, ParamDef } from './layer.js';

/** Fills one parameter tensor according to rule. */
export function initParam(out: Float32Array, def: ParamDef, rule: InitRule, rng: Rng): void {
  const n = out.length;
  if (def.role === 'gamma' || def.role === 'var') {
    out.fill(1);
  } else if (def.role === 'beta' || def.role === 'mean') {
    out.fill(0);
  } else if (rule === 'uniform') {
    for (let i = 0; i < n; i++) out[i] = rng.float() - 0.5;
  } else if (def.role === 'b') {
    out.fill(0);
  } else if (rule === 'he') {
    const std = Math.sqrt(2 / def.fanIn);
    for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  } else {
    const a = Math.sqrt(6 / (def.fanIn + def.fanOut));
    for (let i = 0; i < n; i++) out[i] = (2 * rng.float() - 1) * a;
  }
}
