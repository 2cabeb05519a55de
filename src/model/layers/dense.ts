// Fully connected layer. inp is (B,I), W is (O,I) like the seed's W1 (10,784), b is (O); out is (B,O).
//   forward:  out = inp W^T + b
//   backward: dinp = dout W,  dW += dout^T inp,  db += sum_b dout
// As the first layer it multiplies the data itself, which can be mostly zeros (81% of MNIST's
// pixels): then each input row is compressed to its nonzeros and only those are multiplied
// (assembly/sparse.ts). Same floats as the dense gemm (see sparse.ts), about a fifth of the
// multiply-adds on MNIST.
import type { Backend } from '../../engine/backend.js';
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
 * Fewest units for which the layer skips zeros. Below it the dense product is as fast: with 10
 * units (the seed's 784-10-10) the compression alone costs about what gemm's dot-product path
 * does (a full-batch epoch measured 52 ms skipping against 55 ms dense on one thread, and slower
 * on two, where gemm splits and the sparse kernels, which split output units, do not).
 */
export const SPARSE_MIN_UNITS = 16;

/**
 * Rows compressed at a time. Batches up to this size (training's) are compressed once; bigger ones
 * (evaluation's 1000 rows, full-batch chunks) go through in slices of it, so the buffers stay at
 * 1.6 MB for 784 inputs instead of 6.3 MB for 1000 rows.
 */
export const SPARSE_ROWS = 256;

/** The compressed input rows of the zero-skipping path (Backend.sparseRows). */
interface SparseRows {
  idx: Int32Array;
  val: Float32Array;
  cnt: Int32Array;
}

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
  private sp: SparseRows | null = null;
  /** Whether the last forward took the zero-skipping path (its backward takes it too). */
  private sparseNow = false;

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
    if (sparseInput && !needsDinp && this.O >= SPARSE_MIN_UNITS) {
      const rows = Math.min(maxB, SPARSE_ROWS);
      this.sp = { idx: backend.i32(rows * this.I), val: backend.f32(rows * this.I), cnt: backend.i32(rows) };
    }
  }

  forward(x: Float32Array, B: number, _ctx: ForwardContext): Float32Array {
    const { backend, I, O, sp } = this;
    this.inp = x;
    // the first slice decides for the batch (a few sampled rows first, so dense data costs nothing)
    this.sparseNow = sp !== null && mostlyZeros(x, B, I) &&
      this.compress(0, Math.min(B, SPARSE_ROWS)) <= SPARSE_MAX_DENSITY * Math.min(B, SPARSE_ROWS) * I;
    if (!sp || !this.sparseNow) {
      backend.gemm(this.out, x, this.W, this.b, B, O, I, false, true, false);
      return this.out;
    }
    for (let s = 0; s < B; s += SPARSE_ROWS) {
      const n = Math.min(SPARSE_ROWS, B - s);
      if (s > 0) this.compress(s, n);
      backend.sparseForward(this.out.subarray(s * O), sp.idx, sp.val, sp.cnt, this.W, this.b, n, I, O);
    }
    return this.out;
  }

  backward(dout: Float32Array, B: number): Float32Array | null {
    const { backend, I, O, sp } = this;
    if (this.dinp) backend.gemm(this.dinp, dout, this.W, null, B, I, O, false, false, false);
    if (sp && this.sparseNow) {
      // rows in order, slice after slice: the same sums as one call (dW holds them in f32 between)
      for (let s = 0; s < B; s += SPARSE_ROWS) {
        const n = Math.min(SPARSE_ROWS, B - s);
        if (B > SPARSE_ROWS) this.compress(s, n);
        backend.sparseWeightGrad(this.dW, sp.idx, sp.val, sp.cnt, dout.subarray(s * O), n, I, O);
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
    return this.backend.sparseRows(sp.idx, sp.val, sp.cnt, this.inp!.subarray(s * this.I), n, this.I);
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
