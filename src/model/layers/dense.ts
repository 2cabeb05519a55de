// Fully connected layer. inp is (B,I), W is (O,I) like the seed's W1 (10,784), b is (O); out is (B,O).
//   forward:  out = inp W^T + b
//   backward: dinp = dout W,  dW += dout^T inp,  db += sum_b dout
// As the first layer it multiplies the data itself, which can be mostly zeros (81% of MNIST's
// pixels): then each input row is compressed to its nonzeros and only those are multiplied
// (assembly/sparse.ts). Same floats as the dense gemm (see sparse.ts), about a fifth of the
// multiply-adds on MNIST. Inputs that come back (a full batch's chunks, every epoch) are
// compressed once and kept.
import type { Backend, SparseRows } from '../../engine/backend.js';
import type { ForwardContext, Layer, LayerSpec, ParamDef, Shape } from '../layer.js';
import { shapeSize } from '../layer.js';

export interface DenseSpec extends LayerSpec {
  type: 'dense';
  units: number;
}

/**
 * Largest share of nonzeros for which a batch takes the zero-skipping path. A nonzero costs the
 * sparse kernels 2-3x what one input costs the gemm (a row of weights loaded per nonzero, and the
 * compression and transposes). Measured against gemm, forward + dW, batch 128 of 784 inputs with
 * nonzeros at random places, one thread: even at 42% nonzeros for 128 units, 30% for 512, 22% for
 * 10; MNIST (19%, clustered in the middle) runs 2.2-2.6x faster at 128 units.
 */
export const SPARSE_MAX_DENSITY = 0.25;

/**
 * Fewest units for which the layer skips the zeros of a batch it compresses afresh. Below it the
 * dense product is as fast: with 10 units (the seed's 784-10-10) compressing a full-batch epoch's
 * rows, once for forward and once for dW, took 37 ms of a 69 ms epoch, against 61 ms dense (one
 * thread). A kept input (ForwardContext.inputKey) is compressed only once, so it skips zeros at
 * any width.
 */
export const SPARSE_MIN_UNITS = 16;

/**
 * Rows compressed at a time. Batches up to this size (training's) are compressed once; bigger ones
 * (evaluation's 1000 rows, full-batch chunks) go through in slices of it, so the buffers stay at
 * 1.6 MB for 784 inputs instead of 6.3 MB for 1000 rows.
 */
export const SPARSE_ROWS = 256;

export class Dense implements Layer {
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly paramDefs: readonly ParamDef[];
  private readonly I: number;
  private readonly O: number;
  private backend!: Backend;
  private W!: Float32Array;
  private b!: Float32Array;
  private dW!: Float32Array;
  private db!: Float32Array;
  private out!: Float32Array;
  private dinp: Float32Array | null = null;
  private inp: Float32Array | null = null;
  /** Buffers for SPARSE_ROWS compressed rows (a first layer on the zero-skipping path), else null. */
  private sp: SparseRows | null = null;
  /** Whether the last forward compressed its batch slice by slice (its backward does too). */
  private sparseNow = false;
  /** Inputs compressed once, by ForwardContext.inputKey (null: too dense to skip zeros). */
  private readonly kept = new Map<string, SparseRows | null>();
  /** The kept rows the last forward multiplied, or null. */
  private keptNow: SparseRows | null = null;

  constructor(readonly spec: DenseSpec, inShape: Shape) {
    this.inShape = inShape;
    this.I = shapeSize(inShape);
    this.O = spec.units;
    this.outShape = [this.O, 1, 1];
    this.paramDefs = [
      { role: 'W', shape: [this.O, this.I], fanIn: this.I, fanOut: this.O },
      { role: 'b', shape: [this.O], fanIn: this.I, fanOut: this.O },
    ];
  }

  bind(backend: Backend, params: Float32Array[], grads: Float32Array[], maxB: number, needsDinp: boolean,
    sparseInput = false): void {
    this.backend = backend;
    [this.W, this.b] = params;
    [this.dW, this.db] = grads;
    this.out = backend.f32(maxB * this.O);
    this.dinp = needsDinp ? backend.f32(maxB * this.I) : null;
    if (sparseInput && !needsDinp) {
      const rows = Math.min(maxB, SPARSE_ROWS);
      this.sp = { idx: backend.i32(rows * this.I), val: backend.f32(rows * this.I), start: backend.i32(rows),
        cnt: backend.i32(rows) };
    }
  }

  dispose(): void {
    this.kept.clear();
    this.keptNow = null;
  }

  /** Whether a forward with this inputKey will not read its x: the layer kept the rows it needs. */
  keepsInput(key: string): boolean {
    return !!this.kept.get(key);
  }

