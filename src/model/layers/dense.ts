// Fully connected layer. inp is (B,I), W is (O,I) like the seed's W1 (10,784), b is (O); out is (B,O).
//   forward:  out = inp W^T + b
//   backward: dinp = dout W,  dW += dout^T inp,  db += sum_b dout
// A first layer over mostly-zero inputs is a SparseDense (sparse_dense.ts), picked by the model.
import type { Backend } from '../../engine/backend.js';
import type { ForwardContext, Layer, LayerSpec, ParamDef, Shape } from '../layer.js';
import { shapeSize } from '../layer.js';

export interface DenseSpec extends LayerSpec {
  type: 'dense';
  units: number;
}

export class Dense implements Layer {
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly paramDefs: readonly ParamDef[];
  protected readonly I: number;
  protected readonly O: number;
  protected backend!: Backend;
  protected W!: Float32Array;
  protected b!: Float32Array;
  protected dW!: Float32Array;
  protected db!: Float32Array;
  protected out!: Float32Array;
  protected dinp: Float32Array | null = null;
  protected inp: Float32Array | null = null;

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

  bind(backend: Backend, params: Float32Array[], grads: Float32Array[], maxB: number, needsDinp: boolean): void {
    this.backend = backend;
    [this.W, this.b] = params;
    [this.dW, this.db] = grads;
    this.out = backend.f32(maxB * this.O);
    this.dinp = needsDinp ? backend.f32(maxB * this.I) : null;
  }

  forward(x: Float32Array, B: number, _ctx: ForwardContext): Float32Array {
    this.inp = x;
    this.backend.gemm(this.out, x, this.W, this.b, B, this.O, this.I, false, true, false);
    return this.out;
  }

  backward(dout: Float32Array, B: number): Float32Array | null {
    const { backend, I, O } = this;
    if (this.dinp) backend.gemm(this.dinp, dout, this.W, null, B, I, O, false, false, false);
    this.weightGrad(dout, B);
    backend.biasBackward(this.db, dout, B, O);
    return this.dinp;
  }

  /** dW += dout^T inp for the last forward's input. */
  protected weightGrad(dout: Float32Array, B: number): void {
    this.backend.gemm(this.dW, dout, this.inp!, null, this.O, this.I, B, true, false, true);
  }
}
