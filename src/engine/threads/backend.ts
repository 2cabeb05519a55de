// The threaded `wasm` backend: the same kernels, with the big calls split over a worker pool that
// shares the module's memory (pool.ts). The main thread runs the first share itself.
//
// Split rules. Every output element is computed by exactly one thread, by the same code path and
// operation order as in a one-thread call, so results are bit-identical for any thread count:
//   gemm          rows of C (when M >= N) in blocks of 4 (the micro-kernel's MR), else columns
//                 in blocks of 16 (64 bytes: no two threads write one cache line), through
//                 gemm_strided with offset pointers. The kernel sums each element over k in one
//                 order wherever it sits (assembly/matmul.ts), so this is exact. Splitting the
//                 larger of M and N also duplicates the smaller packing work: a row split packs
//                 all of B (K*N) in each thread, a column split all of A (M*K).
//   element-wise  activations, dropout, optimizer step: ranges of 16 elements, so every range
//                 but the last has no N % 4 tail and the global tail stays on the tail code path.
//                 Dropout's mask hashes the global index: a range starting at i0 gets the seed
//                 seed + i0 * 0x9e3779b9 (mod 2^32), which draws the very same mask.
//   gather_batch  ranges of batch rows.
//   single thread softmax / cross-entropy / count_correct (reductions over a batch, tiny at
//                 B*C = 1280), bias_backward (the kernel has no row stride to split columns with;
//                 B*O = 65k adds cost about as much as one wake-up).
//
// Thresholds, from the sync cost measured on this machine (2-core EPYC, Node 20, Atomics
// round trip main <-> 1 worker 15-40 us median under load, see bench/peers.ts --threads): a split
// pays when the work saved (half of it with 2 threads) exceeds about twice that cost, i.e. about
// 60-80 us of one-thread work.
//   gemm:        at 25-30 GFLOP/s that is about 2 MFLOP   -> GEMM_MIN_FLOP
//   element-wise: measured per-element costs (ns/elem, one thread): relu fwd/bwd 0.1-0.3,
//                sigmoid/tanh 0.6-1, Adam 0.7-1, SGD 0.15, dropout 0.5, gather 0.2
//                -> split above MIN_ELEMS of each kind below.
import type { Activation, OptimizerStep } from '../backend.js';
import { ACTIVATION_CODE, OPTIMIZER_CODE } from '../backend.js';
import { WasmBackend, kernelModule, type WasmVariant } from '../wasm.js';
import { ThreadPool } from './pool.js';

/** Smallest gemm (2*M*N*K flop) that is split across threads. */
export const GEMM_MIN_FLOP = 2e6;
/** Smallest element counts that are split, per kernel family (cheap kernels need more). */
export const MIN_ELEMS = {
  cheap: 262144,     // relu / leaky / identity, dropout backward, SGD
  costly: 65536,     // sigmoid, tanh, dropout forward, momentum, Adam
  gatherBytes: 131072, // gather_batch: B*D pixels
} as const;

const GOLDEN = 0x9e3779b9;

/** wasm backend that runs large kernels on `threads` threads (the main thread included). */
export class ThreadedWasmBackend extends WasmBackend {
  /** Threads in all, the main thread included. */
  readonly threads: number;
  readonly pool: ThreadPool;
  private readonly scratches: number[];
  private readonly suffix: string;
  private readonly fnCache = new Map<string, number>();
  private parts: number[][] = [];

  constructor(variant: WasmVariant = 'simd', threads = 2, initialBytes?: number) {
    super(variant, initialBytes);
    this.suffix = variant === 'scalar' ? '_scalar' : '';
    this.pool = new ThreadPool(kernelModule(variant), this.memory, { threads });
    this.threads = this.pool.threads;
    this.scratches = [this.scratch];
    for (let t = 1; t < this.threads; t++) this.scratches.push(this.alloc(this.k.gemm_scratch_bytes()));
  }

