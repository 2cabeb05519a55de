// Learning-rate schedules as a pure function of the global step, so a resumed run gets exactly the
// rate it would have had. Warmup ramps linearly from lr/warmup to lr over the first steps.
//   constant  lr
//   step      lr, then x0.1 at 50% and again at 75% of the steps
//   cosine    lr * (1 + cos(pi * t)) / 2, t going 0 -> 1 over the steps after warmup
//   onecycle  PyTorch's OneCycleLR (cosine, two phases): lr/25 up to lr over the warmup steps (30%
//             of the run when --warmup is 0), then down to lr/25e4 by the last step; cosine in both
import type { ScheduleKind } from './config.js';

/** Learning rate of 0-based step `step` out of `total` steps. */
export function learningRate(kind: ScheduleKind, lr: number, step: number, total: number, warmup: number): number {
  if (kind === 'onecycle') return oneCycle(lr, step, total, warmup > 0 ? warmup : 0.3 * total);
  if (step < warmup) return lr * (step + 1) / warmup;
  switch (kind as Exclude<ScheduleKind, 'onecycle'>) {
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

/** OneCycleLR's rate at step (phase ends at up - 1 and total - 1, as torch computes them). */
function oneCycle(lr: number, step: number, total: number, up: number): number {
  const start = lr / 25, end = start / 1e4;
  const e1 = Math.max(1, up - 1), e2 = Math.max(e1 + 1, total - 1);
  const anneal = (a: number, b: number, pct: number) => b + (a - b) / 2 * (1 + Math.cos(Math.PI * Math.min(1, pct)));
  return step <= e1 ? anneal(start, lr, step / e1) : anneal(lr, end, (step - e1) / (e2 - e1));
}
