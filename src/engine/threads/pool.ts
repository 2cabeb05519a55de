// A pool of worker_threads that run kernel exports on the one shared WebAssembly.Memory.
//
// Protocol (layout in layout.ts). A call is one kernel over a range [0, TOTAL) cut into chunks of
// CHUNK_LEN; every argument is linear in the chunk's start (pointers advance, the count becomes
// the chunk's length). The main thread writes the call into the header, resets DONE, publishes
// CLAIM = (gen, next 1, count) (chunk 0 is its own), bumps SEQ and Atomics.notify()s as many
// workers as there are chunks beyond its own. Then everyone, the main thread after its chunk 0,
// takes chunks with a compareExchange on CLAIM until none is left; each finished chunk counts DONE
// up. The main
// thread finally spins, then sleeps in Atomics.wait on DONE (100 ms slices, checking for a worker
// that could not start and for the timeout) until DONE equals the count.
//
// Why chunks are taken rather than handed out: on a busy machine a worker may wake late. Then the
// main thread takes the late worker's chunks itself instead of waiting for it, and a worker that
// wakes after the call is over finds nothing to take. Which thread runs a chunk never changes the
// result: each output element is computed by one chunk with the same code and order of operations.
// Threads spin only briefly (LAYOUT.SPIN_MS) before they sleep: waking from Atomics.wait costs
// tens of microseconds, paid twice per call (the worker's start, the main thread's return), and a
// training step makes its split calls microseconds apart. The spin is bounded: on a busy machine
// a spinning thread can take the core that the thread it waits for needs.
// The round trip of a call (wake, chunk, wait) is what the split thresholds in ../tuning.ts are
// weighed against; bench/tune.ts measures it.
import { startWorker, WORKERS_START_WHILE_BLOCKED, type WorkerHandle } from '../../platform/system.js';
import { LAYOUT as L } from './layout.js';
import { WORKER_SOURCE } from './worker_source.js';

export interface PoolOptions {
  /** Threads in all, the main thread included (so threads - 1 workers). */
  threads: number;
  /** Longest a call may wait for its workers before it fails (default 120 s). */
  timeoutMs?: number;
  /** Longest the constructor waits for the workers to start (default 10 s). */
  readyTimeoutMs?: number;
}

/** One kernel call split into chunks over [0, total); see the protocol above. */
export interface SplitCall {
  /** Export name (for messages and the main thread's call). */
  kernel: string;
  /** Arguments for the range starting at 0. */
  base: number[];
  /** Per-element step of each argument (0 for those that stay). */
  coef: number[];
  /** Which argument receives the chunk's length. */
  countArg: number;
  /** Which argument is the per-thread scratch pointer, or -1. */
  scratchArg: number;
  /** Its value for each thread (index 0: the main thread), when scratchArg >= 0. */
  scratch?: number[];
  /** Which argument is a u32 that moves by imul(start, coef) mod 2^32 (dropout's seed), or -1. */
  wrapArg: number;
  total: number;
  chunkLen: number;
}

/** Worker threads running exports of one compiled kernel module over one shared memory. */
export class ThreadPool {
  /** Threads in all, the main thread included. */
  readonly threads: number;
  private readonly workers: WorkerHandle[] = [];
  private readonly index = new Map<string, number>();
  private readonly exports: Record<string, (...a: number[]) => unknown>;
  private readonly I: Int32Array;
  private readonly F: Float64Array;
  private readonly U8: Uint8Array;
  private readonly timeoutMs: number;
  private readonly args: number[] = [];
  private gen = 0;
  private broken: string | null = null;
  private disposed = false;

