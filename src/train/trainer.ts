// The training loop. The dataset is copied once into backend memory as u8; each step gathers its
// shuffled rows and normalizes them in one kernel, runs forward, the fused softmax cross-entropy
// and backward, then one optimizer call updates the whole parameter arena. The host reads back
// only the loss and the correct count. With augmentation, a kernel warps each chunk's u8 images
// before the gather. All randomness (split, init, shuffles, dropout and augmentation seeds) comes
// from one Rng, whose state a checkpoint keeps, so a resumed run is bit-identical.
import type { Backend } from '../engine/backend.js';
import { pixelsOf, requireTwoClasses, splitValidation, type Dataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { channelNorm, normalizationOf } from '../data/normalize.js';
import { Model } from '../model/model.js';
import { shapeSize } from '../model/layer.js';
import { createLayer } from '../model/layers/index.js';
import { parseArch, type ModelSpec } from '../model/spec.js';
import { Rng } from '../util/rng.js';
import { EVAL_BATCH, optimizerSlots, parseWarmup, validateConfig, type TrainConfig } from './config.js';
import { DivergenceWatch } from './divergence.js';
import { learningRate } from './schedule.js';

/**
 * Full-batch steps are accumulated over chunks of this many rows, so memory stays bounded (6.3 MB
 * of f32 rows for MNIST). Each chunk has a fixed cost on top of its rows (the K-blocked dW's
 * partials, thread round trips): 2000-row chunks made the seed's epoch 5-10% faster on 2 threads
 * than 1000-row ones, and the same on one thread (A/B in one process).
 */
export const FULL_BATCH_CHUNK = 2000;
/** What one row's activations (layer outputs, once each) may take at most in an evaluation batch. */
const EVAL_ACTIVATIONS_BYTES = 32 << 20;

/** Floats of one row's layer outputs (what the activations of a batch scale with). */
function activationFloats(spec: ModelSpec): number {
  let shape = spec.input, n = 0;
  for (const ls of spec.layers) {
    shape = createLayer(ls, shape).outShape;
    n += shapeSize(shape);
  }
  return n;
}
export { EVAL_BATCH, optimizerSlots } from './config.js';

/** One row of metrics.csv / metrics.json. Losses are means per sample; null = not evaluated. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  lr: number;
  train_loss: number;
  train_acc: number;
  val_loss: number | null;
  val_acc: number | null;
  test_loss: number | null;
  test_acc: number | null;
  /** Wall seconds since the run began (training and evaluation, over resumes). */
  seconds: number;
  /** Training samples per second in this epoch (evaluation excluded). */
  samples_per_s: number;
}

/** Where a run stands; everything a checkpoint needs besides the tensors. */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** Steps done in the unfinished epoch (0 at an epoch boundary). */
  stepInEpoch: number;
  /** Running sums of the unfinished epoch. */
  partial: { loss: number; correct: number; seen: number };
  rng: number[];
  seconds: number;
  history: EpochMetrics[];
  /** Seconds spent in training steps (no evaluation), over resumes; absent in older checkpoints. */
  trainSeconds?: number;
  /** When config.targetAcc was reached (the run stopped there); absent: not (yet). */
  reached?: { epoch: number; step: number; seconds: number; trainSeconds: number; acc: number };
}

/** What a checkpoint hands back to continue a run. */
export interface ResumeData {
  state: TrainState;
  params: Record<string, Float32Array>;
  /** Optimizer state per parameter name (see optimizerSlots). */
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  /** With config.ema: the training weights (then params holds the average); null otherwise. */
  live?: Record<string, Float32Array> | null;
  /** This epoch's row order when the run stopped mid-epoch. */
  perm: Int32Array | null;
}

/** A labelled set copied into backend memory. */
export interface DeviceSet {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  source: string;
}

/** Loss and accuracy over a set; preds (argmax per row) when asked for. */
export interface EvalResult {
  loss: number;
  acc: number;
  correct: number;
  n: number;
  preds?: Uint8Array;
}

