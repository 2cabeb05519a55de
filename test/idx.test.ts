// IDX loader: round trips of small raw and gzipped files, the bundled MNIST, the validation split,
// loadData's choices, and a UserError with the key fact for every broken input.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { labelHistogram, splitValidation, type Dataset } from '../src/data/dataset.js';
import { loadIdxDir, loadIdxImages, loadIdxLabels } from '../src/data/idx.js';
import { defaultDataDir, loadData } from '../src/data/index.js';
import { Rng } from '../src/util/rng.js';
import { expectUserError, encodeIdx } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'idx-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
const newDir = () => { const d = join(tmp, `d${dirCount++}`); mkdirSync(d); return d; };

/** IDX bytes: magic 00 00 08 <ndims>, big-endian u32 dims, then the values. */

/** n seeded images of h x w and labels in 0..classes-1. */
function fixture(n: number, h: number, w: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * h * w).map(() => rng.int(256));
  const labels = new Uint8Array(n).map(() => rng.int(classes));
  labels[0] = classes - 1; // the largest class always occurs
  return { images, labels };
}

function writeSet(dir: string, prefix: string, f: { images: Uint8Array; labels: Uint8Array }, h: number, w: number, gz: boolean, dot = false) {
  const n = f.labels.length;
  const sep = dot ? '.' : '-';
  const ext = gz ? '.gz' : '';
  const wrap = (b: Uint8Array) => (gz ? gzipSync(b) : b);
  writeFileSync(join(dir, `${prefix}-images${sep}idx3-ubyte${ext}`), wrap(encodeIdx([n, h, w], f.images)));
  writeFileSync(join(dir, `${prefix}-labels${sep}idx1-ubyte${ext}`), wrap(encodeIdx([n], f.labels)));
}


describe('IDX round trip', () => {
  for (const gz of [false, true]) {
    it(`reads back non-square 3-class images (${gz ? 'gzip' : 'raw'})`, () => {
      const dir = newDir();
      const H = 5, W = 3;
      const tr = fixture(17, H, W, 3, 1);
      const te = fixture(6, H, W, 2, 2);
      writeSet(dir, 'train', tr, H, W, gz);
      writeSet(dir, 't10k', te, H, W, gz);
      const { train, test } = loadIdxDir(dir);
      expect([train.n, train.height, train.width, train.classes]).toEqual([17, H, W, 3]);
      expect([test.n, test.height, test.width, test.classes]).toEqual([6, H, W, 3]); // classes over both sets
      expect(train.images).toEqual(tr.images);
      expect(train.labels).toEqual(tr.labels);
      expect(test.images).toEqual(te.images);
      expect(test.labels).toEqual(te.labels);
      expect(train.source).toContain(dir);
    });
  }

  it("accepts the 'train-images.idx3-ubyte' spelling and single-file loaders", () => {
    const dir = newDir();
    const f = fixture(4, 2, 7, 3, 3);
    writeSet(dir, 'train', f, 2, 7, false, true);
    writeSet(dir, 't10k', f, 2, 7, true, true);
    const { train, test } = loadIdxDir(dir);
    expect(train.images).toEqual(f.images);
    expect(test.labels).toEqual(f.labels);
    const im = loadIdxImages(join(dir, 'train-images.idx3-ubyte'));
    expect([im.n, im.height, im.width]).toEqual([4, 2, 7]);
    expect(loadIdxLabels(join(dir, 't10k-labels.idx1-ubyte.gz'))).toEqual(f.labels);
  });
});

describe('bundled MNIST', () => {
  it('loads 60000/10000 28x28 images with 10 classes, quickly, with a sane label histogram', () => {
    const t0 = performance.now();
    const { train, test } = loadData({});
    const ms = performance.now() - t0;
    console.log(`bundled MNIST loaded in ${ms.toFixed(0)} ms`);
    expect(train.source).toContain(defaultDataDir());
    expect([train.n, train.height, train.width, train.classes]).toEqual([60000, 28, 28, 10]);
    expect([test.n, test.height, test.width, test.classes]).toEqual([10000, 28, 28, 10]);
    expect(train.images.length).toBe(60000 * 784);
    for (const ds of [train, test]) {
      const h = labelHistogram(ds);
      expect(h.reduce((a, b) => a + b, 0)).toBe(ds.n);
      for (const c of h) { expect(c).toBeGreaterThan(ds.n * 0.08); expect(c).toBeLessThan(ds.n * 0.12); }
    }
    // Pixels span the full u8 range; background dominates.
    let zeros = 0, max = 0;
    for (let i = 0; i < test.images.length; i++) { const v = test.images[i]; if (v === 0) zeros++; if (v > max) max = v; }
    expect(max).toBe(255);
    expect(zeros / test.images.length).toBeGreaterThan(0.7);
  });
});

