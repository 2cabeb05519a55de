// The kernel table: every export of build/kernels*.wasm that the host calls, declared once.
// Per kernel: its arguments in order, named and typed; its scalar twin (the naive export that the
// wasm-scalar backend calls instead, same signature); and, for kernels that run on several
// threads, how a call splits and the size under which it stays on the calling thread.
// WasmBackend (wasm.ts) builds every call, trap message and thread split from this table.
//
// How a split works (threads/pool.ts runs it). A call covers a range [0, total) of `count`
// (its value in the whole call is the total). The range is cut into about `chunks` x threads
// chunks whose starts are multiples of `unit`; the chunk [s, e) is the same kernel called with
// `count` = e - s and every argument in `offsets` moved by s x its offset (pointers in bytes,
// counters such as q0 in units). A null pointer stays null. `scratch` names the argument that
// gets each thread's own scratch buffer, `wrap` a u32 that moves by imul(s, step) mod 2^32.
// Every output element is computed by exactly one chunk, with the code and order of operations
// of the whole call: any thread count gives the same bits.
import {
  ACTIVATION_CODE, OPTIMIZER_CODE, type Activation, type OptimizerKind,
} from './backend.js';
import {
  CHUNKS_PER_THREAD, GEMM_MIN_FLOP, GEMM_PATH_CODE, IMAGE_CHUNKS_PER_THREAD, MIN_ELEMS,
} from './tuning.js';

/** Types of kernel arguments: a pointer (a view in the backend's memory, a byte offset, or null), a number, a flag or a code. */
export type ArgType = 'ptr' | 'i32' | 'u32' | 'f32' | 'f64' | 'bool' | Readonly<Record<string, number>>;
/** A view in the backend's memory. */
export type View = Float32Array | Int32Array | Uint8Array;

/** What the host passes for an argument of type T (a code's name, not its number). */
export type ArgValue<T extends ArgType> =
  T extends 'ptr' ? View | number | null :
  T extends 'bool' ? boolean :
  T extends 'i32' | 'u32' | 'f32' | 'f64' ? number :
  keyof T;

export type Args<A extends Record<string, ArgType>> = { [P in keyof A]: ArgValue<A[P]> };

/** How one call splits across threads (see the top of this file). */
export interface Split<A extends Record<string, ArgType>> {
  count: keyof A & string;
  unit: number;
  /** Chunks per thread. */
  chunks: number;
  offsets: Partial<Record<keyof A & string, number>>;
  scratch?: 'gemm' | 'conv';
  wrap?: { arg: keyof A & string; step: number };
}

export interface KernelSpec<A extends Record<string, ArgType>> {
  /** The export, when it is not the kernel's name. */
  export?: string;
  args: A;
  /** The scalar twin's export. */
  scalar: string;
  // (Methods, not function properties, so that any entry reads as a KernelSpec of any arguments.)
  /** How a call splits; omitted: always one thread. */
  split?(a: Args<A>): Split<A>;
  /** Whether a call stays on the calling thread (too small to pay for a split); omitted: never. */
  stays?(a: Args<A>): boolean;
}

/** Declares one kernel (a function only so that TypeScript infers its argument types). */
function kernel<A extends Record<string, ArgType>>(spec: KernelSpec<A>): KernelSpec<A> {
  return spec;
}

const flop = (M: number, N: number, K: number): number => 2 * M * N * K;
const ACT: Readonly<Record<Activation, number>> = ACTIVATION_CODE;
const OPT: Readonly<Record<OptimizerKind, number>> = OPTIMIZER_CODE;
const GOLDEN = 0x9e3779b9;
/** Activations whose forward is a compare or a copy; the others (exp-based) cost far more per element. */
const CHEAP_FORWARD: readonly Activation[] = ['identity', 'relu', 'leaky_relu'];

// Geometry of conv2d and pooling calls, in the kernels' argument order.
const CONV = { B: 'i32', C: 'i32', H: 'i32', W: 'i32', OC: 'i32', KH: 'i32', KW: 'i32', stride: 'i32', pad: 'i32' } as const;
const POOL = { B: 'i32', C: 'i32', H: 'i32', W: 'i32', k: 'i32', stride: 'i32', OH: 'i32', OW: 'i32' } as const;

