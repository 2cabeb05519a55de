// Training configuration: every knob with its default, the presets, and the checks that turn a bad
// value into one clear line. The whole config is stored in each checkpoint, so a resumed run
// continues with exactly the settings it started with.
import { ACTIVATIONS, OPTIMIZERS, type Activation, type AugmentOptions, type OptimizerKind } from '../engine/backend.js';
import { FlagError } from '../errors.js';
import { INIT_RULES, type InitRule } from '../model/layer.js';

export type ScheduleKind = 'constant' | 'step' | 'cosine' | 'onecycle';
export const SCHEDULES: readonly ScheduleKind[] = ['constant', 'step', 'cosine', 'onecycle'];

/** Everything that decides the numbers a run produces (not where or how it prints them). */
export interface TrainConfig {
  arch: string;
  activation: Activation;
  /** Negative slope of leaky_relu. */
  alpha: number;
  init: InitRule;
  /** Dropout after each hidden activation (0 = off). */
  dropout: number;
  /** Samples per step, or 'full' for full-batch gradient descent (the seed). */
  batch: number | 'full';
  optimizer: OptimizerKind;
  lr: number;
  momentum: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  schedule: ScheduleKind;
  /** Linear warmup: a number of epochs ("1", "0.5") or of steps ("500steps"). */
  warmup: string;
  epochs: number;
  seed: number;
  /** Rows of the training set held out (seeded) for validation; 0 = none. */
  val: number;
  /** Evaluate on test (and validation) every N epochs, and always after the last. */
  evalEvery: number;
  /** Input normalization x = u8 * scale + shift. */
  scale: number;
  shift: number;
  /**
   * Per-channel normalization x = (u8/255 - mean[c]) / std[c], used instead of scale and shift
   * when set: computed from the training set for colour data (absent for grey data and in
   * checkpoints written before it was).
   */
  mean?: number[];
  std?: number[];
  /**
   * A first dense layer of 16 units or more multiplies only the nonzero inputs of mostly-zero
   * batches (MNIST: 81% zeros): the same floats as multiplying all of them, faster. With a full
   * batch any first dense layer does, on chunks compressed once and kept (the same sums up to
   * rounding). false multiplies every value (layers/sparse_dense.ts picks).
   */
  skipZeros: boolean;
  /** Use only the first N training / test images (0 = all): quick experiments and tests. */
  limitTrain: number;
  limitTest: number;
  /**
   * Also checkpoint every N steps (0 = at evaluated epochs only). It changes no number, but it is
   * kept here so a resumed run keeps it; absent in checkpoints written before it was.
   */
  checkpointEvery?: number;
  /**
   * Random translation / rotation / zoom (and mirror) of every training image, one seeded map per
   * image per step (assembly/augment.ts); absent or null = off. Evaluation sees the images as they are.
   */
  augment?: AugmentOptions | null;
  /**
   * Label smoothing: the targets are (1 - e) one-hot + e / classes (absent or 0 = off). The loss
   * reported stays the plain cross-entropy.
   */
  labelSmoothing?: number;
  /**
   * Stop after the first evaluated epoch whose accuracy (validation with --val, else test) reaches
   * this fraction (0.99); absent or 0 = run all epochs. The run's result says when it was reached.
   */
  targetAcc?: number;
  /**
   * Exponential moving average of the weights, decay d in (0, 1) (0.999): after every step
   * e = d e + (1 - d) w; evaluation and the saved model use e. Absent or 0 = off.
   */
  ema?: number;
  /** Data source (see src/data): an IDX folder, or CSV files; all unset = bundled MNIST. */
  data?: string;
  trainCsv?: string;
  testCsv?: string;
}

/**
 * What a newcomer gets with no flags: a 784-256-128-10 ReLU MLP, Adam with a cosine decay,
 * batch 128, 6 epochs. Measured: see docs/performance.md (>= 98% test accuracy within 20 s on 2 cores).
 */
export const DEFAULTS: TrainConfig = {
  arch: '784-256-128-10',
  activation: 'relu',
  alpha: 0.01,
  init: 'he',
  dropout: 0,
  batch: 128,
  optimizer: 'adam',
  lr: 0.002,
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  schedule: 'cosine',
  warmup: '0',
  epochs: 6,
  seed: 1,
  val: 0,
  evalEvery: 1,
  scale: 1 / 255,
  shift: 0,
  skipZeros: true,
  limitTrain: 0,
  limitTest: 0,
  checkpointEvery: 0,
  augment: null,
  labelSmoothing: 0,
  targetAcc: 0,
  ema: 0,
};

/** MNIST's pixel mean and standard deviation (of u8 / 255), for the presets' normalization. */
const MNIST_MEAN = 0.1307, MNIST_STD = 0.3081;
const MNIST_NORM = { scale: 1 / (255 * MNIST_STD), shift: -MNIST_MEAN / MNIST_STD };

