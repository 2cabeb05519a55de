// Shared CLI plumbing: run a main function, print a UserError (or a bad flag) as one line without a
// stack, and pick the exit code. It loads neither commander (args.ts does, for the commands that
// parse with it) nor the engine (backend.ts does): the bin starts with this module alone.
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
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
