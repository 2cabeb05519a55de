// TensorFlow.js layers format: model.json (a Keras Sequential topology plus the weights manifest)
// and one weight shard, what tf.loadLayersModel('file://.../model.json' or an http URL) reads.
//   input   float32 pixels 0..255, (N, H, W, C): TF.js convolutions are channels-last
//   layers  Rescaling (the normalization; for a colour model its scale and offset are arrays of C,
//           which its mul and add broadcast over the channels-last axis), then per layer ZeroPadding2D + Conv2D / MaxPooling2D /
//           AveragePooling2D / Activation / LeakyReLU / Flatten + Dense / BatchNormalization (over
//           the last axis: the channels of (N, H, W, C), or the features), then Activation softmax
//   output  class probabilities (N, classes); userDefinedMetadata holds the class names
// Our tensors are channels-first, so the weights are rearranged:
//   conv   W (OC, C, K, K)  ->  kernel (K, K, C, OC)
//   dense  W (O, I)         ->  kernel (I, O), with I in TF's flatten order (h, w, c) for a dense
//          layer that reads an image (our flatten order is (c, h, w)); a no-op for C = 1 or a
//          dense layer after a dense layer.
// Dropout is left out (identity at inference).
import {
  afterDense, cannotExpress, channelAffine, exportLayers, metadata, normTensors, weights, type ExportLayer, type ExportSource,
} from './source.js';

export const TFJS_SHARD = 'group1-shard1of1.bin';

interface WeightSpec { name: string; shape: number[]; dtype: 'float32' }

/** model.json (as an object) and the one shard's bytes for src. */
export function toTfjs(src: ExportSource): { modelJson: object; shard: Uint8Array } {
  const [C, H, W] = src.spec.input;
  const layers: object[] = [];
  const specs: WeightSpec[] = [];
  const data: Float32Array[] = [];
  const add = (className: string, name: string, config: Record<string, unknown> = {}) =>
    layers.push({ class_name: className, config: { name, trainable: true, dtype: 'float32', ...config } });
  const weight = (name: string, shape: number[], values: Float32Array) => {
    specs.push({ name, shape, dtype: 'float32' });
    data.push(values);
  };
  const image2d = { padding: 'valid', data_format: 'channels_last' };

  // TF.js types Rescaling's scale and offset as numbers, but it applies them with mul and add, which
  // broadcast an array over the last axis, and its config round-trips arrays (the tests load one).
  const per = channelAffine(src);
  add('Rescaling', 'normalize', { batch_input_shape: [null, H, W, C],
    scale: per ? Array.from(per.scale) : src.normalization.scale, offset: per ? Array.from(per.shift) : src.normalization.shift });
  let flat = false;
  let k = 0; // numbers the layers without weights, for unique names
  for (const l of exportLayers(src)) {
    const s = l.spec;
    switch (s.type) {
      case 'dense': {
        const { W: w, b } = weights(l);
        if (!flat) add('Flatten', `flatten${++k}`, { data_format: 'channels_last' });
        flat = true;
        const name = `dense${l.n}`;
        add('Dense', name, { units: b.length, activation: 'linear', use_bias: true });
        weight(`${name}/kernel`, [w.length / b.length, b.length], denseKernel(w, b.length, l));
        weight(`${name}/bias`, [b.length], b);
        break;
      }
      case 'conv2d': {
        if (flat) throw afterDense('tfjs', l);
        const { W: w, b } = weights(l);
        const K = s.kernel as number, st = s.stride as number, p = s.pad as number;
        // TF.js pads only 'same' or 'valid': explicit zero padding, then a 'valid' convolution.
        if (p > 0) add('ZeroPadding2D', `pad${++k}`, { padding: [[p, p], [p, p]], data_format: 'channels_last' });
        const name = `conv${l.n}`;
        add('Conv2D', name, { filters: s.filters, kernel_size: [K, K], strides: [st, st], dilation_rate: [1, 1],
          activation: 'linear', use_bias: true, ...image2d });
        weight(`${name}/kernel`, [K, K, l.inShape[0], b.length], convKernel(w, b.length, l.inShape[0], K));
        weight(`${name}/bias`, [b.length], b);
        break;
      }
      case 'pool': {
        if (flat) throw afterDense('tfjs', l);
        const size = s.size as number, st = s.stride as number;
        add(s.mode === 'max' ? 'MaxPooling2D' : 'AveragePooling2D', `pool${++k}`,
          { pool_size: [size, size], strides: [st, st], ...image2d });
        break;
      }
      case 'activation':
        switch (s.fn) {
          case 'identity': break;
          case 'relu': case 'sigmoid': case 'tanh':
            add('Activation', `${s.fn}${++k}`, { activation: s.fn });
            break;
          // gelu: TF.js's 'gelu' is the erf form, not the engine's tanh form, and its 'gelu_new'
          // (the tanh form) does not load back in TF.js 4 (its name is camel-cased on the way in).
          case 'leaky_relu': add('LeakyReLU', `leaky_relu${++k}`, { alpha: s.alpha }); break;
          default: throw cannotExpress('tfjs', l);
        }
        break;
      case 'dropout': break; // identity at inference
      case 'batchnorm': {
        const t = normTensors(l), C = t.gamma.length, name = `batch_normalization${l.n}`;
        add('BatchNormalization', name, { axis: -1, momentum: 1 - (s.momentum as number), epsilon: s.eps, center: true, scale: true });
        weight(`${name}/gamma`, [C], t.gamma);
        weight(`${name}/beta`, [C], t.beta);
        weight(`${name}/moving_mean`, [C], t.mean);
        weight(`${name}/moving_variance`, [C], t.var);
        break;
      }
      default: throw cannotExpress('tfjs', l);
    }
  }
  if (!flat) add('Flatten', `flatten${++k}`, { data_format: 'channels_last' });
  add('Activation', 'probabilities', { activation: 'softmax' });

  const bytes = new Uint8Array(data.reduce((a, d) => a + d.byteLength, 0));
  let at = 0;
  for (const d of data) {
    bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'wasmnist',
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 'wasmnist', layers },
      keras_version: 'tfjs-layers 4',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{ paths: [TFJS_SHARD], weights: specs }],
    userDefinedMetadata: { ...metadata(src), class_names: src.classNames, normalization: src.normalization },
  };
  return { modelJson, shard: bytes };
}

/** conv W (OC, C, K, K) as TF's kernel (K, K, C, OC). */
function convKernel(w: Float32Array, OC: number, C: number, K: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < OC; o++) {
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < K; y++) {
        for (let x = 0; x < K; x++) out[((y * K + x) * C + c) * OC + o] = w[((o * C + c) * K + y) * K + x];
      }
    }
  }
  return out;
}

/**
 * dense W (O, I) as TF's kernel (I, O), its rows in TF's flatten order: the input value at channel
 * c, row y, column x is our column (c H + y) W + x and TF's row (y W + x) C + c.
 */
function denseKernel(w: Float32Array, O: number, l: ExportLayer): Float32Array {
  const [C, H, W] = l.inShape;
  const I = C * H * W;
  const out = new Float32Array(w.length);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const ours = (c * H + y) * W + x;
        const tf = (y * W + x) * C + c;
        for (let o = 0; o < O; o++) out[tf * O + o] = w[o * I + ours];
      }
    }
  }
  return out;
}