type PoolGeometry = { B: number; C: number; H: number; W: number; OH: number; OW: number };
/** A pooling call stays on one thread for one image or few pixels. */
const poolStays = (a: PoolGeometry): boolean => a.B < 2 || a.B * a.C * a.H * a.W < MIN_ELEMS.poolPixels;
/**
 * A pooling call splits by whole images: each pointer in `pooled` steps over one image's pooled
 * values (C*OH*OW), each in `full` over its input (C*H*W); `more` adds other per-image offsets.
 */
function poolSplit(a: PoolGeometry, pooled: string[], full: string[], more: Record<string, number> = {}) {
  const offsets: Record<string, number> = { ...more };
  for (const p of pooled) offsets[p] = a.C * a.OH * a.OW * 4;
  for (const p of full) offsets[p] = a.C * a.H * a.W * 4;
  return { count: 'B' as const, unit: 1, chunks: IMAGE_CHUNKS_PER_THREAD, offsets };
}

const ROWS = { idx: 'ptr', val: 'ptr', start: 'ptr', cnt: 'ptr' } as const;

export const KERNELS = {
  // ---- gemm (assembly/gemm/); the path of a call is tuning.ts gemmPath's ----
  /** C = op(A) op(B) [+ bias] [+ C] with leading dimensions: rows of C (M >= N) or its columns. */
  gemm: kernel({
    export: 'gemm_strided',
    args: {
      c: 'ptr', a: 'ptr', b: 'ptr', bias: 'ptr', M: 'i32', N: 'i32', K: 'i32',
      transA: 'bool', transB: 'bool', accumulate: 'bool', scratch: 'ptr', lda: 'i32', ldb: 'i32', ldc: 'i32',
      path: GEMM_PATH_CODE,
    },
    scalar: 'gemm_strided_scalar',
    stays: (a) => flop(a.M, a.N, a.K) < GEMM_MIN_FLOP,
    // One chunk per thread: each chunk packs the whole operand it shares (B for rows, A for columns).
    // Rows in multiples of the micro-kernel's 4; columns in 16 (64 bytes: no cache line in two threads).
    split: (a) => a.M >= a.N
      ? { count: 'M', unit: 4, chunks: 1, scratch: 'gemm', offsets: { c: a.ldc * 4, a: (a.transA ? 1 : a.lda) * 4 } }
      : { count: 'N', unit: 16, chunks: 1, scratch: 'gemm', offsets: { c: 4, b: (a.transB ? a.ldb : 1) * 4, bias: 4 } },
  }),
  /** C = A B^T [+ bias] [+ C], every element one dot product: no packing, so rows or columns split freely. */
  gemm_dot: kernel({
    args: {
      c: 'ptr', a: 'ptr', b: 'ptr', bias: 'ptr', M: 'i32', N: 'i32', K: 'i32', accumulate: 'bool',
      lda: 'i32', ldb: 'i32', ldc: 'i32',
    },
    scalar: 'gemm_dot_scalar',
    stays: (a) => flop(a.M, a.N, a.K) < GEMM_MIN_FLOP,
    split: (a) => a.M >= a.N
      ? { count: 'M', unit: 4, chunks: 1, offsets: { c: a.ldc * 4, a: a.lda * 4 } }
      : { count: 'N', unit: 16, chunks: 1, offsets: { c: 4, b: a.ldb * 4, bias: 4 } },
  }),
  /** Partial products P_q = A(block q)^T B(block q) of the K blocks [q0, q0+nq): a chunk of blocks per thread. */
  gemm_partials: kernel({
    args: {
      p: 'ptr', a: 'ptr', b: 'ptr', M: 'i32', N: 'i32', K: 'i32', kb: 'i32', q0: 'i32', nq: 'i32', scratch: 'ptr',
      path: GEMM_PATH_CODE,
    },
    scalar: 'gemm_partials_scalar',
    stays: (a) => flop(a.M, a.N, a.K) < GEMM_MIN_FLOP,
    split: () => ({ count: 'nq', unit: 1, chunks: 1, scratch: 'gemm', offsets: { q0: 1 } }),
  }),
  /** c(n) = [c +] p_0 + p_1 + ... in that order (the partials n floats apart). */
  sum_partials: kernel({
    args: { c: 'ptr', p: 'ptr', n: 'i32', parts: 'i32', accumulate: 'bool' },
    scalar: 'sum_partials_scalar',
  }),
  /** dbias(O) += column sums of dout(B,O); no row stride to split columns with. */
  bias_backward: kernel({
    args: { dbias: 'ptr', dout: 'ptr', B: 'i32', O: 'i32' },
    scalar: 'bias_backward_scalar',
  }),
  fill_zero: kernel({
    args: { x: 'ptr', N: 'i32' },
    scalar: 'fill_zero_scalar',
  }),

  // ---- zero-skipping dense layer (assembly/sparse.ts); the split is wasm.ts sparseSplit's ----
  /** Rows b0 + [0, B) of x compressed; chunks of 8-row groups (the gather's). */
  sparse_rows: kernel({
    args: { ...ROWS, x: 'ptr', B: 'i32', D: 'i32', b0: 'i32' },
    scalar: 'sparse_rows_scalar',
    stays: (a) => a.B * a.D < MIN_ELEMS.gatherPixels || a.B < 16,
    // idx and val keep their base: the kernel puts row b0 + b at slot (b0 + b) D.
    split: (a) => ({ count: 'B', unit: 8, chunks: 1, offsets: { start: 4, cnt: 4, x: a.D * 4, b0: 1 } }),
  }),
  /** y = rows W^T [+ bias] for units [j0, j0+jn), each chunk with its own part of the scratch wt. */
  sparse_forward: kernel({
    args: { y: 'ptr', ...ROWS, W: 'ptr', wt: 'ptr', bias: 'ptr', B: 'i32', D: 'i32', O: 'i32', j0: 'i32', jn: 'i32' },
    scalar: 'sparse_forward_scalar',
    split: (a) => ({ count: 'jn', unit: 16, chunks: 1, offsets: { wt: a.D * 4, j0: 1 } }),
  }),
  /** sparse_forward of a narrow layer whose W is packed in wt already: chunks of 8-row groups. */
  sparse_forward_packed: kernel({
    args: { y: 'ptr', ...ROWS, wt: 'ptr', bias: 'ptr', B: 'i32', O: 'i32' },
    scalar: 'sparse_forward_packed_scalar',
    split: (a) => ({ count: 'B', unit: 8, chunks: 1, offsets: { y: a.O * 4, start: 4, cnt: 4 } }),
  }),
  /** dW += dy^T rows for units [j0, j0+jn), as sparse_forward. */
  sparse_weight_grad: kernel({
    args: { dW: 'ptr', ...ROWS, dy: 'ptr', wt: 'ptr', B: 'i32', D: 'i32', O: 'i32', j0: 'i32', jn: 'i32' },
    scalar: 'sparse_weight_grad_scalar',
    split: (a) => ({ count: 'jn', unit: 16, chunks: 1, offsets: { wt: a.D * 4, j0: 1 } }),
  }),
  /** Partials of dW over the fixed row blocks [q0, q0+nq) (as gemm_partials): a chunk of blocks per thread. */
  sparse_weight_grad_blocks: kernel({
    args: { p: 'ptr', ...ROWS, dy: 'ptr', B: 'i32', D: 'i32', O: 'i32', rb: 'i32', q0: 'i32', nq: 'i32' },
    scalar: 'sparse_weight_grad_blocks_scalar',
    split: () => ({ count: 'nq', unit: 1, chunks: 1, offsets: { q0: 1 } }),
  }),
  sparse_pack: kernel({ args: { wt: 'ptr', W: 'ptr', O: 'i32', D: 'i32' }, scalar: 'sparse_pack_scalar' }),
  sparse_unpack: kernel({ args: { W: 'ptr', wt: 'ptr', O: 'i32', D: 'i32' }, scalar: 'sparse_unpack_scalar' }),

  // ---- element-wise (assembly/activation.ts, optimizer.ts, dropout.ts): chunks of 16 elements ----
  activation_forward: kernel({
    args: { kind: ACT, out: 'ptr', inp: 'ptr', N: 'i32', alpha: 'f32' },
    scalar: 'activation_forward_scalar',
    stays: (a) => a.N < (CHEAP_FORWARD.includes(a.kind) ? MIN_ELEMS.activationCheap : MIN_ELEMS.activationCostly),
    split: () => ({ count: 'N', unit: 16, chunks: CHUNKS_PER_THREAD, offsets: { out: 4, inp: 4 } }),
  }),
  /** saved: the forward's output or input (ACTIVATION_SAVES). */
  activation_backward: kernel({
    args: { kind: ACT, dinp: 'ptr', dout: 'ptr', saved: 'ptr', N: 'i32', alpha: 'f32' },
    scalar: 'activation_backward_scalar',
    stays: (a) => a.N < MIN_ELEMS.activationCheap,
    split: () => ({ count: 'N', unit: 16, chunks: CHUNKS_PER_THREAD, offsets: { dinp: 4, dout: 4, saved: 4 } }),
  }),
  optimizer_step: kernel({
    args: {
      kind: OPT, params: 'ptr', grads: 'ptr', m: 'ptr', v: 'ptr', N: 'i32', lr: 'f32', momentum: 'f32',
      beta1: 'f64', beta2: 'f64', eps: 'f32', weightDecay: 'f32', bc1: 'f64', bc2: 'f64',
    },
    scalar: 'optimizer_step_scalar',
    stays: (a) => a.N < (a.kind === 'sgd' ? MIN_ELEMS.sgd
      : a.kind === 'momentum' || a.kind === 'nesterov' ? MIN_ELEMS.momentum : MIN_ELEMS.adam),
    split: () => ({ count: 'N', unit: 16, chunks: CHUNKS_PER_THREAD, offsets: { params: 4, grads: 4, m: 4, v: 4 } }),
  }),
  /** The mask hashes the global index: the chunk at s gets seed + s * GOLDEN, which draws the same mask. */
  dropout_forward: kernel({
    args: { out: 'ptr', mask: 'ptr', inp: 'ptr', N: 'i32', p: 'f64', seed: 'u32' },
    scalar: 'dropout_forward_scalar',
    stays: (a) => a.N < MIN_ELEMS.dropoutForward,
    split: () => ({
      count: 'N', unit: 16, chunks: CHUNKS_PER_THREAD, offsets: { out: 4, mask: 4, inp: 4 }, wrap: { arg: 'seed', step: GOLDEN },
    }),
  }),
  dropout_backward: kernel({
    args: { dinp: 'ptr', dout: 'ptr', mask: 'ptr', N: 'i32' },
    scalar: 'dropout_backward_scalar',
    stays: (a) => a.N < MIN_ELEMS.dropoutBackward,
    split: () => ({ count: 'N', unit: 16, chunks: CHUNKS_PER_THREAD, offsets: { dinp: 4, dout: 4, mask: 4 } }),
  }),

  // ---- batch preparation (assembly/batch.ts): chunks of 8-row groups, the rows that the forward's chunks take ----
  gather_batch: kernel({
    args: {
      x: 'ptr', y: 'ptr', images: 'ptr', labels: 'ptr', idx: 'ptr', B: 'i32', D: 'i32', scale: 'f32', shift: 'f32',
    },
    scalar: 'gather_batch_scalar',
    stays: (a) => a.B * a.D < MIN_ELEMS.gatherPixels || a.B < 2,
    split: (a) => ({ count: 'B', unit: 8, chunks: 1, offsets: { x: a.D * 4, y: 4, idx: 4 } }),
  }),
  /** gather_batch with a scale and shift per channel: norm is (C,2) f32; the same split. */
  gather_batch_channels: kernel({
    args: { x: 'ptr', y: 'ptr', images: 'ptr', labels: 'ptr', idx: 'ptr', B: 'i32', D: 'i32', C: 'i32', norm: 'ptr' },
    scalar: 'gather_batch_channels_scalar',
    stays: (a) => a.B * a.D < MIN_ELEMS.gatherPixels || a.B < 2,
    split: (a) => ({ count: 'B', unit: 8, chunks: 1, offsets: { x: a.D * 4, y: 4, idx: 4 } }),
  }),

  /** Augmentation (assembly/augment.ts): chunks of whole images; b0 keeps each image's draw batch-wide. */
  augment_batch: kernel({
    args: {
      out: 'ptr', images: 'ptr', idx: 'ptr', B: 'i32', C: 'i32', H: 'i32', W: 'i32', translate: 'f64', rotate: 'f64',
      scale: 'f64', flip: 'bool', seed: 'u32', b0: 'i32',
    },
    scalar: 'augment_batch_scalar',
    stays: (a) => a.B < 2 || a.B * a.C * a.H * a.W < MIN_ELEMS.augmentPixels,
    split: (a) => ({ count: 'B', unit: 1, chunks: IMAGE_CHUNKS_PER_THREAD, offsets: { out: a.C * a.H * a.W, idx: 4, b0: 1 } }),
  }),

  // ---- output layer (assembly/softmax_ce.ts) ----
  softmax_forward: kernel({
    args: { probs: 'ptr', logits: 'ptr', B: 'i32', C: 'i32' },
    scalar: 'softmax_forward_scalar',
  }),
  /**
   * Chunks of whole 8-row groups: each writes its groups' losses (f64) at parts + row/8 * 8 bytes
   * and its correct count in the slot of its first group (correct + row/8 * 4 bytes); the host
   * adds the group losses in order, as the one-thread call does.
   */
  softmax_cross_entropy: kernel({
    args: { dlogits: 'ptr', logits: 'ptr', labels: 'ptr', B: 'i32', C: 'i32', N: 'i32', correct: 'ptr', parts: 'ptr' },
    scalar: 'softmax_cross_entropy_scalar',
    stays: (a) => a.B * a.C < MIN_ELEMS.softmaxCE || a.B < 16,
    split: (a) => ({
      count: 'B', unit: 8, chunks: 1, offsets: { dlogits: a.C * 4, logits: a.C * 4, labels: 4, correct: 0.5, parts: 1 },
    }),
  }),
  count_correct: kernel({
    args: { logits: 'ptr', labels: 'ptr', B: 'i32', C: 'i32' },
    scalar: 'count_correct_scalar',
  }),

  // ---- convolution (assembly/conv/) ----
  /** Images are independent: chunks of whole images, each thread with its own scratch. */
  conv2d_forward: kernel({
    args: { out: 'ptr', inp: 'ptr', weight: 'ptr', bias: 'ptr', ...CONV, OH: 'i32', OW: 'i32', scratch: 'ptr' },
    scalar: 'conv2d_forward_scalar',
    stays: (a) => a.B < 2 || flop(a.B * a.OC * a.OH * a.OW, a.C * a.KH, a.KW) < GEMM_MIN_FLOP,
    split: (a) => ({
      count: 'B', unit: 1, chunks: IMAGE_CHUNKS_PER_THREAD, scratch: 'conv',
      offsets: { out: a.OC * a.OH * a.OW * 4, inp: a.C * a.H * a.W * 4 },
    }),
  }),
  /** dinp (null: skip) and dweight, dbias (+=) in one pass: the one-thread backward. */
  conv2d_backward: kernel({
    args: {
      dinp: 'ptr', dweight: 'ptr', dbias: 'ptr', dout: 'ptr', inp: 'ptr', weight: 'ptr', ...CONV,
      OH: 'i32', OW: 'i32', scratch: 'ptr',
    },
    scalar: 'conv2d_backward_scalar',
  }),
  /** conv2d_backward's dinp alone: chunks of whole images. */
  conv2d_backward_input: kernel({
    args: { dinp: 'ptr', dout: 'ptr', weight: 'ptr', ...CONV, OH: 'i32', OW: 'i32', scratch: 'ptr' },
    scalar: 'conv2d_backward_input_scalar',
    split: (a) => ({
      count: 'B', unit: 1, chunks: IMAGE_CHUNKS_PER_THREAD, scratch: 'conv',
      offsets: { dinp: a.C * a.H * a.W * 4, dout: a.OC * a.OH * a.OW * 4 },
    }),
  }),
  /**
   * conv2d_backward's dweight, dbias for weight units [u0, u0+un), each summed over the whole batch
   * by one chunk: stride 1, (8-channel block, weight) pairs; else output channels in fours.
   */
  conv2d_backward_weight: kernel({
    args: { dweight: 'ptr', dbias: 'ptr', dout: 'ptr', inp: 'ptr', ...CONV, scratch: 'ptr', u0: 'i32', un: 'i32' },
    scalar: 'conv2d_backward_weight_scalar',
    split: (a) => ({ count: 'un', unit: a.stride === 1 ? 1 : 4, chunks: 1, scratch: 'conv', offsets: { u0: 1 } }),
  }),

  // ---- batch normalization (assembly/batchnorm.ts): chunks of whole channels, each summed by one chunk ----
  batchnorm_forward: kernel({
    args: {
      y: 'ptr', mean: 'ptr', inp: 'ptr', gamma: 'ptr', beta: 'ptr', invstd: 'ptr', runMean: 'ptr', runVar: 'ptr',
      B: 'i32', C: 'i32', HW: 'i32', ld: 'i32', momentum: 'f64', eps: 'f64', training: 'bool',
    },
    scalar: 'batchnorm_forward_scalar',
    stays: (a) => a.C < 2 || a.B * a.C * a.HW < MIN_ELEMS.batchNorm,
    split: (a) => ({
      count: 'C', unit: 1, chunks: CHUNKS_PER_THREAD,
      offsets: { y: a.HW * 4, mean: 4, inp: a.HW * 4, gamma: 4, beta: 4, invstd: 4, runMean: 4, runVar: 4 },
    }),
  }),
  batchnorm_backward: kernel({
    args: {
      dinp: 'ptr', dgamma: 'ptr', dbeta: 'ptr', dout: 'ptr', inp: 'ptr', gamma: 'ptr', mean: 'ptr', invstd: 'ptr',
      B: 'i32', C: 'i32', HW: 'i32', ld: 'i32',
    },
    scalar: 'batchnorm_backward_scalar',
    stays: (a) => a.C < 2 || a.B * a.C * a.HW < MIN_ELEMS.batchNorm,
    split: (a) => ({
      count: 'C', unit: 1, chunks: CHUNKS_PER_THREAD,
      offsets: { dinp: a.HW * 4, dgamma: 4, dbeta: 4, dout: a.HW * 4, inp: a.HW * 4, gamma: 4, mean: 4, invstd: 4 },
    }),
  }),

  // ---- pooling (assembly/pool.ts): chunks of whole images; i0 keeps max pooling's argmax batch-wide ----
  maxpool_forward: kernel({
    args: { out: 'ptr', argmax: 'ptr', inp: 'ptr', ...POOL, i0: 'i32', relu: 'bool' },
    scalar: 'maxpool_forward_scalar',
    stays: poolStays,
    split: (a) => poolSplit(a, ['out', 'argmax'], ['inp'], { i0: a.C * a.H * a.W }),
  }),
  maxpool_backward: kernel({
    args: { dinp: 'ptr', dout: 'ptr', argmax: 'ptr', ...POOL, i0: 'i32' },
    scalar: 'maxpool_backward_scalar',
    stays: poolStays,
    split: (a) => poolSplit(a, ['dout', 'argmax'], ['dinp'], { i0: a.C * a.H * a.W }),
  }),
  avgpool_forward: kernel({
    args: { out: 'ptr', inp: 'ptr', ...POOL },
    scalar: 'avgpool_forward_scalar',
    stays: poolStays,
    split: (a) => poolSplit(a, ['out'], ['inp']),
  }),
  avgpool_backward: kernel({
    args: { dinp: 'ptr', dout: 'ptr', ...POOL },
    scalar: 'avgpool_backward_scalar',
    stays: poolStays,
    split: (a) => poolSplit(a, ['dout'], ['dinp']),
  }),
};

export type KernelName = keyof typeof KERNELS;
/** The named arguments of a call of kernel K. */
export type KernelArgs<K extends KernelName> = Args<(typeof KERNELS)[K]['args']>;

/** Exports that answer questions about sizes rather than compute (not split, no twin). */
export interface KernelQueries {
  heap_base(): number;
  gemm_scratch_bytes(): number;
  conv2d_scratch_bytes(C: number, KH: number, KW: number, OH: number, OW: number, OC: number): number;
  conv2d_weight_units(C: number, KH: number, KW: number, OC: number, stride: number): number;
  sparse_ldw(O: number): number;
}

/** A kernel export: numbers in (pointers are byte offsets), at most a number out. */
export type KernelFn = (...args: number[]) => number;

/** The raw exports of build/kernels*.wasm. */
export type KernelExports = KernelQueries & Record<string, KernelFn>;
