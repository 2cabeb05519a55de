// The library's model: a Network is a model spec plus what it has learnt. It holds its weights in
// a backend of its own (WASM memory, worker threads), created when first needed and freed by
// dispose(), so a program can build and train many networks in one process. predict, evaluate,
// save and load work on it; train (train.ts) fills it.
import { countClasses, type Dataset } from '../data/dataset.js';
import type { Backend } from '../engine/backend.js';
import { BACKEND_NAMES, createBackend, type BackendName } from '../engine/index.js';
import { UserError } from '../errors.js';
import { channelNorm } from '../data/normalize.js';
import { checkpointOf, classNamesOf, readCheckpoint, writeCheckpoint, type Checkpoint, type Normalization } from '../io/checkpoint.js';
import { Model } from '../model/model.js';
import type { ModelSpec } from '../model/spec.js';
import { EVAL_BATCH } from '../train/config.js';
import { availableCores, clampThreads } from '../util/threads.js';
import type { EpochMetrics, Trainer } from '../train/trainer.js';
import type { ExportFormat, ExportResult } from '../export/index.js';

/** Where the kernels run. Defaults: `wasm` (SIMD), every core, no relaxed SIMD. */
export interface BackendOptions {
  /** `wasm` (SIMD, the default), `ts` (the readable reference), or a fixed wasm variant. */
  backend?: BackendName;
  /** Threads for the wasm kernels, the calling one included (default and most: os.availableParallelism()). */
  threads?: number;
  /** Use the relaxed-SIMD (FMA) kernels where this Node has them. */
  relaxed?: boolean;
}

/** Loss and accuracy over a labelled set, and the predicted class of every row. */
export interface Evaluation {
  loss: number;
  accuracy: number;
  correct: number;
  n: number;
  predictions: Uint8Array;
}

export class Network {
  /** Class names, index = class (default "0", "1", ...); saved with the checkpoint. */
  classNames: string[];
  /** Input normalization x = pixel * scale + shift the weights were trained with. */
  normalization: Normalization;
  /** @internal The backend holding the weights; null until needed, and after dispose(). */
  backend: Backend | null = null;
  /** @internal The model on the backend (the trainer's, after training). */
  model: Model | null = null;
  /** @internal The last training run, kept for its optimizer state, test set and history. */
  trainer: Trainer | null = null;
  /** @internal What load() read: weights to place on a backend, and a run to resume. */
  checkpoint: Checkpoint | null = null;
  private disposed = false;

  /** A network of this spec (from sequential() or fromArch()) with no weights yet: train() it. */
  constructor(readonly spec: ModelSpec, readonly backendOptions: BackendOptions = {}) {
    this.classNames = Array.from({ length: spec.classes }, (_, i) => String(i));
    this.normalization = { scale: 1 / 255, shift: 0 };
  }

  /** Number of parameters. */
  get paramCount(): number {
    let n = 0;
    for (const p of Object.values(this.weights() ?? {})) n += p.length;
    return n;
  }

  /** Metrics of every epoch trained so far, over resumes (empty before training). */
  get history(): EpochMetrics[] {
    return this.trainer?.state.history ?? this.checkpoint?.state.history ?? [];
  }

  /** Whether the network has weights (it was trained or loaded). */
  get trained(): boolean {
    return this.trainer !== null || this.checkpoint !== null;
  }

  /** Class probabilities (n, classes) of n images given as u8 pixels, row after row. */
  predict(images: Uint8Array): Float32Array {
    return this.averaged(() => predictImages(this.ready(), images, this.normalization));
  }

  /** Mean cross-entropy and accuracy on a labelled set (for example loadMnist().test). */
  evaluate(data: Dataset): Evaluation {
    return this.averaged(() => evaluateModel(this.ready(), data, this.normalization));
  }

  /** Runs f on the weights' moving average when the network was trained here with `ema` (what save() stores). */
  private averaged<T>(f: () => T): T {
    return this.trainer ? this.trainer.withEma(f) : f();
  }

  /**
   * Writes the safetensors checkpoint: weights, spec, settings, and after training the optimizer
   * state and position, so `wasmnist train --resume` (or load + train with resume) continues it.
   */
  save(path: string): void {
    writeCheckpoint(path, this.toCheckpoint());
  }

  /** @internal What save() writes, as a Checkpoint (the page encodes it to bytes for a download). */
  toCheckpoint(): Checkpoint {
    this.live();
    if (this.trainer) return checkpointOf(this.trainer, this.classNames);
    if (this.checkpoint) return { ...this.checkpoint, classNames: this.classNames };
    throw new UserError('the network has no weights yet: train() it before save()');
  }

  /**
   * Writes the network for another runtime (docs/export.md): `onnx` (a .onnx file), `tfjs`
   * (model.json + weights for tf.loadLayersModel) or `pytorch` (state_dict safetensors + model.py),
   * each taking float32 pixels 0..255 and giving class probabilities. An existing out is refused
   * unless force. The exporters are loaded on first use.
   */
  async export(out: string, opts: { format: ExportFormat; force?: boolean }): Promise<ExportResult> {
    const params = this.weights();
    if (!params) throw new UserError('the network has no weights yet: train() or load() it before export()');
    const { exportModel } = await import('../export/index.js');
    return exportModel({ spec: this.spec, params, normalization: this.normalization, classNames: this.classNames },
      { format: opts.format, out, force: opts.force });
  }

