// The `wasm` backend: the AssemblyScript kernels in assembly/, on any number of threads.
// The host owns one shared WebAssembly.Memory and a bump allocator over it; kernels only see
// byte offsets and sizes. Every kernel call goes through call(), which reads the kernel's
// arguments, scalar twin and thread split from the table in kernels.ts. With one thread a call
// is one chunk on this thread; with more, calls above the table's sizes are cut into chunks that
// this thread and a pool of workers sharing the memory take as they come (threads/pool.ts).
// The relaxed build (`kernels-relaxed.wasm`) uses f32x4.relaxed_madd in the matmul.
import { instantiateSync } from '@assemblyscript/loader';
import type {
  Activation, AugmentOptions, Backend, BatchNormMode, BatchNormShape, OptimizerStep, Conv2dShape, Pool2dShape, SparseOps, SparseRows,
} from './backend.js';
import { UserError } from '../errors.js';
import {
  KERNELS, type ArgType, type ArgValue, type KernelArgs, type KernelExports, type KernelName,
  type KernelSpec, type Split,
} from './kernels.js';
import { packageFile, packagePath, setV8Flag } from '../platform/system.js';
import { ThreadPool } from './threads/pool.js';
import {
  GEMM_MIN_FLOP, gemmPath, kBlockRows, SPARSE_MIN_UNITS_SPLIT, sparseBlocked, stridedPath,
} from './tuning.js';

export type { KernelExports } from './kernels.js';
export { dotPath, kBlocked, kBlockRows, KB_COUNT, sparseBlocked } from './tuning.js';

export type WasmVariant = 'simd' | 'relaxed' | 'scalar';

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB, matches asconfig.json "maximumMemory"
const ALIGN = 64;        // v128 needs 16; 64 keeps rows on cache-line boundaries

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
  const bytes = packageFile('build/kernels-relaxed.wasm');
  return bytes !== null && WebAssembly.validate(bytes);
}

/** Turns on V8's relaxed-SIMD support for this process (what --relaxed does). */
export function enableRelaxedSimd(): void {
  setV8Flag('--experimental-wasm-relaxed-simd');
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
    const bytes = packageFile(`build/${file}`);
    if (!bytes) throw new Error(`${packagePath(`build/${file}`)} is missing: run \`npm run build\` (npm install does it too)`);
    mod = new WebAssembly.Module(bytes);
    moduleCache.set(file, mod);
  }
  return mod;
}

/** A table entry and a call's arguments, widened so that call() reads any kernel's. */
type AnySpec = KernelSpec<Record<string, ArgType>>;
type AnyArgs = Record<string, ArgValue<ArgType>>;

/** How call() turns one argument into a number: a pointer, a flag, a u32, a code or a plain number. */
const enum Conv { Ptr, Bool, U32, Code, Num }

/** A kernel's direct (one-chunk) call: the export applied to the named arguments, converted. */
type DirectCall = (be: WasmBackend, a: AnyArgs) => number;

/** A kernel's table entry with its arguments laid out for call(): names, conversions and codes in call order. */
interface CallInfo {
  spec: AnySpec;
  names: string[];
  conv: Conv[];
  codes: (Readonly<Record<string, number>> | null)[];
  /** The direct call of the export (SIMD) and of its scalar twin. */
  direct: DirectCall;
  scalar: DirectCall;
  /** Their export names. */
  exp: string;
  scalarExp: string;
}

/**
 * The direct call of export `exp`, compiled from the table entry into one function that reads each
 * named argument by its constant key: a call site's argument objects all have one shape, so the
 * reads stay monomorphic, as in a hand-written wrapper. (A generic loop over the names costs about
 * 0.1 us more per call, a fifth of the smallest kernels'.)
 */