/** Progress of one step, for progress bars. loss/acc are running means over the epoch so far. */
export interface StepInfo {
  epoch: number;
  epochs: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  loss: number;
  acc: number;
  samplesPerSec: number;
  lr: number;
}

export interface TrainHooks {
  onEpochStart?(epoch: number): void;
  onStep?(info: StepInfo): void;
  /** After each epoch's evaluation (save the checkpoint and metrics here). */
  onEpoch?(m: EpochMetrics): void | Promise<void>;
  /** Checked after every step: true finishes the step and stops (Ctrl-C). */
  shouldStop?(): boolean;
}

export type RunEnd =
  | { status: 'done' }
  | { status: 'stopped' }
  | { status: 'diverged'; epoch: number; step: number; loss: number; why: string; lr: number };

export class Trainer {
  readonly model: Model;
  readonly spec: ModelSpec;
  readonly rng: Rng;
  readonly train: DeviceSet;
  readonly val: DeviceSet | null;
  readonly test: DeviceSet | null;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly perm: Int32Array;
  /**
   * With config.ema: the moving average of the parameter arena (same layout as model.params);
   * null when off. model.params always holds the training weights except inside withEma().
   */
  readonly ema: Float32Array | null;
  readonly state: TrainState;
  readonly D: number;
  readonly classes: number;
  readonly stepBatch: number;
  readonly stepsPerEpoch: number;
  private readonly chunk: number;
  private readonly x: Float32Array;
  private readonly y: Int32Array;
  private readonly dlogits: Float32Array;
  private readonly iota: Int32Array;
  /** Per-channel (C,2) scale and shift in backend memory, when the config has mean and std. */
  private readonly norm: Float32Array | null;
  /** Where softmaxCrossEntropy puts a chunk's correct count. */
  private readonly correct: Int32Array;
  /** With augmentation: a chunk's warped images and their labels, gathered from there. */
  private readonly augImages: Uint8Array | null = null;
  private readonly augLabels: Uint8Array | null = null;

  constructor(readonly backend: Backend, readonly config: TrainConfig,
    data: { train: Dataset; test: Dataset | null }, resume?: ResumeData, spec?: ModelSpec) {
    validateConfig(config);
    const c = config;
    let train = limitRows(data.train, c.limitTrain);
    const test = data.test ? limitRows(data.test, c.limitTest) : null;
    this.spec = spec ?? parseArch(c.arch, { activation: c.activation, alpha: c.alpha, dropout: c.dropout }, train);
    if (spec) checkSpecFitsData(spec, train);
    if (test && (test.height !== train.height || test.width !== train.width || pixelsOf(test) !== pixelsOf(train))) {
      throw new UserError(`the test images are ${test.height}x${test.width} but the training images ` +
        `${train.height}x${train.width}; use data of one image size`);
    }
    // Draw order is part of the run's identity: split, then init, then (each epoch) shuffle.
    this.rng = new Rng(c.seed);
    let val: Dataset | null = null;
    if (c.val > 0) ({ train, val } = splitValidation(train, c.val, this.rng));
    if (train.n === 0) throw new UserError(`${train.source} has no training rows; check --limit-train and the data`);
    requireTwoClasses(train);
    this.D = pixelsOf(train);
    this.classes = this.spec.classes;
    this.stepBatch = c.batch === 'full' ? train.n : Math.min(c.batch, train.n);
    this.stepsPerEpoch = Math.ceil(train.n / this.stepBatch);
    this.chunk = c.batch === 'full' ? Math.min(FULL_BATCH_CHUNK, train.n) : this.stepBatch;
    // Evaluation goes in batches of EVAL_BATCH rows, fewer for a model whose activations would not
    // fit EVAL_ACTIVATIONS_BYTES (a CNN's first conv holds tens of KB a row), never fewer than a step's.
    const perRow = activationFloats(this.spec) * 4;
    const maxB = Math.max(this.chunk, Math.min(EVAL_BATCH, Math.floor(EVAL_ACTIVATIONS_BYTES / perRow)));

    this.model = new Model(backend, this.spec, maxB, { sparseInput: c.skipZeros !== false });
    this.model.init(this.rng, c.init);
    this.m = backend.f32(this.model.params.length);
    this.v = backend.f32(this.model.params.length);
    // Filled from the weights when the first step runs (a warm start sets them after construction).
    this.ema = c.ema ? backend.f32(this.model.params.length) : null;
    this.x = backend.f32(maxB * this.D);
    this.y = backend.i32(maxB);
    this.dlogits = backend.f32(maxB * this.classes);
    this.iota = backend.i32(maxB);
    this.correct = backend.i32(1);
    this.norm = c.mean ? backend.f32(2 * this.spec.input[0]) : null;
    this.norm?.set(channelNorm(normalizationOf(c), this.spec.input[0]));
    for (let i = 0; i < maxB; i++) this.iota[i] = i;
    if (c.augment) {
      this.augImages = backend.u8(this.chunk * shapeSize(this.spec.input));
      this.augLabels = backend.u8(this.chunk);
    }
    this.train = toDevice(backend, train);
    this.val = val ? toDevice(backend, val) : null;
    this.test = test ? toDevice(backend, test) : null;
    this.perm = backend.i32(train.n);

    this.state = { epoch: 0, step: 0, stepInEpoch: 0, partial: { loss: 0, correct: 0, seen: 0 },
      rng: this.rng.getState(), seconds: 0, history: [] };
    if (resume) this.restore(resume);
  }

