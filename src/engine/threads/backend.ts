// The threaded `wasm` backend: the same kernels, with the big calls split into chunks that the
// main thread and a pool of workers sharing the module's memory take as they come (pool.ts).
//
// Split rules. Every output element is computed by exactly one chunk, with the same code path and
// operation order as in a one-thread call, so results are bit-identical for any thread count
// (and whichever thread runs a chunk):
//   gemm          one chunk per thread: rows of C (when M >= N) in multiples of 4 (the
//                 micro-kernel's MR), else columns in multiples of 16 (64 bytes: no two threads
//                 write one cache line), through gemm_strided with offset pointers. The kernel
//                 sums each element over k in one order wherever it sits (assembly/matmul.ts).
//                 Splitting the larger of M and N duplicates the smaller packing work: a row
//                 split packs all of B (K*N) in each chunk, a column split all of A (M*K); that is
//                 also why gemm gets no more chunks than threads. A call on the dot path
//                 (wasm.ts dotPath: B transposed, N <= 12) splits its rows through gemm_dot.
//                 A K-blocked call (wasm.ts kBlocked: C = A^T B, M <= 12, K >= 512) splits its
//                 fixed row blocks (gemm_partials), then the main thread adds the partials.
//   element-wise  activations, dropout, optimizer step: 4 chunks per thread, in multiples of 16
//                 elements, so every chunk but the last has no N % 4 tail and the global tail
//                 stays on the tail code path. Dropout's mask hashes the global index: a chunk
//                 starting at i0 gets the seed seed + i0 * 0x9e3779b9 (mod 2^32), which draws the
//                 very same mask.
//   gather_batch  one chunk of batch rows per thread, in multiples of 8 rows (see gemm's K blocks).
//   sparse_rows   the same row chunks as gather_batch.
//   sparse fwd/dW one chunk of output units per thread, in multiples of 16 (from 32 units), each
//                 with its own scratch (assembly/sparse.ts): every element of y and dW is one
//                 chunk's, summed over the nonzeros or the rows in one order. A narrower layer
//                 (the seed's 10 units) is packed once by the main thread; then the forward
//                 splits rows (8-row groups, like the gather), and dW over 512 rows or more its
//                 fixed row blocks (wasm.ts sparseBlocked; the main thread adds the partials in
//                 block order), as gemm's K-blocked path.
//   softmax-CE    from B*C = 4096 (a full-batch chunk or an evaluation batch of 1000 x 10; a
//                 training batch of 128 x 10 stays on one thread): one chunk of whole 8-row
//                 groups per thread; each group's loss goes to a partials buffer and the host adds
//                 them in order, as the one-thread kernel does, so the loss is the same f64.
//   one thread    softmax / count_correct (tiny at B*C = 1280), bias_backward (the kernel has no
//                 row stride to split columns with, and B*O = 128*512 adds take about as long as
//                 one round trip).
//   pooling       chunks of whole images (2 per thread): windows never cross images; max
//                 pooling's i0 argument (chunk start * C*H*W) keeps argmax batch-wide.
//   conv2d fwd    chunks of whole images (2 per thread), each thread with its own scratch;
//                 images are independent, so the output is the same bytes.
//   conv2d bwd    two calls. dinp: chunks of whole images, as forward (conv2d_backward_input).
//                 dweight/dbias: one chunk per thread of weight units (conv2d_backward_weight),
//                 each element summed over the whole batch in image order by one chunk. Stride 1:
//                 units are (8-channel block, weight) pairs, so even one block of 8 channels (the
//                 W3 net's first layer) splits evenly; other strides: output channels in
//                 multiples of 4 (the im2col kernel's row blocks). Every thread pads or im2cols
//                 every image for its units, which costs little next to the dot products.
//
// Thresholds, from the sync cost measured on this machine (2-core AMD EPYC, Node 20, load
// average 5-9 from other processes): waking one worker and waiting for it, 12 us median (p10 10,
// p90 20; 2000 calls). With 2 threads a split saves half the work W and costs one round trip, so
// it pays from W = 2 x 12 us; we ask for about 60-80 us of one-thread work so that the p90 round
// trip and a cold cache still leave a gain.
//   gemm:   one thread runs 50 GFLOP/s at (128,128,128) here, so 80 us is about 4 MFLOP.
//   element-wise, measured one-thread cost per element (2^20 elements):
//     relu fwd 0.13 ns, every activation backward 0.11-0.15 (they read the output), sigmoid fwd
//     2.4, tanh fwd 3.3, SGD 0.38, momentum 0.63, Adam 6.5, dropout fwd 0.49 / bwd 0.30,
//     gather_batch 0.22 per pixel (in cache), 2x2 pooling per input pixel 0.16 (max fwd and bwd), 0.07-0.08
//     (avg fwd and bwd) -> the MIN_ELEMS below (about 60 us each). Pooling asks for
//     less: the W3 net's first pool (64x8x24x24 = 295k pixels, 45-48 us a call alone) is split,
//     as the W3 step on 2 threads measured 3-4% faster with it (A/B, 300 steps each, twice);
//     half its input was just written by the other thread, which a one-thread pool pays for.
//     The optimizer step pays the same way (the gradients come half from the other core's cache):
//     W1's SGD step (101,770 floats) took 74 us unsplit after a threaded backward and 52 us split
//     (the step 2.7% faster), so sgd and momentum split from 2^15.
import type { Activation, Conv2dShape, OptimizerKind, OptimizerStep, Pool2dShape, SparseRows } from '../backend.js';
import { ACTIVATION_CODE, OPTIMIZER_CODE } from '../backend.js';
import {
  WasmBackend, dotPath, kBlocked, kBlockRows, kernelModule, sparseBlocked, sumCounts, type WasmVariant,
} from '../wasm.js';
import { ThreadPool } from './pool.js';

