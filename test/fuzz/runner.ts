// The fuzz case runner: feeds seeded mutations of valid files to a loader and sorts every case into
//   ok        the loader returned, and the result passed the format's invariants (and equals the
//             known answer when the file was not changed)
//   clean     the loader threw the project's UserError (one line, says what to do)
//   failure   anything else: another exception type, a raw WebAssembly trap, a result that breaks
//             the invariants, a case over its time bound, an allocation out of proportion to the
//             input (ArrayBuffer memory or WASM memory up by more than maxAllocBytes), or output
//             written to the console (it would corrupt a CLI's --json answer)
// Synchronous targets run under a vm watchdog (node:vm `timeout`), which interrupts a loop that
// never ends; async targets (image decoding awaits a dynamic import) are timed and a case over
// the bound counts as a failure. Failing inputs are written to a folder so they can be replayed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import { UserError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';
import { caseSeed, mutate, type Seed } from './mutate.js';

/** What a target does with one mutated file. Return value is checked by `check`. */
export interface FuzzTarget<R> {
  format: string;
  seeds: Seed[];
  /** Loads the bytes (writing them to a file first if the loader wants a path). */
  run(bytes: Uint8Array, seed: Seed): R | Promise<R>;
  /** Whether run is synchronous (then a vm watchdog bounds its time). */
  sync: boolean;
  /** Throws (any Error) if a returned result breaks the format's invariants. */
  check(result: R, unchanged: boolean, seed: Seed): void;
  /** Called after each case (frees backend memory, for example). */
  cleanup?(): void;
  /** Extra memory the target holds that the process counters miss (WASM memory bytes). */
  extraBytes?(): number;
}

export interface FuzzOptions {
  cases: number;
  baseSeed: number;
  /** Per-case time bound in ms. */
  timeoutMs: number;
  /** Largest allowed growth of ArrayBuffer (or WASM) memory during one case. */
  maxAllocBytes: number;
  /** Where failing inputs are saved (null: not saved). */
  failDir: string | null;
}

export interface Failure { caseIndex: number; seed: number; kind: string; why: string; file: string | null }

export interface Tally {
  format: string;
  cases: number;
  ok: number;
  clean: number;
  failures: Failure[];
  /** Cases per mutation kind (prefix before ':'), and how they ended. */
  byKind: Map<string, { cases: number; ok: number; clean: number; failed: number }>;
  slowestMs: number;
  /** Cases in which a loader (or a package under it) wrote to the console: it would corrupt --json output. */
  strayOutput: number;
  strayExample: string;
  /** Largest ArrayBuffer (+ WASM) growth seen in one case. */
  maxAllocBytes: number;
  /** Peak RSS (ru_maxrss) before and after the run, bytes. */
  peakRssBefore: number;
  peakRssAfter: number;
  seconds: number;
}

const watchdog = createContext({ __fuzzCall: null as null | (() => unknown) });

/** fn() interrupted after timeoutMs (throws an Error with code ERR_SCRIPT_EXECUTION_TIMEOUT). */
function runBounded<R>(fn: () => R, timeoutMs: number): R {
  (watchdog as any).__fuzzCall = fn;
  try {
    return runInContext('__fuzzCall()', watchdog, { timeout: timeoutMs, breakOnSigint: false }) as R;
  } finally {
    (watchdog as any).__fuzzCall = null;
  }
}

const peakRss = () => process.resourceUsage().maxRSS * 1024;

