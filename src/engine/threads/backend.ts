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
//                 B*C = 1280), bias_backward (the kernel has no row stride to split columns with,
//                 and B*O = 128*512 adds take about as long as one round trip).
//
// Thresholds, from the sync cost measured on this machine (2-core AMD EPYC, Node 20, load
// average about 5 from other processes): an empty call on one worker, start() + join(), takes
// 12 us median (p10 10, p90 20; 2000 calls). With 2 threads a split saves half the work W and
// costs one round trip, so it pays from W = 2 x 12 us; we ask for about 60-80 us of one-thread
// work so that the p90 round trip and a cold cache still leave a gain.
//   gemm:   one thread runs 50 GFLOP/s at (128,128,128) here, so 80 us is about 4 MFLOP.
//   element-wise, measured one-thread cost per element (2^20 elements):
//     relu fwd 0.13 ns, every activation backward 0.11-0.15 (they read the output), sigmoid fwd
//     2.4, tanh fwd 3.3, SGD 0.38, momentum 0.63, Adam 6.5, dropout fwd 0.49 / bwd 0.30,
//     gather_batch 0.22 per pixel -> the MIN_ELEMS below (about 60 us each).
import type { Activation, OptimizerKind, OptimizerStep } from '../backend.js';
import { ACTIVATION_CODE, OPTIMIZER_CODE } from '../backend.js';
import { WasmBackend, kernelModule, type WasmVariant } from '../wasm.js';
import { ThreadPool } from './pool.js';

/** Smallest gemm (2*M*N*K flop) that is split across threads. */
export const GEMM_MIN_FLOP = 4e6;
/** Smallest element counts that are split, per kernel (about 60 us of one-thread work). */
export const MIN_ELEMS = {
  activationCheap: 1 << 19,   // relu / leaky_relu / identity forward, every backward
  activationCostly: 1 << 15,  // sigmoid / tanh forward
  sgd: 1 << 17,
  momentum: 1 << 16,          // and nesterov
  adam: 1 << 14,              // and adamw
  dropoutForward: 1 << 17,
  dropoutBackward: 1 << 18,
  gatherPixels: 1 << 18,      // B * D
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
    const min = kind === 'sigmoid' || kind === 'tanh' ? MIN_ELEMS.activationCostly : MIN_ELEMS.activationCheap;
    if (N < min) return super.activationForward(kind, out, inp, N, alpha);
    const code = ACTIVATION_CODE[kind], op = this.ptr(out), ip = this.ptr(inp);
    this.elementwise('activation_forward' + this.suffix, N, (s, n) => [code, op + s * 4, ip + s * 4, n, alpha]);
  }

  override activationBackward(kind: Activation, dinp: Float32Array, dout: Float32Array, out: Float32Array,
    N: number, alpha: number): void {
    if (N < MIN_ELEMS.activationCheap) return super.activationBackward(kind, dinp, dout, out, N, alpha);
    const code = ACTIVATION_CODE[kind], dip = this.ptr(dinp), dop = this.ptr(dout), op = this.ptr(out);
    this.elementwise('activation_backward' + this.suffix, N,
      (s, n) => [code, dip + s * 4, dop + s * 4, op + s * 4, n, alpha]);
  }

  override optimizerStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array,
    N: number, h: OptimizerStep): void {
    if (N < optimizerMin(h.kind)) return super.optimizerStep(params, grads, m, v, N, h);
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
    if (B * D < MIN_ELEMS.gatherPixels || B < 2) {
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
    if (N < MIN_ELEMS.dropoutForward) return super.dropoutForward(out, mask, inp, N, p, seed);
    const op = this.ptr(out), mp = this.ptr(mask), ip = this.ptr(inp);
    // The range starting at s draws hash(seed + (s + j) * GOLDEN): the same counters as one call.
    this.elementwise('dropout_forward' + this.suffix, N, (s, n) => [op + s * 4, mp + s * 4, ip + s * 4, n, p,
      ((seed >>> 0) + Math.imul(s, GOLDEN)) >>> 0]);
  }

  override dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, N: number): void {
    if (N < MIN_ELEMS.dropoutBackward) return super.dropoutBackward(dinp, dout, mask, N);
    const dip = this.ptr(dinp), dop = this.ptr(dout), mp = this.ptr(mask);
    this.elementwise('dropout_backward' + this.suffix, N, (s, n) => [dip + s * 4, dop + s * 4, mp + s * 4, n]);
  }
}

function optimizerMin(kind: OptimizerKind): number {
  switch (kind) {
    case 'sgd': return MIN_ELEMS.sgd;
    case 'momentum': case 'nesterov': return MIN_ELEMS.momentum;
    default: return MIN_ELEMS.adam;
  }
}
