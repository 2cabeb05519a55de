// The one rule that says a run has diverged, and the message that says so. A step diverges when
// its loss is not finite, or when the mean loss per sample over the last steps is more than
// DIVERGE_FACTOR times the run's start: the first step's loss, at least ln(classes) (a uniform
// guess), so a resumed run that starts low is not judged by its low start. Training normally
// brings the loss down from there; 10x a uniform guess's cross-entropy means the model is
// confidently wrong on most samples, which a learning rate too high for the model produces long
// before the floats overflow (lr 1e9 reached a loss of 1e18 with no NaN).

/** How far above its start the loss may go before the run counts as diverged. */
export const DIVERGE_FACTOR = 10;
/** The steps whose mean is judged, and the samples they must hold before it is (batch 1 is noisy). */
export const DIVERGE_WINDOW = 10;
export const DIVERGE_MIN_SAMPLES = 100;

/** Watches one run's step losses. */
export class DivergenceWatch {
  private start = NaN;
  private readonly sums: number[] = [];
  private readonly counts: number[] = [];

  constructor(private readonly classes: number) {}

  /** The loss level the run started at (NaN before the first step). */
  get startLoss(): number {
    return this.start;
  }

  /**
   * Feeds one step: `lossSum` summed over its `samples` rows. Returns null, or why the run
   * diverged (a phrase that follows "the loss became X").
   */
  check(lossSum: number, samples: number): string | null {
    const mean = lossSum / samples;
    if (!Number.isFinite(mean)) return ' (not a finite number)';
    if (Number.isNaN(this.start)) this.start = Math.max(mean, Math.log(Math.max(2, this.classes)));
    this.sums.push(lossSum);
    this.counts.push(samples);
    if (this.sums.length > DIVERGE_WINDOW) { this.sums.shift(); this.counts.shift(); }
    const n = this.counts.reduce((a, b) => a + b, 0);
    if (n < DIVERGE_MIN_SAMPLES && this.sums.length < DIVERGE_WINDOW) return null;
    const recent = this.sums.reduce((a, b) => a + b, 0) / n;
    if (recent > DIVERGE_FACTOR * this.start) {
      return ` (mean ${fmt(recent)} over the last ${this.sums.length} steps, more than ${DIVERGE_FACTOR}x its start ${fmt(this.start)})`;
    }
    return null;
  }
}

/** Where the run stood when it diverged, and the checkpoint that is on disk. */
export interface DivergenceReport {
  loss: number;
  epoch: number;
  step: number;
  /** Why (from DivergenceWatch.check). */
  why: string;
  /** The learning rate of the step that diverged (after schedule and warmup). */
  lr: number;
  /** The checkpoint file now on disk and the step it holds; written by this run, or resumed from. */
  checkpoint: { path: string; epoch: number; step: number; resumedFrom: boolean } | null;
}

/**
 * A learning rate to suggest: a tenth of the one the diverging step ran at (never of the
 * configured peak, which a warmup or schedule may not have reached), rounded down so it is smaller.
 */
export function suggestLr(lrAtStep: number): number {
  const x = lrAtStep / 10;
  const p = 10 ** Math.floor(Math.log10(x));
  return Number((Math.floor(x / p) * p).toPrecision(1));
}

/** One line: what happened, what to try, and which checkpoint is on disk. */
export function divergenceMessage(r: DivergenceReport): string {
  const ck = r.checkpoint;
  const where = ck === null ? 'No checkpoint was written.'
    : ck.resumedFrom ? `The checkpoint resumed from, ${ck.path}, is unchanged (epoch ${ck.epoch}, step ${ck.step}).`
      : `Last checkpoint: ${ck.path} (epoch ${ck.epoch}, step ${ck.step}` +
        `${ck.step < r.step - 1 ? `, ${r.step - 1 - ck.step} steps before` : ''}).`;
  return `the loss became ${fmt(r.loss)} at epoch ${r.epoch}, step ${r.step}${r.why}: the learning rate ` +
    `(${fmt(r.lr)} at that step) is too high for this model; try --lr ${fmtLr(suggestLr(r.lr))}. ${where}`;
}

/** A learning rate as a flag value: 0.001, 9e7, 2e-5. */
function fmtLr(x: number): string {
  return x >= 1e4 || x < 1e-3 ? x.toExponential().replace('e+', 'e') : String(x);
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}
