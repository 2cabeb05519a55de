// Shared CLI plumbing: run a main function, print a UserError (or a bad flag) as one line without a
// stack, pick the exit code, and build the backend from --backend/--threads. It does not load
// commander (args.ts does, for the commands that parse with it): infer starts without it.
import { realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
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
      } else if (isCommanderError(e)) {
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

/**
 * Runs a command's main when its module is the process's entry (`node dist/src/cli/train.js`, as
 * the npm scripts and tests do); imported by the `wasmnist` bin, it does nothing.
 */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  const entry = process.argv[1];
  if (entry && moduleUrl === pathToFileURL(realpathSync(entry)).href) runMain(() => main(process.argv.slice(2)));
}

/** How the user runs a command, for hints: `wasmnist train` through the bin, else `npm run train --`. */
export function commandName(cmd: string): string {
  return viaBin() ? `wasmnist ${cmd}` : `npm run ${cmd} --`;
}

function viaBin(): boolean {
  const entry = basename(process.argv[1] ?? '');
  return entry === 'wasmnist' || entry === 'bin.js';
}

/** Help text with `npm run X --` written as the user invokes commands (see commandName). */
export function asInvoked(text: string): string {
  return viaBin() ? text.replace(/npm run (\w+)(?: --)?/g, 'wasmnist $1') : text;
}

/** A CommanderError, recognised by its code ('commander.unknownOption', ...) without loading commander. */
function isCommanderError(e: unknown): e is { exitCode: number; message: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('commander.') && typeof (e as { exitCode?: unknown }).exitCode === 'number';
}

function exit(code: number): void {
  // Let pending stdout writes (pipes) drain before exiting.
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
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