  private restore(r: ResumeData): void {
    const slots = optimizerSlots(this.config.optimizer);
    for (const e of this.model.entries) {
      // With EMA the checkpoint's params are the average and live.* the training weights.
      if (this.ema) {
        const avg = r.params[e.name], live = r.live?.[e.name];
        if (!live || !avg || live.length !== e.size || avg.length !== e.size) {
          throw new UserError(`the checkpoint lacks the training weights live.${e.name} of its --ema run; it is damaged`);
        }
        this.ema.set(avg, e.offset);
      }
      const src = this.ema ? r.live![e.name] : r.params[e.name];
      if (!src) throw new UserError(`the checkpoint has no tensor ${e.name}; it is damaged or of another model`);
      if (src.length !== e.size) {
        throw new UserError(`the checkpoint's ${e.name} has ${src.length} values but the model needs ${e.size}; ` +
          'it was written for another architecture');
      }
      e.value.set(src);
      if (e.def.kind === 'state') continue; // running statistics: no optimizer state
      for (const slot of slots) {
        const part = (slot === 'm' ? r.m : r.v)[e.name];
        if (!part || part.length !== e.size) {
          throw new UserError(`the checkpoint lacks optimizer state ${slot}.${e.name} for ${this.config.optimizer}; it is damaged`);
        }
        (slot === 'm' ? this.m : this.v).set(part, e.offset);
      }
    }
    Object.assign(this.state, structuredClone(r.state));
    this.rng.setState(r.state.rng);
    if (r.state.stepInEpoch > 0) {
      if (!r.perm || r.perm.length !== this.train.n) {
        throw new UserError('the checkpoint stopped mid-epoch but lacks that epoch\'s row order (or the data changed); ' +
          'resume with the same data');
      }
      this.perm.set(r.perm);
    }
  }

  /** Total optimizer steps of the run (what the schedule spans). */
  get totalSteps(): number {
    return this.config.epochs * this.stepsPerEpoch;
  }

  /** Learning rate of 0-based step `step`. */
  lrAt(step: number): number {
    const c = this.config;
    return learningRate(c.schedule, c.lr, step, this.totalSteps, parseWarmup(c.warmup, this.stepsPerEpoch));
  }

