// The `wasm` backend: thin host wrappers over the AssemblyScript kernels in assembly/.
// The host owns one shared WebAssembly.Memory and a bump allocator over it; kernels only see
// byte offsets and sizes. Each kernel has a SIMD export `name` and a scalar twin `name_scalar`;
// the relaxed build (`kernels-relaxed.wasm`) uses f32x4.relaxed_madd in the matmul.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { instantiateSync } from '@assemblyscript/loader';
import {
  ACTIVATION_CODE, OPTIMIZER_CODE,
  type Activation, type Backend, type OptimizerStep, type Conv2dShape, type Pool2dShape, type SparseRows,
} from './backend.js';
import { UserError } from '../errors.js';
import { projectRoot } from './root.js';

export type WasmVariant = 'simd' | 'relaxed' | 'scalar';

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB, matches asconfig.json "maximumMemory"
const ALIGN = 64;        // v128 needs 16; 64 keeps rows on cache-line boundaries

/** The raw exports of build/kernels*.wasm (pointers are byte offsets). */
export interface KernelExports {
  heap_base(): number;
  gemm_scratch_bytes(): number;
  [name: string]: any;
}

/** Smallest module that uses a v128 instruction; validates only where SIMD is on. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10,
  10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

export function simdSupported(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

/**
 * Whether the relaxed-SIMD build validates here. Node 20 needs `--experimental-wasm-relaxed-simd`
 * (on the command line, in NODE_OPTIONS, or set by enableRelaxedSimd() before the first compile).
 */
export function relaxedSupported(): boolean {
  return WebAssembly.validate(new Uint8Array(readFileSync(join(projectRoot(), 'build', 'kernels-relaxed.wasm'))));
}

/** Turns on V8's relaxed-SIMD support for this process (what --relaxed does). */
export function enableRelaxedSimd(): void {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
}

/**
 * A WebAssembly trap (out-of-bounds access, unreachable, ...) inside a kernel, with the kernel's
 * name and its arguments: shapes as numbers, arrays as dtype[length]@byteOffset. A trap is a bug
 * (a wrong size or pointer reached a kernel), never the user's input; the message says so.
 */
export class KernelTrapError extends Error {
  constructor(readonly kernel: string, readonly args: string, cause: unknown) {
    super(`WASM kernel ${kernel} trapped (${(cause as Error)?.message ?? cause}) with ${args}; ` +
      'this is a bug in wasmnist: please report it with the command that caused it', { cause });
    this.name = 'KernelTrapError';
  }
}

/** The arguments of a kernel call as one line: sizes as numbers, views as f32[len]@offset. */
function describeArgs(args: Record<string, unknown>, memoryBytes: number): string {
  const parts = Object.entries(args).map(([k, v]) => {
    if (ArrayBuffer.isView(v)) {
      const t = v.constructor.name.replace('Array', '').replace('Float', 'f').replace('Uint', 'u').replace('Int', 'i');
      return `${k}=${t}[${(v as Float32Array).length}]@${v.byteOffset}`;
    }
    return `${k}=${v === null ? 'null' : typeof v === 'boolean' ? Number(v) : v}`;
  });
  return `${parts.join(', ')} (memory ${memoryBytes} bytes)`;
}

const moduleCache = new Map<string, WebAssembly.Module>();

/** Compiled module of a variant (relaxed uses its own file; simd and scalar share one). */
export function kernelModule(variant: WasmVariant): WebAssembly.Module {
  const file = variant === 'relaxed' ? 'kernels-relaxed.wasm' : 'kernels.wasm';
  let mod = moduleCache.get(file);
  if (!mod) {
    const path = join(projectRoot(), 'build', file);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new Error(`${path} is missing: run \`npm run build\` (npm install does it too)`);
    }
    mod = new WebAssembly.Module(new Uint8Array(bytes));
    moduleCache.set(file, mod);
  }
  return mod;
}

