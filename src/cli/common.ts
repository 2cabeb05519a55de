// Shared CLI plumbing: run a main function, print a UserError (or a bad flag) as one line without a
// stack, pick the exit code, parse numeric flags, and build the backend from --backend/--threads.
import { availableParallelism } from 'node:os';
import { CommanderError, InvalidArgumentError } from 'commander';
import { createBackend, BACKEND_NAMES, type BackendName } from '../engine/index.js';
import type { Backend } from '../engine/backend.js';
import { UserError } from '../errors.js';
import { guardOutputStreams } from './signals.js';

/** Exit codes shared by the CLIs. */
export const EXIT = { ok: 0, user: 1, usage: 2, diverged: 3, bug: 70, interrupted: 130 } as const;

/**
 * Runs main and exits with its code. UserError and commander errors print one line `error: ...`
 * to stderr; anything else is a bug and prints its stack.
 */
export function runMain(main: () => Promise<number | void>): void {
  // `... | head` closes the pipe early: that is not an error, and the work goes on.
  guardOutputStreams();
  main().then(
    (code) => exit(code ?? EXIT.ok),
    (e: unknown) => {
      if (e instanceof UserError) {
        process.stderr.write(`error: ${oneLine(e.message)}\n`);
        exit(e.exitCode);
      } else if (e instanceof CommanderError) {
        // --help and --version arrive here too, with exit code 0 and their text already printed.
        if (e.exitCode !== 0) process.stderr.write(`${oneLine(e.message)} (see --help)\n`);
        exit(e.exitCode === 0 ? 0 : EXIT.usage);
      } else {
        process.stderr.write(`internal error (a bug; please report it):\n${(e as Error)?.stack ?? e}\n`);
        exit(EXIT.bug);
      }
    },
  );
}

function exit(code: number): void {
  // Let pending stdout writes (pipes) drain before exiting.
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

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

/** Commander argument parser: one of the given choices (with the list in the error). */
export function choiceArg<T extends string>(choices: readonly T[]) {
  return (v: string): T => {
    if (!choices.includes(v as T)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
    return v as T;
  };
}

/** Threads the CLIs use when --threads is not given. */
export function defaultThreads(): number {
  return availableParallelism();
}

/**
 * The backend for --backend/--threads/--relaxed. initialBytes sizes the WASM memory up front (the
 * dataset plus the model) so it rarely has to grow.
 */
export function makeBackend(name: string, opts: { threads?: number; relaxed?: boolean; initialBytes?: number }): Backend {
  if (!BACKEND_NAMES.includes(name as BackendName)) {
    throw new UserError(`unknown backend '${name}'; use one of ${BACKEND_NAMES.join(', ')}`);
  }
  try {
    return createBackend(name as BackendName, opts);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
}

/** Stops a backend's worker threads, if it has any. */
export function disposeBackend(b: Backend): void {
  (b as { dispose?: () => void }).dispose?.();
}
