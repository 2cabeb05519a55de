// Batch normalization per channel (a conv's output, [C, H, W]) or per feature (a dense layer's,
// [O, 1, 1]): the kernels treat both as (B, C, HW). Parameters: gamma2 (scale) and beta2 (shift),
// trained without weight decay; mean2 and var2, the running statistics (state: updated by the
// training forward, used at evaluation, stored in checkpoints like any tensor).
//   forward (training):   y = gamma (x - mean_B) / sqrt(var_B + eps) + beta, batch statistics
//   forward (evaluation): y = gamma (x - mean) / sqrt(var + eps) + beta, running statistics
//   backward: dgamma += sum dy xhat, dbeta += sum dy, dx = gamma invstd (dy - mean dy - xhat mean(dy xhat))
// A full batch that goes through in chunks normalizes each chunk by its own statistics.
import type { Backend, BatchNormShape } from '../../engine/backend.js';
import type { ForwardContext, Layer, LayerSpec, ParamDef, Shape } from '../layer.js';

export interface BatchNormSpec extends LayerSpec {
  type: 'batchnorm';
  /** Weight of each batch in the running statistics (PyTorch's default 0.1). */
  momentum: number;
  eps: number;
}

export class BatchNorm implements Layer {
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly paramDefs: readonly ParamDef[];
  private readonly C: number;
  private readonly HW: number;
  private backend!: Backend;
  private gamma!: Float32Array;
  private beta!: Float32Array;
  private runMean!: Float32Array;
  private runVar!: Float32Array;
  private dgamma!: Float32Array;
  private dbeta!: Float32Array;
  private out!: Float32Array;
  private mean!: Float32Array;
  /** The training forward's input: the previous layer's output, unchanged until the next forward. */
  private inp!: Float32Array;
  private invstd!: Float32Array;
  private needsDinp = true;

  constructor(readonly spec: BatchNormSpec, inShape: Shape) {
    this.inShape = inShape;
    this.outShape = [...inShape];
    this.C = inShape[0];
    this.HW = inShape[1] * inShape[2];
    const def = (role: ParamDef['role'], kind: ParamDef['kind']): ParamDef =>
      ({ role, kind, shape: [this.C], fanIn: 1, fanOut: 1 });
    this.paramDefs = [def('gamma', 'norm'), def('beta', 'norm'), def('mean', 'state'), def('var', 'state')];
  }

  bind(backend: Backend, params: Float32Array[], grads: Float32Array[], maxB: number, needsDinp: boolean): void {
    this.backend = backend;
    [this.gamma, this.beta, this.runMean, this.runVar] = params;
    [this.dgamma, this.dbeta] = grads;
    const n = maxB * this.C * this.HW;
    this.out = backend.f32(n);
    this.mean = backend.f32(this.C);
    this.invstd = backend.f32(this.C);
    this.needsDinp = needsDinp;
  }

  private shape(B: number): BatchNormShape {
    return { B, C: this.C, HW: this.HW };
  }

  forward(x: Float32Array, B: number, ctx: ForwardContext): Float32Array {
    if (ctx.training) this.inp = x;
    this.backend.batchNormForward(this.out, this.mean, x, this.gamma, this.beta, this.invstd, this.runMean, this.runVar,
      this.shape(B), { training: ctx.training, momentum: this.spec.momentum, eps: this.spec.eps });
    return this.out;
  }

  /** dinp is written over dout (the kernel reads each channel's sums before it writes). */
  backward(dout: Float32Array, B: number): Float32Array | null {
    const dinp = this.needsDinp ? dout : null;
    this.backend.batchNormBackward(dinp, this.dgamma, this.dbeta, dout, this.inp, this.gamma, this.mean, this.invstd,
      this.shape(B));
    return dinp;
  }
}