export class WasmBackend implements Backend {
  readonly name: string;
  readonly memory: WebAssembly.Memory;
  readonly k: KernelExports;
  readonly variant: WasmVariant;
  private top: number;
  private readonly buffers = new Set<ArrayBufferLike>();
  private readonly sfx: string;
  /** The exports this variant calls, by base name (`gemm` is `gemm_scalar` in the scalar variant). */
  protected readonly fn: KernelExports;
  /** Per-thread packing buffer of the matmul (main thread's). */
  readonly scratch: number;
  /** im2col scratch of conv2d (grown on demand to the largest shape seen; 0 until needed). */
  private convScratch = 0;
  private convScratchEnd = 0;
  /** Partial products of the K-blocked gemm path (0 until needed). */
  private partials = 0;
  private partialsEnd = 0;
  /** W transposed for the sparse kernels (0 until needed). */
  private sparseWt = 0;
  private sparseWtEnd = 0;

  constructor(variant: WasmVariant = 'simd', initialBytes = 16 << 20) {
    this.variant = variant;
    this.name = `wasm-${variant}`;
    this.sfx = variant === 'scalar' ? '_scalar' : '';
    const pages = Math.max(2, Math.ceil(initialBytes / PAGE));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    const instance = instantiateSync(kernelModule(variant), { env: { memory: this.memory } });
    this.k = instance.exports as unknown as KernelExports;
    this.fn = variant === 'scalar' ? scalarTwins(this.k) : this.k;
    this.buffers.add(this.memory.buffer);
    this.top = alignUp(Math.max(this.k.heap_base(), 1024));
    this.scratch = this.alloc(this.k.gemm_scratch_bytes());
  }

  // ---- memory ----

