// Element-wise activation. inp and out are (B,N) with N = C*H*W; the shape is unchanged.
//   forward:  out = f(inp)
//   backward: dinp = dout * f'(inp), written from out or from inp (ACTIVATION_SAVES), in place
// A relu fused into the layer before it (layers/index.ts fuseLayers) passes values and gradients through.
import { ACTIVATION_SAVES, type Activation as ActivationKind, type Backend } from '../../engine/backend.js';
import type { ForwardContext, Layer, LayerSpec, ParamDef, Shape } from '../layer.js';
import { shapeSize } from '../layer.js';

export interface ActivationSpec extends LayerSpec {
  type: 'activation';
  fn: ActivationKind;
  /** Negative slope of leaky_relu (ignored by the others). */
  alpha: number;
}

export class Activation implements Layer {
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly paramDefs: readonly ParamDef[] = [];
  private readonly N: number;
  private backend!: Backend;
  private out!: Float32Array;
  /** What the backward reads: out, or the last forward's input (the layer before keeps it until its next forward). */
  private saved: Float32Array | null = null;
  /** The layer before computes this activation (set before bind). */
  fused = false;

  constructor(readonly spec: ActivationSpec, inShape: Shape) {
    this.inShape = inShape;
    this.outShape = [...inShape];
    this.N = shapeSize(inShape);
  }

  bind(backend: Backend, _p: Float32Array[], _g: Float32Array[], maxB: number): void {
    this.backend = backend;
    if (!this.fused) this.out = backend.f32(maxB * this.N);
  }

  forward(x: Float32Array, B: number, _ctx: ForwardContext): Float32Array {
    if (this.fused) return x;
    this.backend.activationForward(this.spec.fn, this.out, x, B * this.N, this.spec.alpha);
    this.saved = ACTIVATION_SAVES[this.spec.fn] === 'input' ? x : this.out;
    return this.out;
  }

  backward(dout: Float32Array, B: number): Float32Array {
    if (this.fused) return dout;
    // dout belongs to the next layer and is dead after this: overwrite it instead of allocating.
    this.backend.activationBackward(this.spec.fn, dout, dout, this.saved!, B * this.N, this.spec.alpha);
    return dout;
  }
}
