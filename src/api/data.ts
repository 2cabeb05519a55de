// The data loaders of the library: the bundled MNIST, any IDX folder, CSV files. Each returns
// u8 images and labels as stored (src/data/dataset.ts); normalization happens per batch.
import { defaultDataDir, loadData } from '../data/index.js';
import type { Dataset } from '../data/dataset.js';
import { loadIdxDir } from '../data/idx.js';
import { loadCifarDir } from '../data/cifar.js';
import { loadClassFolders, type FolderOptions } from '../data/folder.js';

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

/**
 * Class folders of PNG/JPEG/GIF pictures: dir/train/<class>/* with dir/test/<class>/*, or
 * dir/<class>/* with a seeded held-out testSplit (0.1). Colour kept, one size, cached decode.
 */
export function loadImageFolder(dir: string, options: FolderOptions = {}): Promise<{ train: Dataset; test: Dataset }> {
  return loadClassFolders(dir, options);
}

/** CIFAR-10's binary batches (data_batch_1..5.bin, test_batch.bin, batches.meta.txt) as distributed. */
export function loadCifar10(dir: string): { train: Dataset; test: Dataset } {
  return loadCifarDir(dir);
}