  /** Stops the worker threads (optional: they never keep the process alive). */
  dispose(): void {
    this.pool.dispose();
  }

  // ---- splitting ----

  /**
   * Cuts [0, total) into at most `threads` ranges whose inner boundaries are multiples of
   * `unit`; returns the boundaries (length = ranges + 1).
   */
  private cuts(total: number, unit: number): number[] {
    const units = Math.ceil(total / unit);
    const n = Math.max(1, Math.min(this.threads, units));
    const out = [0];
    for (let p = 1; p < n; p++) out.push(Math.floor((p * units) / n) * unit);
    out.push(total);
    return out;
  }

  /** Runs kernel `name` with parts[0] on this thread and parts[p] on worker p, then waits. */
  private run(name: string, parts: number[][]): void {
    let fn = this.fnCache.get(name);
    if (fn === undefined) { fn = this.pool.fn(name); this.fnCache.set(name, fn); }
    for (let p = 1; p < parts.length; p++) this.pool.start(p, fn, parts[p]);
    let mainError: unknown = null;
    try {
      this.k[name].apply(null, parts[0]);
    } catch (e) {
      mainError = e;
    }
    // Always wait for the workers, even when this thread's share failed: they write memory.
    this.pool.join(name);
    if (mainError) {
      const m = mainError instanceof Error ? `${mainError.name}: ${mainError.message}` : String(mainError);
      throw new Error(`kernel ${name} failed in the main thread: ${m}`);
    }
  }

  /** Splits an element-wise kernel over [0, N); args(start, count) gives one range's arguments. */
  private elementwise(name: string, N: number, args: (start: number, count: number) => number[]): void {
    const c = this.cuts(N, 16);
    const parts = this.parts;
    parts.length = c.length - 1;
    for (let p = 0; p + 1 < c.length; p++) parts[p] = args(c[p], c[p + 1] - c[p]);
    this.run(name, parts);
  }

  // ---- kernels ----

  override gemm(c: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
    M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    if (this.threads === 1 || 2 * M * N * K < GEMM_MIN_FLOP) {
      super.gemm(c, a, b, bias, M, N, K, transA, transB, accumulate);
      return;
    }
    const cp = this.ptr(c), ap = this.ptr(a), bp = this.ptr(b), biasp = this.ptr(bias);
    const ta = transA ? 1 : 0, tb = transB ? 1 : 0, acc = accumulate ? 1 : 0;
    const lda = transA ? M : K, ldb = transB ? K : N, ldc = N;
    const parts = this.parts;
    if (M >= N) {
      // rows [s, e) of C: A's rows are its rows (stored (M,K)) or its columns (stored (K,M))
      const cut = this.cuts(M, 4);
      parts.length = cut.length - 1;
      for (let p = 0; p + 1 < cut.length; p++) {
        const s = cut[p];
        parts[p] = [cp + s * ldc * 4, ap + (transA ? s : s * lda) * 4, bp, biasp, cut[p + 1] - s, N, K,
          ta, tb, acc, this.scratches[p], lda, ldb, ldc];
      }
    } else {
      // columns [s, e) of C: B's columns are its columns (stored (K,N)) or its rows (stored (N,K))
      const cut = this.cuts(N, 16);
      parts.length = cut.length - 1;
      for (let p = 0; p + 1 < cut.length; p++) {
        const s = cut[p];
        parts[p] = [cp + s * 4, ap, bp + (transB ? s * ldb : s) * 4, biasp ? biasp + s * 4 : 0, M,
          cut[p + 1] - s, K, ta, tb, acc, this.scratches[p], lda, ldb, ldc];
      }
    }
    this.run('gemm_strided' + this.suffix, parts);
  }

