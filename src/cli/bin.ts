#!/usr/bin/env node
// `wasmnist <command> [options]`: the one command of the package. Each command is a module with
// `main(argv): Promise<number>`, imported only when it is the one asked for, so `wasmnist infer`
// loads no training code (and `train` no image decoders). A new command is one line in COMMANDS.
import { readFileSync } from 'node:fs';
import { runMain } from './common.js';

type Command = { main(argv: string[]): Promise<number> };

/**
 * infer.js bundled into one module by `npm run build:ts` (scripts/bundle-infer.mjs): a one-picture
 * run then resolves and compiles one module, not some fifty. A variable, so tsc does not look for it.
 */
const BUNDLED_INFER = './infer.bundle.js';

/** The command modules, by name. */
const COMMANDS: Record<string, { help: string; load: () => Promise<Command> }> = {
  train: { help: 'train a network on MNIST or your IDX/CSV data (writes a run folder)', load: () => import('./train.js') },
  eval: { help: 'accuracy and confusion matrix of a saved model on a test set', load: () => import('./eval.js') },
  infer: { help: 'read handwritten digits from PNG/JPEG/GIF files', load: () => import(BUNDLED_INFER) },
  bench: { help: 'verify every kernel against the reference, then time them', load: () => import('../../bench/bench.js') },
  export: { help: 'export a trained model to other formats', load: () => import('./export.js') },
  demo: { help: 'serve the browser demo on localhost (train, watch the curves, draw a digit)', load: () => import('./demo.js') },
};

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return 'Usage: wasmnist <command> [options]   (wasmnist <command> --help for its options)\n\nCommands:\n' +
    Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}  ${c.help}`).join('\n') + '\n';
}

async function dispatch(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-V') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`error: unknown command '${cmd}'; use one of ${Object.keys(COMMANDS).join(', ')} (see wasmnist --help)\n`);
    return 2;
  }
  const mod = await entry.load();
  return mod.main(rest);
}

runMain(() => dispatch(process.argv.slice(2)));
