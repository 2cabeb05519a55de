// Step two: warm up, then time with Benchmark.js (cycles of at least minTime, and the sample of
// per-call periods it keeps). The bench takes samples in rounds over the backends, so a neighbour
// process that loads the (shared, 2-core) machine for a while hits every backend alike and the
// ratios stay fair. Slow calls get a few single-call samples instead.
import Benchmark from 'benchmark';
import type { Timing } from './types.js';

export interface SampleOptions {
  quick: boolean;
  /** Seconds of the first call, from verification: picks the sampling plan. */
  first: number;
  /** Which round this is (warm-up happens in round 0), and how many there are. */
  round: number;
  rounds: number;
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

/** Whether a case is slow enough to be timed in round 0 only, with a couple of single calls. */
export function isSlow(first: number, quick: boolean): boolean {
  return first > (quick ? 0.05 : 0.25);
}

/** Seconds per call of fn, one entry per Benchmark.js cycle, for one round. */
export function sampleRound(fn: () => void, o: SampleOptions): number[] {
  // Calls over a second (plain TS or the naive twin at 1024^3): the verification call was the
  // warm-up, and two samples bound the wait.
  const slow = isSlow(o.first, o.quick), verySlow = o.first > 1;
  if (o.round === 0 && !verySlow) warmUp(fn, slow ? 0 : o.quick ? 0.05 : 0.2, slow ? 1 : 3);
  const bench = new Benchmark(fn, slow
    ? { minSamples: o.quick || verySlow ? 2 : 3, maxTime: 0, minTime: 0, initCount: 1 }
    : {
      minSamples: Math.ceil((o.quick ? 4 : 12) / o.rounds),
      maxTime: (o.quick ? 0.1 : 1) / o.rounds,
      minTime: o.quick ? 0.02 : 0.05,
    });
  bench.run({ async: false });
  const err = (bench as unknown as { error?: unknown }).error;
  if (err) throw err;
  return bench.stats.sample.slice();
}

/** Median, min and max of per-call samples. */
export function summarize(sample: number[]): Timing {
  const s = sample.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], samples: s.length };
}