  /**
   * Frees what the network holds: the backend's memory (WASM memory, kept full-batch rows) and
   * worker threads. The network cannot be used afterwards.
   */
  dispose(): void {
    this.releaseBackend();
    this.checkpoint = null;
    this.disposed = true;
  }

  /** @internal The weights as JS arrays by name (W1, b1, ...), or null before training. */
  weights(): Record<string, Float32Array> | null {
    const ema = this.trainer?.ema;
    if (this.model) {
      return Object.fromEntries(this.model.entries.map((e) => [e.name, ema ? ema.subarray(e.offset, e.offset + e.size) : e.value]));
    }
    return this.checkpoint?.params ?? null;
  }

  /** @internal A fresh backend for this network, its memory sized up front to initialBytes. */
  newBackend(initialBytes: number): Backend {
    this.live();
    this.releaseBackend();
    const o = this.backendOptions;
    const name = o.backend ?? 'wasm';
    if (!BACKEND_NAMES.includes(name)) throw new UserError(`unknown backend '${name}'; use one of ${BACKEND_NAMES.join(', ')}`);
    try {
      this.backend = createBackend(name, { threads: clampThreads(o.threads ?? availableCores()), relaxed: o.relaxed,
        initialBytes });
    } catch (e) {
      throw e instanceof UserError ? e : new UserError((e as Error).message);
    }
    return this.backend;
  }

  /** @internal Drops the model and backend (stopping its workers); the weights stay in `checkpoint` if loaded. */
  releaseBackend(): void {
    this.model?.dispose();
    (this.backend as { dispose?: () => void } | null)?.dispose?.();
    this.trainer = null;
    this.model = null;
    this.backend = null;
  }

  /** The model on a backend, built from the loaded weights when there is none yet. */
  private ready(): Model {
    this.live();
    if (this.model) return this.model;
    if (!this.checkpoint) throw new UserError('the network has no weights yet: train() it or load() a checkpoint first');
    const backend = this.newBackend(16 << 20);
    const model = new Model(backend, this.spec, EVAL_BATCH);
    for (const e of model.entries) e.value.set(this.checkpoint.params[e.name]);
    this.model = model;
    return model;
  }

  private live(): void {
    if (this.disposed) throw new UserError('the network was disposed; build or load another');
  }
}

/** What predicting needs of a model: a Model, or a model loaded from a .npz. */
type Predictor = { predict(x: Float32Array, B: number): Float32Array; inputSize: number; classes: number };

/** @internal Class probabilities (n, classes) of u8 images, normalized as in training, EVAL_BATCH rows at a time. */
export function predictImages(model: Predictor, images: Uint8Array, norm: Normalization): Float32Array {
  const D = model.inputSize;
  if (images.length === 0 || images.length % D !== 0) {
    throw new UserError(`predict takes whole images of ${D} pixels each; got ${images.length} values`);
  }
  const n = images.length / D;
  const out = new Float32Array(n * model.classes);
  const x = new Float32Array(Math.min(n, EVAL_BATCH) * D);
  // per-channel: one mean and std per channel; else one scale and shift for every value
  const C = norm.mean?.length ?? 1;
  const cn = channelNorm(norm, C), P = D / C;
  for (let s = 0; s < n; s += EVAL_BATCH) {
    const b = Math.min(EVAL_BATCH, n - s);
    for (let i = 0; i < b * D; i++) { const c = Math.floor((i % D) / P); x[i] = images[s * D + i] * cn[2 * c] + cn[2 * c + 1]; }
    out.set(model.predict(x, b), s * model.classes);
  }
  return out;
}

/** @internal Mean cross-entropy, accuracy and the predicted class of every row of a labelled set. */
export function evaluateModel(model: Predictor, data: Dataset, norm: Normalization): Evaluation {
  const C = model.classes;
  const top = countClasses(data.labels.subarray(0, data.n));
  if (top > C) throw new UserError(`the data has labels up to ${top - 1} but the model has ${C} classes`);
  const probs = predictImages(model, data.images.subarray(0, data.n * model.inputSize), norm);
  const predictions = new Uint8Array(data.n);
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < data.n; r++) {
    let best = 0;
    for (let j = 1; j < C; j++) if (probs[r * C + j] > probs[r * C + best]) best = j;
    predictions[r] = best;
    if (best === data.labels[r]) correct++;
    loss -= Math.log(Math.max(probs[r * C + data.labels[r]], 1e-30));
  }
  return { loss: loss / data.n, accuracy: correct / data.n, correct, n: data.n, predictions };
}

/** A network from a checkpoint written by save() or `wasmnist train` (its checkpoint.safetensors). */
export function load(path: string, options: BackendOptions = {}): Network {
  return networkOf(readCheckpoint(path), options);
}

/** @internal A network holding a checkpoint already read (load(), and the page's file picker). */
export function networkOf(ck: Checkpoint, options: BackendOptions = {}): Network {
  const net = new Network(ck.spec, options);
  net.checkpoint = ck;
  net.normalization = { ...ck.normalization };
  net.classNames = classNamesOf(ck);
  return net;
}