/** Runs `opts.cases` seeded cases of target and counts how they end. */
export async function fuzz<R>(target: FuzzTarget<R>, opts: FuzzOptions): Promise<Tally> {
  const t: Tally = {
    format: target.format, cases: 0, ok: 0, clean: 0, failures: [], byKind: new Map(), slowestMs: 0, strayOutput: 0, strayExample: '',
    maxAllocBytes: 0, peakRssBefore: peakRss(), peakRssAfter: 0, seconds: 0,
  };
  const t0 = performance.now();
  for (let i = 0; i < opts.cases; i++) {
    const s = caseSeed(opts.baseSeed, target.format, i);
    const rng = new Rng(s);
    const seed = target.seeds[rng.int(target.seeds.length)];
    const m = mutate(seed, rng);
    const kindKey = m.kind.split(':')[0];
    const mem0 = process.memoryUsage().arrayBuffers + (target.extraBytes?.() ?? 0);
    const c0 = performance.now();
    // Catch console writes from the loaders (silenced here, counted in the tally).
    const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
    let stray = '';
    const capture = (...a: unknown[]) => { stray ||= a.map(String).join(' '); };
    console.log = console.warn = console.error = console.info = capture;
    let outcome: 'ok' | 'clean' | 'failed';
    let why = '';
    try {
      const r = target.sync
        ? runBounded(() => target.run(m.bytes, seed) as R, opts.timeoutMs)
        : await target.run(m.bytes, seed);
      target.check(r, m.kind === 'none', seed);
      outcome = 'ok';
    } catch (e) {
      Object.assign(console, saved);
      if (e instanceof UserError) {
        outcome = 'clean';
        if (/\n/.test(e.message.trim())) { outcome = 'failed'; why = `UserError message spans lines: ${e.message}`; }
      } else {
        outcome = 'failed';
        const err = e as Error & { code?: string };
        if (err?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') why = `no answer within ${opts.timeoutMs} ms (hang)`;
        else if (e instanceof WebAssembly.RuntimeError) why = `raw WebAssembly trap: ${err.message}`;
        else why = `${err?.name ?? typeof e}: ${String(err?.message ?? e).split('\n')[0]}`;
      }
    }
    Object.assign(console, saved);
    if (stray) {
      t.strayOutput++;
      t.strayExample ||= stray.slice(0, 80);
      // Console output from a loader lands in stdout and corrupts `--json` answers.
      if (outcome !== 'failed') { outcome = 'failed'; why = `wrote to the console: ${stray.slice(0, 80)}`; }
    }
    const ms = performance.now() - c0;
    const grown = process.memoryUsage().arrayBuffers + (target.extraBytes?.() ?? 0) - mem0;
    try { target.cleanup?.(); } catch { /* a cleanup failure shows up in the next case */ }
    if (outcome !== 'failed' && ms > opts.timeoutMs) { outcome = 'failed'; why = `took ${ms.toFixed(0)} ms (bound ${opts.timeoutMs} ms)`; }
    if (outcome !== 'failed' && grown > opts.maxAllocBytes) {
      outcome = 'failed';
      why = `memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB for a ${m.bytes.length}-byte input (bound ${(opts.maxAllocBytes / 2 ** 20).toFixed(0)} MiB)`;
    }
    t.cases++;
    t.slowestMs = Math.max(t.slowestMs, ms);
    t.maxAllocBytes = Math.max(t.maxAllocBytes, grown);
    const k = t.byKind.get(kindKey) ?? { cases: 0, ok: 0, clean: 0, failed: 0 };
    k.cases++;
    if (outcome === 'ok') { t.ok++; k.ok++; } else if (outcome === 'clean') { t.clean++; k.clean++; } else {
      k.failed++;
      let file: string | null = null;
      if (opts.failDir) {
        mkdirSync(opts.failDir, { recursive: true });
        file = join(opts.failDir, `${target.format}-${opts.baseSeed}-${i}.bin`);
        writeFileSync(file, m.bytes);
      }
      t.failures.push({ caseIndex: i, seed: s, kind: m.kind, why, file });
    }
    t.byKind.set(kindKey, k);
  }
  t.peakRssAfter = peakRss();
  t.seconds = (performance.now() - t0) / 1000;
  return t;
}

/** The tally table, one row per format, and the first failures of each. */
export function formatTallies(tallies: Tally[]): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const rows = [['format', 'cases', 'ok', 'clean errors', 'failures', 'slowest', 'max alloc/case', 'seconds']];
  for (const t of tallies) {
    rows.push([t.format, String(t.cases), String(t.ok), String(t.clean), String(t.failures.length),
      `${t.slowestMs.toFixed(1)} ms`, mb(Math.max(0, t.maxAllocBytes)), t.seconds.toFixed(1)]);
  }
  const total = tallies.reduce((a, t) => ({ c: a.c + t.cases, o: a.o + t.ok, e: a.e + t.clean, f: a.f + t.failures.length }),
    { c: 0, o: 0, e: 0, f: 0 });
  rows.push(['total', String(total.c), String(total.o), String(total.e), String(total.f), '', '', '']);
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const lines = rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join('  '));
  for (const t of tallies) {
    if (t.strayOutput) lines.push(`note ${t.format}: ${t.strayOutput} cases wrote to the console, e.g. "${t.strayExample}"`);
    for (const f of t.failures.slice(0, 5)) {
      lines.push(`FAIL ${t.format} case ${f.caseIndex} (${f.kind}): ${f.why}${f.file ? ` [${f.file}]` : ''}`);
    }
  }
  return lines.join('\n');
}

/** Per mutation kind: cases, ok, clean, failed (for one format). */
export function formatKinds(t: Tally): string {
  return [...t.byKind.entries()].sort()
    .map(([k, v]) => `${k} ${v.cases} (${v.ok} ok, ${v.clean} clean, ${v.failed} failed)`).join('; ');
}
