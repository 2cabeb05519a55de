// Fully connected layer. inp is (B,I), W is (O,I) like the seed's W1 (10,784), b is (O); out is (B,O).
//   forward:  out = inp W^T + b
//   backward: dinp = dout W,  dW += dout^T inp,  db += sum_b dout
// As the first layer it multiplies the data itself, which can be mostly zeros (81% of MNIST's
// pixels): then each input row is compressed to its nonzeros and only those are multiplied
// (assembly/sparse.ts), on W and dW transposed so that a nonzero's weights are one row. Same
// floats as the dense gemm (see sparse.ts), about a fifth of the multiply-adds on MNIST.
import type { Backend } from '../../engine/backend.js';
import type { ForwardContext, Layer, LayerSpec, ParamDef, Shape } from '../layer.js';
import { shapeSize } from '../layer.js';

export interface DenseSpec extends LayerSpec {
  type: 'dense';
  units: number;
}

/**
 * Largest share of nonzeros for which a batch takes the zero-skipping path. A nonzero costs the
 * sparse kernels about what a dense column costs the gemm, plus the compression and transposes;
 * measured on 784-128-10 (bench/step.ts), the sparse step is faster up to about 60% nonzeros.
 */
export const SPARSE_MAX_DENSITY = 0.5;

/** Buffers of the zero-skipping path: the compressed rows and the transposed W and dW. */
interface SparseBuffers {
  /** Row stride of wt and dwt: O rounded up to whole v128s. */
  ldw: number;
  idx: Int32Array;
  val: Float32Array;
  cnt: Int32Array;
  /** (I, ldw) */
  wt: Float32Array;
  dwt: Float32Array;
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
  private sp: SparseBuffers | null = null;
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
    if (sparseInput && !needsDinp) {
      const ldw = Math.ceil(this.O / 4) * 4;
      this.sp = {
        ldw, idx: backend.i32(maxB * this.I), val: backend.f32(maxB * this.I), cnt: backend.i32(maxB),
        wt: backend.f32(this.I * ldw), dwt: backend.f32(this.I * ldw),
      };
    }
  }

  forward(x: Float32Array, B: number, _ctx: ForwardContext): Float32Array {
    const { backend, I, O, sp } = this;
    this.inp = x;
    this.sparseNow = sp !== null && mostlyZeros(x, B, I) &&
      backend.sparseRows(sp.idx, sp.val, sp.cnt, x, B, I) <= SPARSE_MAX_DENSITY * B * I;
    if (sp && this.sparseNow) {
      backend.transpose(sp.wt, this.W, O, I, I, sp.ldw);
      backend.sparseForward(this.out, sp.idx, sp.val, sp.cnt, sp.wt, this.b, B, I, O, sp.ldw);
    } else {
      backend.gemm(this.out, x, this.W, this.b, B, O, I, false, true, false);
    }
    return this.out;
  }

  backward(dout: Float32Array, B: number): Float32Array | null {
    const { backend, I, O, sp } = this;
    if (this.dinp) backend.gemm(this.dinp, dout, this.W, null, B, I, O, false, false, false);
    if (sp && this.sparseNow) {
      // dW^T += x^T dout over x's nonzeros, on dW transposed and back (rows of dwt = columns of x)
      backend.transpose(sp.dwt, this.dW, O, I, I, sp.ldw);
      backend.sparseWeightGrad(sp.dwt, sp.idx, sp.val, sp.cnt, dout, B, I, O, sp.ldw);
      backend.transpose(this.dW, sp.dwt, I, O, sp.ldw, I);
    } else {
      backend.gemm(this.dW, dout, this.inp!, null, O, I, B, true, false, true);
    }
    backend.biasBackward(this.db, dout, B, O);
    return this.dinp;
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