/** Named starting points; explicit flags still override them. */
export const PRESETS: Record<string, { help: string; config: Partial<TrainConfig> }> = {
  default: { help: 'the recommended MLP (same as no preset)', config: {} },
  seed: {
    help: 'exactly the numpy seed: 784-10-10, ReLU, uniform +-0.5 init, full batch, SGD lr 0.1, 1000 epochs',
    config: {
      arch: '784-10-10', activation: 'relu', init: 'uniform', dropout: 0, batch: 'full', optimizer: 'sgd',
      lr: 0.1, weightDecay: 0, schedule: 'constant', warmup: '0', epochs: 1000, evalEvery: 10,
    },
  },
  cnn: {
    help: 'the recommended CNN: conv16k5-relu-pool2-conv32k5-relu-pool2-dense128-relu-dense10, Adam, cosine, 5 epochs (>= 99% test)',
    config: {
      arch: 'conv16k5-relu-pool2-conv32k5-relu-pool2-dense128-relu-dense10', activation: 'relu', init: 'he',
      dropout: 0, batch: 64, optimizer: 'adam', lr: 0.001, weightDecay: 0, schedule: 'cosine', warmup: '0', epochs: 5,
    },
  },
  fast: {
    help: '99% in one epoch: conv8k5-pool2-bn-relu-conv16k3-pool2-bn-relu-dense128-bn-relu-dense10, Adam (0.7, 0.9) ' +
      'one-cycle lr 0.02, batch 256, label smoothing 0.1, MNIST mean/std normalization',
    config: {
      arch: 'conv8k5-pool2-bn-relu-conv16k3-pool2-bn-relu-dense128-bn-relu-dense10', activation: 'relu', init: 'he',
      dropout: 0, batch: 256, optimizer: 'adam', lr: 0.02, beta1: 0.7, beta2: 0.9, weightDecay: 0, schedule: 'onecycle',
      warmup: '0', epochs: 1, labelSmoothing: 0.1, ...MNIST_NORM,
    },
  },
  best: {
    help: 'for 99.5%+: conv24k5-bn-relu-pool2-conv32k3-bn-relu-pool2-dense256-bn-relu-dense10 with augmentation ' +
      '(translate 2, rotate 10, scale 0.1), label smoothing 0.1, Adam one-cycle lr 0.01, batch 128, 8 epochs',
    config: {
      arch: 'conv24k5-bn-relu-pool2-conv32k3-bn-relu-pool2-dense256-bn-relu-dense10', activation: 'relu', init: 'he',
      dropout: 0, batch: 128, optimizer: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, weightDecay: 0, schedule: 'onecycle',
      warmup: '0', epochs: 8, labelSmoothing: 0.1, augment: { translate: 2, rotate: 10, scale: 0.1, flip: false }, ...MNIST_NORM,
    },
  },
};

/** Rows per forward call when evaluating (and the batch a loaded model is built for). */
export const EVAL_BATCH = 1000;

/** Which optimizer-state arenas an optimizer uses (and a checkpoint stores). */
export function optimizerSlots(kind: string): ('m' | 'v')[] {
  return kind === 'adam' || kind === 'adamw' ? ['m', 'v'] : kind === 'sgd' ? [] : ['m'];
}

