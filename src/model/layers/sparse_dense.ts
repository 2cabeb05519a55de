// The zero-skipping first dense layer: a Dense (dense.ts) that multiplies only the nonzeros of its
// input, for data that is mostly zeros (81% of MNIST's pixels). The model builder picks it for a
// first dense layer (nobody needs its dinp) on a backend with the sparse kernels.
//   forward:  each input row compressed to its nonzeros (sparseRows), then out = rows W^T + b
//   backward: dW += dout^T rows,  db += sum_b dout  (no dinp: a first layer's is never used)
// Each output element sums its row's nonzeros in column order, as gemm sums over k: a row's zeros
// add nothing, so the results are gemm's (the same bits on wasm; see Backend.sparseForward).
// A batch too dense (sampled first, then its first slice counted) goes through Dense's gemm.
// Rows that repeat (ForwardContext.repeat: a full batch's chunks, every epoch) are compressed once
// and kept; then the layer does not read x (readsInput), and the caller may skip filling it.
import type { Backend, SparseOps, SparseRows } from '../../engine/backend.js';
import { SPARSE_MAX_DENSITY, SPARSE_MIN_UNITS, SPARSE_ROWS } from '../../engine/tuning.js';
import type { ForwardContext } from '../layer.js';
import { Dense } from './dense.js';

export { SPARSE_MAX_DENSITY, SPARSE_MIN_UNITS, SPARSE_ROWS };

export class SparseDense extends Dense {
  private sparse!: Backend & SparseOps;
  /** Buffers for SPARSE_ROWS compressed rows. */
  private sp!: SparseRows;
  /** Whether the last forward compressed its batch slice by slice (its backward does too). */
  private sparseNow = false;
  /** Rows compressed once, by ForwardContext.repeat (null: too dense to skip zeros). */
  private kept = new Map<number, SparseRows | null>();
  /** The kept rows the last forward multiplied, or null. */
  private keptNow: SparseRows | null = null;

  override bind(backend: Backend & SparseOps, params: Float32Array[], grads: Float32Array[], maxB: number): void {
    super.bind(backend, params, grads, maxB, false);
    this.sparse = backend;
    const rows = Math.min(maxB, SPARSE_ROWS);
    this.sp = { idx: backend.i32(rows * this.I), val: backend.f32(rows * this.I), start: backend.i32(rows),
      cnt: backend.i32(rows) };
  }

  /** Whether a forward with this ctx reads x: not when it repeats rows this layer kept. */
  readsInput(ctx: ForwardContext): boolean {
    return ctx.repeat === undefined || !this.kept.get(ctx.repeat);
  }

  /** Drops the kept rows (their memory is the backend's to release). */
  dispose(): void {
    this.kept = new Map();
    this.keptNow = null;
  }

  override forward(x: Float32Array, B: number, ctx: ForwardContext): Float32Array {
    const { sparse, I, O, sp } = this;
    this.inp = x;
    this.keptNow = ctx.repeat !== undefined ? this.keep(ctx.repeat, B) : null;
    if (this.keptNow) {
      this.sparseNow = false;
      sparse.sparseForward(this.out, this.keptNow, this.W, this.b, B, I, O);
      return this.out;
    }
    // the first slice decides for the batch (a few sampled rows first, so dense data costs nothing)
    this.sparseNow = O >= SPARSE_MIN_UNITS && mostlyZeros(x, B, I) &&
      this.compress(0, Math.min(B, SPARSE_ROWS)) <= SPARSE_MAX_DENSITY * Math.min(B, SPARSE_ROWS) * I;
    if (!this.sparseNow) return super.forward(x, B, ctx);
    for (let s = 0; s < B; s += SPARSE_ROWS) {
      const n = Math.min(SPARSE_ROWS, B - s);
      if (s > 0) this.compress(s, n);
      sparse.sparseForward(this.out.subarray(s * O), sp, this.W, this.b, n, I, O);
    }
    return this.out;
  }

  protected override weightGrad(dout: Float32Array, B: number): void {
    const { sparse, I, O, sp } = this;
    if (this.keptNow) {
      sparse.sparseWeightGrad(this.dW, this.keptNow, dout, B, I, O);
    } else if (this.sparseNow) {
      // rows in order, slice after slice: the same sums as one call (dW holds them in f32 between)
      for (let s = 0; s < B; s += SPARSE_ROWS) {
        const n = Math.min(SPARSE_ROWS, B - s);
        if (B > SPARSE_ROWS) this.compress(s, n);
        sparse.sparseWeightGrad(this.dW, sp, dout.subarray(s * O), n, I, O);
      }
    } else {
      super.weightGrad(dout, B);
    }
  }

  /** Compresses rows [s, s+n) of the last input into the slice buffers; returns their nonzeros. */
  private compress(s: number, n: number): number {
    return this.sparse.sparseRows(this.sp, this.inp!.subarray(s * this.I), n, this.I);
  }

  /**
   * The kept rows for id: on its first use, the last input's B rows compressed (slice by slice, a
   * first pass to count) into buffers of their own, packed one row after another; null (also kept)
   * when they are too dense to skip zeros.
   */
  private keep(id: number, B: number): SparseRows | null {
    const had = this.kept.get(id);
    if (had !== undefined) return had;
    const { backend, I, sp } = this;
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
    this.kept.set(id, rows);
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
