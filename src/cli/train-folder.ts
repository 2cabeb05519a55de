// The run folder of `wasmnist train`, written from the library's callbacks: the checkpoint and
// metrics after each evaluated epoch (and every n steps with --checkpoint-every), and at the end
// weights.npz, the confusion matrix and the misclassified digits.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Network } from '../api/network.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { exportNpz } from '../io/model-file.js';
import type { TrainConfig } from '../train/config.js';
import { confusionSvg, curvesSvg, metricsCsv, misclassifiedPng, writeText } from '../train/report.js';
import type { EpochMetrics, EvalResult, DeviceSet, TrainState } from '../train/trainer.js';
import { claimRunFolder } from './guard.js';

/** The checkpoint on disk: the one resumed from, then each one this run writes. */
export interface SavedCheckpoint { epoch: number; step: number; resumedFrom: boolean }

export class RunFolder {
  readonly checkpoint: string;
  /** With --val: the checkpoint of the epoch with the best validation accuracy. */
  readonly best: string;
  readonly npz: string;
  /** The checkpoint on disk and the position it holds (null: none). */
  saved: SavedCheckpoint | null;

  /** resumedFrom: the state of the checkpoint a resumed run started from. */
  constructor(readonly dir: string, private readonly config: TrainConfig, resumedFrom: TrainState | null,
    private readonly claim: { resume?: string; force?: boolean }) {
    this.checkpoint = join(dir, 'checkpoint.safetensors');
    this.best = join(dir, 'best.safetensors');
    this.npz = join(dir, 'weights.npz');
    this.saved = resumedFrom && existsSync(this.checkpoint)
      ? { epoch: resumedFrom.epoch, step: resumedFrom.step, resumedFrom: true } : null;
  }

  /**
   * Creates and claims the folder (once the data and model are known to be good: a bad input
   * leaves none); refuses one that holds another run (guard.ts).
   */
  open(): void {
    ensureDir(this.dir, 'the run folder', 'pass --out with a writable folder');
    claimRunFolder(this.dir, this.claim);
  }

  /**
   * After an epoch: checkpoint and metrics after each evaluated epoch (every epoch by default;
   * every 10th for the seed preset, whose 1000 one-step epochs would otherwise spend more time in
   * fsync than in training) and after the last. Returns whether the epoch was evaluated.
   */
  epochEnd(net: Network, m: EpochMetrics): boolean {
    const evaluated = m.test_loss !== null || m.val_loss !== null || m.epoch % this.config.evalEvery === 0;
    if (evaluated || m.epoch === this.config.epochs) this.save(net, true);
    // With --val: best.safetensors is the checkpoint of the best validation accuracy so far (the
    // first of equals), judged from the history, so a resumed run keeps judging the same way.
    const before = net.history.slice(0, -1).map((h) => h.val_acc ?? -1);
    if (m.val_acc !== null && m.val_acc > Math.max(-1, ...before)) net.save(this.best);
    return evaluated;
  }

  /** After a step: the mid-epoch checkpoint of --checkpoint-every (resumes exactly like Ctrl-C's). */
  step(net: Network, step: number): void {
    const every = this.config.checkpointEvery ?? 0;
    if (every > 0 && step % every === 0) this.saveCheckpoint(net);
  }

  /** Checkpoint, metrics.csv/json, and (after an epoch) the loss and accuracy curves. */
  save(net: Network, curves: boolean): void {
    this.saveCheckpoint(net);
    const h = net.history;
    writeText(join(this.dir, 'metrics.csv'), metricsCsv(h));
    writeText(join(this.dir, 'metrics.json'), JSON.stringify({ config: this.config, model: net.spec, epochs: h }, null, 2) + '\n');
    if (curves) {
      const c = curvesSvg(h);
      writeText(join(this.dir, 'loss.svg'), c.loss);
      writeText(join(this.dir, 'accuracy.svg'), c.accuracy);
    }
  }

  private saveCheckpoint(net: Network): void {
    net.save(this.checkpoint);
    const st = net.trainer!.state;
    this.saved = { epoch: st.epoch, step: st.step, resumedFrom: false };
  }

  /** The seed's .npz layout of the final weights (their moving average with --ema, like the checkpoint). */
  finish(net: Network): void {
    net.trainer!.withEma(() => exportNpz(this.npz, net.model!));
  }

  /** confusion.svg and misclassified.png of the final evaluation; returns what the picture shows. */
  evaluation(set: DeviceSet, r: EvalResult, conf: number[][], classNames: string[], title: string,
    shape: [number, number, number]): { shown: number; count: number } {
    const [C, H, W] = shape;
    const mis = misclassifiedPng(set.images, set.labels, r.preds!, set.n, H, W, 100, C);
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
