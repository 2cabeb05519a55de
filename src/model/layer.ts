// The contract every layer implements. A model is a list of layers; each owns its forward and
// backward pass side by side (one file per layer in layers/), sees only its parameter views in the
// model's one flat arena, and allocates its activations once for the largest batch.
//
// Shapes are per sample, channels first: [C, H, W]. A dense layer reads any input as flat
// C*H*W values and writes [O, 1, 1]; a convolution (added later) keeps the image shape.
import type { Backend } from '../engine/backend.js';
import type { Rng } from '../util/rng.js';

/** Per-sample shape, channels first: [C, H, W]. */
export type Shape = [number, number, number];

/** Number of values in one sample of this shape. */
export function shapeSize(s: Shape): number {
  return s[0] * s[1] * s[2];
}

/**
 * A layer as stored in a checkpoint's model spec: `type` picks the implementation in
 * layers/index.ts, the other fields are its settings (JSON values only).
 */
export interface LayerSpec {
  type: string;
  [setting: string]: unknown;
}

/** How a parameter tensor is filled at creation (see init.ts). */
export type InitRule = 'he' | 'glorot' | 'uniform';
export const INIT_RULES: readonly InitRule[] = ['he', 'glorot', 'uniform'];

/**
 * How the optimizer treats a tensor: `weight` is trained with weight decay; `norm` is trained
 * without it (batch normalization's scale and shift: decaying them fights the normalization);
 * `state` is not trained at all (running statistics, updated by the layer's training forward).
 */
export type ParamKind = 'weight' | 'norm' | 'state';

/**
 * One parameter tensor of a layer. The model names it `${role}${n}` where n counts parametric
 * layers from 1 (W1, b1, W2, b2 ... as in the seed; gamma2, beta2, mean2, var2 for batch norm).
 */
export interface ParamDef {
  role: 'W' | 'b' | 'gamma' | 'beta' | 'mean' | 'var';
  /** Omitted: 'weight'. */
  kind?: ParamKind;
  shape: number[];
  /** Inputs and outputs feeding one unit, for the init rules' variance. */
  fanIn: number;
  fanOut: number;
}

/** What forward needs besides the input: training mode turns dropout on and draws its seeds. */
export interface ForwardContext {
  training: boolean;
  /** The run's one PRNG; layers with randomness draw one u32 per step from it (training only). */
  rng: Rng | null;
  /**
   * A hint from the data pipeline: this call's rows come back unchanged in every later call with
   * the same id (a full batch's chunk, every epoch). A layer may keep what it derives from them.
   */
  repeat?: number;
}

export interface Layer {
  readonly spec: LayerSpec;
  readonly inShape: Shape;
  readonly outShape: Shape;
  /** Parameter tensors in init order (empty for activations, dropout, pooling). */
  readonly paramDefs: readonly ParamDef[];
  /**
   * Gives the layer its parameter and gradient views (paramDefs order, carved from the model's
   * arenas) and lets it allocate activations for up to maxB samples. needsDinp is false for the
   * first layer: nobody consumes the gradient of the input, so it is neither allocated nor computed.
   */
  bind(backend: Backend, params: Float32Array[], grads: Float32Array[], maxB: number, needsDinp: boolean): void;
  /**
   * Whether a forward with this context reads x (omitted: always). A layer that kept what it needs
   * from an earlier call with the same ForwardContext.repeat may not; the caller may then skip
   * filling x.
   */
  readsInput?(ctx: ForwardContext): boolean;
  /** Drops what the layer keeps beyond its bind() buffers (Model.dispose). */
  dispose?(): void;
  /** out(B, outSize) from x(B, inSize); the returned view stays valid until the next forward. */
  forward(x: Float32Array, B: number, ctx: ForwardContext): Float32Array;
  /**
   * Given dout(B, outSize) of the last forward, accumulates (+=) into its parameter gradients and
   * returns dinp(B, inSize), or null when needsDinp was false. May overwrite dout.
   */
  backward(dout: Float32Array, B: number): Float32Array | null;
}