describe('splitValidation', () => {
  const ds: Dataset = { images: new Uint8Array(20 * 6).map((_, i) => i), labels: new Uint8Array(20).map((_, i) => i % 4),
    n: 20, height: 2, width: 3, classes: 4, source: 'toy' };
  it('splits seeded, disjoint, covering, with copied rows', () => {
    const a = splitValidation(ds, 5, new Rng(7));
    const b = splitValidation(ds, 5, new Rng(7));
    const c = splitValidation(ds, 5, new Rng(8));
    expect(a.val.labels).toEqual(b.val.labels);
    expect(a.val.images).toEqual(b.val.images);
    expect([a.train.n, a.val.n, a.val.classes, a.val.height, a.val.width]).toEqual([15, 5, 4, 2, 3]);
    const rowOf = (d: Dataset, i: number) => d.images[i * 6] / 6; // row r starts with value 6r
    const rows = (d: Dataset) => Array.from({ length: d.n }, (_, i) => rowOf(d, i));
    const all = [...rows(a.train), ...rows(a.val)].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (let i = 0; i < a.val.n; i++) expect(a.val.labels[i]).toBe(rowOf(a.val, i) % 4);
    expect(rows(c.val)).not.toEqual(rows(a.val));
    expect(a.train.images.buffer).not.toBe(ds.images.buffer);
    expect(splitValidation(ds, 0, new Rng(1)).val.n).toBe(0);
  });
  it('rejects sizes that leave no training rows', () => {
    expectUserError(() => splitValidation(ds, 20, new Rng(1)), /no training rows/);
    expectUserError(() => splitValidation(ds, 2.5, new Rng(1)), /whole number/);
  });
});

describe('IDX errors', () => {
  const good = fixture(4, 3, 3, 3, 9);
  const gimg = encodeIdx([4, 3, 3], good.images);
  const glab = encodeIdx([4], good.labels);
  const file = (name: string, bytes: Uint8Array) => { const p = join(newDir(), name); writeFileSync(p, bytes); return p; };

  it('missing folder, file instead of folder, and missing files listed', () => {
    expectUserError(() => loadIdxDir(join(tmp, 'nope')), /not found.*nope/);
    expectUserError(() => loadIdxDir(file('x', gimg)), /is a file/);
    const dir = newDir();
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(gimg));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), glab);
    const e = expectUserError(() => loadIdxDir(dir), /missing/);
    expect(e.message).toContain('training labels');
    expect(e.message).toContain('train-labels-idx1-ubyte.gz');
    expect(e.message).toContain('test images');
    expect(e.message).toContain('t10k-images.idx3-ubyte');
    expect(e.message).not.toContain('training images');
    expectUserError(() => loadIdxImages(join(dir, 'absent-idx3-ubyte')), /not found.*absent/);
  });

  it('truncated and corrupt gzip', () => {
    const gz = gzipSync(gimg);
    expectUserError(() => loadIdxImages(file('t.gz', gz.subarray(0, gz.length - 9))), /t\.gz is a truncated or corrupt gzip/);
    const broken = gz.slice(); broken[12] ^= 0xff; broken[13] ^= 0xff;
    expectUserError(() => loadIdxImages(file('c.gz', broken)), /corrupt gzip/);
  });

  it('wrong magic names expected and found', () => {
    expectUserError(() => loadIdxImages(file('lab', glab)), /magic.*expected 0x00000803.*found 0x00000801/);
    expectUserError(() => loadIdxLabels(file('img', gimg)), /magic.*expected 0x00000801.*found 0x00000803/);
    expectUserError(() => loadIdxImages(file('html', new TextEncoder().encode('<!DOCTYPE html><html>'))), /magic.*found 0x3c21444f.*not an IDX/);
    expectUserError(() => loadIdxImages(file('f32', encodeIdx([1, 1, 1], new Uint8Array(4), 0x0d03))), /magic.*float/);
    expectUserError(() => loadIdxImages(file('short', new Uint8Array([0, 0]))), /too short/);
  });

  it('dims claiming more bytes than the file holds, before allocating', () => {
    const huge = encodeIdx([0xffffffff, 0xffff, 0xffff], new Uint8Array(10));
    expectUserError(() => loadIdxImages(file('huge', huge)), /truncated.*4294967295x65535x65535/);
    expectUserError(() => loadIdxImages(file('cut', gimg.subarray(0, gimg.length - 1))), /truncated/);
    expectUserError(() => loadIdxImages(file('head', gimg.subarray(0, 10))), /truncated.*header/);
    expectUserError(() => loadIdxLabels(file('long', new Uint8Array([...glab, 1, 2]))), /2 bytes follow/);
  });

  it('count mismatch, empty sets, zero-size images, size mismatch between sets', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), gimg);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx([3], good.labels.subarray(0, 3)));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), gimg);
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), glab);
    expectUserError(() => loadIdxDir(dir), /4 images but .* 3 labels/);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), glab);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx([4, 9, 1], good.images));
    expectUserError(() => loadIdxDir(dir), /3x3 but test images are 9x1/);
    expectUserError(() => loadIdxImages(file('empty', encodeIdx([0, 28, 28], new Uint8Array(0)))), /no images.*empty/);
    expectUserError(() => loadIdxLabels(file('emptyl', encodeIdx([0], new Uint8Array(0)))), /no labels.*empty/);
    expectUserError(() => loadIdxImages(file('zero', encodeIdx([4, 0, 3], new Uint8Array(0)))), /0x3 images/);
  });

  it('loadData argument checks', () => {
    expectUserError(() => loadData({ data: 'a', trainCsv: 'b' }), /not both/);
    expectUserError(() => loadData({ testCsv: 'b' }), /needs --train-csv/);
    expectUserError(() => loadData({ data: file('x.csv', new Uint8Array(1)) }), /is a file.*--train-csv/);
    expectUserError(() => loadData({ data: join(tmp, 'none') }), /not found/);
  });
});