  forward(x: Float32Array, B: number, ctx: ForwardContext): Float32Array {
    const { backend, I, O, sp } = this;
    this.inp = x;
    this.keptNow = sp && ctx.inputKey !== undefined ? this.keep(ctx.inputKey, B) : null;
    if (this.keptNow) {
      this.sparseNow = false;
      backend.sparseForward(this.out, this.keptNow, this.W, this.b, B, I, O);
      return this.out;
    }
    // the first slice decides for the batch (a few sampled rows first, so dense data costs nothing)
    this.sparseNow = sp !== null && O >= SPARSE_MIN_UNITS && mostlyZeros(x, B, I) &&
      this.compress(0, Math.min(B, SPARSE_ROWS)) <= SPARSE_MAX_DENSITY * Math.min(B, SPARSE_ROWS) * I;
    if (!sp || !this.sparseNow) {
      backend.gemm(this.out, x, this.W, this.b, B, O, I, false, true, false);
      return this.out;
    }
    for (let s = 0; s < B; s += SPARSE_ROWS) {
      const n = Math.min(SPARSE_ROWS, B - s);
      if (s > 0) this.compress(s, n);
      backend.sparseForward(this.out.subarray(s * O), sp, this.W, this.b, n, I, O);
    }
    return this.out;
  }

  backward(dout: Float32Array, B: number): Float32Array | null {
    const { backend, I, O, sp } = this;
    if (this.dinp) backend.gemm(this.dinp, dout, this.W, null, B, I, O, false, false, false);
    if (this.keptNow) {
      backend.sparseWeightGrad(this.dW, this.keptNow, dout, B, I, O);
    } else if (sp && this.sparseNow) {
      // rows in order, slice after slice: the same sums as one call (dW holds them in f32 between)
      for (let s = 0; s < B; s += SPARSE_ROWS) {
        const n = Math.min(SPARSE_ROWS, B - s);
        if (B > SPARSE_ROWS) this.compress(s, n);
        backend.sparseWeightGrad(this.dW, sp, dout.subarray(s * O), n, I, O);
      }
    } else {
      backend.gemm(this.dW, dout, this.inp!, null, O, I, B, true, false, true);
    }
    backend.biasBackward(this.db, dout, B, O);
    return this.dinp;
  }

  /** Compresses rows [s, s+n) of the last input into the sparse buffers; returns their nonzeros. */
  private compress(s: number, n: number): number {
    const sp = this.sp!;
    return this.backend.sparseRows(sp, this.inp!.subarray(s * this.I), n, this.I);
  }

  /**
   * The kept rows for key: on its first use, the last input's B rows compressed (slice by slice, a
   * first pass to count) into buffers of their own, packed one row after another; null (also kept)
   * when they are too dense to skip zeros. MNIST's 60000 rows take 75 MB.
   */
  private keep(key: string, B: number): SparseRows | null {
    const had = this.kept.get(key);
    if (had !== undefined) return had;
    const { backend, I } = this, sp = this.sp!;
    let total = 0;
    for (let s = 0; s < B; s += SPARSE_ROWS) total += this.compress(s, Math.min(SPARSE_ROWS, B - s));
    let rows: SparseRows | null = null;
    if (total <= SPARSE_MAX_DENSITY * B * I) {
      rows = { idx: backend.i32(Math.max(total, 1)), val: backend.f32(Math.max(total, 1)), start: backend.i32(B),
        cnt: backend.i32(B) };
      let at = 0;
      for (let s = 0; s < B; s += SPARSE_ROWS) {
        const n = Math.min(SPARSE_ROWS, B - s);
        this.compress(s, n);
        for (let r = 0; r < n; r++) {
          const from = sp.start[r], c = sp.cnt[r];
          rows.idx.set(sp.idx.subarray(from, from + c), at);
          rows.val.set(sp.val.subarray(from, from + c), at);
          rows.start[s + r] = at;
          rows.cnt[s + r] = c;
          at += c;
        }
      }
    }
    this.kept.set(key, rows);
    return rows;
  }
}

/** Rows sampled before compressing a batch: dense data (random inputs, shifted pixels) skips it. */
const SAMPLE_ROWS = 4;

/** Whether the first rows of x(B,I) have at most SPARSE_MAX_DENSITY nonzeros. */
function mostlyZeros(x: Float32Array, B: number, I: number): boolean {
  const n = Math.min(B, SAMPLE_ROWS) * I;
  let nonzero = 0;
  for (let i = 0; i < n; i++) if (x[i] !== 0) nonzero++;
  return nonzero <= SPARSE_MAX_DENSITY * n;
}
