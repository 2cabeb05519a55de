// The data loaders of the library: the bundled MNIST, any IDX folder, CSV files. Each returns
// u8 images and labels as stored (src/data/dataset.ts); normalization happens per batch.
import { defaultDataDir, loadData } from '../data/index.js';
import type { Dataset } from '../data/dataset.js';
import { loadIdxDir } from '../data/idx.js';

/** The MNIST training (60000) and test (10000) sets shipped in the package. */
export function loadMnist(): { train: Dataset; test: Dataset } {
  return loadIdxDir(defaultDataDir());
}

/** An IDX folder holding train-images/train-labels/t10k-images/t10k-labels (.gz or raw). */
export function loadIdx(dir: string): { train: Dataset; test: Dataset } {
  return loadIdxDir(dir);
}

/** CSV files of label,pixel0,... rows after a header line (the seed's layout); test is optional. */
export function loadCsv(trainPath: string, testPath?: string): { train: Dataset; test: Dataset | null } {
  return loadData({ trainCsv: trainPath, testCsv: testPath });
}
