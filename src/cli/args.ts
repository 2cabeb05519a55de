// Commander argument parsers for the flags of train and eval: numbers with their range, each bad
// value one line naming what was expected.
import { InvalidArgumentError } from 'commander';

/** Commander argument parser: a whole number >= min. */
export function intArg(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^[+-]?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number >= ${min}.`);
    }
    return n;
  };
}

/** Commander argument parser: a finite number, optionally > 0 or >= 0. */
export function numArg(kind: 'positive' | 'nonneg' | 'any' = 'any') {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number.');
    if (kind === 'positive' && !(n > 0)) throw new InvalidArgumentError('expected a number > 0.');
    if (kind === 'nonneg' && !(n >= 0)) throw new InvalidArgumentError('expected a number >= 0.');
    return n;
  };
}