function compileDirect(exp: string, names: string[], conv: Conv[],
  codes: (Readonly<Record<string, number>> | null)[]): DirectCall {
  const arg = names.map((n, i) => {
    const v = `a[${JSON.stringify(n)}]`;
    switch (conv[i]) {
      case Conv.Ptr: return `be.offset(${v})`;
      case Conv.Bool: return `(${v} ? 1 : 0)`;
      case Conv.U32: return `(${v} >>> 0)`;
      case Conv.Code: return `codes[${i}][${v}]`;
      default: return v;
    }
  });
  const body = `return function (be, a) { return be.k[${JSON.stringify(exp)}](${arg.join(', ')}); };`;
  return new Function('codes', body)(codes) as DirectCall;
}

const CALLS: Record<string, CallInfo> = {};
for (const [name, spec] of Object.entries(KERNELS) as [string, AnySpec][]) {
  const args = Object.entries(spec.args);
  const names = args.map(([n]) => n);
  const conv = args.map(([, t]) => t === 'ptr' ? Conv.Ptr : t === 'bool' ? Conv.Bool : t === 'u32' ? Conv.U32
    : typeof t === 'object' ? Conv.Code : Conv.Num);
  const codes = args.map(([, t]) => typeof t === 'object' ? t : null);
  const exp = spec.export ?? name;
  CALLS[name] = {
    spec, names, conv, codes, exp, scalarExp: spec.scalar,
    direct: compileDirect(exp, names, conv, codes), scalar: compileDirect(spec.scalar, names, conv, codes),
  };
}

export class WasmBackend implements Backend, SparseOps {
  readonly name: string;
  readonly memory: WebAssembly.Memory;
  readonly k: KernelExports;
  readonly variant: WasmVariant;
  /** Threads in all, this one included. */
  readonly threads: number;
  /** The worker threads (null with one thread). */
  readonly pool: ThreadPool | null;
  private top: number;
  private readonly buffers = new Set<ArrayBufferLike>();
  /** The gemm packing buffer of each thread ([0]: this thread's). */
  private readonly gemmScratch: number[];
  /** This thread's gemm packing buffer. */
  readonly scratch: number;
  /** conv2d scratch of each thread, grown to the largest shape seen (empty until needed). */
  private convScratch: number[] = [];
  private convScratchEnd = 0;
  /** Partial products of the K-blocked paths and softmax-CE's group losses (0 until needed). */
  private partials = 0;
  private partialsEnd = 0;
  /** W transposed for the sparse kernels (0 until needed). */
  private sparseWt = 0;
  private sparseWtEnd = 0;
  /** A call's arguments as numbers, reused. */
  private readonly vals: number[] = [];

  constructor(variant: WasmVariant = 'simd', initialBytes = 16 << 20, threads = 1) {
    this.variant = variant;
    this.name = `wasm-${variant}`;
    const pages = Math.max(2, Math.ceil(initialBytes / PAGE));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    const instance = instantiateSync(kernelModule(variant), { env: { memory: this.memory } });
    this.k = instance.exports as unknown as KernelExports;
    this.buffers.add(this.memory.buffer);
    this.top = alignUp(Math.max(this.k.heap_base(), 1024));
    this.pool = Math.floor(threads) > 1 ? new ThreadPool(kernelModule(variant), this.memory, this.k, { threads }) : null;
    this.threads = this.pool?.threads ?? 1;
    this.gemmScratch = [];
    for (let t = 0; t < this.threads; t++) this.gemmScratch.push(this.alloc(this.k.gemm_scratch_bytes()));
    this.scratch = this.gemmScratch[0];
  }

