// A pool of worker_threads that run kernel exports on the one shared WebAssembly.Memory.
//
// Protocol (layout in layout.ts): for each worker it uses, the main thread writes FN and the
// arguments into the worker's slot, sets PENDING to the number of workers started, bumps the
// slot's SEQ and calls Atomics.notify on it. Each worker sleeps in Atomics.wait on its SEQ, runs
// the kernel, counts PENDING down and notifies PENDING when it reaches 0. Meanwhile the main thread
// runs its own share, then sleeps in Atomics.wait on PENDING (100 ms slices, so a worker that
// reported it cannot start, or a worker gone silent past the timeout, ends the wait with an Error
// instead of a hang). Nobody spins: on a busy 2-core machine a spinning thread can take the core
// that the thread it waits for needs (12 ms stalls were measured).
//
// Measured round trip on this machine (2-core AMD EPYC, Node 20, load average about 5): an empty
// kernel on one worker, start() + join(), 12 us median (p10 10, p90 20). backend.ts derives its
// split thresholds from it.
import { Worker } from 'node:worker_threads';
import { LAYOUT as L } from './layout.js';
import { WORKER_SOURCE } from './worker_source.js';

export interface PoolOptions {
  /** Threads in all, the main thread included (so threads - 1 workers). */
  threads: number;
  /** Longest a call may wait for its workers before it fails (default 120 s). */
  timeoutMs?: number;
}

/** Worker threads running exports of one compiled kernel module over one shared memory. */
export class ThreadPool {
  /** Threads in all, the main thread included. */
  readonly threads: number;
  private readonly workers: Worker[] = [];
  private readonly names: string[];
  private readonly index = new Map<string, number>();
  private readonly I: Int32Array;
  private readonly F: Float64Array;
  private readonly U8: Uint8Array;
  private readonly timeoutMs: number;
  private started: number[] = [];
  private broken: string | null = null;
  private disposed = false;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, opts: PoolOptions) {
    const threads = Math.floor(opts.threads);
    if (!(threads >= 1)) throw new Error(`threads must be at least 1, got ${opts.threads}`);
    this.threads = threads;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
    this.names.forEach((n, i) => this.index.set(n, i));
    const control = new SharedArrayBuffer(L.HEADER_BYTES + (threads - 1) * L.SLOT_BYTES);
    this.I = new Int32Array(control);
    this.F = new Float64Array(control);
    this.U8 = new Uint8Array(control);
    for (let slot = 0; slot < threads - 1; slot++) {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, names: this.names, control, slot },
        // Kernels need no heap of their own; keep each worker's JS heap small.
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
      });
      // Workers never keep the process alive: it exits normally without dispose().
      w.unref();
      w.on('error', (e) => { this.broken ??= `worker thread ${slot + 1} crashed: ${e.message}`; });
      w.on('exit', (code) => {
        if (!this.disposed) this.broken ??= `worker thread ${slot + 1} exited (code ${code})`;
      });
      this.workers.push(w);
    }
  }

  /** Index of an exported kernel, for start(); throws if the module has no such export. */
  fn(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`the kernel module has no export '${name}': run \`npm run build\``);
    return i;
  }

  /** Starts kernel `fn` (from fn()) on worker `w` (1 .. threads-1) with `args`; join() waits for it. */
  start(w: number, fn: number, args: ArrayLike<number>): void {
    if (this.broken) throw new Error(`thread pool is unusable: ${this.broken}`);
    if (this.disposed) throw new Error('thread pool was disposed');
    if (w < 1 || w >= this.threads) throw new Error(`no worker ${w} in a pool of ${this.threads} threads`);
    if (args.length > L.MAX_ARGS) throw new Error(`too many kernel arguments (${args.length})`);
    const base = (L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES) >> 2;
    const argBase = (L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES + L.ARGS_OFFSET) >> 3;
    const I = this.I;
    for (let i = 0; i < args.length; i++) this.F[argBase + i] = args[i];
    I[base + L.FN] = fn;
    I[base + L.NARGS] = args.length;
    I[base + L.STATUS] = 0;
    Atomics.add(I, L.PENDING, 1);
    // The seq-cst store publishes the plain writes above to the worker's Atomics.load.
    Atomics.add(I, base + L.SEQ, 1);
    Atomics.notify(I, base + L.SEQ, 1);
    this.started.push(w);
  }

  /**
   * Waits until every worker started since the last join has finished. Throws an Error naming
   * `kernel` and the worker's message if one failed.
   */
  join(kernel: string): void {
    if (this.started.length === 0) return;
    const I = this.I;
    const deadline = Date.now() + this.timeoutMs;
    let p: number;
    while ((p = Atomics.load(I, L.PENDING)) !== 0) {
      Atomics.wait(I, L.PENDING, p, 100);
      if (Atomics.load(I, L.PENDING) !== 0 && Date.now() > deadline) {
        this.broken = `a worker did not finish ${kernel} within ${this.timeoutMs} ms`;
        this.started = [];
        throw new Error(`thread pool: ${this.broken}`);
      }
    }
    const failed: string[] = [];
    for (const w of this.started) {
      const base = (L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES) >> 2;
      const status = I[base + L.STATUS];
      if (status !== 0) {
        const off = L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES + L.MSG_OFFSET;
        const msg = Buffer.from(this.U8.slice(off, off + I[base + L.MSGLEN])).toString('utf8');
        failed.push(`worker thread ${w}: ${msg}`);
        if (status === 2) this.broken = `worker thread ${w} ${msg}`;
      }
    }
    this.started = [];
    if (failed.length) throw new Error(`kernel ${kernel} failed in ${failed.join('; ')}`);
  }

  /** Worker threads that have instantiated the module (for tests and the benchmark). */
  ready(): number {
    let n = 0;
    for (let w = 1; w < this.threads; w++) {
      n += Atomics.load(this.I, ((L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES) >> 2) + L.READY);
    }
    return n;
  }

  /** Stops and terminates the workers; the pool cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (let w = 1; w < this.threads; w++) {
      const base = (L.HEADER_BYTES + (w - 1) * L.SLOT_BYTES) >> 2;
      this.I[base + L.FN] = -1;
      Atomics.add(this.I, base + L.SEQ, 1);
      Atomics.notify(this.I, base + L.SEQ);
    }
    for (const w of this.workers) void w.terminate();
  }
}