/** Smallest gemm (2*M*N*K flop) that is split across threads. */
export const GEMM_MIN_FLOP = 4e6;
/** Smallest element counts that are split, per kernel (about 60 us of one-thread work). */
export const MIN_ELEMS = {
  activationCheap: 1 << 19,   // relu / leaky_relu / identity forward, every backward
  activationCostly: 1 << 15,  // sigmoid / tanh forward
  sgd: 1 << 15,               // (both: see above)
  momentum: 1 << 15,          // and nesterov
  adam: 1 << 14,              // and adamw
  dropoutForward: 1 << 17,
  dropoutBackward: 1 << 18,
  gatherPixels: 1 << 18,      // B * D (sparse_rows too)
  softmaxCE: 1 << 12,         // B * C
  poolPixels: 1 << 18,        // B * C * H * W (input)
} as const;

const GOLDEN = 0x9e3779b9;

/** Chunks per thread of an element-wise call: a late thread leaves its chunks to the others. */
const CHUNKS_PER_THREAD = 4;

/** wasm backend that runs large kernels on `threads` threads (the main thread included). */
export class ThreadedWasmBackend extends WasmBackend {
  /** Threads in all, the main thread included. */
  readonly threads: number;
  readonly pool: ThreadPool;
  private readonly suffix: string;
  /** gemm packing buffer of each thread (index 0: the main thread's, WasmBackend.scratch). */
  private readonly gemmScratch: number[];
  /** conv2d scratch of each thread, grown to the largest shape seen; dropped by release(). */
  private convScratches: number[] = [];
  private convScratchBytes = 0;

  constructor(variant: WasmVariant = 'simd', threads = 2, initialBytes?: number) {
    super(variant, initialBytes);
    this.suffix = variant === 'scalar' ? '_scalar' : '';
    this.pool = new ThreadPool(kernelModule(variant), this.memory, this.k, { threads });
    this.threads = this.pool.threads;
    this.gemmScratch = [this.scratch];
    for (let t = 1; t < this.threads; t++) this.gemmScratch.push(this.alloc(this.k.gemm_scratch_bytes()));
  }

  /** Stops the worker threads (optional: they never keep the process alive). */
  dispose(): void {
    this.pool.dispose();
  }

