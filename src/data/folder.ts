// Class folders, the layout of torchvision's ImageFolder and Keras's image_dataset_from_directory:
// DIR/train/<class>/* with DIR/test/<class>/*, or only DIR/<class>/* with a seeded held-out test
// fraction. Pictures (PNG, JPEG, GIF: the decoders infer uses) are decoded on worker threads,
// made alike (one channel count, one size: see conform) and kept as u8 C x H x W rows; class
// names are the folder names, sorted. The decoded set is cached (cache.ts).
import { readdirSync, statSync } from '../platform/fs.js';
import { extname, join } from '../platform/path.js';
import { UserError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { CACHE_VERSION, cachePath, defaultCacheDir, readCache, writeCache, type CachedSet } from './cache.js';
import type { Dataset } from './dataset.js';
import { decodeFiles } from './decode-pool.js';
import { resizeTo, withChannels, type Planes } from './planes.js';

const PICTURE = /^\.(png|jpe?g|gif)$/i;

export interface FolderOptions {
  /** Fraction of the pictures held out as the test set when DIR has no train/ and test/ (seeded). */
  testSplit?: number;
  seed?: number;
  /** Convert every picture to one grey channel. */
  grayscale?: boolean;
  /** Target size; default: the most common size among the training pictures. */
  size?: { height: number; width: number };
  /** Stop at the first unreadable picture instead of skipping it. */
  strict?: boolean;
  /** Cache folder (default ~/.cache/wasmnist); null: no cache. */
  cacheDir?: string | null;
  threads?: number;
  /** Decoding progress, after each chunk of files. */
  onProgress?: (done: number, total: number) => void;
  /** One line per skipped picture and the count at the end. */
  warn?: (line: string) => void;
}

/** True when dir looks like class folders: train/ and test/, or subfolders holding pictures. */
export function isClassFolderDir(dir: string): boolean {
  return subfolders(dir).length > 0;
}

/** Loads the class folders under dir as a training and a test set. */
export async function loadClassFolders(dir: string, opts: FolderOptions = {}): Promise<{ train: Dataset; test: Dataset }> {
  const split = isDir(join(dir, 'train')) && isDir(join(dir, 'test'));
  const trainDir = split ? join(dir, 'train') : dir;
  const classNames = subfolders(trainDir);
  if (classNames.length === 0) {
    throw new UserError(`${dir} holds no class folders: put pictures in ${join(dir, '<class>')}/ (or ${join(dir, 'train', '<class>')}/ and test/<class>/), one folder per class`);
  }
  if (classNames.length === 1) {
    throw new UserError(`${trainDir} holds a single class folder (${classNames[0]}); training needs at least two classes: add a folder per class`);
  }
  const files: { path: string; label: number; test: boolean }[] = [];
  const list = (root: string, test: boolean) => {
    for (const [label, name] of classNames.entries()) {
      const folder = join(root, name);
      const pics = isDir(folder) ? pictures(folder) : [];
      if (pics.length === 0 && (!test || isDir(folder))) {
        throw new UserError(`${folder} holds no PNG, JPEG or GIF pictures; put the class's pictures there or remove the folder`);
      }
      for (const p of pics) files.push({ path: join(folder, p), label, test });
    }
  };
  list(trainDir, false);
  if (split) {
    const extra = subfolders(join(dir, 'test')).filter((n) => !classNames.includes(n));
    if (extra.length) {
      throw new UserError(`${join(dir, 'test')} has class folders that train/ lacks (${extra.join(', ')}); the two must name the same classes`);
    }
    list(join(dir, 'test'), true);
  }
  const set = await decodedSet(dir, files, classNames, opts);
  const { header: h, labels, images } = set;
  const D = h.channels * h.height * h.width;
  const base = { height: h.height, width: h.width, channels: h.channels, classes: classNames.length, classNames };
  const rows = (a: number, b: number, source: string): Dataset => ({
    ...base, images: images.subarray(a * D, b * D), labels: labels.subarray(a, b), n: b - a, source,
  });
  if (split) return { train: rows(0, h.trainRows, join(dir, 'train')), test: rows(h.trainRows, h.n, join(dir, 'test')) };
  return splitTest(rows(0, h.n, dir), opts.testSplit ?? 0.1, opts.seed ?? 1);
}

/**
 * Seeded hold-out of round(fraction * n) rows as the test set (at least one, leaving one to train
 * on); both parts keep the folder order.
 */
export function splitTest(ds: Dataset, fraction: number, seed: number): { train: Dataset; test: Dataset } {
  if (!(fraction > 0 && fraction < 1)) throw new UserError(`--test-split must be a fraction in (0, 1), got ${fraction}`);
  const nTest = Math.min(ds.n - 1, Math.max(1, Math.round(fraction * ds.n)));
  const perm = new Int32Array(ds.n);
  for (let i = 0; i < ds.n; i++) perm[i] = i;
  new Rng(seed).shuffle(perm);
  const isTest = new Uint8Array(ds.n);
  for (let i = 0; i < nTest; i++) isTest[perm[i]] = 1;
  const D = ds.images.length / ds.n;
  const part = (want: number, source: string): Dataset => {
    const n = want ? nTest : ds.n - nTest;
    const images = new Uint8Array(n * D);
    const labels = new Uint8Array(n);
    for (let i = 0, k = 0; i < ds.n; i++) {
      if (isTest[i] !== want) continue;
      images.set(ds.images.subarray(i * D, (i + 1) * D), k * D);
      labels[k++] = ds.labels[i];
    }
    return { ...ds, images, labels, n, source };
  };
  return { train: part(0, `${ds.source} (training part)`), test: part(1, `${ds.source} (test part, ${fraction})`) };
}

/** The decoded set from the cache, or decoded now (and cached). */
async function decodedSet(dir: string, files: { path: string; label: number; test: boolean }[], classNames: string[],
  opts: FolderOptions): Promise<CachedSet> {
  const stamps = files.map((f) => { const st = statSync(f.path); return [f.path.slice(dir.length), st.size, st.mtimeMs, f.label, f.test]; });
  const key = { grayscale: !!opts.grayscale, size: opts.size ?? null, strict: !!opts.strict, stamps };
  const cacheDir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  const path = cacheDir === null ? null : cachePath(cacheDir, dir, key);
  const hit = path ? readCache(path) : null;
  if (hit) {
    reportSkipped(hit.header.skipped, files.length, opts);
    return hit;
  }
  const decoded = await decodeFiles(files.map((f) => f.path), opts.threads ?? 1,
    opts.onProgress && ((done) => opts.onProgress!(done, files.length)));
  const skipped: { file: string; error: string }[] = [];
  const good: { planes: Planes; label: number; test: boolean }[] = [];
  for (let i = 0; i < files.length; i++) {
    const d = decoded[i];
    if (d.ok) good.push({ planes: d.planes, label: files[i].label, test: files[i].test });
    else if (opts.strict) throw new UserError(`cannot read ${files[i].path}: ${d.error} (--strict stops here; without it the picture is skipped)`);
    else skipped.push({ file: files[i].path, error: d.error });
  }
  reportSkipped(skipped, files.length, opts);
  if (!good.some((g) => !g.test)) throw new UserError(`none of the ${files.length} pictures under ${dir} could be read`);
  const set = conform(good, classNames, skipped, opts);
  if (path) writeCache(path, set);
  return set;
}

function reportSkipped(skipped: { file: string; error: string }[], total: number, opts: FolderOptions): void {
  if (!skipped.length || !opts.warn) return;
  for (const s of skipped) opts.warn(`skipped ${s.file}: ${s.error}`);
  opts.warn(`skipped ${skipped.length} of ${total} pictures that could not be read (--strict stops at the first instead)`);
}

/**
 * One channel count (3 when any training picture has colour, unless grayscale) and one size
 * (opts.size, else the most common training size; ties go to the larger picture) for all.
 */
function conform(good: { planes: Planes; label: number; test: boolean }[], classNames: string[],
  skipped: { file: string; error: string }[], opts: FolderOptions): CachedSet {
  const channels: 1 | 3 = !opts.grayscale && good.some((g) => !g.test && g.planes.channels === 3) ? 3 : 1;
  let size = opts.size;
  if (!size) {
    const counts = new Map<string, number>();
    for (const g of good) if (!g.test) counts.set(`${g.planes.height}x${g.planes.width}`, (counts.get(`${g.planes.height}x${g.planes.width}`) ?? 0) + 1);
    const area = (k: string) => k.split('x').map(Number).reduce((a, b) => a * b);
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1] || area(b[0]) - area(a[0]))[0][0];
    const [height, width] = best.split('x').map(Number);
    size = { height, width };
  }
  const { height, width } = size;
  const D = channels * height * width;
  const order = [...good.filter((g) => !g.test), ...good.filter((g) => g.test)];
  const images = new Uint8Array(order.length * D);
  const labels = new Uint8Array(order.length);
  order.forEach((g, i) => {
    images.set(resizeTo(withChannels(g.planes, channels), height, width).data, i * D);
    labels[i] = g.label;
  });
  const trainRows = order.filter((g) => !g.test).length;
  return { header: { version: CACHE_VERSION, n: order.length, channels, height, width, classNames, trainRows, skipped }, labels, images };
}

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/** Subfolder names (not hidden), sorted by code point: the class order. */
function subfolders(dir: string): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  return names.filter((n) => !n.startsWith('.') && isDir(join(dir, n))).sort();
}

function pictures(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.') && PICTURE.test(extname(n))).sort();
}
