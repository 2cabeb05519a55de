// The in-memory form of every labelled image set, whatever file it came from: u8 pixels and u8
// labels exactly as stored (47 MB for MNIST's 60k training images; normalization happens per batch
// in the batch kernel), plus the helpers that slice it (validation split) and describe it.
import { isAbsolute, relative } from '../platform/path.js';
import { UserError } from '../errors.js';
import type { Rng } from '../util/rng.js';

/** A labelled image set kept as loaded: images (n, C*height*width) u8, channel-major rows; labels (n) u8. */
export interface Dataset {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  height: number;
  width: number;
  /** Channels per image: 1 (grey, the default when absent) or 3 (RGB planes, C x H x W). */
  channels?: number;
  /** Names of the classes 0..classes-1 when the data has them (class folders, CIFAR-10). */
  classNames?: string[];
  /** Number of classes: max label + 1 (over train and test together when loaded as a pair). */
  classes: number;
  /** Where it came from (file path, plus a note for splits), for logs and reports. */
  source: string;
}

/** Values per image: C * H * W. */
export function pixelsOf(ds: Pick<Dataset, 'height' | 'width' | 'channels'>): number {
  return (ds.channels ?? 1) * ds.height * ds.width;
}

/** Largest label + 1 over the given label arrays (0 when all are empty). */
export function countClasses(...labelSets: Uint8Array[]): number {
  let max = -1;
  for (const labels of labelSets) for (let i = 0; i < labels.length; i++) if (labels[i] > max) max = labels[i];
  return max + 1;
}

/**
 * Refuses a training set whose rows all carry one label: every answer would be right, the loss
 * would fall to 0 and nothing would be learned.
 */
export function requireTwoClasses(ds: Dataset): void {
  const first = ds.labels[0];
  for (let i = 1; i < ds.n; i++) if (ds.labels[i] !== first) return;
  throw new UserError(`every one of the ${ds.n} training rows of ${shortPath(ds.source)} has label ${first}; ` +
    'training needs at least two classes: check the labels file (or --limit-train, --val)');
}

/** How many rows carry each label 0..classes-1. */
export function labelHistogram(ds: Dataset): number[] {
  const h = new Array<number>(ds.classes).fill(0);
  for (let i = 0; i < ds.n; i++) h[ds.labels[i]]++;
  return h;
}

/** One line for logs: "60000 images 28x28, 10 classes (data/mnist/train-images-idx3-ubyte.gz)". */
export function describeDataset(ds: Dataset): string {
  const colour = (ds.channels ?? 1) === 3 ? ' colour' : '';
  return `${ds.n}${colour} images ${ds.height}x${ds.width}, ${ds.classes} classes (${shortPath(ds.source)})`;
}

/** A path relative to the working folder when it lies inside it (shorter logs), else as given. */
function shortPath(p: string): string {
  if (!isAbsolute(p)) return p;
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

/** A new Dataset holding copies of the given rows, in the given order. */
export function selectRows(ds: Dataset, rows: Int32Array, source: string): Dataset {
  const D = pixelsOf(ds);
  const n = rows.length;
  const images = new Uint8Array(n * D);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    images.set(ds.images.subarray(r * D, r * D + D), i * D);
    labels[i] = ds.labels[r];
  }
  return { ...ds, images, labels, n, source };
}

/**
 * Seeded split of `nVal` random rows into a validation set (uses Rng from src/util/rng.ts; copies
 * rows). The rows are drawn by a partial Fisher-Yates shuffle (nVal draws from rng); both parts keep
 * the original row order, so the split is a pure selection. nVal = 0 gives an empty validation set.
 */
export function splitValidation(ds: Dataset, nVal: number, rng: Rng): { train: Dataset; val: Dataset } {
  if (!Number.isInteger(nVal) || nVal < 0) {
    throw new UserError(`validation size must be a whole number >= 0, got ${nVal}`);
  }
  if (nVal >= ds.n) {
    throw new UserError(`validation size ${nVal} leaves no training rows: ${ds.source} has ${ds.n}; use fewer than ${ds.n}`);
  }
  const perm = new Int32Array(ds.n);
  for (let i = 0; i < ds.n; i++) perm[i] = i;
  for (let i = 0; i < nVal; i++) {
    const j = i + rng.int(ds.n - i);
    const t = perm[i]; perm[i] = perm[j]; perm[j] = t;
  }
  const valRows = perm.slice(0, nVal).sort();
  const isVal = new Uint8Array(ds.n);
  for (let i = 0; i < nVal; i++) isVal[valRows[i]] = 1;
  const trainRows = new Int32Array(ds.n - nVal);
  for (let i = 0, k = 0; i < ds.n; i++) if (!isVal[i]) trainRows[k++] = i;
  return {
    train: selectRows(ds, trainRows, `${ds.source} minus ${nVal} validation rows`),
    val: selectRows(ds, valRows, `${nVal} validation rows of ${ds.source}`),
  };
}
