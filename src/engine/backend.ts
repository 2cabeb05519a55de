// The one interface every backend implements: the TypeScript reference (`ts`, the oracle) and the
// WebAssembly kernels (`wasm`, SIMD or scalar). Kernels allocate nothing and return at most a
// scalar: the caller owns every buffer and passes sizes. Outputs first, then inputs, then sizes.
//
// Shape vocabulary: B batch, I inputs, O outputs, C classes, N element count, M/N/K for gemm.
// Matrices are row-major f32. A dense layer keeps its weight as (O,I) like PyTorch and the seed's
// W1 (10,784), so out = inp @ W^T + b.

export type Activation = 'identity' | 'relu' | 'leaky_relu' | 'sigmoid' | 'tanh' | 'gelu';
export const ACTIVATIONS: readonly Activation[] = ['identity', 'relu', 'leaky_relu', 'sigmoid', 'tanh', 'gelu'];
/** Numeric code of each activation, shared with assembly/activation.ts. */
export const ACTIVATION_CODE: Record<Activation, number> = {
  identity: 0, relu: 1, leaky_relu: 2, sigmoid: 3, tanh: 4, gelu: 5,
};
/**
 * What activationBackward reads besides dout: the forward's output (f' written in terms of
 * y = f(x), so a layer keeps only its output) or, where f' cannot be written from y, its input.
 */
export const ACTIVATION_SAVES: Record<Activation, 'output' | 'input'> = {
  identity: 'output', relu: 'output', leaky_relu: 'output', sigmoid: 'output', tanh: 'output', gelu: 'input',
};

export type OptimizerKind = 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'adamw';
export const OPTIMIZERS: readonly OptimizerKind[] = ['sgd', 'momentum', 'nesterov', 'adam', 'adamw'];
/** Numeric code of each optimizer, shared with assembly/optimizer.ts. */
export const OPTIMIZER_CODE: Record<OptimizerKind, number> = {
  sgd: 0, momentum: 1, nesterov: 2, adam: 3, adamw: 4,
};

/** Hyper-parameters of one optimizer step; `step` counts from 1 (Adam's bias correction). */
export interface OptimizerStep {
  kind: OptimizerKind;
  lr: number;
  momentum: number;     // momentum / nesterov
  beta1: number;        // adam / adamw
  beta2: number;
  eps: number;
  weightDecay: number;  // L2 added to the gradient (sgd, momentum, nesterov, adam); decoupled for adamw
  step: number;
}

/** Geometry of a 2-D convolution over channels-first images (B,C,H,W) -> (B,OC,OH,OW). */
export interface Conv2dShape {
  B: number; C: number; H: number; W: number;
  OC: number; KH: number; KW: number;
  stride: number; pad: number;
  OH: number; OW: number;
}

/** Geometry of a 2-D pooling window k x k with a stride, no padding: (B,C,H,W) -> (B,C,OH,OW). */
export interface Pool2dShape {
  B: number; C: number; H: number; W: number;
  k: number; stride: number;
  OH: number; OW: number;
  /** Max pooling only: a relu on the output, fused (out = max(0, window max); argmax -1 where out is 0). */
  relu?: boolean;
}

/**
 * Input rows compressed to their nonzeros (Backend.sparseRows), in backend memory: row b's columns
 * are idx[start[b], start[b] + cnt[b]), ascending, and its values are val at the same slots.
 * sparseRows starts row b at slot b*D; a cache of many rows packs them (layers/sparse_dense.ts).
 */
/** One random affine map per image (assembly/augment.ts): ranges of the uniform draws. */
export interface AugmentOptions {
  /** Shift in pixels, in [-translate, translate] along each axis. */
  translate: number;
  /** Rotation in degrees, in [-rotate, rotate]. */
  rotate: number;
  /** Zoom factor in [1 - scale, 1 + scale]. */
  scale: number;
  /** Mirror left-right with probability 1/2 (pictures; not digits). */
  flip: boolean;
}

/** Geometry of a batch normalization call: B samples of C channels of HW values each, (B, C, HW) in memory. */
export interface BatchNormShape {
  B: number;
  C: number;
  HW: number;
}

/** Settings of a batch normalization forward (see assembly/batchnorm.ts). */
export interface BatchNormMode {
  /** Batch statistics (and running statistics updated), else the running statistics. */
  training: boolean;
  /** Weight of the batch in the running statistics (PyTorch's momentum, 0.1). */
  momentum: number;
  eps: number;
}

export interface SparseRows {
  idx: Int32Array;
  val: Float32Array;
  start: Int32Array;
  cnt: Int32Array;
}

export interface Backend {
  /** 'ts', 'wasm-simd', 'wasm-relaxed' or 'wasm-scalar'. */
  readonly name: string;