  /** Reserves `bytes` (aligned) and returns the byte offset; grows the memory when needed. */
  alloc(bytes: number): number {
    const off = this.top;
    const end = alignUp(off + Math.max(bytes, 0));
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const need = Math.ceil((end - have) / PAGE);
      const pagesNow = have / PAGE;
      if (pagesNow + need > MAX_PAGES) {
        // Refused before growing; a model or batch too big for the memory is the user's to change.
        throw new UserError(`out of WASM memory: ${(end / 2 ** 20).toFixed(0)} MiB needed, ` +
          `${(MAX_PAGES * PAGE) / 2 ** 20} MiB is the limit; use a smaller batch or model`);
      }
      // Grow by at least a quarter so many small allocations do not grow page by page.
      this.memory.grow(Math.min(MAX_PAGES - pagesNow, Math.max(need, Math.ceil(pagesNow / 4))));
      // A shared memory keeps old views valid; the new, longer buffer object is recorded too.
      this.buffers.add(this.memory.buffer);
    }
    this.top = end;
    return off;
  }
  // alloc() first: it may grow the memory, and only the buffer read after that is long enough.
  f32(n: number): Float32Array { const off = this.alloc(n * 4); return new Float32Array(this.buffer(), off, n); }
  i32(n: number): Int32Array { const off = this.alloc(n * 4); return new Int32Array(this.buffer(), off, n); }
  u8(n: number): Uint8Array { const off = this.alloc(n); return new Uint8Array(this.buffer(), off, n); }
  /**
   * The memory's current buffer, recorded for ptr(). A shared memory can hand out a new buffer
   * object after a grow at any later point (V8 refreshes it when other threads have instances).
   */
  private buffer(): ArrayBufferLike {
    const buf = this.memory.buffer;
    this.buffers.add(buf);
    return buf;
  }
  mark(): number { return this.top; }
  release(mark: number): void {
    if (mark < this.convScratchEnd) { this.convScratch = 0; this.convScratchEnd = 0; } // freed: re-allocate
    if (mark < this.partialsEnd) { this.partials = 0; this.partialsEnd = 0; }
    if (mark < this.sparseWtEnd) { this.sparseWt = 0; this.sparseWtEnd = 0; }
    // Memory is not shrunk; zero what is handed out again so f32()/u8() stay zero-filled.
    new Uint8Array(this.memory.buffer, mark, this.top - mark).fill(0);
    this.top = mark;
  }

  /** Byte offset of a view that lives in this backend's memory (0 stands for null). */
  ptr(a: ArrayBufferView | null): number {
    if (a === null) return 0;
    if (!this.buffers.has(a.buffer) && a.buffer !== this.buffer()) {
      throw new Error('array is not in WASM memory: allocate it with backend.f32/i32/u8');
    }
    return a.byteOffset;
  }

  /**
   * What a kernel call throws: a trap becomes a KernelTrapError naming the kernel and its arguments;
   * anything else (a view outside the memory, from ptr()) passes through. Built only on failure:
   * the try/catch around each call costs nothing while nothing throws.
   */
  protected trapped(e: unknown, kernel: string, args: Record<string, unknown>): unknown {
    if (!(e instanceof WebAssembly.RuntimeError)) return e;
    return new KernelTrapError(kernel + this.sfx, describeArgs(args, this.memory.buffer.byteLength), e);
  }

  // ---- kernels ----
  // Each call sits in a try/catch that turns a trap into a KernelTrapError (see trapped()).

  gemm(c: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
    M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    try {
      if (kBlocked(M, N, K, transA, transB, bias !== null)) {
        const kb = kBlockRows(K), nb = Math.ceil(K / kb), p = this.partialsFor(nb * M * N);
        this.fn.gemm_partials(p, this.ptr(a), this.ptr(b), M, N, K, kb, 0, nb, this.scratch);
        this.fn.sum_partials(this.ptr(c), p, M * N, nb, accumulate ? 1 : 0);
      } else if (dotPath(N, K, transA, transB)) {
        this.fn.gemm_dot(this.ptr(c), this.ptr(a), this.ptr(b), this.ptr(bias), M, N, K, accumulate ? 1 : 0, K, K, N);
      } else {
        this.fn.gemm(this.ptr(c), this.ptr(a), this.ptr(b), this.ptr(bias), M, N, K,
          transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, this.scratch);
      }
    } catch (e) { throw this.trapped(e, 'gemm', { c, a, b, bias, M, N, K, transA, transB, accumulate }); }
  }
  // memory.fill: Float32Array.fill on the shared memory is 8-10x slower (assembly/fill.ts)
  fillZero(x: Float32Array, N: number): void {
    try {
      this.fn.fill_zero(this.ptr(x), N);
    } catch (e) { throw this.trapped(e, 'fill_zero', { x, N }); }
  }
  biasBackward(dbias: Float32Array, dout: Float32Array, B: number, O: number): void {
    try {
      this.fn.bias_backward(this.ptr(dbias), this.ptr(dout), B, O);
    } catch (e) { throw this.trapped(e, 'bias_backward', { dbias, dout, B, O }); }
  }
  sparseRows(rows: SparseRows, x: Float32Array, B: number, D: number): number {
    try {
      this.fn.sparse_rows(...this.rowPtrs(rows), this.ptr(x), B, D, 0);
    } catch (e) { throw this.trapped(e, 'sparse_rows', { ...rows, x, B, D }); }
    return sumCounts(rows.cnt, B);
  }
  sparseForward(y: Float32Array, rows: SparseRows, W: Float32Array, bias: Float32Array | null, B: number, D: number,
    O: number): void {
    const wt = this.sparseScratchFor(D, O);
    try {
      this.fn.sparse_forward(this.ptr(y), ...this.rowPtrs(rows), this.ptr(W), wt, this.ptr(bias), B, D, O, 0, O);
    } catch (e) { throw this.trapped(e, 'sparse_forward', { y, ...rows, W, bias, B, D, O }); }
  }
  sparseWeightGrad(dW: Float32Array, rows: SparseRows, dy: Float32Array, B: number, D: number, O: number): void {
    const wt = this.sparseScratchFor(D, O);
    try {
      if (sparseBlocked(B, O)) {
        this.sparseGradBlocks(wt, dW, O, D, B, (p, rb, nb) =>
          this.fn.sparse_weight_grad_blocks(p, ...this.rowPtrs(rows), this.ptr(dy), B, D, O, rb, 0, nb));
      } else {
        this.fn.sparse_weight_grad(this.ptr(dW), ...this.rowPtrs(rows), this.ptr(dy), wt, B, D, O, 0, O);
      }
    } catch (e) { throw this.trapped(e, 'sparse_weight_grad', { dW, ...rows, dy, B, D, O }); }
  }

  /**
   * The row-blocked weight gradient of a narrow layer (sparseBlocked): dW packed into wt, the
   * blocks' partials computed by `blocks(partials, rows per block, blocks)`, added to it in block
   * order, and unpacked.
   */
  protected sparseGradBlocks(wt: number, dW: Float32Array, O: number, D: number, B: number,
    blocks: (p: number, rb: number, nb: number) => void): void {
    const rb = kBlockRows(B), nb = Math.ceil(B / rb), size = D * (this.k.sparse_ldw(O) as number);
    const p = this.partialsFor(nb * size), dWp = this.ptr(dW);
    this.fn.sparse_pack(wt, dWp, O, D);
    blocks(p, rb, nb);
    this.fn.sum_partials(wt, p, size, nb, 1);
    this.fn.sparse_unpack(dWp, wt, O, D);
  }
  activationForward(kind: Activation, out: Float32Array, inp: Float32Array, N: number, alpha: number): void {
    try {
      this.fn.activation_forward(ACTIVATION_CODE[kind], this.ptr(out), this.ptr(inp), N, alpha);
    } catch (e) { throw this.trapped(e, 'activation_forward', { kind, out, inp, N, alpha }); }
  }
  activationBackward(kind: Activation, dinp: Float32Array, dout: Float32Array, out: Float32Array,
    N: number, alpha: number): void {
    try {
      this.fn.activation_backward(ACTIVATION_CODE[kind], this.ptr(dinp), this.ptr(dout),
        this.ptr(out), N, alpha);
    } catch (e) { throw this.trapped(e, 'activation_backward', { kind, dinp, dout, out, N, alpha }); }
  }
  softmaxForward(probs: Float32Array, logits: Float32Array, B: number, C: number): void {
    try {
      this.fn.softmax_forward(this.ptr(probs), this.ptr(logits), B, C);
    } catch (e) { throw this.trapped(e, 'softmax_forward', { probs, logits, B, C }); }
  }
  softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array, labels: Int32Array,
    B: number, C: number, N = B, correct: Int32Array | null = null): number {
    try {
      return this.fn.softmax_cross_entropy(this.ptr(dlogits), this.ptr(logits),
        this.ptr(labels), B, C, N, this.ptr(correct), 0);
    } catch (e) { throw this.trapped(e, 'softmax_cross_entropy', { dlogits, logits, labels, B, C, N }); }
  }
  countCorrect(logits: Float32Array, labels: Int32Array, B: number, C: number): number {
    try {
      return this.fn.count_correct(this.ptr(logits), this.ptr(labels), B, C);
    } catch (e) { throw this.trapped(e, 'count_correct', { logits, labels, B, C }); }
  }
  optimizerStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array,
    N: number, h: OptimizerStep): void {
    const bc1 = 1 - Math.pow(h.beta1, h.step);
    const bc2 = 1 - Math.pow(h.beta2, h.step);
    try {
      this.fn.optimizer_step(OPTIMIZER_CODE[h.kind], this.ptr(params), this.ptr(grads),
        this.ptr(m), this.ptr(v), N, h.lr, h.momentum, h.beta1, h.beta2, h.eps, h.weightDecay, bc1, bc2);
    } catch (e) { throw this.trapped(e, 'optimizer_step', { kind: h.kind, params, grads, m, v, N, step: h.step }); }
  }
  gatherBatch(x: Float32Array, y: Int32Array, images: Uint8Array, labels: Uint8Array,
    idx: Int32Array, B: number, D: number, scale: number, shift: number): void {
    try {
      this.fn.gather_batch(this.ptr(x), this.ptr(y), this.ptr(images), this.ptr(labels),
        this.ptr(idx), B, D, scale, shift);
    } catch (e) { throw this.trapped(e, 'gather_batch', { x, y, images, labels, idx, B, D }); }
  }
  dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, N: number, p: number,
    seed: number): void {
    try {
      this.fn.dropout_forward(this.ptr(out), this.ptr(mask), this.ptr(inp), N, p, seed >>> 0);
    } catch (e) { throw this.trapped(e, 'dropout_forward', { out, mask, inp, N, p }); }
  }
  dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, N: number): void {
    try {
      this.fn.dropout_backward(this.ptr(dinp), this.ptr(dout), this.ptr(mask), N);
    } catch (e) { throw this.trapped(e, 'dropout_backward', { dinp, dout, mask, N }); }
  }

  /** The kernels' pointers to compressed rows: idx, val, start, cnt. */
  protected rowPtrs(rows: SparseRows): [number, number, number, number] {
    return [this.ptr(rows.idx), this.ptr(rows.val), this.ptr(rows.start), this.ptr(rows.cnt)];
  }

  /** Byte offset of the sparse kernels' transposed-weight scratch for D inputs and O units, grown on demand. */
  protected sparseScratchFor(D: number, O: number): number {
    const floats = D * (this.k.sparse_ldw(O) as number);
    if (this.sparseWt === 0 || this.sparseWtEnd - this.sparseWt < floats * 4) {
      this.sparseWt = this.alloc(floats * 4);
      this.sparseWtEnd = this.sparseWt + floats * 4;
    }
    return this.sparseWt;
  }

  /** Byte offset of room for the K-blocked path's partial products, grown on demand. */
  protected partialsFor(floats: number): number {
    if (this.partials === 0 || this.partialsEnd - this.partials < floats * 4) {
      this.partials = this.alloc(floats * 4);
      this.partialsEnd = this.partials + floats * 4;
    }
    return this.partials;
  }

  /** Scratch for conv2d of this shape: reused while big enough (kernels allocate nothing). */
  private convScratchFor(sh: Conv2dShape): number {
    const bytes = this.k.conv2d_scratch_bytes(sh.C, sh.KH, sh.KW, sh.OH, sh.OW, sh.OC) as number;
    if (this.convScratch === 0 || this.convScratchEnd - this.convScratch < bytes) {
      this.convScratch = this.alloc(bytes);
      this.convScratchEnd = this.convScratch + bytes;
    }
    return this.convScratch;
  }
  conv2dForward(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null,
    s: Conv2dShape): void {
    try {
      this.fn.conv2d_forward(this.ptr(out), this.ptr(inp), this.ptr(weight), this.ptr(bias),
        s.B, s.C, s.H, s.W, s.OC, s.KH, s.KW, s.stride, s.pad, s.OH, s.OW, this.convScratchFor(s));
    } catch (e) { throw this.trapped(e, 'conv2d_forward', { out, inp, weight, bias, ...s }); }
  }
  conv2dBackward(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
    dout: Float32Array, inp: Float32Array, weight: Float32Array, s: Conv2dShape): void {
    try {
      this.fn.conv2d_backward(this.ptr(dinp), this.ptr(dweight), this.ptr(dbias), this.ptr(dout),
        this.ptr(inp), this.ptr(weight), s.B, s.C, s.H, s.W, s.OC, s.KH, s.KW, s.stride, s.pad, s.OH, s.OW,
        this.convScratchFor(s));
    } catch (e) { throw this.trapped(e, 'conv2d_backward', { dinp, dweight, dbias, dout, inp, weight, ...s }); }
  }
  maxPoolForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, p: Pool2dShape): void {
    try {
      this.fn.maxpool_forward(this.ptr(out), this.ptr(argmax), this.ptr(inp),
        p.B, p.C, p.H, p.W, p.k, p.stride, p.OH, p.OW, 0);
    } catch (e) { throw this.trapped(e, 'maxpool_forward', { out, argmax, inp, ...p }); }
  }
  maxPoolBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, p: Pool2dShape): void {
    try {
      this.fn.maxpool_backward(this.ptr(dinp), this.ptr(dout), this.ptr(argmax),
        p.B, p.C, p.H, p.W, p.k, p.stride, p.OH, p.OW, 0);
    } catch (e) { throw this.trapped(e, 'maxpool_backward', { dinp, dout, argmax, ...p }); }
  }
  avgPoolForward(out: Float32Array, inp: Float32Array, p: Pool2dShape): void {
    try {
      this.fn.avgpool_forward(this.ptr(out), this.ptr(inp), p.B, p.C, p.H, p.W, p.k, p.stride,
        p.OH, p.OW);
    } catch (e) { throw this.trapped(e, 'avgpool_forward', { out, inp, ...p }); }
  }
  avgPoolBackward(dinp: Float32Array, dout: Float32Array, p: Pool2dShape): void {
    try {
      this.fn.avgpool_backward(this.ptr(dinp), this.ptr(dout), p.B, p.C, p.H, p.W, p.k, p.stride,
        p.OH, p.OW);
    } catch (e) { throw this.trapped(e, 'avgpool_backward', { dinp, dout, ...p }); }
  }
}

