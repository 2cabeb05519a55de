// Learning-rate schedules as a pure function of the global step, so a resumed run gets exactly the
// rate it would have had. Warmup ramps linearly from lr/warmup to lr over the first steps.
//   constant  lr
//   step      lr, then x0.1 at 50% and again at 75% of the steps
//   cosine    lr * (1 + cos(pi * t)) / 2, t going 0 -> 1 over the steps after warmup
import type { ScheduleKind } from './config.js';

/** Learning rate of 0-based step `step` out of `total` steps. */
export function learningRate(kind: ScheduleKind, lr: number, step: number, total: number, warmup: number): number {
  if (step < warmup) return lr * (step + 1) / warmup;
  switch (kind) {
    case 'constant':
      return lr;
    case 'step':
      return lr * (step >= 0.75 * total ? 0.01 : step >= 0.5 * total ? 0.1 : 1);
    case 'cosine': {
      const t = total > warmup ? (step - warmup) / (total - warmup) : 1;
      return lr * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t)));
    }
  }
}
