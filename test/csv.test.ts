// CSV loader: round trips (square and non-square, CRLF, BOM, gzip, quoted cells), the bundled
// MNIST test set written as CSV reads back equal to the IDX original, and a UserError naming the
// line and the fact for every broken input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { inferImageShape, loadCsv } from '../src/data/csv.js';
import { loadIdxDir } from '../src/data/idx.js';
import { defaultDataDir, loadData } from '../src/data/index.js';
import { Rng } from '../src/util/rng.js';
import { expectUserError } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'csv-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let count = 0;
function file(text: string | Uint8Array, ext = '.csv'): string {
  const p = join(tmp, `f${count++}${ext}`);
  writeFileSync(p, text);
  return p;
}

/** CSV text in the seed's layout for n seeded rows of P pixels. */
function csvText(labels: Uint8Array, images: Uint8Array, P: number, eol = '\n'): string {
  const lines = ['label,' + Array.from({ length: P }, (_, i) => `pixel${i}`).join(',')];
  for (let r = 0; r < labels.length; r++) lines.push(`${labels[r]},${Array.from(images.subarray(r * P, r * P + P)).join(',')}`);
  return lines.join(eol) + eol;
}

function fixture(n: number, P: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * P).map(() => rng.int(256));
  const labels = new Uint8Array(n).map(() => rng.int(classes));
  labels[n - 1] = classes - 1;
  return { images, labels };
}


describe('CSV round trip', () => {
  it('square images (P = 16 -> 4x4), 3 classes', () => {
    const f = fixture(11, 16, 3, 1);
    const ds = loadCsv(file(csvText(f.labels, f.images, 16)));
    expect([ds.n, ds.height, ds.width, ds.classes]).toEqual([11, 4, 4, 3]);
    expect(ds.images).toEqual(f.images);
    expect(ds.labels).toEqual(f.labels);
  });

  it('non-square P = 6 -> 1x6; CRLF, BOM, blank lines, no final newline, gzip', () => {
    const f = fixture(5, 6, 3, 2);
    const text = csvText(f.labels, f.images, 6, '\r\n');
    for (const body of ['\ufeff' + text, text.replace('\r\n', '\r\n\r\n'), text.trimEnd()]) {
      const ds = loadCsv(file(body));
      expect([ds.n, ds.height, ds.width]).toEqual([5, 1, 6]);
      expect(ds.images).toEqual(f.images);
      expect(ds.labels).toEqual(f.labels);
    }
    const gz = loadCsv(file(gzipSync(text), '.csv.gz'));
    expect(gz.images).toEqual(f.images);
  });

  it('accepts spaces, quoted cells and 12.0-style integers', () => {
    const ds = loadCsv(file('label,a,b,c,d\n 2 , 0,"255", 7.0 ,1e1\n'));
    expect(Array.from(ds.images)).toEqual([0, 255, 7, 10]);
    expect([ds.n, ds.height, ds.width, ds.classes]).toEqual([1, 2, 2, 3]);
  });

  it('inferImageShape', () => {
    expect(inferImageShape(784)).toEqual({ height: 28, width: 28 });
    expect(inferImageShape(1)).toEqual({ height: 1, width: 1 });
    expect(inferImageShape(10)).toEqual({ height: 1, width: 10 });
  });

  it('the bundled MNIST test set as CSV equals the IDX original; loadData pairs train and test', () => {
    const { test } = loadIdxDir(defaultDataDir());
    const path = file(csvText(test.labels, test.images, 784));
    const t0 = performance.now();
    const ds = loadCsv(path);
    console.log(`10000-row MNIST CSV parsed in ${(performance.now() - t0).toFixed(0)} ms`);
    expect([ds.n, ds.height, ds.width, ds.classes]).toEqual([10000, 28, 28, 10]);
    // Buffer.equals: vitest's deep toEqual walks 7.8 MB element by element (minutes).
    expect(Buffer.from(ds.images).equals(Buffer.from(test.images))).toBe(true);
    expect(Buffer.from(ds.labels).equals(Buffer.from(test.labels))).toBe(true);

    const few = fixture(3, 784, 2, 5); // labels 0..1 only: classes come from both files
    const pair = loadData({ trainCsv: file(csvText(few.labels, few.images, 784)), testCsv: path });
    expect([pair.train.classes, pair.test!.classes, pair.train.n, pair.test!.n]).toEqual([10, 10, 3, 10000]);
    const alone = loadData({ trainCsv: path });
    expect(alone.test).toBeNull();
    expect(alone.train.n).toBe(10000);
  });
});

describe('CSV errors', () => {
  it('missing file, empty file, header only, missing header', () => {
    expectUserError(() => loadCsv(join(tmp, 'absent.csv')), /not found.*absent\.csv/);
    expectUserError(() => loadCsv(tmp), /is a folder/);
    expectUserError(() => loadCsv(file('')), /is empty/);
    expectUserError(() => loadCsv(file('\n\n')), /is empty/);
    expectUserError(() => loadCsv(file('label,p0,p1\n')), /no data rows.*empty/);
    expectUserError(() => loadCsv(file('label,p0,p1\n\n  \n')), /no data rows/);
    expectUserError(() => loadCsv(file('3,0,255\n1,2,3\n')), /no header.*line 1 looks like data/);
    expectUserError(() => loadCsv(file('label\n3\n')), /header has 1 column/);
  });

  it('wrong column count names the line and both counts', () => {
    expectUserError(() => loadCsv(file('label,p0,p1\n1,2,3\n1,2\n')), /line 3 has 2 columns but the header has 3/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,2,3\n\n1,2,3,4\n')), /line 4 has 4 columns but the header has 3/);
    expectUserError(() => loadCsv(file('label,p0,p1\r\n1,2,3\r\n1\r\n')), /line 3 has 1 columns/);
  });

  it('non-numeric and empty cells', () => {
    expectUserError(() => loadCsv(file('label,p0,p1\n1,2,x\n')), /line 2 column 3: 'x' is not a number/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,2,3\nseven,2,3\n')), /line 3: 'seven' is not a number/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,,3\n')), /line 2 column 2: empty cell/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,2,3abc\n')), /'3abc' is not a number/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,2,Infinity\n')), /not a number/);
  });

  it('labels and pixels out of range', () => {
    expectUserError(() => loadCsv(file('label,p0,p1\n256,2,3\n')), /line 2: label 256 is not an integer in 0\.\.255/);
    expectUserError(() => loadCsv(file('label,p0,p1\n-1,2,3\n')), /label -1 is not an integer in 0\.\.255/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1.5,2,3\n')), /label 1\.5 is not an integer/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,2,300\n')), /line 2 column 3: pixel value 300 is outside 0\.\.255/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,-2,3\n')), /pixel value -2 is outside 0\.\.255/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,0.5,3\n')), /pixel value 0\.5/);
    expectUserError(() => loadCsv(file('label,p0,p1\n1,2,99999999999999\n')), /pixel value 99999999999999/);
  });

  it('truncated gzip and mismatched train/test widths', () => {
    const gz = gzipSync('label,p0\n1,2\n'.repeat(50));
    expectUserError(() => loadCsv(file(gz.subarray(0, gz.length - 10), '.csv.gz')), /truncated or corrupt gzip/);
    const a = file('label,p0,p1\n1,2,3\n');
    const b = file('label,p0\n1,2\n');
    expectUserError(() => loadData({ trainCsv: a, testCsv: b }), /2 pixels per row but .* has 1/);
  });
});
