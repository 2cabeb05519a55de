// 2-D convolution layer over channels-first images. inp is (B,C,H,W), W is (OC,C,K,K) like
// PyTorch's Conv2d weight (so W1 of `conv8k5` on MNIST is (8,1,5,5)), b is (OC); out is (B,OC,OH,OW)
// with OH = (H + 2 pad - K) / stride + 1.
//   forward:  out = conv(inp, W) + b          (assembly/conv2d.ts, src/engine/ref/conv2d.ts)
//   backward: dinp = conv^T(dout, W), dW += corr(inp, dout), db += sum over b,y,x of dout
import type { Backend, Conv2dShape } from '../../engine/backend.js';
import { conv2dShape } from '../../engine/ref/conv2d.js';
import { UserError } from '../../errors.js';
import type { ForwardContext, Layer, LayerSpec, ParamDef, Shape } from '../layer.js';

export interface Conv2dSpec extends LayerSpec {
  type: 'conv2d';
  /** Output channels OC. */
  filters: number;
  /** Square kernel side K. */
  kernel: number;
  stride: number;
  pad: number;
}

export class Conv2d implements Layer {
  readonly inShape: Shape;
  readonly outShape: Shape;
  readonly paramDefs: readonly ParamDef[];
  private readonly geom: Conv2dShape;  // B = 1; set per call
  private backend!: Backend;
  private W!: Float32Array;
  private b!: Float32Array;
  private dW!: Float32Array;
  private db!: Float32Array;
  private out!: Float32Array;
  private dinp: Float32Array | null = null;
  private inp: Float32Array | null = null;

  constructor(readonly spec: Conv2dSpec, inShape: Shape) {
    const [C, H, W] = inShape;
    const { filters: OC, kernel: K, stride, pad } = spec;
    this.geom = conv2dShape(1, C, H, W, OC, K, K, stride, pad);
    if (this.geom.OH < 1 || this.geom.OW < 1) {
      throw new UserError(`conv${OC}k${K}: a ${K}x${K} kernel does not fit the ${H}x${W} input ` +
        `(padding ${pad}); use a smaller kernel, more padding or fewer pooling layers before it`);
    }
    this.inShape = inShape;
    this.outShape = [OC, this.geom.OH, this.geom.OW];
    const fanIn = C * K * K;
    this.paramDefs = [
      { role: 'W', shape: [OC, C, K, K], fanIn, fanOut: OC * K * K },
      { role: 'b', shape: [OC], fanIn, fanOut: OC * K * K },
    ];
  }

  bind(backend: Backend, params: Float32Array[], grads: Float32Array[], maxB: number, needsDinp: boolean): void {
    this.backend = backend;
    [this.W, this.b] = params;
    [this.dW, this.db] = grads;
    const [OC, OH, OW] = this.outShape;
    const [C, H, W] = this.inShape;
    this.out = backend.f32(maxB * OC * OH * OW);
    this.dinp = needsDinp ? backend.f32(maxB * C * H * W) : null;
  }

  forward(x: Float32Array, B: number, _ctx: ForwardContext): Float32Array {
    this.inp = x;
    this.geom.B = B;
    this.backend.conv2dForward(this.out, x, this.W, this.b, this.geom);
    return this.out;
  }

  backward(dout: Float32Array, B: number): Float32Array | null {
    this.geom.B = B;
    this.backend.conv2dBackward(this.dinp, this.dW, this.db, dout, this.inp!, this.W, this.geom);
    return this.dinp;
  }
}
