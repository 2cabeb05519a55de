// Batch inference speed: images per second through a model's predict (copy in, forward, softmax,
// copy out) on batches of prepared digits. Warmed up first (the first calls of each WASM export run
// on V8's baseline compiler), then timed as the median of many batches. Inputs are seeded random
// u8 digits normalized as the checkpoint says: the speed does not depend on the pixel values.
import type { Backend } from '../engine/backend.js';
import { Rng } from '../util/rng.js';
import { defaultModelPath, loadInferenceModel, type LoadedModel } from './model.js';
import { normalize } from './prepare.js';

export interface InferenceBenchOptions {
  /** A model file (default: the shipped one) or an already loaded model. */
  model?: string | LoadedModel;
  /** Backend to load the model file on (default: wasm, one thread). */
  backend?: Backend;
  /** Timed batches after warm-up (default 30). */
  samples?: number;
}

/** What benchInferenceDetailed measured. */
export interface InferenceBenchResult {
  /** Median images/s of predict (input copy + forward + softmax + output copy). */
  imagesPerSecond: number;
  /** Best and worst batch, images/s. */
  max: number;
  min: number;
  /** Median milliseconds per batch. */
  msPerBatch: number;
  batch: number;
  samples: number;
  backend: string;
}

/** Images per second (median) of batch inference for a model; target >= 150,000 for 784-128-10 on one wasm core. */
export async function benchInference(batch = 1000, opts: InferenceBenchOptions = {}): Promise<number> {
  return (await benchInferenceDetailed(batch, opts)).imagesPerSecond;
}

/** benchInference with the spread, the time per batch and the backend. */
export async function benchInferenceDetailed(batch = 1000, opts: InferenceBenchOptions = {}): Promise<InferenceBenchResult> {
  let backend = opts.backend;
  if (!backend) {
    const { createBackend } = await import('../engine/index.js');
    backend = createBackend('wasm', { threads: 1 });
  }
  const m = typeof opts.model === 'object' ? opts.model : await loadInferenceModel(opts.model ?? defaultModelPath(), backend);
  const D = m.inputShape[0] * m.inputShape[1] * m.inputShape[2];
  const rng = new Rng(1);
  const pixels = new Uint8Array(batch * D);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  const x = normalize(new Float32Array(batch * D), pixels, m.normalization.scale, m.normalization.shift);

  for (let i = 0; i < 5; i++) m.model.predict(x, batch);
  const samples = opts.samples ?? 30;
  const ms: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    m.model.predict(x, batch);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const med = ms[ms.length >> 1];
  return {
    imagesPerSecond: batch / (med / 1000), max: batch / (ms[0] / 1000), min: batch / (ms[ms.length - 1] / 1000),
    msPerBatch: med, batch, samples, backend: (backend as Backend).name,
  };
}