  /**
   * Runs `kernel` over [0, total) in about `chunks` chunks whose starts are multiples of `unit`.
   * base holds the arguments for the whole range; argument i of the chunk starting at s is
   * base[i] + s * coef[i], and argument countArg is the chunk's length.
   */
  private split(kernel: string, total: number, unit: number, chunks: number, base: number[], coef: number[],
    countArg: number, scratchArg = -1, wrapArg = -1, scratch?: number[]): void {
    const units = Math.ceil(total / unit);
    const chunkLen = Math.ceil(units / Math.max(1, Math.min(chunks, units))) * unit;
    this.pool.run({ kernel: kernel + this.suffix, base, coef, countArg, scratchArg, scratch, wrapArg, total, chunkLen });
  }

  /** Runs a split call; a trap becomes a KernelTrapError naming the kernel and args, as with one thread. */
  private guard(kernel: string, call: () => void, args: Record<string, unknown>): void {
    try {
      call();
    } catch (e) {
      throw this.trapped(e, kernel, args);
    }
  }

  // ---- kernels ----

  override gemm(c: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
    M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    if (this.threads === 1 || 2 * M * N * K < GEMM_MIN_FLOP) {
      super.gemm(c, a, b, bias, M, N, K, transA, transB, accumulate);
      return;
    }
    const cp = this.ptr(c), ap = this.ptr(a), bp = this.ptr(b), biasp = this.ptr(bias);
    if (kBlocked(M, N, K, transA, transB, bias !== null)) {
      // blocks of rows, one chunk per thread: each reads the rows it gathered and ran forward
      const kb = kBlockRows(K), nb = Math.ceil(K / kb), p = this.partialsFor(nb * M * N);
      this.guard('gemm', () => {
        this.split('gemm_partials', nb, 1, this.threads, [p, ap, bp, M, N, K, kb, 0, nb, 0],
          [0, 0, 0, 0, 0, 0, 0, 1, 0, 0], 8, 9, -1, this.gemmScratch);
        this.fn.sum_partials(cp, p, M * N, nb, accumulate ? 1 : 0);
      }, { c, a, b, bias, M, N, K, transA, transB, accumulate });
      return;
    }
    if (dotPath(N, K, transA, transB)) {
      // gemm_dot: no packing, so rows (of A and C) or columns (rows of B) split at no extra cost
      const base = [cp, ap, bp, biasp, M, N, K, accumulate ? 1 : 0, K, K, N];
      const byRows = M >= N;
      const coef = byRows ? [N * 4, K * 4, 0, 0, 0, 0, 0, 0, 0, 0, 0] : [4, 0, K * 4, biasp ? 4 : 0, 0, 0, 0, 0, 0, 0, 0];
      this.guard('gemm', () => this.split('gemm_dot', byRows ? M : N, byRows ? 4 : 16, this.threads, base, coef,
        byRows ? 4 : 5), { c, a, b, bias, M, N, K, transA, transB, accumulate });
      return;
    }
    const lda = transA ? M : K, ldb = transB ? K : N, ldc = N;
    const base = [cp, ap, bp, biasp, M, N, K, transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, 0, lda, ldb, ldc];
    // One chunk per thread: a gemm chunk repacks the operand it shares, so fewer is cheaper.
    if (M >= N) {
      // rows of C: A's rows are its rows (stored (M,K)) or its columns (stored (K,M))
      const coef = [ldc * 4, (transA ? 1 : lda) * 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      this.guard('gemm', () => this.split('gemm_strided', M, 4, this.threads, base, coef, 4, 10, -1, this.gemmScratch),
        { c, a, b, bias, M, N, K, transA, transB, accumulate });
    } else {
      // columns of C: B's columns are its columns (stored (K,N)) or its rows (stored (N,K))
      const coef = [4, 0, (transB ? ldb : 1) * 4, biasp ? 4 : 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      this.guard('gemm', () => this.split('gemm_strided', N, 16, this.threads, base, coef, 5, 10, -1, this.gemmScratch),
        { c, a, b, bias, M, N, K, transA, transB, accumulate });
    }
  }

  override sparseRows(rows: SparseRows, x: Float32Array, B: number, D: number): number {
    if (this.threads === 1 || B * D < MIN_ELEMS.gatherPixels || B < 16) return super.sparseRows(rows, x, B, D);
    // rows in the gather's chunks (8-row groups, one chunk per thread): each thread reads the rows it
    // wrote. idx and val keep their base: the kernel puts row b0 + b at slot (b0 + b) D (argument 7).
    this.guard('sparse_rows', () => this.split('sparse_rows', B, 8, this.threads,
      [...this.rowPtrs(rows), this.ptr(x), B, D, 0], [0, 0, 4, 4, D * 4, 0, 0, 1], 5),
    { ...rows, x, B, D });
    return sumCounts(rows.cnt, B);
  }

  override sparseForward(y: Float32Array, rows: SparseRows, W: Float32Array, bias: Float32Array | null, B: number,
    D: number, O: number): void {
    const how = this.splitSparse(rows, B, O);
    if (!how) return super.sparseForward(y, rows, W, bias, B, D, O);
    const wt = this.sparseScratchFor(D, O), yp = this.ptr(y), Wp = this.ptr(W), bp = this.ptr(bias);
    const args = { y, ...rows, W, bias, B, D, O };
    if (how === 'units') {
      // units [j0, j0+jn) in multiples of 16, one chunk per thread (arguments 11 and 12); the chunk
      // at j0 gets the scratch from wt + 4 D j0 bytes (argument 6), apart from the other chunks'
      this.guard('sparse_forward', () => this.split('sparse_forward', O, 16, this.threads,
        [yp, ...this.rowPtrs(rows), Wp, wt, bp, B, D, O, 0, O], [0, 0, 0, 0, 0, 0, D * 4, 0, 0, 0, 0, 1, 0], 12), args);
      return;
    }
    // too few units to split: W packed once, then rows in the gather's chunks (argument 7)
    this.guard('sparse_forward', () => {
      this.fn.sparse_pack(wt, Wp, O, D);
      this.split('sparse_forward_packed', B, 8, this.threads, [yp, ...this.rowPtrs(rows), wt, bp, B, O],
        [O * 4, 0, 0, 4, 4, 0, 0, 0, 0], 7);
    }, args);
  }

  override sparseWeightGrad(dW: Float32Array, rows: SparseRows, dy: Float32Array, B: number, D: number,
    O: number): void {
    const how = this.splitSparse(rows, B, O);
    if (!how || (how === 'rows' && !sparseBlocked(B, O))) return super.sparseWeightGrad(dW, rows, dy, B, D, O);
    const wt = this.sparseScratchFor(D, O), dyp = this.ptr(dy);
    const args = { dW, ...rows, dy, B, D, O };
    if (how === 'units') {
      this.guard('sparse_weight_grad', () => this.split('sparse_weight_grad', O, 16, this.threads,
        [this.ptr(dW), ...this.rowPtrs(rows), dyp, wt, B, D, O, 0, O], [0, 0, 0, 0, 0, 0, D * 4, 0, 0, 0, 1, 0], 11),
      args);
      return;
    }
    // too few units to split: the fixed row blocks, one chunk of blocks per thread (arguments 10
    // and 11), so each thread sums the rows its forward chunk covered
    this.guard('sparse_weight_grad', () => this.sparseGradBlocks(wt, dW, O, D, B, (p, rb, nb) =>
      this.split('sparse_weight_grad_blocks', nb, 1, this.threads, [p, ...this.rowPtrs(rows), dyp, B, D, O, rb, 0, nb],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], 11)), args);
  }

  /**
   * How sparse forward and dW split, if at all (from GEMM_MIN_FLOP): by output units from 32
   * units; a narrower layer by rows from 16 (dW: its fixed row blocks, from 512 rows).
   */
  private splitSparse(rows: SparseRows, B: number, O: number): 'units' | 'rows' | null {
    if (this.threads === 1 || 2 * sumCounts(rows.cnt, B) * O < GEMM_MIN_FLOP) return null;
    return O >= 32 ? 'units' : B >= 16 ? 'rows' : null;
  }

  override activationForward(kind: Activation, out: Float32Array, inp: Float32Array, N: number,
    alpha: number): void {
    const min = kind === 'sigmoid' || kind === 'tanh' ? MIN_ELEMS.activationCostly : MIN_ELEMS.activationCheap;
    if (this.threads === 1 || N < min) return super.activationForward(kind, out, inp, N, alpha);
    this.guard('activation_forward', () => this.split('activation_forward', N, 16, this.threads * CHUNKS_PER_THREAD,
      [ACTIVATION_CODE[kind], this.ptr(out), this.ptr(inp), N, alpha], [0, 4, 4, 0, 0], 3), { kind, out, inp, N, alpha });
  }

  override activationBackward(kind: Activation, dinp: Float32Array, dout: Float32Array, out: Float32Array,
    N: number, alpha: number): void {
    if (this.threads === 1 || N < MIN_ELEMS.activationCheap) {
      return super.activationBackward(kind, dinp, dout, out, N, alpha);
    }
    this.guard('activation_backward', () => this.split('activation_backward', N, 16, this.threads * CHUNKS_PER_THREAD,
      [ACTIVATION_CODE[kind], this.ptr(dinp), this.ptr(dout), this.ptr(out), N, alpha], [0, 4, 4, 4, 0, 0], 4),
    { kind, dinp, dout, out, N, alpha });
  }

  override optimizerStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array,
    N: number, h: OptimizerStep): void {
    if (this.threads === 1 || N < optimizerMin(h.kind)) return super.optimizerStep(params, grads, m, v, N, h);
    // Same bias corrections as WasmBackend.optimizerStep computes.
    const bc1 = 1 - Math.pow(h.beta1, h.step);
    const bc2 = 1 - Math.pow(h.beta2, h.step);
    const mp = this.ptr(m), vp = this.ptr(v);
    this.guard('optimizer_step', () => this.split('optimizer_step', N, 16, this.threads * CHUNKS_PER_THREAD,
      [OPTIMIZER_CODE[h.kind], this.ptr(params), this.ptr(grads), mp, vp, N, h.lr, h.momentum, h.beta1, h.beta2,
        h.eps, h.weightDecay, bc1, bc2],
      [0, 4, 4, mp ? 4 : 0, vp ? 4 : 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 5), { kind: h.kind, params, grads, m, v, N });
  }

  override gatherBatch(x: Float32Array, y: Int32Array, images: Uint8Array, labels: Uint8Array,
    idx: Int32Array, B: number, D: number, scale: number, shift: number): void {
    if (this.threads === 1 || B * D < MIN_ELEMS.gatherPixels || B < 2) {
      return super.gatherBatch(x, y, images, labels, idx, B, D, scale, shift);
    }
    // One chunk of whole 8-row groups per thread, in the row order that the forward gemm's and the
    // K-blocked dW's chunks take: each thread then reads back mostly the rows it wrote.
    this.guard('gather_batch', () => this.split('gather_batch', B, 8, this.threads,
      [this.ptr(x), this.ptr(y), this.ptr(images), this.ptr(labels), this.ptr(idx), B, D, scale, shift],
      [D * 4, 4, 0, 0, 4, 0, 0, 0, 0], 5), { x, y, images, labels, idx, B, D, scale, shift });
  }

  override softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array, labels: Int32Array,
    B: number, C: number, N = B, correct: Int32Array | null = null): number {
    if (this.threads === 1 || B * C < MIN_ELEMS.softmaxCE || B < 16) {
      return super.softmaxCrossEntropy(dlogits, logits, labels, B, C, N, correct);
    }
    // Chunks of whole 8-row groups: each writes its groups' losses (f64) at parts + row/8 * 8 bytes
    // and its correct count in the count slot of its first group (at counts + row/8 * 4 bytes);
    // adding the group losses in order gives the one-thread call's f64 (assembly/softmax_ce.ts).
    const groups = Math.ceil(B / 8);
    const parts = this.partialsFor(3 * groups), counts = parts + 8 * groups;
    const slots = new Int32Array(this.memory.buffer, counts, groups);
    slots.fill(0);
    const d = this.ptr(dlogits);
    this.guard('softmax_cross_entropy', () => this.split('softmax_cross_entropy', B, 8, this.threads,
      [d, this.ptr(logits), this.ptr(labels), B, C, N, correct ? counts : 0, parts],
      [d ? C * 4 : 0, C * 4, 4, 0, 0, 0, correct ? 0.5 : 0, 1], 3), { dlogits, logits, labels, B, C, N });
    const f = new Float64Array(this.memory.buffer, parts, groups);
    let loss = 0;
    for (let g = 0; g < groups; g++) loss += f[g];
    if (correct) correct[0] = slots.reduce((a, b) => a + b, 0);
    return loss;
  }