  override activationForward(kind: Activation, out: Float32Array, inp: Float32Array, N: number,
    alpha: number): void {
    if (N < activationMin(kind)) return super.activationForward(kind, out, inp, N, alpha);
    const code = ACTIVATION_CODE[kind], op = this.ptr(out), ip = this.ptr(inp);
    this.elementwise('activation_forward' + this.suffix, N, (s, n) => [code, op + s * 4, ip + s * 4, n, alpha]);
  }

  override activationBackward(kind: Activation, dinp: Float32Array, dout: Float32Array, out: Float32Array,
    N: number, alpha: number): void {
    if (N < activationMin(kind)) return super.activationBackward(kind, dinp, dout, out, N, alpha);
    const code = ACTIVATION_CODE[kind], dip = this.ptr(dinp), dop = this.ptr(dout), op = this.ptr(out);
    this.elementwise('activation_backward' + this.suffix, N,
      (s, n) => [code, dip + s * 4, dop + s * 4, op + s * 4, n, alpha]);
  }

  override optimizerStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array,
    N: number, h: OptimizerStep): void {
    const min = h.kind === 'sgd' ? MIN_ELEMS.cheap : MIN_ELEMS.costly;
    if (N < min) return super.optimizerStep(params, grads, m, v, N, h);
    // Same bias corrections as WasmBackend.optimizerStep computes.
    const bc1 = 1 - Math.pow(h.beta1, h.step);
    const bc2 = 1 - Math.pow(h.beta2, h.step);
    const code = OPTIMIZER_CODE[h.kind];
    const pp = this.ptr(params), gp = this.ptr(grads), mp = this.ptr(m), vp = this.ptr(v);
    const off = (q: number, s: number) => (q ? q + s * 4 : 0);
    this.elementwise('optimizer_step' + this.suffix, N, (s, n) => [code, pp + s * 4, gp + s * 4,
      off(mp, s), off(vp, s), n, h.lr, h.momentum, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2]);
  }

  override gatherBatch(x: Float32Array, y: Int32Array, images: Uint8Array, labels: Uint8Array,
    idx: Int32Array, B: number, D: number, scale: number, shift: number): void {
    if (B * D < MIN_ELEMS.gatherBytes || B < 2) {
      return super.gatherBatch(x, y, images, labels, idx, B, D, scale, shift);
    }
    const xp = this.ptr(x), yp = this.ptr(y), imp = this.ptr(images), lp = this.ptr(labels), ip = this.ptr(idx);
    const c = this.cuts(B, 1);
    const parts = this.parts;
    parts.length = c.length - 1;
    for (let p = 0; p + 1 < c.length; p++) {
      const s = c[p];
      parts[p] = [xp + s * D * 4, yp + s * 4, imp, lp, ip + s * 4, c[p + 1] - s, D, scale, shift];
    }
    this.run('gather_batch' + this.suffix, parts);
  }

  override dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, N: number, p: number,
    seed: number): void {
    if (N < MIN_ELEMS.costly) return super.dropoutForward(out, mask, inp, N, p, seed);
    const op = this.ptr(out), mp = this.ptr(mask), ip = this.ptr(inp);
    // The range starting at s draws hash(seed + (s + j) * GOLDEN): the same counters as one call.
    this.elementwise('dropout_forward' + this.suffix, N, (s, n) => [op + s * 4, mp + s * 4, ip + s * 4, n, p,
      ((seed >>> 0) + Math.imul(s, GOLDEN)) >>> 0]);
  }

  override dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, N: number): void {
    if (N < MIN_ELEMS.cheap) return super.dropoutBackward(dinp, dout, mask, N);
    const dip = this.ptr(dinp), dop = this.ptr(dout), mp = this.ptr(mask);
    this.elementwise('dropout_backward' + this.suffix, N, (s, n) => [dip + s * 4, dop + s * 4, mp + s * 4, n]);
  }
}

function activationMin(kind: Activation): number {
  return kind === 'sigmoid' || kind === 'tanh' ? MIN_ELEMS.costly : MIN_ELEMS.cheap;
}
