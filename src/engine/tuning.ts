// Every threshold that decides how a kernel call runs on the host: which gemm path, and under what
// size a call stays on the calling thread. One place, so that a re-tune (on another machine, after a
// kernel change) edits one file; bench/tune.ts re-derives the thread thresholds on the machine it runs on,
// and bench/results/ keeps the measurements each value came from.
//
// Rule for the thread thresholds: with T threads a split saves about (T-1)/T of the one-thread work
// and costs one round trip to the workers (wake, chunk, wait). A call is split when its one-thread
// work is a few (bench/tune.ts: 5) round trips long, so that a slow round trip and a cold cache
// still leave a gain.
// Rule for the path thresholds: a path is picked for a whole call from its shape alone, never from
// the thread count, so every chunk of a split call takes the same path and gives the same bits.

/** Smallest gemm (2*M*N*K flop; conv2d and the sparse layer count the same way) that is split. */
export const GEMM_MIN_FLOP = 4e6;

/** Smallest element counts that are split, per kernel. */
export const MIN_ELEMS = {
  activationCheap: 1 << 19,   // relu / leaky_relu / identity forward, every backward
  activationCostly: 1 << 15,  // sigmoid / tanh / gelu forward
  sgd: 1 << 15,               // also pays for the gradients that the other core just wrote
  momentum: 1 << 15,          // and nesterov
  adam: 1 << 14,              // and adamw
  dropoutForward: 1 << 17,
  dropoutBackward: 1 << 18,
  gatherPixels: 1 << 18,      // B * D (sparse_rows too)
  softmaxCE: 1 << 12,         // B * C
  poolPixels: 1 << 18,        // B * C * H * W (input)
  batchNorm: 1 << 16,         // B * C * HW
  augmentPixels: 1 << 13,     // B * C * H * W (output): ~20 f64 operations a pixel
} as const;

/** Chunks per thread of an element-wise call: a late thread leaves its chunks to the others. */
export const CHUNKS_PER_THREAD = 4;
/** Chunks per thread of a call split by whole images (conv2d, pooling). */
export const IMAGE_CHUNKS_PER_THREAD = 2;

// ---- gemm paths (assembly/gemm/) ----

/** The dot path (C = A B^T, each element one dot product): at most this many columns ... */
export const DOT_MAX_N = 12;
/** ... and at least this depth, for the horizontal sums to pay. */
export const DOT_MIN_K = 32;

/** K blocks of the K-blocked path: fixed, so any thread count gives the same bits. */
export const KB_COUNT = 8;
/** The K-blocked path (C = A^T B): at most this many rows of C ... */
export const KB_MAX_M = 12;
/** ... a reduction at least this long ... */
export const KB_MIN_K = 512;
/** ... and at most this many floats of C (its KB_COUNT partials stay within 8 MB). */
export const KB_MAX_MN = 1 << 18;

/** The narrow path takes C with this many columns (its kernel's width: 3x10 blocks, more than the packed path's 8). */
export const NARROW_N = [9, 10] as const;
/** The short path (B not transposed): at most this many rows of C. */
export const SHORT_MAX_M = 12;

/**
 * The paths of one gemm: dot and kblocked sum in an order of their own and are separate kernels;
 * packed, narrow and short (gemm_strided's path argument) give the same bits for any shape.
 */
export type GemmPath = 'packed' | 'narrow' | 'short' | 'dot' | 'kblocked';
/** gemm_strided's codes for its paths, shared with assembly/gemm/gemm.ts. */
export const GEMM_PATH_CODE = { packed: 0, narrow: 1, short: 2 } as const;

/** The path of a whole gemm call; every chunk of a split call takes it. */
export function gemmPath(M: number, N: number, K: number, transA: boolean, transB: boolean, bias: boolean): GemmPath {
  if (kBlocked(M, N, K, transA, transB, bias)) return 'kblocked';
  if (dotPath(N, K, transA, transB)) return 'dot';
  return stridedPath(M, N, transB);
}

/** The path of a gemm_strided call (also each K block's). */
export function stridedPath(M: number, N: number, transB: boolean): 'packed' | 'narrow' | 'short' {
  if (N >= NARROW_N[0] && N <= NARROW_N[1]) return 'narrow';
  if (M <= SHORT_MAX_M && !transB) return 'short';
  return 'packed';
}

/**
 * Whether a gemm runs as gemm_dot (C = A B^T, every element a dot product of two rows): few
 * columns and a depth worth the horizontal sums.
 */
export function dotPath(N: number, K: number, transA: boolean, transB: boolean): boolean {
  return transB && !transA && N <= DOT_MAX_N && K >= DOT_MIN_K;
}

/**
 * Whether a gemm runs as K blocks (gemm_partials + sum_partials): C = A^T B with few rows and a
 * long reduction, the dW of a full-batch layer with few units.
 */
export function kBlocked(M: number, N: number, K: number, transA: boolean, transB: boolean,
  bias: boolean): boolean {
  return transA && !transB && !bias && M <= KB_MAX_M && K >= KB_MIN_K && M * N <= KB_MAX_MN;
}

/** The zero-skipping layer: from this many units its calls split by units, below by rows. */
export const SPARSE_MIN_UNITS_SPLIT = 32;

/**
 * Whether a zero-skipping weight gradient goes in fixed row blocks (as kBlocked does for gemm): a
 * layer too narrow to split by units over KB_MIN_K rows or more.
 */
export function sparseBlocked(B: number, O: number): boolean {
  return O < SPARSE_MIN_UNITS_SPLIT && B >= KB_MIN_K;
}

/** Rows per K block: K in KB_COUNT blocks, in multiples of 8 (the gather's row groups). */
export function kBlockRows(K: number): number {
  return Math.ceil(K / KB_COUNT / 8) * 8;
}

// ---- the zero-skipping first layer (src/model/layers/sparse_dense.ts) ----
// A nonzero costs the sparse kernels 2-3x what one input costs the gemm (a row of weights per
// nonzero, plus the compression and the transposes), so zeros are skipped only where most inputs
// are zero and the layer is wide enough to repay the compression.

/** Largest share of nonzeros for which a batch takes the zero-skipping path. */
export const SPARSE_MAX_DENSITY = 0.25;

/**
 * Fewest units for which the layer skips the zeros of a batch it compresses afresh; below it the
 * compression costs what the skipped products save. Rows that repeat (ForwardContext.repeat) are
 * compressed once, so they skip zeros at any width.
 */
export const SPARSE_MIN_UNITS = 16;

/**
 * Rows compressed at a time: batches up to this size (training's) at once, bigger ones (evaluation,
 * full-batch chunks) in slices of it, which bounds the compression buffers.
 */
export const SPARSE_ROWS = 256;
