// The run folder of `wasmnist train`, written from the library's callbacks: the checkpoint and
// metrics after each evaluated epoch (and every n steps with --checkpoint-every), and at the end
// weights.npz, the confusion matrix and the misclassified digits.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../api/network.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { exportNpz } from '../io/model-file.js';
import type { TrainConfig } from '../train/config.js';
import { confusionSvg, curvesSvg, metricsCsv, misclassifiedPng, writeText } from '../train/report.js';
import type { EpochMetrics, EvalResult, DeviceSet } from '../train/trainer.js';

export class RunFolder {
  readonly checkpoint: string;
  readonly npz: string;
  /** Epoch of the checkpoint this run wrote (-1: none yet). */
  savedEpoch = -1;

  constructor(readonly dir: string, private readonly config: TrainConfig, private readonly checkpointEvery: number) {
    this.checkpoint = join(dir, 'checkpoint.safetensors');
    this.npz = join(dir, 'weights.npz');
  }

  /** Creates the folder (once the data and model are known to be good: a bad input leaves none). */
  open(): void {
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw new UserError(`cannot create the run folder ${this.dir} (${(e as Error).message}); pass --out with a writable folder`);
    }
  }

  /**
   * After an epoch: checkpoint and metrics after each evaluated epoch (every epoch by default;
   * every 10th for the seed preset, whose 1000 one-step epochs would otherwise spend more time in
   * fsync than in training) and after the last. Returns whether the epoch was evaluated.
   */
  epochEnd(net: Network, m: EpochMetrics): boolean {
    const evaluated = m.test_loss !== null || m.val_loss !== null || m.epoch % this.config.evalEvery === 0;
    if (evaluated || m.epoch === this.config.epochs) this.save(net, true);
    return evaluated;
  }

  /** After a step: the mid-epoch checkpoint of --checkpoint-every (resumes exactly like Ctrl-C's). */
  step(net: Network, step: number): void {
    if (this.checkpointEvery > 0 && step % this.checkpointEvery === 0) net.save(this.checkpoint);
  }

  /** Checkpoint, metrics.csv/json, and (after an epoch) the loss and accuracy curves. */
  save(net: Network, curves: boolean): void {
    net.save(this.checkpoint);
    this.savedEpoch = net.history.length ? net.history[net.history.length - 1].epoch : 0;
    const h = net.history;
    writeText(join(this.dir, 'metrics.csv'), metricsCsv(h));
    writeText(join(this.dir, 'metrics.json'), JSON.stringify({ config: this.config, model: net.spec, epochs: h }, null, 2) + '\n');
    if (curves) {
      const c = curvesSvg(h);
      writeText(join(this.dir, 'loss.svg'), c.loss);
      writeText(join(this.dir, 'accuracy.svg'), c.accuracy);
    }
  }

  /** Whether a good checkpoint is on disk (this run's, or the one it resumed from). */
  hasCheckpoint(resumed: boolean): boolean {
    return this.savedEpoch >= 0 || (resumed && existsSync(this.checkpoint));
  }

  /** The seed's .npz layout of the final weights. */
  finish(net: Network): void {
    exportNpz(this.npz, net.model!);
  }

  /** confusion.svg and misclassified.png of the final evaluation; returns what the picture shows. */
  evaluation(set: DeviceSet, r: EvalResult, conf: number[][], classNames: string[], title: string,
    shape: [number, number]): { shown: number; count: number } {
    const mis = misclassifiedPng(set.images, set.labels, r.preds!, set.n, shape[0], shape[1]);
    writeFileAtomic(join(this.dir, 'misclassified.png'), mis.png);
    writeText(join(this.dir, 'confusion.svg'), confusionSvg(conf, classNames, title));
    return { shown: mis.shown, count: mis.count };
  }
}

/** runs/<yyyymmdd-hhmmss>[-k]: a new folder per run. */
export function timestampDir(): string {
  const d = new Date();
  const z = (n: number) => String(n).padStart(2, '0');
  const base = join('runs', `${d.getFullYear()}${z(d.getMonth() + 1)}${z(d.getDate())}-${z(d.getHours())}${z(d.getMinutes())}${z(d.getSeconds())}`);
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  return dir;
}
