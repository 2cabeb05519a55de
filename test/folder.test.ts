// Class folders, CIFAR-10 batches and 4-D IDX as training data: every layout, bad pictures,
// mixed sizes and channels, the decoded-set cache and its invalidation, and a short colour run.
// Every picture is drawn here (bench/shapes.ts); nothing is downloaded.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { drawShape, encodePng, SHAPE_CLASSES, writeShapeFolders } from '../bench/shapes.js';
import type { AugmentOptions } from '../src/train/config.js';
import { fromArch } from '../src/api/build.js';
import { train } from '../src/api/train.js';
import { loadCifarDir } from '../src/data/cifar.js';
import { loadClassFolders, splitTest } from '../src/data/folder.js';
import { loadIdxImages } from '../src/data/idx.js';
import { loadDataAsync } from '../src/data/index.js';
import { resizeTo } from '../src/data/planes.js';
import { UserError } from '../src/errors.js';
import { loadCheckpointModel } from '../src/io/checkpoint.js';
import { createBackend } from '../src/engine/index.js';
import { projectRoot } from '../src/engine/root.js';
import { inferFiles } from '../src/infer/run.js';
import { archForData, PRESETS } from '../src/train/config.js';
import { Rng } from '../src/util/rng.js';

const root = mkdtempSync(join(tmpdir(), 'folder-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let count = 0;
const newDir = () => { const d = join(root, `d${count++}`); mkdirSync(d, { recursive: true }); return d; };
const cache = () => join(root, `cache${count++}`);

/** A flat-colour PNG (grey when r = g = b), side h x w. */
function flat(path: string, h: number, w: number, rgb: [number, number, number]): void {
  const px = new Uint8Array(h * w * 4);
  for (let i = 0; i < h * w; i++) px.set([...rgb, 255], 4 * i);
  writeFileSync(path, encodePng(px, w, h));
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(UserError);
  expect((err as Error).message).toMatch(re);
  expect((err as Error).message).not.toContain('\n');
}

describe('class folders', () => {
  it('train/ + test/: class names sorted from the folders, colour kept as C x H x W rows', async () => {
    const dir = newDir();
    writeShapeFolders(join(dir, 'train'), 3, 12, 1, 4);
    writeShapeFolders(join(dir, 'test'), 2, 12, 2, 4);
    const { train: tr, test: te } = await loadClassFolders(dir, { cacheDir: null });
    const names = SHAPE_CLASSES.slice(0, 4).sort();
    expect(tr.classNames).toEqual(names);
    expect([tr.n, te.n, tr.channels, tr.height, tr.width, tr.classes]).toEqual([12, 8, 3, 12, 12, 4]);
    expect(Array.from(tr.labels)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    // row 0 is the first file of the first class folder: its red plane, then green, then blue
    const cls = names[0], k = SHAPE_CLASSES.indexOf(cls);
    const rng = new Rng(1);
    for (let j = 0; j < k; j++) for (let i = 0; i < 3; i++) drawShape(j, 12, rng);
    const want = drawShape(k, 12, rng);
    for (const [c, p] of [[0, 0], [1, 77], [2, 143]]) expect(tr.images[c * 144 + p]).toBe(want[4 * p + c]);
  });

  it('DIR/<class>/ only: a seeded --test-split, the same for the same seed', async () => {
    const dir = newDir();
    writeShapeFolders(dir, 10, 8, 3, 3);
    const a = await loadClassFolders(dir, { cacheDir: null, testSplit: 0.2, seed: 5 });
    const b = await loadClassFolders(dir, { cacheDir: null, testSplit: 0.2, seed: 5 });
    const c = await loadClassFolders(dir, { cacheDir: null, testSplit: 0.2, seed: 6 });
    expect([a.train.n, a.test.n]).toEqual([24, 6]);
    expect(Buffer.compare(a.test.images, b.test.images)).toBe(0);
    expect(Buffer.compare(a.test.images, c.test.images)).not.toBe(0);
    expect(() => splitTest(a.train, 1.5, 1)).toThrow(/fraction in \(0, 1\)/);
  });

  it('names and skips unreadable pictures with a count; --strict stops at the first', async () => {
    const dir = newDir();
    writeShapeFolders(dir, 4, 16, 4, 2);
    const cut = join(dir, SHAPE_CLASSES[0], '00001.png');
    writeFileSync(cut, readFileSync(cut).subarray(0, 120));
    writeFileSync(join(dir, SHAPE_CLASSES[1], 'zz.jpg'), Buffer.from('not a picture'));
    const lines: string[] = [];
    const { train: tr, test: te } = await loadClassFolders(dir, { cacheDir: null, testSplit: 0.25, warn: (l) => lines.push(l) });
    expect(tr.n + te.n).toBe(7);
    expect(lines.some((l) => /skipped .*00001\.png: truncated PNG/.test(l))).toBe(true);
    expect(lines.some((l) => /skipped .*zz\.jpg: not an image/.test(l))).toBe(true);
    expect(lines[2]).toMatch(/skipped 2 of 9 pictures/);
    await rejects(loadClassFolders(dir, { cacheDir: null, strict: true }), /cannot read .*zz\.jpg: not an image.*--strict/);
  });

  it('mixed sizes go to the most common (area-averaged) or --size; a grey picture among colour ones gets three planes', async () => {
    const dir = newDir();
    for (const c of ['a', 'b']) mkdirSync(join(dir, c));
    flat(join(dir, 'a', '1.png'), 8, 8, [200, 10, 10]);
    flat(join(dir, 'a', '2.png'), 8, 8, [210, 20, 20]);
    flat(join(dir, 'b', '1.png'), 16, 16, [90, 90, 90]); // grey, larger
    // a 4x4 with a 2x2 checkerboard of 0/200 in each quarter: shrinking to 2x2 gives the mean, 100
    const px = new Uint8Array(4 * 4 * 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) px.set([(x + y) % 2 ? 200 : 0, 0, 0, 255], 4 * (y * 4 + x));
    writeFileSync(join(dir, 'b', '2.png'), encodePng(px, 4, 4));
    const all = await loadClassFolders(dir, { cacheDir: null, testSplit: 0.25, seed: 2 });
    const rows = [all.train, all.test];
    expect(all.train.channels).toBe(3);
    expect([all.train.height, all.train.width]).toEqual([8, 8]);
    const both = await loadClassFolders(dir, { cacheDir: null, testSplit: 0.25, seed: 2, size: { height: 2, width: 2 }, grayscale: true });
    expect([both.train.channels, both.train.height, both.train.width]).toEqual([1, 2, 2]);
    // the grey 16x16 shows as 90 in all three planes of an 8x8 row
    const grey = rows.map((d) => Array.from({ length: d.n }, (_, i) => d.images.subarray(i * 192, (i + 1) * 192)))
      .flat().find((r) => r[0] === 90 && r[64] === 90 && r[128] === 90);
    expect(grey).toBeDefined();
    const small = resizeTo({ channels: 1, height: 4, width: 4, data: Uint8Array.from({ length: 16 }, (_, i) => ((i % 4) + (i >> 2)) % 2 ? 200 : 0) }, 2, 2);
    expect(Array.from(small.data)).toEqual([100, 100, 100, 100]);
  });

  it('one clear line for no class folders, a single class, an empty class folder', async () => {
    const none = newDir();
    writeFileSync(join(none, 'readme.txt'), 'hi');
    await rejects(loadDataAsync({ data: none }), /IDX files missing|no class folders/);
    await rejects(loadClassFolders(none), /holds no class folders/);
    const one = newDir();
    writeShapeFolders(one, 2, 8, 1, 1);
    await rejects(loadClassFolders(one, { cacheDir: null }), /single class folder \(disc-warm\).*at least two/);
    const empty = newDir();
    writeShapeFolders(empty, 2, 8, 1, 2);
    mkdirSync(join(empty, 'zebra'));
    writeFileSync(join(empty, 'zebra', 'notes.txt'), 'x');
    await rejects(loadClassFolders(empty, { cacheDir: null }), /zebra holds no PNG, JPEG or GIF pictures/);
  });

  it('caches the decoded set under a key of names, sizes and times; a changed file decodes afresh', async () => {
    const dir = newDir(), c = cache();
    writeShapeFolders(dir, 70, 8, 7, 2); // 140 files: two decode workers when the build is there
    const file = join(dir, SHAPE_CLASSES[0], '00000.png');
    flat(file, 8, 8, [10, 200, 30]);
    const when = new Date(2020, 0, 1);
    utimesSync(file, when, when);
    const first = await loadClassFolders(dir, { cacheDir: c, threads: 2, testSplit: 0.1 });
    const st = statSync(file);
    // Same size and time, other pixels: the cache cannot tell, and answers from its copy.
    flat(file, 8, 8, [30, 200, 10]);
    expect(statSync(file).size).toBe(st.size);
    utimesSync(file, when, when);
    const cached = await loadClassFolders(dir, { cacheDir: c, threads: 2, testSplit: 0.1 });
    expect(Buffer.compare(cached.train.images, first.train.images)).toBe(0);
    // A new modification time misses the cache: the new pixels are read.
    utimesSync(file, when, new Date(2021, 0, 1));
    const fresh = await loadClassFolders(dir, { cacheDir: c, threads: 2, testSplit: 0.1 });
    expect(Buffer.compare(fresh.train.images, first.train.images)).not.toBe(0);
    const uncached = await loadClassFolders(dir, { cacheDir: null, threads: 1, testSplit: 0.1 });
    expect(Buffer.compare(fresh.train.images, uncached.train.images)).toBe(0); // workers = in-process
  });

  it('trains a CNN (the cnn preset, adapted) on a colour folder set past an accuracy floor; infer prints class names', async () => {
    const dir = newDir();
    writeShapeFolders(join(dir, 'train'), 100, 20, 11, 4);
    writeShapeFolders(join(dir, 'test'), 15, 20, 12, 4);
    const data = await loadClassFolders(dir, { cacheDir: null, threads: 2 });
    const arch = archForData('conv8k3-relu-pool2-conv16k3-relu-pool2-dense32-relu-dense10', data.train);
    expect(archForData(PRESETS.cnn.config.arch!, data.train)).toMatch(/dense4$/);
    const net = fromArch(arch, data.train, { threads: 1 });
    const r = await train(net, data, { epochs: 12, batch: 16, lr: 0.003, seed: 3 });
    expect(r.status).toBe('done');
    const acc = net.evaluate(data.test).accuracy;
    expect(acc).toBeGreaterThan(0.7); // chance is 0.25
    expect(net.normalization.mean).toHaveLength(3);
    const ck = join(dir, 'ck.safetensors');
    net.save(ck);
    const m = loadCheckpointModel(ck, createBackend('ts'));
    expect(m.classNames).toEqual(data.train.classNames);
    const [res] = await inferFiles(m, [join(dir, 'test', 'disc-cool', '00000.png')], { annotate: false });
    expect(res.ok && data.train.classNames).toContain(res.ok ? res.label : '');
    net.dispose();
  }, 60_000);
});

describe('augmentation on colour pictures', () => {
  it('a map that moves nothing trains the same bits as no augmentation (the warped rows get the per-channel normalization)', async () => {
    const dir = newDir();
    writeShapeFolders(join(dir, 'train'), 24, 12, 21, 4);
    writeShapeFolders(join(dir, 'test'), 6, 12, 22, 4);
    const data = await loadClassFolders(dir, { cacheDir: null, threads: 1 });
    const weights = async (augment: AugmentOptions | undefined) => {
      const net = fromArch(archForData('conv4k3-relu-pool2-dense4', data.train), data.train, { threads: 1 });
      await train(net, data, { epochs: 1, batch: 16, lr: 0.003, seed: 5, ...(augment ? { augment } : {}) });
      const w = net.weights()!;
      net.dispose();
      return w;
    };
    const plain = await weights(undefined);
    const still = await weights({ translate: 0, rotate: 0, scale: 0, flip: false });
    for (const k of Object.keys(plain)) expect(Buffer.compare(Buffer.from(still[k].buffer), Buffer.from(plain[k].buffer)), k).toBe(0);
    const moved = await weights({ translate: 2, rotate: 0, scale: 0, flip: true });
    expect(Buffer.compare(Buffer.from(moved.W1.buffer), Buffer.from(plain.W1.buffer))).not.toBe(0);
  }, 60_000);
});

describe('wasmnist train on class folders', () => {
  const bin = join(projectRoot(), 'dist', 'src', 'cli', 'bin.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

  it('trains with the class names, names a skipped picture, refuses a bad --size in one line (exit 2)', () => {
    const dir = newDir();
    writeShapeFolders(join(dir, 'pics'), 6, 12, 1, 3);
    writeFileSync(join(dir, 'pics', SHAPE_CLASSES[2], 'cut.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const r = run('train', '--data', join(dir, 'pics'), '--epochs', '1', '--test-split', '0.25', '--out', join(dir, 'run'),
      '--cache-dir', join(dir, 'cache'), '--size', '8x8');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/skipped .*cut\.png: /);
    expect(r.stderr).toMatch(/skipped 1 of 19 pictures/);
    expect(r.stdout).toMatch(/train 13 colour images 8x8, 3 classes .*test 5 /);
    expect(r.stdout).toMatch(/Model    192-256-128-3 /);
    for (const name of SHAPE_CLASSES.slice(0, 3)) expect(r.stdout).toContain(name);
    const bad = run('train', '--data', join(dir, 'pics'), '--size', '8by8');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^error: --size must be HEIGHTxWIDTH/);
  }, 60_000);
});

describe('CIFAR-10 binary batches and 4-D IDX', () => {
  it('loads data_batch_*.bin + test_batch.bin with the class names of batches.meta.txt', async () => {
    const dir = newDir();
    const rec = (label: number, v: number) => Uint8Array.from({ length: 3073 }, (_, i) => (i === 0 ? label : (v + i) & 255));
    writeFileSync(join(dir, 'data_batch_1.bin'), Buffer.concat([rec(3, 0), rec(9, 1)]));
    writeFileSync(join(dir, 'data_batch_2.bin'), rec(0, 2));
    writeFileSync(join(dir, 'test_batch.bin'), rec(5, 3));
    const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    writeFileSync(join(dir, 'batches.meta.txt'), names.join('\n') + '\n\n');
    const { train: tr, test: te } = (await loadDataAsync({ data: dir })) as { train: any; test: any };
    expect([tr.n, te.n, tr.channels, tr.height, tr.classes]).toEqual([3, 1, 3, 32, 10]);
    expect(Array.from(tr.labels)).toEqual([3, 9, 0]);
    expect(tr.images[3072 + 1024]).toBe((1 + 1025) & 255); // row 1, green plane, pixel 0
    expect(tr.classNames).toEqual(names);
    writeFileSync(join(dir, 'test_batch.bin'), rec(5, 3).subarray(0, 3000));
    expect(() => loadCifarDir(dir)).toThrow(/not a whole number of 3073-byte CIFAR-10 records/);
  });

  it('reads IDX images of four dimensions, (n, C, H, W) and (n, H, W, C)', () => {
    const dir = newDir();
    const idx = (dims: number[], data: Uint8Array) => {
      const h = Buffer.alloc(4 + 4 * dims.length);
      h.writeUInt32BE(0x800 | dims.length, 0);
      dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
      return Buffer.concat([h, data]);
    };
    const hwc = Uint8Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => i);
    writeFileSync(join(dir, 'chw'), idx([2, 3, 2, 3], hwc));
    writeFileSync(join(dir, 'hwc'), idx([2, 2, 3, 3], hwc));
    const a = loadIdxImages(join(dir, 'chw'));
    expect([a.channels, a.height, a.width]).toEqual([3, 2, 3]);
    expect(Array.from(a.images.subarray(0, 4))).toEqual([0, 1, 2, 3]);
    const b = loadIdxImages(join(dir, 'hwc'));
    expect([b.channels, b.height, b.width]).toEqual([3, 2, 3]);
    // pixel (0,0) of image 0 is [0, 1, 2] in HWC: planes start 0, then 1 (green), then 2 (blue)
    expect([b.images[0], b.images[6], b.images[12], b.images[1]]).toEqual([0, 1, 2, 3]);
  });
});
