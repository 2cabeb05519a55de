// Inverted dropout. inp and out are (B,N); mask is (B,N) of 0 or 1/(1-p), drawn by the kernel
// from a seed this layer takes from the run's PRNG every training step. Identity at evaluation.
//   forward:  out = inp * mask
//   backward: dinp = dout * mask, in place
import type { Backend } from '../../engine/backend.js';
import type { ForwardContext, Layer, LayerSpec, ParamDef, Shape } from '../layer.js';
import { shapeSize } from '../layer.js';

export interface DropoutSpec extends LayerSpec {
  type: 'dropout';
  p: number;
}

export class Dropout implements Layer {
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly paramDefs: readonly ParamDef[] = [];
  private readonly N: number;
  private backend!: Backend;
  private out!: Float32Array;
  private mask!: Float32Array;

  constructor(readonly spec: DropoutSpec, inShape: Shape) {
    this.inShape = inShape;
    this.outShape = [...inShape];
    this.N = shapeSize(inShape);
  }

  bind(backend: Backend, _p: Float32Array[], _g: Float32Array[], maxB: number): void {
    this.backend = backend;
    this.out = backend.f32(maxB * this.N);
    this.mask = backend.f32(maxB * this.N);
  }

  forward(x: Float32Array, B: number, ctx: ForwardContext): Float32Array {
    if (!ctx.training || this.spec.p === 0) return x;
    const seed = ctx.rng ? ctx.rng.u32() : 0;
    this.backend.dropoutForward(this.out, this.mask, x, B * this.N, this.spec.p, seed);
    return this.out;
  }

  backward(dout: Float32Array, B: number): Float32Array {
    if (this.spec.p === 0) return dout;
    this.backend.dropoutBackward(dout, dout, this.mask, B * this.N);
    return dout;
  }
}
