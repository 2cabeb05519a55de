// The registry of layer types: a model spec names each layer by `type`, and this table builds it.
// A new layer (conv, pool, ...) adds one file next to these and one line here.
import { UserError } from '../../errors.js';
import { ACTIVATIONS } from '../../engine/backend.js';
import type { Layer, LayerSpec, Shape } from '../layer.js';
import { Dense, type DenseSpec } from './dense.js';
import { Activation, type ActivationSpec } from './activation.js';
import { Dropout, type DropoutSpec } from './dropout.js';
import { Conv2d, type Conv2dSpec } from './conv2d.js';
import { Pool, type PoolSpec } from './pool.js';
import { BatchNorm, type BatchNormSpec } from './batchnorm.js';

/** Builds a layer from its spec and the per-sample shape it receives; throws UserError on bad settings. */
export type LayerFactory = (spec: LayerSpec, inShape: Shape) => Layer;

export const LAYER_TYPES: Record<string, LayerFactory> = {
  dense: (s, inShape) => {
    need(Number.isInteger(s.units) && (s.units as number) > 0, `dense units must be a positive integer, got ${s.units}`);
    return new Dense(s as DenseSpec, inShape);
  },
  activation: (s, inShape) => {
    need(ACTIVATIONS.includes(s.fn as never), `unknown activation '${s.fn}'`);
    need(typeof s.alpha === 'number', 'activation alpha must be a number');
    return new Activation(s as ActivationSpec, inShape);
  },
  dropout: (s, inShape) => {
    need(typeof s.p === 'number' && s.p >= 0 && s.p < 1, `dropout p must be in [0, 1), got ${s.p}`);
    return new Dropout(s as DropoutSpec, inShape);
  },
  conv2d: (s, inShape) => {
    for (const k of ['filters', 'kernel', 'stride'] as const) {
      need(Number.isInteger(s[k]) && (s[k] as number) > 0, `conv2d ${k} must be a positive integer, got ${s[k]}`);
    }
    need(Number.isInteger(s.pad) && (s.pad as number) >= 0, `conv2d pad must be an integer >= 0, got ${s.pad}`);
    return new Conv2d(s as Conv2dSpec, inShape);
  },
  pool: (s, inShape) => {
    need(s.mode === 'max' || s.mode === 'avg', `pool mode must be 'max' or 'avg', got '${s.mode}'`);
    need(Number.isInteger(s.size) && (s.size as number) > 0, `pool size must be a positive integer, got ${s.size}`);
    need(Number.isInteger(s.stride) && (s.stride as number) > 0, `pool stride must be a positive integer, got ${s.stride}`);
    return new Pool(s as PoolSpec, inShape);
  },
  batchnorm: (s, inShape) => {
    need(typeof s.momentum === 'number' && s.momentum >= 0 && s.momentum <= 1,
      `batchnorm momentum must be in [0, 1], got ${s.momentum}`);
    need(typeof s.eps === 'number' && s.eps > 0, `batchnorm eps must be a positive number, got ${s.eps}`);
    return new BatchNorm(s as BatchNormSpec, inShape);
  },
};

/** One layer from its spec (settings checked, since specs also come from files). */
export function createLayer(spec: LayerSpec, inShape: Shape): Layer {
  const make = LAYER_TYPES[spec.type];
  if (!make) {
    throw new UserError(`unknown layer type '${spec.type}' in the model spec (known: ` +
      `${Object.keys(LAYER_TYPES).join(', ')}); was the file written by a newer version?`);
  }
  return make(spec, inShape);
}

/**
 * Fuses layers that one kernel runs as well as two, in the order the layers run: a relu right
 * after a max pool goes into the pool (layers/pool.ts). Outputs and gradients keep their bits.
 */
export function fuseLayers(layers: readonly Layer[]): void {
  for (let i = 0; i + 1 < layers.length; i++) {
    const a = layers[i], b = layers[i + 1];
    if (a instanceof Pool && b instanceof Activation && b.spec.fn === 'relu' && a.fuseRelu()) b.fused = true;
  }
}

function need(ok: boolean, what: string): void {
  if (!ok) throw new UserError(`bad model spec: ${what}`);
}
