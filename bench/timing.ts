// Step two: warm up, then time with Benchmark.js (many cycles, each at least minTime long, and the
// sample of per-call periods it keeps). Slow calls get a few single-call samples instead.
import Benchmark from 'benchmark';
import type { Timing } from './types.js';

export interface TimingOptions {
  quick: boolean;
  /** Seconds of the first call, from verification: picks the sampling plan. */
  first: number;
}

/**
 * Runs fn until it has run on V8's optimizing tier: WASM starts on the baseline compiler
 * (4-12 ms calls at 2-7 GFLOP/s), so the first calls must not be timed.
 */
export function warmUp(fn: () => void, budgetS: number, minCalls: number): void {
  const t0 = performance.now();
  let n = 0;
  do { fn(); n++; } while (n < minCalls || (n < 200 && performance.now() - t0 < budgetS * 1e3));
}

/** Median, min and max seconds per call of fn. */
export function measure(fn: () => void, o: TimingOptions): Timing {
  // Calls over a second (plain TS or the naive twin at 1024^3): the verification call was the
  // warm-up, and two samples bound the wait.
  const slow = o.first > 0.25, verySlow = o.first > 1;
  if (!verySlow) warmUp(fn, slow ? 0 : o.quick ? 0.05 : 0.2, slow ? 1 : 3);
  const bench = new Benchmark(fn, slow
    ? { minSamples: o.quick || verySlow ? 2 : 3, maxTime: 0, minTime: 0, initCount: 1 }
    : { minSamples: o.quick ? 5 : 10, maxTime: o.quick ? 0.15 : 1, minTime: o.quick ? 0.02 : 0.05 });
  bench.run({ async: false });
  const err = (bench as unknown as { error?: unknown }).error;
  if (err) throw err;
  const s = bench.stats.sample.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], samples: s.length };
}
