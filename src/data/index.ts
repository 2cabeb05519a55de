// What the CLI calls to get its data: the bundled MNIST by default; with --data an IDX folder,
// CIFAR-10 binary batches or class folders of pictures; or CSV files with --train-csv/--test-csv.
// See idx.ts, cifar.ts, folder.ts and csv.ts for the formats (docs/data.md for users).
import { readdirSync, statSync } from '../platform/fs.js';
import { join } from '../platform/path.js';
import { projectRoot } from '../engine/root.js';
import { UserError } from '../errors.js';
import { loadCsv } from './csv.js';
import { countClasses, type Dataset } from './dataset.js';
import { loadIdxDir } from './idx.js';
import { isCifarDir, loadCifarDir } from './cifar.js';
import { isClassFolderDir, loadClassFolders, type FolderOptions } from './folder.js';

export { type Dataset, pixelsOf, splitValidation, labelHistogram, describeDataset, countClasses, requireTwoClasses } from './dataset.js';
export { loadIdxDir, loadIdxImages, loadIdxLabels } from './idx.js';
export { loadCsv, inferImageShape } from './csv.js';
export { loadCifarDir } from './cifar.js';
export { loadClassFolders, type FolderOptions } from './folder.js';

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
  if (opts.data !== undefined && !hasIdxFiles(dir)) {
    if (isCifarDir(dir)) return loadCifarDir(dir);
    if (isClassFolderDir(dir)) {
      throw new UserError(`${dir} holds class folders of pictures: they load with loadDataAsync (decoding is asynchronous)`);
    }
  }
  return loadIdxDir(dir);
}

/**
 * loadData, plus class folders of pictures (decoded on worker threads, cached): what `train` and
 * `eval` call. `folder` carries the class-folder options (test split, size, channels, cache).
 */
export async function loadDataAsync(opts: DataOptions & { folder?: FolderOptions }): Promise<{ train: Dataset; test: Dataset | null }> {
  const dir = opts.data;
  if (dir !== undefined && opts.trainCsv === undefined && opts.testCsv === undefined && isDirectory(dir) &&
    !hasIdxFiles(dir) && !isCifarDir(dir) && isClassFolderDir(dir)) {
    return loadClassFolders(dir, opts.folder);
  }
  return loadData(opts);
}

function isDirectory(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/** Any MNIST-named IDX file in dir (then it is an IDX folder, and a missing one is named). */
function hasIdxFiles(dir: string): boolean {
  try { return readdirSync(dir).some((n) => /^(train|t10k)-(images|labels)[-.]idx\d-ubyte(\.gz)?$/.test(n)); } catch { return false; }
}
