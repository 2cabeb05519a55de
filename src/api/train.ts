// train(): fits a Network to labelled data. Settings are a plain object with the CLI's defaults
// (src/train/config.ts); progress comes back through typed callbacks, and an AbortSignal stops the
// run cleanly after the current step (the network keeps its weights and can be saved, then
// resumed exactly). The CLI's `wasmnist train` is these callbacks plus a run folder.
import type { Dataset } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { availableCores } from '../util/threads.js';
import { resumeData } from '../io/checkpoint.js';
import { channelStats, normalizationOf } from '../data/normalize.js';
import { DEFAULTS, validateConfig, type TrainConfig } from '../train/config.js';
import { Trainer, type EpochMetrics, type RunEnd, type StepInfo } from '../train/trainer.js';
import type { Network } from './network.js';

/** What decides a run's numbers, besides the model: the CLI's flags less the model and data ones. */
export type TrainSettings = Omit<TrainConfig, 'arch' | 'activation' | 'alpha' | 'dropout' | 'data' | 'trainCsv' | 'testCsv' | 'checkpointEvery'>;

/** Labelled data: the training set, and a test set evaluated after each epoch (optional). */
export interface TrainData {
  train: Dataset;
  test?: Dataset | null;
}

/** What a run is about to do, for a header line. */
export interface TrainInfo {
  params: number;
  /** Rows trained on, held out for validation, and tested on. */
  trainRows: number;
  validationRows: number;
  testRows: number;
  /** Rows per step (the whole set for batch 'full'). */
  batch: number;
  stepsPerEpoch: number;
  epochs: number;
  /** Where it starts: 0 and 0 for a fresh run. */
  startEpoch: number;
  startStepInEpoch: number;
  backend: string;
  threads: number;
}

/** Progress after a step; loss and acc are running means over the epoch so far. */
export interface BatchLogs extends StepInfo {
  /** Optimizer steps taken in the run. */
  step: number;
}

/** Typed callbacks and an AbortSignal. Epochs and batches count from 1. */
export interface TrainCallbacks {
  onTrainBegin?(info: TrainInfo): void;
  onEpochBegin?(epoch: number): void;
  onBatchEnd?(batch: number, logs: BatchLogs): void;
  /** After the epoch and its evaluation (test/validation metrics are null when not evaluated). */
  onEpochEnd?(epoch: number, logs: EpochMetrics): void | Promise<void>;
  /** Aborting finishes the current step and resolves with status 'stopped'. */
  signal?: AbortSignal;
}

export interface TrainOptions extends Partial<TrainSettings>, TrainCallbacks {
  /**
   * Continue the run a loaded checkpoint stopped in, bit for bit, with its settings (only epochs
   * and evalEvery may change). Otherwise training starts afresh, from the network's current
   * weights when it has some.
   */
  resume?: boolean;
}

/** How the run ended ('done', 'stopped' by the signal, or 'diverged': a NaN/Inf loss), and its metrics. */
export type TrainResult = RunEnd & { history: EpochMetrics[] };

const SETTING_KEYS = (Object.keys(DEFAULTS) as (keyof TrainConfig)[])
  .filter((k) => !['arch', 'activation', 'alpha', 'dropout', 'checkpointEvery'].includes(k)) as (keyof TrainSettings)[];

/**
 * Trains net on data. The data is copied into the network's backend before this returns its
 * promise, so the caller may drop its own copy at once.
 */
export function train(net: Network, data: TrainData, options: TrainOptions = {}): Promise<TrainResult> {
  try {
    let config: TrainConfig;
    if (options.resume) {
      const ck = net.checkpoint;
      if (!ck) throw new UserError('resume: true needs a network from load() whose checkpoint it continues');
      config = { ...ck.config, epochs: options.epochs ?? ck.config.epochs, evalEvery: options.evalEvery ?? ck.config.evalEvery };
    } else {
      config = { ...DEFAULTS, arch: net.spec.arch };
      for (const k of SETTING_KEYS) if (options[k] !== undefined) (config as unknown as Record<string, unknown>)[k] = options[k];
    }
    return trainWith(net, data, config, options, Boolean(options.resume));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * @internal train() with a whole TrainConfig (the CLI's, which also records where its data came
 * from); resume continues the loaded checkpoint's run.
 */
export function trainWith(net: Network, data: TrainData, config: TrainConfig, cb: TrainCallbacks, resume: boolean): Promise<TrainResult> {
  // Colour data with the default scale trains on per-channel standardized inputs, measured here.
  if (!resume && (data.train.channels ?? 1) > 1 && config.mean === undefined && config.scale === DEFAULTS.scale &&
    config.shift === DEFAULTS.shift) Object.assign(config, channelStats(data.train));
  validateConfig(config);
  const ck = resume ? net.checkpoint : null;
  if (resume && !ck) throw new UserError('resume needs a network from load()');
  const warm = resume ? null : copies(net.weights());
  const bytes = data.train.images.length + (data.test?.images.length ?? 0);
  const backend = net.newBackend(bytes + (96 << 20));
  const trainer = new Trainer(backend, config, { train: data.train, test: data.test ?? null },
    ck ? resumeData(ck) : undefined, net.spec);
  if (warm) for (const e of trainer.model.entries) e.value.set(warm[e.name]);
  net.trainer = trainer;
  net.model = trainer.model;
  net.checkpoint = null;
  net.normalization = normalizationOf(config);
  // Named classes (class folders, CIFAR-10) travel into the checkpoint; eval and infer print them.
  if (!resume && data.train.classNames?.length === net.spec.classes) net.classNames = [...data.train.classNames];
  const threads = backend.name === 'ts' ? 1 : net.backendOptions.threads ?? availableCores();
  return run(trainer, cb, threads);
}

async function run(trainer: Trainer, cb: TrainCallbacks, threads: number): Promise<TrainResult> {
  // Start on a later turn: the caller has returned by then and its copy of the data can be collected.
  await new Promise<void>((resolve) => setImmediate(resolve));
  cb.onTrainBegin?.({
    params: trainer.model.paramCount, trainRows: trainer.train.n, validationRows: trainer.val?.n ?? 0,
    testRows: trainer.test?.n ?? 0, batch: trainer.stepBatch, stepsPerEpoch: trainer.stepsPerEpoch,
    epochs: trainer.config.epochs, startEpoch: trainer.state.epoch, startStepInEpoch: trainer.state.stepInEpoch,
    backend: trainer.backend.name, threads,
  });
  const end = await trainer.run({
    onEpochStart: (epoch) => cb.onEpochBegin?.(epoch + 1),
    onStep: (s) => cb.onBatchEnd?.(s.stepInEpoch, { ...s, step: trainer.state.step }),
    onEpoch: (m) => cb.onEpochEnd?.(m.epoch, m),
    shouldStop: () => cb.signal?.aborted ?? false,
  });
  return { ...end, history: trainer.state.history };
}

function copies(w: Record<string, Float32Array> | null): Record<string, Float32Array> | null {
  return w && Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.slice()]));
}