  /**
   * One optimizer step over rows perm[start, start+B): gradients of the mean loss over those rows
   * (accumulated chunk by chunk for full batch), then the update. Returns the summed loss and the
   * correct count before the update.
   */
  private step(start: number, B: number): { loss: number; correct: number } {
    const { backend, model, chunk, D, classes: C } = this;
    const c = this.config;
    model.zeroGrad();
    let loss = 0;
    let correct = 0;
    // A full batch is every row: its gradient does not depend on the row order (only its rounding
    // does), so the chunks take the rows as stored and the gather streams through the images
    // (3x faster than the shuffled rows of the 47 MB MNIST set, measured). The same chunks come
    // back every epoch (the hint ctx.repeat), so the first layer may keep what it derives from
    // them; when it reads no input, only the labels are copied.
    const inOrder = c.batch === 'full';
    const { images, labels } = this.train;
    for (let o = 0; o < B; o += chunk) {
      const b = Math.min(chunk, B - o);
      // Augmented rows differ every step: no repeat hint then.
      const ctx = { training: true, rng: this.rng, repeat: inOrder && !c.augment ? o : undefined };
      if (c.augment) {
        // Warp the chunk's images (u8, before the gather's normalization), then gather from there in order.
        const idx = inOrder ? this.iota : this.perm.subarray(start + o, start + o + b);
        const src = inOrder ? images.subarray((start + o) * D) : images;
        const augImages = this.augImages!, augLabels = this.augLabels!;
        backend.augmentBatch(augImages, src, idx, b, this.spec.input, c.augment, this.rng.u32());
        for (let i = 0; i < b; i++) augLabels[i] = inOrder ? labels[start + o + i] : labels[idx[i]];
        this.gather(augImages, augLabels, this.iota, b);
      } else if (inOrder && !model.readsInput(ctx)) {
        for (let i = 0; i < b; i++) this.y[i] = labels[start + o + i];
      } else if (inOrder) {
        this.gather(images.subarray((start + o) * D), labels.subarray(start + o), this.iota, b);
      } else {
        this.gather(images, labels, this.perm.subarray(start + o, start + o + b), b);
      }
      const logits = model.forward(this.x, b, ctx);
      // dlogits of the mean over all B rows, so the chunks' gradients just add up
      loss += backend.softmaxCrossEntropy(this.dlogits, logits, this.y, b, C, B, this.correct);
      correct += this.correct[0];
      if (c.labelSmoothing) smoothLabels(this.dlogits, this.y, b, C, B, c.labelSmoothing);
      model.backward(this.dlogits, b);
    }
    // Two calls: the weights with weight decay, the norm tensors without (model.ts's arena order).
    const h = {
      kind: c.optimizer, lr: this.lrAt(this.state.step), momentum: c.momentum, beta1: c.beta1, beta2: c.beta2,
      eps: c.eps, weightDecay: c.weightDecay, step: this.state.step + 1,
    };
    backend.optimizerStep(model.params, model.grads, this.m, this.v, model.decayed, h);
    const [s0, s1] = [model.decayed, model.trained];
    if (s1 > s0) {
      backend.optimizerStep(model.params.subarray(s0, s1), model.grads.subarray(s0, s1), this.m.subarray(s0, s1),
        this.v.subarray(s0, s1), s1 - s0, { ...h, weightDecay: 0 });
    }
    if (this.ema) this.updateEma(this.ema, this.config.ema!);
    return { loss, correct };
  }

  /**
   * e = d e + (1 - d) w over the trained tensors, as e + (1 - d)(w - e): that is the existing
   * elementwise SGD kernel run on e with the weights as its "gradient", lr = -(1 - d) and weight
   * decay -1 (e - lr (w + wd e)), so it has the same SIMD, scalar and TS twins and splits over
   * threads element by element (any thread count gives the same bits). m and v are not read by SGD.
   * BatchNorm's running statistics are copied as they are: they already are moving averages (of
   * batch statistics) and averaging them again would only make them lag the weights more.
   */
  private updateEma(ema: Float32Array, d: number): void {
    const { model } = this;
    this.backend.optimizerStep(ema, model.params, this.m, this.v, model.trained,
      { kind: 'sgd', lr: -(1 - d), momentum: 0, beta1: 0, beta2: 0, eps: 1, weightDecay: -1, step: 1 });
    ema.set(model.params.subarray(model.trained), model.trained);
  }