  // ---- memory: zero-filled, 16-byte aligned; on wasm they live inside the module's memory ----
  f32(n: number): Float32Array;
  i32(n: number): Int32Array;
  u8(n: number): Uint8Array;
  /** Current allocation mark; release(mark) frees everything allocated after it (scratch use). */
  mark(): number;
  release(mark: number): void;

  // ---- matrix multiply ----
  /**
   * C(M,N) = op(A) op(B) [+ bias(N) broadcast over rows] [+ C when accumulate].
   * op(A) is (M,K): A is stored (M,K), or (K,M) when transA. op(B) is (K,N): B is stored (K,N),
   * or (N,K) when transB. Every element of C is summed over k in the same order wherever it sits,
   * so splitting M or N across threads gives bit-identical results. (The wasm backends sum a
   * transA product with few rows and a long K in fixed blocks of K, added in order: the same
   * bits for any thread count too; see tuning.ts kBlocked.)
   */
  gemm(c: Float32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null,
    M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void;
  /** dbias(O) += sum over the batch of dout(B,O). */
  biasBackward(dbias: Float32Array, dout: Float32Array, B: number, O: number): void;

  // ---- activations (element-wise over N values) ----
  activationForward(kind: Activation, out: Float32Array, inp: Float32Array, N: number, alpha: number): void;
  /**
   * dinp = dout * f'(x), with f' written in terms of `saved`: the forward's output y = f(x), or
   * its input x, as ACTIVATION_SAVES[kind] says. dinp may alias dout.
   */
  activationBackward(kind: Activation, dinp: Float32Array, dout: Float32Array, saved: Float32Array,
    N: number, alpha: number): void;

  // ---- output layer ----
  /** probs(B,C) = softmax of each row of logits(B,C). */
  softmaxForward(probs: Float32Array, logits: Float32Array, B: number, C: number): void;
  /**
   * Fused softmax + cross-entropy. Returns the *sum* of the per-row losses (divide by B for the
   * mean). When dlogits is given it receives d(mean loss)/dlogits = (softmax - onehot) / N, the
   * mean over N rows: N = B (the default) for one batch; a full batch that goes through in chunks
   * passes its size. When `correct` is given, correct[0] receives countCorrect of these rows
   * (found from the same row maxima). Stable for logits of +-1000 (subtracts the row max).
   */
  softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array, labels: Int32Array,
    B: number, C: number, N?: number, correct?: Int32Array | null): number;
  /** Number of rows whose argmax (first maximum) equals the label. */
  countCorrect(logits: Float32Array, labels: Int32Array, B: number, C: number): number;

  // ---- gradients: zeroed before each step's backward, which adds into them ----
  /** x[0, N) = 0. */
  fillZero(x: Float32Array, N: number): void;

  // ---- optimizer: one call updates the whole flat parameter arena ----
  /** m and v are the optimizer state (velocity / first and second moments), N floats each. */
  optimizerStep(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array,
    N: number, h: OptimizerStep): void;

  // ---- batch preparation ----
  /**
   * x(B,D) = images[idx[b]] * scale + shift (u8 -> f32), y(B) = labels[idx[b]].
   * images is (N,D) u8 and labels (N) u8, both kept as loaded.
   */
  gatherBatch(x: Float32Array, y: Int32Array, images: Uint8Array, labels: Uint8Array,
    idx: Int32Array, B: number, D: number, scale: number, shift: number): void;
  /**
   * gatherBatch with rows of C planes (C x H x W), each normalized by its own scale and shift:
   * norm is (C,2) f32 [scale0, shift0, scale1, ...] in backend memory (C = norm.length / 2).
   */
  gatherBatchChannels(x: Float32Array, y: Int32Array, images: Uint8Array, labels: Uint8Array,
    idx: Int32Array, B: number, D: number, norm: Float32Array): void;

  /**
   * out(B, C*H*W) u8 = images[idx[b]] warped by one random affine map per image (translation,
   * rotation, zoom, optional mirror; bilinear, 0 outside), drawn from hash(seed, b): the same bytes
   * for any thread count. images is (N, C*H*W) u8, channels first.
   */
  augmentBatch(out: Uint8Array, images: Uint8Array, idx: Int32Array, B: number, shape: [number, number, number],
    opts: AugmentOptions, seed: number): void;

