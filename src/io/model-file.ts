// Model files in the seed's numpy layout, and the loader that takes either kind: a .npz holds
// W1 (O,I), b1 (O,1), W2, b2, ... (np.savez), exported as weights.npz by each run and accepted by
// eval and infer, so the numpy world is one command away. Apart from checkpoint.ts so that loading
// a checkpoint does not load the zip code.
import { extname } from '../platform/path.js';
import type { Backend } from '../engine/backend.js';
import { ACTIVATIONS, type Activation } from '../engine/backend.js';
import { UserError } from '../errors.js';
import type { LayerSpec } from '../model/layer.js';
import { Model } from '../model/model.js';
import type { ModelSpec } from '../model/spec.js';
import { EVAL_BATCH } from '../train/config.js';
import { finite, loadCheckpointModel, type LoadedModelFile } from './checkpoint.js';
import { readNpz, writeNpz, type NpyArray } from './npz.js';

/** Writes the parameters in the seed's .npz layout: W as (O,I), b as (O,1), float32. */
export function exportNpz(path: string, model: Model): void {
  const arrays: Record<string, NpyArray> = {};
  for (const e of model.entries) {
    const shape = e.def.role === 'b' && e.shape.length === 1 ? [e.shape[0], 1] : e.shape;
    arrays[e.name] = { dtype: '<f4', shape, data: e.value.slice() };
  }
  writeNpz(path, arrays);
}

/**
 * Loads a model for inference from our .safetensors checkpoint or a seed-layout .npz (W1 (O,I),
 * b1 (O,1), W2 ...; hidden activation `activation`, default relu; softmax output; /255 input).
 */
export function loadModelFile(path: string, backend: Backend,
  opts: { activation?: Activation } = {}): LoadedModelFile {
  if (extname(path).toLowerCase() === '.npz') return loadNpzModel(path, backend, opts.activation ?? 'relu');
  return loadCheckpointModel(path, backend);
}

function loadNpzModel(path: string, backend: Backend, activation: Activation): LoadedModelFile {
  if (!ACTIVATIONS.includes(activation)) throw new UserError(`unknown activation '${activation}'`);
  const arrays = readNpz(path);
  const bad = (msg: string) => new UserError(`${path}: ${msg}; expected the seed's layout W1 (O,I), b1 (O,1), W2, b2, ...`);
  const norm = Object.keys(arrays).find((k) => /^gamma\d+$/.test(k));
  if (norm) {
    throw new UserError(`${path}: ${norm} is a batch normalization; a .npz keeps no layer settings: evaluate the run's ` +
      'checkpoint.safetensors instead');
  }
  const Ws: NpyArray[] = [];
  const bs: NpyArray[] = [];
  for (let i = 1; arrays[`W${i}`]; i++) {
    const W = arrays[`W${i}`];
    const b = arrays[`b${i}`];
    if (!b) throw bad(`has W${i} but no b${i}`);
    if (W.shape.length === 4) {
      throw new UserError(`${path}: W${i} (${W.shape}) is a convolution; a .npz keeps no layer settings (stride, ` +
        'padding, pooling): evaluate the run\'s checkpoint.safetensors instead');
    }
    if (W.shape.length !== 2) throw bad(`W${i} has shape (${W.shape}), not 2-D`);
    const O = W.shape[0];
    const bSize = b.shape.reduce((x, y) => x * y, 1);
    if (bSize !== O || b.shape.some((d, k) => k > 0 && d !== 1)) throw bad(`b${i} has shape (${b.shape}), expected (${O},1)`);
    if (i > 1 && W.shape[1] !== Ws[i - 2].shape[0]) {
      throw bad(`W${i} takes ${W.shape[1]} inputs but W${i - 1} gives ${Ws[i - 2].shape[0]}`);
    }
    if (!['<f4', '<f8'].includes(W.dtype) || !['<f4', '<f8'].includes(b.dtype)) throw bad(`W${i}/b${i} are not float arrays`);
    finite(W.data as Float32Array, `W${i}`, `${path}: the file is damaged`);
    finite(b.data as Float32Array, `b${i}`, `${path}: the file is damaged`);
    Ws.push(W);
    bs.push(b);
  }
  if (Ws.length === 0) throw bad('has no W1');
  const I = Ws[0].shape[1];
  const side = Math.round(Math.sqrt(I));
  const input: [number, number, number] = side * side === I ? [1, side, side] : [1, 1, I];
  const layers: LayerSpec[] = [];
  Ws.forEach((W, k) => {
    layers.push({ type: 'dense', units: W.shape[0] });
    if (k < Ws.length - 1) layers.push({ type: 'activation', fn: activation, alpha: 0.01 });
  });
  const classes = Ws[Ws.length - 1].shape[0];
  const spec: ModelSpec = { input, classes, layers, arch: [I, ...Ws.map((W) => W.shape[0])].join('-') };
  const model = new Model(backend, spec, EVAL_BATCH);
  Ws.forEach((W, k) => {
    model.param(`W${k + 1}`)!.value.set(W.data as Float32Array | Float64Array);
    model.param(`b${k + 1}`)!.value.set(bs[k].data as Float32Array | Float64Array);
  });
  return {
    model, normalization: { scale: 1 / 255, shift: 0 },
    classNames: Array.from({ length: classes }, (_, i) => String(i)), inputShape: input,
  };
}