  /** Runs f with the moving average in model.params (the training weights put back after); plain f without EMA. */
  withEma<T>(f: () => T): T {
    const { ema, model } = this;
    if (!ema) return f();
    const live = model.params.slice();
    model.params.set(ema);
    try {
      return f();
    } finally {
      model.params.set(live);
    }
  }

  /** x, y = rows idx of images and labels, normalized (per channel when the config has mean and std). */
  private gather(images: Uint8Array, labels: Uint8Array, idx: Int32Array, b: number): void {
    const c = this.config;
    if (this.norm) this.backend.gatherBatchChannels(this.x, this.y, images, labels, idx, b, this.D, this.norm);
    else this.backend.gatherBatch(this.x, this.y, images, labels, idx, b, this.D, c.scale, c.shift);
  }

  /** Mean loss and accuracy over a set (no dropout); with wantPreds, the argmax of every row. */
  evaluate(set: DeviceSet, wantPreds = false): EvalResult {
    const { backend, model, D, classes: C } = this;
    const c = this.config;
    const ctx = { training: false, rng: null };
    const preds = wantPreds ? new Uint8Array(set.n) : undefined;
    let loss = 0;
    let correct = 0;
    for (let s = 0; s < set.n; s += model.maxB) {
      const b = Math.min(model.maxB, set.n - s);
      this.gather(set.images.subarray(s * D), set.labels.subarray(s), this.iota, b);
      const logits = model.forward(this.x, b, ctx);
      loss += backend.softmaxCrossEntropy(null, logits, this.y, b, C, b, this.correct);
      correct += this.correct[0];
      if (preds) argmaxRows(preds, s, logits, b, C);
    }
    return { loss: loss / set.n, acc: correct / set.n, correct, n: set.n, preds };
  }

  /** Runs the remaining epochs. Resolves when done, stopped by hooks.shouldStop, or diverged. */
  async run(hooks: TrainHooks = {}): Promise<RunEnd> {
    const c = this.config;
    const st = this.state;
    const N = this.train.n;
    const watch = new DivergenceWatch(this.classes);
    if (this.ema && st.step === 0) this.ema.set(this.model.params);
    while (st.epoch < c.epochs && !st.reached) {
      if (st.stepInEpoch === 0) {
        for (let i = 0; i < N; i++) this.perm[i] = i;
        this.rng.shuffle(this.perm);
        st.partial = { loss: 0, correct: 0, seen: 0 };
      }
      hooks.onEpochStart?.(st.epoch);
      const t0 = performance.now();
      let trainMs = 0;
      let seenHere = 0;
      for (let s = st.stepInEpoch; s < this.stepsPerEpoch; s++) {
        const ts = performance.now();
        const start = s * this.stepBatch;
        const B = Math.min(this.stepBatch, N - start);
        const lr = this.lrAt(st.step);
        const r = this.step(start, B);
        const why = watch.check(r.loss, B);
        if (why !== null) {
          st.seconds += (performance.now() - t0) / 1000;
          return { status: 'diverged', epoch: st.epoch + 1, step: st.step + 1, loss: r.loss / B, why, lr };
        }
        trainMs += performance.now() - ts;
        st.trainSeconds = (st.trainSeconds ?? 0) + (performance.now() - ts) / 1000;
        seenHere += B;
        st.partial.loss += r.loss;
        st.partial.correct += r.correct;
        st.partial.seen += B;
        st.step++;
        st.stepInEpoch = s + 1;
        hooks.onStep?.({
          epoch: st.epoch + 1, epochs: c.epochs, stepInEpoch: s + 1, stepsPerEpoch: this.stepsPerEpoch,
          loss: st.partial.loss / st.partial.seen, acc: st.partial.correct / st.partial.seen,
          samplesPerSec: seenHere / (trainMs / 1000), lr,
        });
        // Let signals and progress output in (the loop is otherwise synchronous).
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (s + 1 < this.stepsPerEpoch && hooks.shouldStop?.()) {
          st.rng = this.rng.getState();
          st.seconds += (performance.now() - t0) / 1000;
          return { status: 'stopped' };
        }
      }
      st.epoch++;
      st.stepInEpoch = 0;
      const last = st.epoch === c.epochs;
      const doEval = last || st.epoch % c.evalEvery === 0;
      // With --ema both sets see the moving average (one swap for the two).
      const [te, ve] = doEval
        ? this.withEma(() => [this.test ? this.evaluate(this.test) : null, this.val ? this.evaluate(this.val) : null])
        : [null, null];
      st.seconds += (performance.now() - t0) / 1000;
      st.rng = this.rng.getState();
      const m: EpochMetrics = {
        epoch: st.epoch, step: st.step, lr: this.lrAt(st.step - 1),
        train_loss: st.partial.loss / st.partial.seen, train_acc: st.partial.correct / st.partial.seen,
        val_loss: ve ? ve.loss : null, val_acc: ve ? ve.acc : null,
        test_loss: te ? te.loss : null, test_acc: te ? te.acc : null,
        seconds: st.seconds, samples_per_s: seenHere / Math.max(trainMs / 1000, 1e-9),
      };
      const acc = m.val_acc ?? m.test_acc;
      if (c.targetAcc && acc !== null && acc >= c.targetAcc) {
        st.reached = { epoch: st.epoch, step: st.step, seconds: st.seconds, trainSeconds: st.trainSeconds ?? 0, acc };
      }
      st.history.push(m);
      await hooks.onEpoch?.(m);
      if (st.reached) return { status: 'done' };
      if (!last && hooks.shouldStop?.()) return { status: 'stopped' };
    }
    return { status: 'done' };
  }
}