/** Total of cnt[0, B): the nonzeros that sparse_rows found. */
export function sumCounts(cnt: Int32Array, B: number): number {
  let total = 0;
  for (let b = 0; b < B; b++) total += cnt[b];
  return total;
}

const DOT_MAX_N = 12;
const DOT_MIN_K = 32;

/**
 * Whether a gemm runs as assembly/matmul.ts gemm_dot (C = A B^T, every element a dot product of two
 * rows): few columns and a depth worth the horizontal sums. Decided for the whole call, so that
 * every chunk of a threaded split takes the same path (and gives the same bits).
 */
export function dotPath(N: number, K: number, transA: boolean, transB: boolean): boolean {
  return transB && !transA && N <= DOT_MAX_N && K >= DOT_MIN_K;
}

/** Blocks of the K-blocked path (assembly/matmul.ts gemm_partials): fixed, so any thread count
 * gives the same bits. */
export const KB_COUNT = 8;
const KB_MAX_M = 12;
const KB_MIN_K = 512;
/** Largest C (floats) that takes K blocks: their partials (8 copies of C) stay within 8 MB. */
const KB_MAX_MN = 1 << 18;

/**
 * Whether a gemm runs as K blocks (assembly/matmul.ts gemm_partials + sum_partials): C = A^T B
 * with few rows and a long reduction, the dW of a full-batch layer with few units (the seed's
 * W1). Decided for the whole call, like dotPath.
 */
export function kBlocked(M: number, N: number, K: number, transA: boolean, transB: boolean,
  bias: boolean): boolean {
  return transA && !transB && !bias && M <= KB_MAX_M && K >= KB_MIN_K && M * N <= KB_MAX_MN;
}

/**
 * Whether a zero-skipping weight gradient goes in fixed row blocks (as kBlocked does for gemm): a
 * layer under 32 units (too few to split by units) over KB_MIN_K rows or more.
 */
export function sparseBlocked(B: number, O: number): boolean {
  return O < 32 && B >= KB_MIN_K;
}

/** Rows per K block: K in KB_COUNT blocks, in multiples of 8 (the gather's row groups). */
export function kBlockRows(K: number): number {
  return Math.ceil(K / KB_COUNT / 8) * 8;
}

/** The exports with every `name_scalar` twin standing in for `name`. */
function scalarTwins(k: KernelExports): KernelExports {
  const out: KernelExports = { ...k };
  for (const name of Object.keys(k)) {
    if (name.endsWith('_scalar')) out[name.slice(0, -'_scalar'.length)] = k[name];
  }
  return out;
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
