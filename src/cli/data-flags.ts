// The class-folder flags that `train` and `eval` share (--test-split, --grayscale, --size, --strict,
// --cache-dir, --no-cache) and the decoding progress bar. See docs/data.md.
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { FolderOptions } from '../data/folder.js';
import { FlagError } from '../errors.js';
import { numArg } from './args.js';

export function addFolderFlags(p: Command): Command {
  return p
    .option('--test-split <f>', 'class folders without train/ and test/: hold out this fraction (seeded) as the test set', numArg('positive'), 0.1)
    .option('--grayscale', 'class folders: convert the pictures to one grey channel (default: keep colour)')
    .option('--size <HxW>', 'class folders: resize every picture to HxW (default: the most common size)', sizeArg)
    .option('--strict', 'class folders: stop at the first unreadable picture (default: skip it and count)')
    .option('--cache-dir <dir>', 'where decoded class folders are cached (default: ~/.cache/wasmnist)')
    .option('--no-cache', 'class folders: decode every time, write no cache');
}

function sizeArg(v: string): { height: number; width: number } {
  const m = /^(\d+)x(\d+)$/.exec(v.trim());
  if (!m || +m[1] < 1 || +m[2] < 1 || +m[1] > 4096 || +m[2] > 4096) {
    throw new FlagError(`--size must be HEIGHTxWIDTH in pixels, each 1 to 4096 (like 32x32), got '${v}'`);
  }
  return { height: +m[1], width: +m[2] };
}

/** FolderOptions from the parsed flags; a progress bar on a terminal's stderr unless quiet. */
export function folderOptions(o: Record<string, any>, seed: number, threads: number, quiet: boolean): FolderOptions {
  let bar: cliProgress.SingleBar | null = null;
  const tty = !quiet && process.stderr.isTTY;
  return {
    testSplit: o.testSplit, seed, grayscale: Boolean(o.grayscale), size: o.size, strict: Boolean(o.strict),
    cacheDir: o.cache === false ? null : o.cacheDir, threads,
    onProgress: (done, total) => {
      if (!tty) return;
      if (!bar) {
        bar = new cliProgress.SingleBar({ format: 'decoding {bar} {value}/{total} pictures | ETA {eta}s', barsize: 24,
          hideCursor: true, clearOnComplete: true, fps: 8, stream: process.stderr, barCompleteChar: '\u2588', barIncompleteChar: '\u2591' });
        bar.start(total, 0);
      }
      bar.update(done);
      if (done === total) { bar.stop(); bar = null; }
    },
    warn: (line) => process.stderr.write(line + '\n'),
  };
}