/**
 * Label smoothing on the fused kernel's dlogits = (p - onehot) / N: the smoothed target
 * t = (1 - e) onehot + e / C gives (p - t) / N = dlogits + e (onehot - 1/C) / N. B x C values a
 * chunk, in one fixed order.
 */
export function smoothLabels(dlogits: Float32Array, y: Int32Array, B: number, C: number, N: number, e: number): void {
  const off = Math.fround(-e / C / N), on = Math.fround(e * (1 - 1 / C) / N);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < C; j++) dlogits[b * C + j] += j === y[b] ? on : off;
  }
}

/** Copies a dataset's u8 images and labels into backend memory once. */
export function toDevice(backend: Backend, ds: Dataset): DeviceSet {
  const images = backend.u8(ds.images.length);
  images.set(ds.images);
  const labels = backend.u8(ds.n);
  labels.set(ds.labels);
  return { images, labels, n: ds.n, source: ds.source };
}

/** The first n rows (views, no copy); n = 0 keeps all. */
export function limitRows(ds: Dataset, n: number): Dataset {
  if (!n || n >= ds.n) return ds;
  const D = pixelsOf(ds);
  return { ...ds, images: ds.images.subarray(0, n * D), labels: ds.labels.subarray(0, n), n,
    source: `first ${n} rows of ${ds.source}` };
}

/** preds[s + b] = argmax of logits row b (first maximum, like countCorrect). */
export function argmaxRows(preds: Uint8Array, s: number, logits: Float32Array, B: number, C: number): void {
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let j = 1; j < C; j++) if (logits[b * C + j] > logits[b * C + best]) best = j;
    preds[s + b] = best;
  }
}

/** A stored spec must take this data's images and classes. */
export function checkSpecFitsData(spec: ModelSpec, ds: Dataset): void {
  const [C, H, W] = spec.input;
  if (C * H * W !== pixelsOf(ds)) {
    throw new UserError(`the model takes ${C}x${H}x${W} inputs but the data's images are ${ds.channels ?? 1}x${ds.height}x${ds.width}; ` +
      'use the data it was trained on');
  }
  if (spec.classes !== ds.classes) {
    throw new UserError(`the model has ${spec.classes} classes but the data has ${ds.classes}; use the data it was trained on`);
  }
}