  // ---- dropout (inverted: kept values are scaled by 1/(1-p) at training time) ----
  /**
   * mask(N) = 0 or 1/(1-p) drawn from a counter-based hash of (seed, i); out = inp * mask.
   * seed is a u32 drawn from the run's one PRNG, so dropout follows the run's seed.
   */
  dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, N: number, p: number,
    seed: number): void;
  /** dinp = dout * mask; dinp may alias dout. */
  dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array, N: number): void;

  // ---- convolution and pooling over channels-first images (B,C,H,W) ----
  // Flatten (B,C,H,W) -> (B,C*H*W) needs no kernel: it is the same memory.
  /** out(B,OC,OH,OW) = conv(inp(B,C,H,W), weight(OC,C,KH,KW)) [+ bias(OC)], stride and zero padding. */
  conv2dForward(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null,
    s: Conv2dShape): void;
  /**
   * Gradients of conv2dForward for dout(B,OC,OH,OW): dinp(B,C,H,W) is overwritten (null: skip, as
   * for a first layer), dweight(OC,C,KH,KW) += and dbias(OC) += (null: skip).
   */
  conv2dBackward(dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null,
    dout: Float32Array, inp: Float32Array, weight: Float32Array, s: Conv2dShape): void;
  /**
   * out(B,C,OH,OW) = max of each window; argmax (same shape) = index in inp of its first maximum.
   * p.relu: out = max(0, window max), and argmax -1 where the relu gives 0 (the backward then routes nothing).
   */
  maxPoolForward(out: Float32Array, argmax: Int32Array, inp: Float32Array, p: Pool2dShape): void;
  /** dinp(B,C,H,W) = 0, then dinp[argmax] += dout (argmax -1: none). */
  maxPoolBackward(dinp: Float32Array, dout: Float32Array, argmax: Int32Array, p: Pool2dShape): void;
  /** out(B,C,OH,OW) = mean of each window. */
  avgPoolForward(out: Float32Array, inp: Float32Array, p: Pool2dShape): void;
  /** dinp(B,C,H,W) = 0, then each window's pixels get dout / (k*k). */
  avgPoolBackward(dinp: Float32Array, dout: Float32Array, p: Pool2dShape): void;

  // ---- batch normalization per channel over (B, C, HW) (a dense layer's output is (B, O, 1)) ----
  /**
   * y = gamma xhat + beta. Training: xhat = (x - mean) invstd from the batch's statistics of each
   * channel (mean(C) and invstd(C) kept for the backward), runMean/runVar (C) updated; evaluation:
   * the running statistics (mean, invstd untouched).
   */
  batchNormForward(y: Float32Array, mean: Float32Array, inp: Float32Array, gamma: Float32Array, beta: Float32Array,
    invstd: Float32Array, runMean: Float32Array, runVar: Float32Array, s: BatchNormShape, mode: BatchNormMode): void;
  /**
   * dgamma, dbeta (C) += and dinp (null: skip; may alias dout) of the training forward of inp
   * (unchanged since), whose mean and invstd it kept.
   */
  batchNormBackward(dinp: Float32Array | null, dgamma: Float32Array, dbeta: Float32Array, dout: Float32Array,
    inp: Float32Array, gamma: Float32Array, mean: Float32Array, invstd: Float32Array, s: BatchNormShape): void;
}

/**
 * The kernels of the zero-skipping first dense layer (layers/sparse_dense.ts), for inputs that are
 * mostly zeros (MNIST's pixels are 81% zeros). Optional: on a backend without them the model uses
 * the plain dense layer.
 */
export interface SparseOps {
  /**
   * Compresses each row of x(B,D) to its nonzeros in column order: row b's columns go to
   * rows.idx[s, s + cnt[b]) and their values to rows.val[...], from s = rows.start[b] = b*D.
   * Returns the sum of cnt.
   */
  sparseRows(rows: SparseRows, x: Float32Array, B: number, D: number): number;
  /**
   * y(B,O) = x W^T [+ bias(O)] for compressed rows of x; W is (O,D) as in gemm's dense layer.
   * Each element sums its row's nonzeros in column order, as gemm sums over k: a dense row's
   * zeros add nothing, so the wasm kernels give gemm's bits (its packed path, O > 12) with about a
   * fifth of the work on MNIST.
   */
  sparseForward(y: Float32Array, rows: SparseRows, W: Float32Array, bias: Float32Array | null, B: number,
    D: number, O: number): void;
  /**
   * dW(O,D) += dyᵀ x for compressed rows of x, rows in order (gemm's bits likewise); on wasm a
   * layer under 32 units over 512 rows or more sums in fixed row blocks (tuning.ts sparseBlocked).
   */
  sparseWeightGrad(dW: Float32Array, rows: SparseRows, dy: Float32Array, B: number, D: number, O: number): void;
}

/** Whether a backend has the zero-skipping layer's kernels. */
export function hasSparseOps(b: Backend): b is Backend & SparseOps {
  const s = b as Partial<SparseOps>;
  return typeof s.sparseRows === 'function' && typeof s.sparseForward === 'function' &&
    typeof s.sparseWeightGrad === 'function';
}
