// The console side of `wasmnist train`, written from the library's callbacks: the header, a
// progress bar in a terminal (one line per evaluated epoch otherwise), and the number formats.
import cliProgress from 'cli-progress';
import type { BatchLogs, TrainInfo } from '../api/train.js';
import type { TrainConfig } from '../train/config.js';
import type { EpochMetrics } from '../train/trainer.js';

export const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);
export const kfmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
export const secs = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

export class ConsoleReporter {
  private bar: cliProgress.SingleBar | null = null;
  private readonly tty: boolean;
  private runStart = 0;
  private runSteps = 0;
  private stepsLeftAtStart = 0;
  private stepsPerEpoch = 0;

  constructor(private readonly c: TrainConfig, readonly quiet: boolean) {
    this.tty = Boolean(process.stdout.isTTY) && !quiet;
  }

  /** A line to stdout unless --quiet/--json. */
  say(s: string): void {
    if (!this.quiet) process.stdout.write(s + '\n');
  }

  /** The five header lines: model, data, training settings, engine, run folder. */
  header(info: TrainInfo, model: string, init: string, dataLine: string, loadSeconds: number, runDir: string): void {
    const c = this.c;
    this.runStart = performance.now();
    this.stepsPerEpoch = info.stepsPerEpoch;
    this.stepsLeftAtStart = info.epochs * info.stepsPerEpoch - (info.startEpoch * info.stepsPerEpoch + info.startStepInEpoch);
    const resumed = info.startEpoch > 0 || info.startStepInEpoch > 0;
    this.say(`Model    ${model}, ${info.params.toLocaleString('en-US')} parameters, init ${init}`);
    this.say(`Data     ${dataLine}` + (info.validationRows ? `, validation ${info.validationRows}` : '') +
      (info.testRows ? `, test ${info.testRows}` : '') + ` (loaded in ${loadSeconds.toFixed(1)} s)`);
    this.say(`Training ${c.optimizer} lr ${c.lr} ${c.schedule}${c.warmup !== '0' ? ` warmup ${c.warmup}` : ''}` +
      `${c.weightDecay ? ` wd ${c.weightDecay}` : ''}${c.dropout ? ` dropout ${c.dropout}` : ''}, ` +
      `batch ${c.batch === 'full' ? `full (${info.batch})` : c.batch}, ${c.epochs} epochs, seed ${c.seed}` +
      (resumed ? ` (resuming at epoch ${info.startEpoch}${info.startStepInEpoch ? `, step ${info.startStepInEpoch}/${info.stepsPerEpoch}` : ''})` : ''));
    this.say(`Engine   ${info.backend}, ${info.threads} thread${info.threads > 1 ? 's' : ''}`);
    this.say(`Run      ${runDir}/`);
  }

  epochBegin(epoch: number, stepInEpoch: number): void {
    if (!this.tty) return;
    this.bar = new cliProgress.SingleBar({
      format: `epoch {ep}/${this.c.epochs} {bar} {value}/{total} | loss {loss} acc {acc} | {sps} samples/s | ETA {eta_run}`,
      barsize: 24, hideCursor: true, clearOnComplete: true, fps: 8, stream: process.stdout,
      barCompleteChar: '\u2588', barIncompleteChar: '\u2591',
    });
    this.bar.start(this.stepsPerEpoch, stepInEpoch, { ep: epoch, loss: '-', acc: '-', sps: '-', eta_run: '-' });
  }

  batch(s: BatchLogs): void {
    this.runSteps++;
    if (!this.bar) return;
    const perStep = (performance.now() - this.runStart) / 1000 / this.runSteps;
    const left = (this.stepsLeftAtStart - this.runSteps) * perStep;
    this.bar.update(s.stepInEpoch, { ep: s.epoch, loss: s.loss.toFixed(4), acc: pct(s.acc), sps: kfmt(s.samplesPerSec), eta_run: secs(left) });
  }

  epochEnd(m: EpochMetrics, evaluated: boolean): void {
    this.stopBar();
    if (this.tty || evaluated || m.epoch === this.c.epochs) this.say(epochLine(m, this.c.epochs));
  }

  stopBar(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function epochLine(m: EpochMetrics, epochs: number): string {
  const w = String(epochs).length;
  let s = `epoch ${String(m.epoch).padStart(w)}/${epochs}  train loss ${m.train_loss.toFixed(4)} acc ${pct(m.train_acc)}`;
  if (m.val_loss !== null) s += `  |  val loss ${m.val_loss.toFixed(4)} acc ${pct(m.val_acc)}`;
  if (m.test_loss !== null) s += `  |  test loss ${m.test_loss.toFixed(4)} acc ${pct(m.test_acc)}`;
  return `${s}  |  ${kfmt(m.samples_per_s)} samples/s  ${secs(m.seconds)}`;
}