  override dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, N: number, p: number,
    seed: number): void {
    if (this.threads === 1 || N < MIN_ELEMS.dropoutForward) return super.dropoutForward(out, mask, inp, N, p, seed);
    // The chunk at s gets the seed (seed + s * GOLDEN) mod 2^32 (the wrap argument): the same
    // counters hash(seed + i * GOLDEN) as one call over [0, N).
    this.guard('dropout_forward', () => this.split('dropout_forward', N, 16, this.threads * CHUNKS_PER_THREAD,
      [this.ptr(out), this.ptr(mask), this.ptr(inp), N, p, seed >>> 0], [4, 4, 4, 0, 0, GOLDEN], 3, -1, 5),
    { out, mask, inp, N, p, seed });
  }

  override dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, N: number): void {
    if (this.threads === 1 || N < MIN_ELEMS.dropoutBackward) return super.dropoutBackward(dinp, dout, mask, N);
    this.guard('dropout_backward', () => this.split('dropout_backward', N, 16, this.threads * CHUNKS_PER_THREAD,
      [this.ptr(dinp), this.ptr(dout), this.ptr(mask), N], [4, 4, 4, 0], 3), { dinp, dout, mask, N });
  }

  override conv2dForward(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null,
    s: Conv2dShape): void {
    const P = s.OH * s.OW;
    if (this.threads === 1 || s.B < 2 || 2 * s.B * s.OC * P * s.C * s.KH * s.KW < GEMM_MIN_FLOP) {
      return super.conv2dForward(out, inp, weight, bias, s);
    }
    // Images are independent: chunks of the batch, each thread with its own scratch.
    this.growConvScratch(s);
    this.guard('conv2d_forward', () => this.split('conv2d_forward', s.B, 1, this.threads * 2,
      [this.ptr(out), this.ptr(inp), this.ptr(weight), this.ptr(bias), s.B, s.C, s.H, s.W, s.OC, s.KH, s.KW,
        s.stride, s.pad, s.OH, s.OW, 0],
      [s.OC * P * 4, s.C * s.H * s.W * 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 4, 15, -1, this.convScratches),
    { out, inp, weight, bias, ...s });
  }

  override conv2dBackward(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
    dout: Float32Array, inp: Float32Array, weight: Float32Array, s: Conv2dShape): void {
    // each part (dinp, dweight) costs about 2 B OC P K flop
    const flop = 2 * s.B * s.OC * s.OH * s.OW * s.C * s.KH * s.KW;
    const units = this.k.conv2d_weight_units(s.C, s.KH, s.KW, s.OC, s.stride) as number;
    const unit = s.stride === 1 ? 1 : 4;
    const splitW = units >= 2 * unit, splitIn = dinp !== null && s.B >= 2;
    if (this.threads === 1 || flop < GEMM_MIN_FLOP || (!splitW && !splitIn)) {
      return super.conv2dBackward(dinp, dweight, dbias, dout, inp, weight, s);
    }
    this.growConvScratch(s);
    const P = s.OH * s.OW;
    const geom = [s.C, s.H, s.W, s.OC, s.KH, s.KW, s.stride, s.pad, s.OH, s.OW];
    const args = { dinp, dweight, dbias, dout, inp, weight, ...s };
    // dweight/dbias units [u0, u0 + un): arguments 14 (u0, moves with the start) and 15 (un); the
    // kernel takes no OH, OW (a split call has at most 16 arguments)
    this.guard('conv2d_backward', () => this.split('conv2d_backward_weight', units, unit, splitW ? this.threads : 1,
      [this.ptr(dweight), this.ptr(dbias), this.ptr(dout), this.ptr(inp), s.B, ...geom.slice(0, 8), 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], 15, 13, -1, this.convScratches), args);
    if (!dinp) return;
    this.guard('conv2d_backward', () => this.split('conv2d_backward_input', s.B, 1, this.threads * 2,
      [this.ptr(dinp), this.ptr(dout), this.ptr(weight), s.B, ...geom, 0],
      [s.C * s.H * s.W * 4, s.OC * P * 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 3, 14, -1, this.convScratches), args);
  }

  override maxPoolForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, p: Pool2dShape): void {
    if (!this.splitPool(p)) return super.maxPoolForward(out, argmax, inp, p);
    const o4 = p.C * p.OH * p.OW * 4, i = p.C * p.H * p.W;
    this.guard('maxpool_forward', () => this.split('maxpool_forward', p.B, 1, this.threads * 2,
      [this.ptr(out), this.ptr(argmax), this.ptr(inp), p.B, p.C, p.H, p.W, p.k, p.stride, p.OH, p.OW, 0],
      [o4, o4, i * 4, 0, 0, 0, 0, 0, 0, 0, 0, i], 3), { out, argmax, inp, ...p });
  }

  override maxPoolBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, p: Pool2dShape): void {
    if (!this.splitPool(p)) return super.maxPoolBackward(dinp, dout, argmax, p);
    const o4 = p.C * p.OH * p.OW * 4, i = p.C * p.H * p.W;
    this.guard('maxpool_backward', () => this.split('maxpool_backward', p.B, 1, this.threads * 2,
      [this.ptr(dinp), this.ptr(dout), this.ptr(argmax), p.B, p.C, p.H, p.W, p.k, p.stride, p.OH, p.OW, 0],
      [i * 4, o4, o4, 0, 0, 0, 0, 0, 0, 0, 0, i], 3), { dinp, dout, argmax, ...p });
  }

  override avgPoolForward(out: Float32Array, inp: Float32Array, p: Pool2dShape): void {
    if (!this.splitPool(p)) return super.avgPoolForward(out, inp, p);
    this.guard('avgpool_forward', () => this.split('avgpool_forward', p.B, 1, this.threads * 2,
      [this.ptr(out), this.ptr(inp), p.B, p.C, p.H, p.W, p.k, p.stride, p.OH, p.OW],
      [p.C * p.OH * p.OW * 4, p.C * p.H * p.W * 4, 0, 0, 0, 0, 0, 0, 0, 0], 2), { out, inp, ...p });
  }

  override avgPoolBackward(dinp: Float32Array, dout: Float32Array, p: Pool2dShape): void {
    if (!this.splitPool(p)) return super.avgPoolBackward(dinp, dout, p);
    this.guard('avgpool_backward', () => this.split('avgpool_backward', p.B, 1, this.threads * 2,
      [this.ptr(dinp), this.ptr(dout), p.B, p.C, p.H, p.W, p.k, p.stride, p.OH, p.OW],
      [p.C * p.H * p.W * 4, p.C * p.OH * p.OW * 4, 0, 0, 0, 0, 0, 0, 0, 0], 2), { dinp, dout, ...p });
  }

  private splitPool(p: Pool2dShape): boolean {
    return this.threads > 1 && p.B >= 2 && p.B * p.C * p.H * p.W >= MIN_ELEMS.poolPixels;
  }

  /** Grows each thread's conv2d scratch to this shape's size. */
  private growConvScratch(s: Conv2dShape): void {
    const bytes = this.k.conv2d_scratch_bytes(s.C, s.KH, s.KW, s.OH, s.OW, s.OC) as number;
    if (bytes > this.convScratchBytes) {
      this.convScratches = [];
      for (let t = 0; t < this.threads; t++) this.convScratches.push(this.alloc(bytes));
      this.convScratchBytes = bytes;
    }
  }

  override release(mark: number): void {
    // conv scratch above the mark is freed: allocate it again when next needed
    if (this.convScratches.length && mark <= this.convScratches[0]) { this.convScratches = []; this.convScratchBytes = 0; }
    super.release(mark);
  }
}

function optimizerMin(kind: OptimizerKind): number {
  switch (kind) {
    case 'sgd': return MIN_ELEMS.sgd;
    case 'momentum': case 'nesterov': return MIN_ELEMS.momentum;
    default: return MIN_ELEMS.adam;
  }
}