/** Rejects values no run can use, with what to do instead. */
export function validateConfig(c: TrainConfig): void {
  const bad = (msg: string) => { throw new FlagError(msg); };
  if (!ACTIVATIONS.includes(c.activation) || c.activation === 'identity') {
    bad(`unknown activation '${c.activation}'; use one of ${ACTIVATIONS.filter((a) => a !== 'identity').join(', ')}`);
  }
  if (!INIT_RULES.includes(c.init)) bad(`unknown init '${c.init}'; use one of ${INIT_RULES.join(', ')}`);
  if (!OPTIMIZERS.includes(c.optimizer)) bad(`unknown optimizer '${c.optimizer}'; use one of ${OPTIMIZERS.join(', ')}`);
  if (!SCHEDULES.includes(c.schedule)) bad(`unknown schedule '${c.schedule}'; use one of ${SCHEDULES.join(', ')}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) bad(`--dropout must be in [0, 1), got ${c.dropout}`);
  if (c.batch !== 'full' && !(Number.isInteger(c.batch) && c.batch > 0)) {
    bad(`--batch must be a positive integer or 'full', got ${c.batch}`);
  }
  if (!(c.lr > 0 && Number.isFinite(c.lr))) bad(`--lr must be a positive number, got ${c.lr}`);
  if (!(c.momentum >= 0 && c.momentum < 1)) bad(`--momentum must be in [0, 1), got ${c.momentum}`);
  if (!(c.weightDecay >= 0 && Number.isFinite(c.weightDecay))) bad(`--weight-decay must be >= 0, got ${c.weightDecay}`);
  if (!(Number.isInteger(c.epochs) && c.epochs > 0)) bad(`--epochs must be a positive integer, got ${c.epochs}`);
  if (!(Number.isInteger(c.evalEvery) && c.evalEvery > 0)) bad(`--eval-every must be a positive integer, got ${c.evalEvery}`);
  if (!(Number.isInteger(c.val) && c.val >= 0)) bad(`--val must be a whole number of rows >= 0, got ${c.val}`);
  if (!(Number.isInteger(c.seed) && c.seed >= 0 && c.seed < 2 ** 32)) bad(`--seed must be an integer in [0, 2^32), got ${c.seed}`);
  if (!(Number.isFinite(c.scale) && Number.isFinite(c.shift))) bad('--scale and --shift must be finite numbers');
  if ((c.mean === undefined) !== (c.std === undefined) || (c.mean && !(c.mean.length === c.std!.length &&
    c.mean.every(Number.isFinite) && c.std!.every((v) => v > 0 && Number.isFinite(v))))) {
    bad('per-channel mean and std must both be given, one finite number per channel, std > 0');
  }
  // Not flags, or not range-checked by the flag parser: a damaged checkpoint's config can hold anything.
  if (!(Number.isSafeInteger(c.checkpointEvery ?? 0) && (c.checkpointEvery ?? 0) >= 0)) bad(`--checkpoint-every must be a whole number >= 0, got ${c.checkpointEvery}`);
  for (const k of ['limitTrain', 'limitTest'] as const) {
    if (!(Number.isSafeInteger(c[k]) && c[k] >= 0)) bad(`--${k === 'limitTrain' ? 'limit-train' : 'limit-test'} must be a whole number >= 0, got ${c[k]}`);
  }
  if (!(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1)) bad(`Adam betas must be in [0, 1), got ${c.beta1}, ${c.beta2}`);
  if (!(c.eps > 0 && Number.isFinite(c.eps))) bad(`Adam eps must be a positive number, got ${c.eps}`);
  if (!Number.isFinite(c.alpha)) bad(`leaky_relu alpha must be a finite number, got ${c.alpha}`);
  parseWarmup(c.warmup, 1);
  if (!((c.targetAcc ?? 0) >= 0 && (c.targetAcc ?? 0) <= 1)) bad(`--target-acc must be a fraction in [0, 1] (like 0.99), got ${c.targetAcc}`);
  if (!((c.ema ?? 0) >= 0 && (c.ema ?? 0) < 1)) bad(`--ema must be a decay in [0, 1) (like 0.999; 0 = off), got ${c.ema}`);
  if (!((c.labelSmoothing ?? 0) >= 0 && (c.labelSmoothing ?? 0) < 1)) bad(`--label-smoothing must be in [0, 1), got ${c.labelSmoothing}`);
  if (c.augment) {
    const a = c.augment;
    if (!(a.translate >= 0 && a.translate <= 64 && a.rotate >= 0 && a.rotate <= 180 && a.scale >= 0 && a.scale < 1 &&
      typeof a.flip === 'boolean')) {
      bad(`--augment needs translate in [0, 64] pixels, rotate in [0, 180] degrees, scale in [0, 1), got ${JSON.stringify(a)}`);
    }
  }
}

/** `--augment translate=2,rotate=10,scale=0.1[,flip]` (any subset; `none` = off) as options, or null. */
export function parseAugment(text: string): AugmentOptions | null {
  const o: AugmentOptions = { translate: 0, rotate: 0, scale: 0, flip: false };
  if (text.trim() === 'none' || text.trim() === '') return null;
  for (const part of text.split(',')) {
    const m = /^\s*(translate|rotate|scale)\s*=\s*([0-9.eE+-]+)\s*$/.exec(part);
    if (part.trim() === 'flip') {
      o.flip = true;
    } else if (m && Number.isFinite(Number(m[2]))) {
      o[m[1] as 'translate' | 'rotate' | 'scale'] = Number(m[2]);
    } else {
      throw new FlagError(`--augment: '${part.trim()}' is not understood; write like translate=2,rotate=10,scale=0.1 ` +
        '(pixels, degrees, zoom fraction; add flip to mirror pictures)');
    }
  }
  return o;
}

/** Warmup length in steps: "1.5" epochs or "500steps". */
export function parseWarmup(w: string, stepsPerEpoch: number): number {
  const m = /^(\d+(?:\.\d+)?)(steps?)?$/.exec(String(w).trim());
  if (!m) throw new FlagError(`--warmup must be a number of epochs (like 1 or 0.5) or of steps (like 500steps), got '${w}'`);
  const v = Number(m[1]);
  return m[2] ? Math.round(v) : Math.round(v * stepsPerEpoch);
}

/**
 * A preset's arch for this data: a leading input size becomes the data's C*H*W and a trailing
 * output size (`10` or `dense10`) its class count, so `--preset cnn` and the default MLP take
 * colour pictures of any size and any number of classes. Other tokens stay as they are.
 */
export function archForData(arch: string, data: { height: number; width: number; channels?: number; classes: number }): string {
  const toks = arch.split('-');
  if (/^\d+(x\d+){0,2}$/.test(toks[0])) toks[0] = String((data.channels ?? 1) * data.height * data.width);
  const last = toks.length - 1;
  toks[last] = toks[last].replace(/^(dense)?\d+$/, (_, dense = '') => `${dense}${data.classes}`);
  return toks.join('-');
}
