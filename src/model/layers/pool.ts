// 2-D pooling layer (max or average) over channels-first images: (B,C,H,W) -> (B,C,OH,OW) with a
// k x k window, a stride (default k: windows tile the image) and no padding. No parameters.
//   max: out = max of each window, argmax remembered; backward routes dout to the argmax pixel
//   avg: out = mean of each window; backward spreads dout / k^2 over the window
// Flatten needs no layer: a dense layer reads (B,C,H,W) as (B,C*H*W), the same memory.
// A relu that runs right after a max pool is fused into it (fuseRelu, from layers/index.ts): the
// pool writes relu(max) and routes no gradient from a window the relu zeroed, and the relu layer
// passes values through; the same bits as the two layers, two passes over the pooled values fewer.
import type { Backend, Pool2dShape } from '../../engine/backend.js';
import { pool2dShape } from '../../engine/ref/pool.js';
import { UserError } from '../../errors.js';
import type { ForwardContext, Layer, LayerSpec, ParamDef, Shape } from '../layer.js';

export interface PoolSpec extends LayerSpec {
  type: 'pool';
  mode: 'max' | 'avg';
  /** Window side k. */
  size: number;
  stride: number;
}

export class Pool implements Layer {
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly paramDefs: readonly ParamDef[] = [];
  private readonly geom: Pool2dShape;
  private backend!: Backend;
  private out!: Float32Array;
  private argmax: Int32Array | null = null;
  private dinp: Float32Array | null = null;

  constructor(readonly spec: PoolSpec, inShape: Shape) {
    const [C, H, W] = inShape;
    this.geom = pool2dShape(1, C, H, W, spec.size, spec.stride);
    if (this.geom.OH < 1 || this.geom.OW < 1) {
      throw new UserError(`${spec.mode}pool${spec.size}: the window does not fit the ${H}x${W} input; ` +
        'use a smaller window or fewer pooling layers');
    }
    this.inShape = inShape;
    this.outShape = [C, this.geom.OH, this.geom.OW];
  }

  bind(backend: Backend, _p: Float32Array[], _g: Float32Array[], maxB: number, needsDinp: boolean): void {
    this.backend = backend;
    const [C, OH, OW] = this.outShape;
    this.out = backend.f32(maxB * C * OH * OW);
    if (this.spec.mode === 'max') this.argmax = backend.i32(maxB * C * OH * OW);
    const [, H, W] = this.inShape;
    this.dinp = needsDinp ? backend.f32(maxB * C * H * W) : null;
  }

  forward(x: Float32Array, B: number, _ctx: ForwardContext): Float32Array {
    this.geom.B = B;
    if (this.argmax) this.backend.maxPoolForward(this.out, this.argmax, x, this.geom);
    else this.backend.avgPoolForward(this.out, x, this.geom);
    return this.out;
  }

  /** Takes over the relu that runs right after this layer (max pooling only: a relu commutes with max). */
  fuseRelu(): boolean {
    if (this.spec.mode !== 'max') return false;
    this.geom.relu = true;
    return true;
  }

  backward(dout: Float32Array, B: number): Float32Array | null {
    if (!this.dinp) return null;
    this.geom.B = B;
    if (this.argmax) this.backend.maxPoolBackward(this.dinp, dout, this.argmax, this.geom);
    else this.backend.avgPoolBackward(this.dinp, dout, this.geom);
    return this.dinp;
  }
}