  /** Stops the worker threads (optional: they never keep the process alive). */
  dispose(): void {
    this.pool?.dispose();
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
    // scratch above the mark is freed: allocated again when next needed
    if (mark < this.convScratchEnd) { this.convScratch = []; this.convScratchEnd = 0; }
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

  // ---- calling kernels ----

  /**
   * Calls kernel `name` of the table (kernels.ts) with named arguments; returns what it returns
   * (0 for a split call). With more than one thread, a call the table splits and does not keep on
   * this thread runs in chunks on the pool; `mayThread` false keeps it here (a caller's plan). A
   * trap becomes a KernelTrapError naming the kernel and its arguments; anything else (a view
   * outside the memory, from ptr()) passes through.
   */
  call<K extends KernelName>(name: K, a: KernelArgs<K>, mayThread = true): number {
    const info = CALLS[name], args = a as AnyArgs, scalar = this.variant === 'scalar';
    try {
      if (!mayThread || !this.splits(info.spec, args)) return (scalar ? info.scalar : info.direct)(this, args);
      this.runSplit(scalar ? info.scalarExp : info.exp, info, info.spec.split!(args), this.values(info, args));
      return 0;
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      const kernel = name + (scalar ? '_scalar' : '');
      throw new KernelTrapError(kernel, describeArgs(args, this.memory.buffer.byteLength), e);
    }
  }

  /** A pointer argument as a byte offset: a view in this memory, an offset already, or null (0). */
  offset(v: ArgValue<'ptr'>): number {
    return v === null ? 0 : typeof v === 'number' ? v : this.ptr(v);
  }

  /** Whether a call with these arguments runs on the pool. */
  private splits(spec: AnySpec, a: AnyArgs): boolean {
    return this.pool !== null && spec.split !== undefined && !(spec.stays?.(a) ?? false);
  }

  /** The arguments as the export takes them: pointers as byte offsets (null 0), flags 0/1, codes as numbers. */
  private values(info: CallInfo, a: AnyArgs): number[] {
    const vals = this.vals, { names, conv } = info;
    vals.length = names.length;
    for (let i = 0; i < names.length; i++) {
      const v = a[names[i]];
      switch (conv[i]) {
        case Conv.Ptr: vals[i] = this.offset(v as ArgValue<'ptr'>); break;
        case Conv.Bool: vals[i] = v ? 1 : 0; break;
        case Conv.U32: vals[i] = (v as number) >>> 0; break;
        case Conv.Code: vals[i] = info.codes[i]![v as string]; break;
        default: vals[i] = v as number;
      }
    }
    return vals;
  }

  /** Runs a call in chunks on the pool as `split` says (kernels.ts explains the fields). */
  private runSplit(kernel: string, info: CallInfo, split: Split<Record<string, ArgType>>, vals: number[]): void {
    const base = vals.slice(), coef = new Array<number>(base.length).fill(0);
    let countArg = -1, scratchArg = -1, wrapArg = -1;
    for (let i = 0; i < base.length; i++) {
      const n = info.names[i];
      const off = split.offsets[n];
      if (off !== undefined && !(info.conv[i] === Conv.Ptr && base[i] === 0)) coef[i] = off; // a null pointer stays null
      if (n === split.count) countArg = i;
      if (n === 'scratch' && split.scratch) scratchArg = i;
      if (n === split.wrap?.arg) { wrapArg = i; coef[i] = split.wrap.step; }
    }
    const total = base[countArg], units = Math.ceil(total / split.unit);
    const chunks = Math.max(1, Math.min(this.threads * split.chunks, units));
    const scratch = split.scratch === 'gemm' ? this.gemmScratch : split.scratch === 'conv' ? this.convScratch : undefined;
    this.pool!.run({
      kernel, base, coef, countArg, scratchArg, scratch, wrapArg, total, chunkLen: Math.ceil(units / chunks) * split.unit,
    });
  }

  // ---- kernels ----

  gemm(c: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
    M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    const path = gemmPath(M, N, K, transA, transB, bias !== null);
    if (path === 'kblocked') {
      // rows in fixed blocks, one chunk of blocks per thread: each reads the rows it gathered
      const kb = kBlockRows(K), nb = Math.ceil(K / kb), p = this.partialsFor(nb * M * N);
      this.call('gemm_partials', { p, a, b, M, N, K, kb, q0: 0, nq: nb, scratch: this.scratch, path: stridedPath(M, N, false) });
      this.call('sum_partials', { c, p, n: M * N, parts: nb, accumulate });
    } else if (path === 'dot') {
      this.call('gemm_dot', { c, a, b, bias, M, N, K, accumulate, lda: K, ldb: K, ldc: N });
    } else {
      this.call('gemm', {
        c, a, b, bias, M, N, K, transA, transB, accumulate, scratch: this.scratch,
        lda: transA ? M : K, ldb: transB ? K : N, ldc: N, path,
      });
    }
  }
  fillZero(x: Float32Array, N: number): void {
    // memory.fill: Float32Array.fill on the shared memory is several times slower
    this.call('fill_zero', { x, N });
  }
  biasBackward(dbias: Float32Array, dout: Float32Array, B: number, O: number): void {
    this.call('bias_backward', { dbias, dout, B, O });
  }

  sparseRows(rows: SparseRows, x: Float32Array, B: number, D: number): number {
    this.call('sparse_rows', { ...rows, x, B, D, b0: 0 });
    return sumCounts(rows.cnt, B);
  }
  sparseForward(y: Float32Array, rows: SparseRows, W: Float32Array, bias: Float32Array | null, B: number, D: number,
    O: number): void {
    const how = this.sparseSplit(rows, B, O), wt = this.sparseScratchFor(D, O);
    if (how === 'rows') {
      // too few units to split: W packed once, then rows in the gather's chunks
      this.call('sparse_pack', { wt, W, O, D });
      this.call('sparse_forward_packed', { y, ...rows, wt, bias, B, O });
    } else {
      this.call('sparse_forward', { y, ...rows, W, wt, bias, B, D, O, j0: 0, jn: O }, how === 'units');
    }
  }
  sparseWeightGrad(dW: Float32Array, rows: SparseRows, dy: Float32Array, B: number, D: number, O: number): void {
    const how = this.sparseSplit(rows, B, O), wt = this.sparseScratchFor(D, O);
    if (sparseBlocked(B, O)) {
      // dW packed into wt, the blocks' partials (a chunk of blocks per thread: each sums the rows
      // its forward chunk covered) added to it in block order, and unpacked
      const rb = kBlockRows(B), nb = Math.ceil(B / rb), size = D * this.k.sparse_ldw(O);
      const p = this.partialsFor(nb * size);
      this.call('sparse_pack', { wt, W: dW, O, D });
      this.call('sparse_weight_grad_blocks', { p, ...rows, dy, B, D, O, rb, q0: 0, nq: nb }, how === 'rows');
      this.call('sum_partials', { c: wt, p, n: size, parts: nb, accumulate: true });
      this.call('sparse_unpack', { W: dW, wt, O, D });
    } else {
      this.call('sparse_weight_grad', { dW, ...rows, dy, wt, B, D, O, j0: 0, jn: O }, how === 'units');
    }
  }
  /**
   * How the zero-skipping layer's forward and dW split, if at all (work counted as gemm's, over
   * the nonzeros): by output units from SPARSE_MIN_UNITS_SPLIT units; a narrower layer by rows
   * from 16 rows (dW: its fixed row blocks, when sparseBlocked).
   */
  private sparseSplit(rows: SparseRows, B: number, O: number): 'units' | 'rows' | null {
    if (this.pool === null || 2 * sumCounts(rows.cnt, B) * O < GEMM_MIN_FLOP) return null;
    return O >= SPARSE_MIN_UNITS_SPLIT ? 'units' : B >= 16 ? 'rows' : null;
  }

  activationForward(kind: Activation, out: Float32Array, inp: Float32Array, N: number, alpha: number): void {
    this.call('activation_forward', { kind, out, inp, N, alpha });
  }
  activationBackward(kind: Activation, dinp: Float32Array, dout: Float32Array, saved: Float32Array,
    N: number, alpha: number): void {
    this.call('activation_backward', { kind, dinp, dout, saved, N, alpha });
  }
  softmaxForward(probs: Float32Array, logits: Float32Array, B: number, C: number): void {
    this.call('softmax_forward', { probs, logits, B, C });
  }
  softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array, labels: Int32Array,
    B: number, C: number, N = B, correct: Int32Array | null = null): number {
    const a = { dlogits, logits, labels, B, C, N, correct, parts: 0 };
    if (!this.splits(KERNELS.softmax_cross_entropy, a)) return this.call('softmax_cross_entropy', a);
    // Split: each 8-row group's loss (f64) and correct count go to partials, added here in order.
    const groups = Math.ceil(B / 8);
    const parts = this.partialsFor(3 * groups), counts = parts + 8 * groups;
    const slots = new Int32Array(this.memory.buffer, counts, groups);
    slots.fill(0);
    this.call('softmax_cross_entropy', { ...a, correct: correct ? counts : 0, parts });
    const f = new Float64Array(this.memory.buffer, parts, groups);
    let loss = 0;
    for (let g = 0; g < groups; g++) loss += f[g];
    if (correct) correct[0] = slots.reduce((x, y) => x + y, 0);
    return loss;
  }
  countCorrect(logits: Float32Array, labels: Int32Array, B: number, C: number): number {
    return this.call('count_correct', { logits, labels, B, C });
  }
  optimizerStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array,
    N: number, h: OptimizerStep): void {
    this.call('optimizer_step', {
      kind: h.kind, params, grads, m, v, N, lr: h.lr, momentum: h.momentum, beta1: h.beta1, beta2: h.beta2,
      eps: h.eps, weightDecay: h.weightDecay, bc1: 1 - Math.pow(h.beta1, h.step), bc2: 1 - Math.pow(h.beta2, h.step),
    });
  }
  gatherBatch(x: Float32Array, y: Int32Array, images: Uint8Array, labels: Uint8Array,
    idx: Int32Array, B: number, D: number, scale: number, shift: number): void {
    this.call('gather_batch', { x, y, images, labels, idx, B, D, scale, shift });
  }
  gatherBatchChannels(x: Float32Array, y: Int32Array, images: Uint8Array, labels: Uint8Array,
    idx: Int32Array, B: number, D: number, norm: Float32Array): void {
    this.call('gather_batch_channels', { x, y, images, labels, idx, B, D, C: norm.length / 2, norm });
  }
  dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, N: number, p: number,
    seed: number): void {
    this.call('dropout_forward', { out, mask, inp, N, p, seed });
  }
  dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, N: number): void {
    this.call('dropout_backward', { dinp, dout, mask, N });
  }
  augmentBatch(out: Uint8Array, images: Uint8Array, idx: Int32Array, B: number, shape: [number, number, number],
    opts: AugmentOptions, seed: number): void {
    const [C, H, W] = shape;
    this.call('augment_batch', {
      out, images, idx, B, C, H, W, translate: opts.translate, rotate: opts.rotate * Math.PI / 180, scale: opts.scale,
      flip: opts.flip, seed, b0: 0,
    });
  }
  batchNormForward(y: Float32Array, mean: Float32Array, inp: Float32Array, gamma: Float32Array, beta: Float32Array,
    invstd: Float32Array, runMean: Float32Array, runVar: Float32Array, s: BatchNormShape, mode: BatchNormMode): void {
    this.call('batchnorm_forward', {
      y, mean, inp, gamma, beta, invstd, runMean, runVar, B: s.B, C: s.C, HW: s.HW, ld: s.C * s.HW,
      momentum: mode.momentum, eps: mode.eps, training: mode.training,
    });
  }
  batchNormBackward(dinp: Float32Array | null, dgamma: Float32Array, dbeta: Float32Array, dout: Float32Array,
    inp: Float32Array, gamma: Float32Array, mean: Float32Array, invstd: Float32Array, s: BatchNormShape): void {
    this.call('batchnorm_backward', { dinp, dgamma, dbeta, dout, inp, gamma, mean, invstd, B: s.B, C: s.C, HW: s.HW, ld: s.C * s.HW });
  }

  conv2dForward(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null,
    s: Conv2dShape): void {
    this.call('conv2d_forward', { out, inp, weight, bias, ...s, scratch: this.convScratchFor(s) });
  }
  conv2dBackward(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
    dout: Float32Array, inp: Float32Array, weight: Float32Array, s: Conv2dShape): void {
    const scratch = this.convScratchFor(s);
    // Split: two calls, dweight/dbias by weight units and dinp by images; else one pass for both.
    const units = this.k.conv2d_weight_units(s.C, s.KH, s.KW, s.OC, s.stride);
    const splitW = units >= 2 * (s.stride === 1 ? 1 : 4), splitIn = dinp !== null && s.B >= 2;
    const flop = 2 * s.B * s.OC * s.OH * s.OW * s.C * s.KH * s.KW;
    if (this.pool === null || flop < GEMM_MIN_FLOP || (!splitW && !splitIn)) {
      this.call('conv2d_backward', { dinp, dweight, dbias, dout, inp, weight, ...s, scratch });
      return;
    }
    this.call('conv2d_backward_weight', { dweight, dbias, dout, inp, ...s, scratch, u0: 0, un: units }, splitW);
    if (dinp) this.call('conv2d_backward_input', { dinp, dout, weight, ...s, scratch });
  }
  maxPoolForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, p: Pool2dShape): void {
    this.call('maxpool_forward', { out, argmax, inp, ...p, i0: 0, relu: p.relu === true });
  }
  maxPoolBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, p: Pool2dShape): void {
    this.call('maxpool_backward', { dinp, dout, argmax, ...p, i0: 0 });
  }
  avgPoolForward(out: Float32Array, inp: Float32Array, p: Pool2dShape): void {
    this.call('avgpool_forward', { out, inp, ...p });
  }
  avgPoolBackward(dinp: Float32Array, dout: Float32Array, p: Pool2dShape): void {
    this.call('avgpool_backward', { dinp, dout, ...p });
  }

  // ---- scratch, grown on demand and reused while big enough (kernels allocate nothing) ----

  /** W transposed for the sparse kernels, for D inputs and O units. */
  private sparseScratchFor(D: number, O: number): number {
    const bytes = D * this.k.sparse_ldw(O) * 4;
    if (this.sparseWt === 0 || this.sparseWtEnd - this.sparseWt < bytes) {
      this.sparseWt = this.alloc(bytes);
      this.sparseWtEnd = this.sparseWt + bytes;
    }
    return this.sparseWt;
  }

  /** Room for partial products (K blocks) or group losses. */
  private partialsFor(floats: number): number {
    if (this.partials === 0 || this.partialsEnd - this.partials < floats * 4) {
      this.partials = this.alloc(floats * 4);
      this.partialsEnd = this.partials + floats * 4;
    }
    return this.partials;
  }

  /** Each thread's conv2d scratch for this shape; returns this thread's. */
  private convScratchFor(s: Conv2dShape): number {
    const bytes = this.k.conv2d_scratch_bytes(s.C, s.KH, s.KW, s.OH, s.OW, s.OC);
    if (this.convScratch.length === 0 || this.convScratchEnd - this.convScratch[this.threads - 1] < bytes) {
      this.convScratch = [];
      for (let t = 0; t < this.threads; t++) this.convScratch.push(this.alloc(bytes));
      this.convScratchEnd = this.convScratch[this.threads - 1] + bytes;
    }
    return this.convScratch[0];
  }
}

/** Total of cnt[0, B): the nonzeros that sparse_rows found. */
export function sumCounts(cnt: Int32Array, B: number): number {
  let total = 0;
  for (let b = 0; b < B; b++) total += cnt[b];
  return total;
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
