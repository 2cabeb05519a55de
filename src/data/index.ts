// What the CLI calls to get its data: the bundled MNIST by default, an IDX folder with --data, or
// CSV files with --train-csv/--test-csv. See idx.ts and csv.ts for the formats.
import { statSync } from '../platform/fs.js';
import { join } from '../platform/path.js';
import { projectRoot } from '../engine/root.js';
import { UserError } from '../errors.js';
import { loadCsv } from './csv.js';
import { countClasses, type Dataset } from './dataset.js';
import { loadIdxDir } from './idx.js';

export { type Dataset, splitValidation, labelHistogram, describeDataset, countClasses, requireTwoClasses } from './dataset.js';
export { loadIdxDir, loadIdxImages, loadIdxLabels } from './idx.js';
export { loadCsv, inferImageShape } from './csv.js';

/** Data flags: `data` an IDX folder; `trainCsv`/`testCsv` CSV files. */
export interface DataOptions { data?: string; trainCsv?: string; testCsv?: string }

/** The bundled MNIST folder: <projectRoot>/data/mnist. */
export function defaultDataDir(): string {
  return join(projectRoot(), 'data', 'mnist');
}

/**
 * Loads the training and test sets. Default: the bundled MNIST in <projectRoot>/data/mnist.
 * `data`: an IDX folder (train and test). `trainCsv` (+ optional `testCsv`): CSV files; with
 * --train-csv alone, test is null and the caller decides (e.g. evaluate on a validation split
 * only). When both sets are given, classes = max label + 1 over both and image sizes must agree.
 */
export function loadData(opts: DataOptions): { train: Dataset; test: Dataset | null } {
  if (opts.data !== undefined && (opts.trainCsv !== undefined || opts.testCsv !== undefined)) {
    throw new UserError('give either --data (an IDX folder) or --train-csv/--test-csv, not both');
  }
  if (opts.testCsv !== undefined && opts.trainCsv === undefined) {
    throw new UserError('--test-csv needs --train-csv too (the training set); add --train-csv <file>');
  }
  if (opts.trainCsv !== undefined) {
    const train = loadCsv(opts.trainCsv);
    if (opts.testCsv === undefined) return { train, test: null };
    const test = loadCsv(opts.testCsv);
    if (train.height * train.width !== test.height * test.width) {
      throw new UserError(`${opts.trainCsv} has ${train.height * train.width} pixels per row but ${opts.testCsv} has ${test.height * test.width}; both must have the same columns`);
    }
    train.classes = test.classes = countClasses(train.labels, test.labels);
    return { train, test };
  }
  const dir = opts.data ?? defaultDataDir();
  if (opts.data !== undefined) {
    let isFile = false;
    try { isFile = statSync(dir).isFile(); } catch { /* loadIdxDir reports a missing folder */ }
    if (isFile) {
      const hint = /\.csv(\.gz)?$/i.test(dir) ? `; for a CSV file use --train-csv ${dir}` : '';
      throw new UserError(`--data expects a folder holding the four IDX files, but ${dir} is a file${hint}`);
    }
  }
  return loadIdxDir(dir);
}
