// node dist/bench/tune.js [--threads N]
//
// Re-derives the thread thresholds of src/engine/tuning.ts on this machine. It measures the round
// trip of a split call (wake the workers, run an empty chunk each, wait) and each element-wise
// kernel's one-thread cost per element, then applies the tuning module's rule: split a call when
// its one-thread work is at least ROUND_TRIPS round trips. Prints each threshold as it is and as
// the rule puts it here (a power of two); edit tuning.ts by hand and record the run in
// bench/results/. The gemm paths are tuned by comparing paths in `npm run bench`, not here.
import { cpus } from 'node:os';
import type { Activation, OptimizerKind } from '../src/engine/backend.js';
import { MIN_ELEMS } from '../src/engine/tuning.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { randF32 } from './rand.js';

/** One-thread work a split call must have, in round trips (a slow round trip and a cold cache still leave a gain). */
const ROUND_TRIPS = 5;
const N = 1 << 20;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median seconds of fn over `reps` calls, after a warm-up. */
function time(fn: () => void, reps: number): number {
  for (let i = 0; i < 20; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t.push((performance.now() - t0) / 1e3);
  }
  return median(t);
}

function main(): void {
  const i = process.argv.indexOf('--threads');
  const threads = i > 0 ? Number(process.argv[i + 1]) : 2;
  const pooled = new WasmBackend('simd', 64 << 20, threads);
  const pool = pooled.pool!;
  const out = pooled.f32(64), inp = pooled.f32(64);
  // identity activation over 16 floats per chunk: the call is all overhead
  const roundTrip = time(() => pool.run({
    kernel: 'activation_forward', base: [0, pooled.ptr(out), pooled.ptr(inp), 16 * threads, 0], coef: [0, 4, 4, 0, 0],
    countArg: 3, scratchArg: -1, wrapArg: -1, total: 16 * threads, chunkLen: 16,
  }), 2000);
  pooled.dispose();

  const be = new WasmBackend('simd', 64 << 20, 1);
  const x = randF32(be, N, 1, -4, 4), y = be.f32(N), d = randF32(be, N, 2), m = be.f32(N), v = be.f32(N);
  const act = (kind: Activation) => () => be.activationForward(kind, y, x, N, 0.01);
  const opt = (kind: OptimizerKind) => () => be.optimizerStep(y, d, m, v, N, {
    kind, lr: 1e-3, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1,
  });
  const rows: [keyof typeof MIN_ELEMS, string, () => void][] = [
    ['activationCheap', 'relu forward', act('relu')],
    ['activationCheap', 'relu backward', () => be.activationBackward('relu', y, d, x, N, 0.01)],
    ['activationCostly', 'tanh forward', act('tanh')],
    ['activationCostly', 'gelu forward', act('gelu')],
    ['sgd', 'sgd step', opt('sgd')],
    ['momentum', 'momentum step', opt('momentum')],
    ['adam', 'adam step', opt('adam')],
    ['dropoutForward', 'dropout forward', () => be.dropoutForward(y, m, x, N, 0.5, 7)],
    ['dropoutBackward', 'dropout backward', () => be.dropoutBackward(y, d, m, N)],
  ];
  console.log(`tune: ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${threads} threads`);
  console.log(`round trip of a split call: ${(roundTrip * 1e6).toFixed(1)} us (median of 2000); ` +
    `a split needs ${ROUND_TRIPS} of them: ${(ROUND_TRIPS * roundTrip * 1e6).toFixed(0)} us of one-thread work`);
  console.log(`${'MIN_ELEMS'.padEnd(18)} ${'kernel'.padEnd(18)} ${'ns/elem'.padStart(8)} ${'now'.padStart(9)} ${'rule'.padStart(9)}`);
  for (const [key, name, fn] of rows) {
    const perElem = time(fn, 30) / N;
    const rule = 2 ** Math.ceil(Math.log2(ROUND_TRIPS * roundTrip / perElem));
    console.log(`${key.padEnd(18)} ${name.padEnd(18)} ${(perElem * 1e9).toFixed(3).padStart(8)} ` +
      `${String(MIN_ELEMS[key]).padStart(9)} ${String(rule).padStart(9)}`);
  }
}

main();
