// Seeded inputs for the benchmark cases (cases.ts, sparse.ts).
import type { Backend } from '../src/engine/backend.js';
import { Rng } from '../src/util/rng.js';

/** n seeded uniform floats in [lo, hi) in be's memory. */
export function randF32(be: Backend, n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new Rng(seed);
  const a = be.f32(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.float();
  return a;
}