  /** `exports` are the main thread's instance of `module` on `memory`. */
  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, exports: object, opts: PoolOptions) {
    const threads = Math.floor(opts.threads);
    if (!(threads >= 1)) throw new Error(`threads must be at least 1, got ${opts.threads}`);
    this.threads = threads;
    this.exports = exports as Record<string, (...a: number[]) => unknown>;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    const names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
    names.forEach((n, i) => this.index.set(n, i));
    const control = new SharedArrayBuffer(L.HEADER_BYTES + (threads - 1) * L.SLOT_BYTES);
    this.I = new Int32Array(control);
    this.F = new Float64Array(control);
    this.U8 = new Uint8Array(control);
    for (let slot = 0; slot < threads - 1; slot++) {
      // Node worker_threads or Web Workers (src/platform/system.ts): the same body either way.
      this.workers.push(startWorker(WORKER_SOURCE, { module, memory, names, control, slot }, (why) => {
        if (!this.disposed) this.broken ??= `worker thread ${slot + 1} ${why}`;
      }));
    }
    // A Web Worker starts only once this thread returns to its event loop: waiting here would
    // only time out. Until they run, this thread takes every chunk (the same bits either way).
    if (WORKERS_START_WHILE_BLOCKED) this.waitReady(opts.readyTimeoutMs ?? 10_000);
  }

  /**
   * Waits until every worker has started (instantiated the module, or failed to): without it the
   * first calls of a run, up to 100 ms of them, run on the main thread alone, which skews short
   * benchmarks. Past the timeout it returns anyway (the calls still complete without the worker).
   * A worker whose start fails counts itself too; only one that dies first (its 'exit' event cannot
   * run during this synchronous wait) costs the timeout.
   */
  private waitReady(timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    let n: number;
    while ((n = Atomics.load(this.I, L.READY)) < this.threads - 1 && Date.now() < deadline) {
      Atomics.wait(this.I, L.READY, n, 50);
    }
  }

  /**
   * Runs one split call on every thread (this one included) and returns when all its chunks are
   * done. Throws an Error naming the kernel and the thread if a chunk failed (a
   * WebAssembly.RuntimeError when every failure was a trap).
   */
  run(c: SplitCall): void {
    if (this.broken) throw new Error(`thread pool is unusable: ${this.broken}`);
    if (this.disposed) throw new Error('thread pool was disposed');
    const fn = this.index.get(c.kernel);
    if (fn === undefined) throw new Error(`the kernel module has no export '${c.kernel}': run \`npm run build\``);
    const count = Math.ceil(c.total / c.chunkLen);
    if (count > L.MAX_CHUNKS || c.base.length > L.MAX_ARGS) throw new Error(`bad split of ${c.kernel}`);
    if (count === 0) return;
    const I = this.I, F = this.F;
    I[L.FN] = fn;
    I[L.NARGS] = c.base.length;
    I[L.COUNT_ARG] = c.countArg;
    I[L.SCRATCH_ARG] = c.scratchArg;
    if (c.scratchArg >= 0) {
      for (let w = 1; w < this.threads; w++) F[((L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES) >> 3) + L.SCRATCH] = c.scratch![w];
    }
    I[L.WRAP_ARG] = c.wrapArg;
    I[L.CHUNK_LEN] = c.chunkLen;
    I[L.TOTAL] = c.total;
    for (let i = 0; i < c.base.length; i++) { F[L.BASE + i] = c.base[i]; F[L.COEF + i] = c.coef[i]; }
    Atomics.store(I, L.DONE, 0);
    this.gen = (this.gen + 1) & 0x7fff;
    // The seq-cst store publishes every plain write above to the threads that read CLAIM. Chunk 0
    // is this thread's already (next = 1): a spinning worker would otherwise often take it while
    // this thread is still in notify(), and which core gets which rows would change from call to
    // call. Calls that split a batch by rows then give each thread the same rows every time, so it
    // reads back the rows it wrote (a cache line written on one core and read on the other is a
    // transfer between them).
    Atomics.store(I, L.CLAIM, (this.gen << 16) | (1 << 8) | count);
    if (count > 1 && this.threads > 1) {
      Atomics.add(I, L.SEQ, 1);
      Atomics.notify(I, L.SEQ, Math.min(this.threads - 1, count - 1));
    }
    // This thread's share: chunk 0, then the same claim loop as the workers'.
    let mainError: string | null = null;
    const kernel = this.exports[c.kernel];
    for (let first = true; ; first = false) {
      const t = Atomics.load(I, L.CLAIM);
      const next = first ? 0 : (t >>> 8) & 255;
      if (next >= count) break;
      if (!first && Atomics.compareExchange(I, L.CLAIM, t, t + 256) !== t) continue;
      const s = next * c.chunkLen;
      const args = this.args;
      args.length = c.base.length;
      for (let i = 0; i < args.length; i++) args[i] = c.base[i] + s * c.coef[i];
      args[c.countArg] = Math.min(c.total, s + c.chunkLen) - s;
      if (c.wrapArg >= 0) args[c.wrapArg] = (c.base[c.wrapArg] + Math.imul(s, c.coef[c.wrapArg])) >>> 0;
      if (c.scratchArg >= 0) args[c.scratchArg] = c.scratch![0];
      try {
        kernel.apply(null, args);
      } catch (e) {
        mainError ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      Atomics.add(I, L.DONE, 1);
    }
    this.wait(c.kernel, count);
    const failed = mainError ? [`the main thread: ${mainError}`] : [];
    let traps = mainError === null || mainError.startsWith('RuntimeError');
    for (let w = 1; w < this.threads; w++) {
      const base = (L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES) >> 2;
      const status = I[base + L.STATUS];
      if (status === 1) {
        const msg = this.message(w);
        failed.push(`worker thread ${w}: ${msg}`);
        traps &&= msg.startsWith('RuntimeError');
        I[base + L.STATUS] = 0;
      } else if (status === 2) {
        traps = false;
        // It took no chunk, so this call is complete; say so loudly all the same.
        this.broken = `worker thread ${w} ${this.message(w)}`;
        failed.push(this.broken);
      }
    }
    if (failed.length) {
      // Traps stay WebAssembly.RuntimeErrors, as from a one-thread call (the backend names them).
      const msg = `kernel ${c.kernel} failed in ${failed.join('; ')}`;
      throw traps ? new WebAssembly.RuntimeError(msg) : new Error(msg);
    }
  }

  /** Sleeps until DONE reaches count (chunks still running on workers), or fails at the timeout. */
  private wait(kernel: string, count: number): void {
    const I = this.I;
    const deadline = Date.now() + this.timeoutMs;
    let d: number;
    // The workers' chunks usually end within microseconds of ours: spin a moment before sleeping.
    const until = performance.now() + L.SPIN_MS;
    while (Atomics.load(I, L.DONE) !== count && performance.now() < until) { /* spin */ }
    while ((d = Atomics.load(I, L.DONE)) !== count) {
      Atomics.wait(I, L.DONE, d, 100);
      if (Atomics.load(I, L.DONE) !== count && Date.now() > deadline) {
        this.broken = `a worker did not finish ${kernel} within ${this.timeoutMs} ms`;
        throw new Error(`thread pool: ${this.broken}`);
      }
    }
  }

  private message(w: number): string {
    const base = (L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES);
    const len = this.I[(base >> 2) + L.MSGLEN];
    return new TextDecoder().decode(this.U8.slice(base + L.MSG_OFFSET, base + L.MSG_OFFSET + len));
  }

  /** Stops and terminates the workers; the pool cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.I, L.STOP, 1);
    Atomics.add(this.I, L.SEQ, 1);
    Atomics.notify(this.I, L.SEQ);
    for (const w of this.workers) w.terminate();
  }
}
