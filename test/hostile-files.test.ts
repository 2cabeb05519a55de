// Hostile files (issue #22, classes 4, 5, 6 and 8): decompression bombs and archives that lie about
// their sizes or CRCs, files that must be looked at before they are read (a device, a 3 GB file, a
// large non-image), JPEGs at the pixel limit, and pictures that lie or are not digits. Each goes
// through the compiled CLI a person runs, in a child process whose peak memory is asserted where
// memory is the point. Every hostile file is made here, in a temp folder, in milliseconds.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as Z, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, JPEG_DECODE_BUDGET, jpegDecodeBytes, jpegFrame } from '../src/infer/decode.js';
import { encodeNpy } from '../src/io/npz.js';
import { Rng } from '../src/util/rng.js';
import { encodeIdx } from './helpers.js';
import { writeTinyMnist } from './fuzz/train_cli.js';
import {
  CLI, deflateZeros, expectOneLine, expectRssBelow, flatJpeg, forgeZip, gzipBomb, honestEntry, pngChunk, runCli,
} from './hostile.js';

const { PNG } = pngjs;
const dir = mkdtempSync(join(tmpdir(), 'wasmnist-hostile-files-'));
/**
 * What a refused bomb may cost: Node, the loaders, the compressed file and what the header allows
 * (47 MB for MNIST's size), far below what it inflates to (1 GiB) and half the 400 MiB.
 */
const BOMB_RSS_MB = 200;
let tiny = '';

/** An IDX folder: the tiny MNIST with one file replaced by `bytes`. */
function idxFolderWith(name: string, file: string, bytes: Uint8Array): string {
  const d = join(dir, name);
  cpSync(tiny, d, { recursive: true });
  rmSync(join(d, file.replace(/\.gz$/, ''))); // the raw file would be read first
  writeFileSync(join(d, file), bytes);
  return d;
}

beforeAll(() => { tiny = writeTinyMnist(join(dir, 'tiny'), 64, 16); });

describe('class 4: decompression is bounded by what the file promises, and checked', () => {
  it('an IDX .gz that inflates to 1 GiB behind a 60000x28x28 header stops at the header\'s 47 MB', async () => {
    const bomb = gzipBomb(encodeIdx([60000, 28, 28], new Uint8Array(0)), 1024);
    expect(bomb.length).toBeLessThan(2 << 20);
    const d = idxFolderWith('bomb', 'train-images-idx3-ubyte.gz', bomb);
    const r = await runCli(dir, CLI('train'), ['--data', d, '--out', join(dir, 'run-bomb'), '--threads', '1']);
    expectOneLine(r, 1, /inflates to more than 47040016 bytes, but its IDX header promises 60000x28x28 images/);
    expectRssBelow(r, BOMB_RSS_MB);
  });

  it('an IDX .gz whose header claims 4 GB is refused before inflating', async () => {
    const d = idxFolderWith('claim', 'train-images-idx3-ubyte.gz', gzipBomb(encodeIdx([100000, 200, 200], new Uint8Array(0)), 64));
    const r = await runCli(dir, CLI('train'), ['--data', d, '--out', join(dir, 'run-claim'), '--threads', '1']);
    expectOneLine(r, 1, /header claims 100000x200x200 images .* more than the \d+ bytes a dataset may hold/);
    expectRssBelow(r, BOMB_RSS_MB);
  });

  it('an IDX .gz with a bad CRC-32 is refused, not trained on', async () => {
    const gz = gzipSync(encodeIdx([64], new Uint8Array(64).map((_, i) => i % 10)));
    gz.writeUInt32LE((gz.readUInt32LE(gz.length - 8) ^ 1) >>> 0, gz.length - 8);
    const d = idxFolderWith('crc', 'train-labels-idx1-ubyte.gz', gz);
    const r = await runCli(dir, CLI('train'), ['--data', d, '--out', join(dir, 'run-crc'), '--threads', '1']);
    expectOneLine(r, 1, /train-labels-idx1-ubyte\.gz is a truncated or corrupt gzip file \(its CRC-32 check fails\)/);
  });

  it('a CSV .gz whose trailer states 1 MiB but inflates to 1 GiB stops at 1 MiB', async () => {
    const f = join(dir, 'bomb.csv.gz');
    writeFileSync(f, gzipBomb(Buffer.from('label,p0\n1,2\n'), 1024, { crc: 0, size: 1 << 20 }));
    const r = await runCli(dir, CLI('train'), ['--train-csv', f, '--out', join(dir, 'run-csv'), '--threads', '1']);
    expectOneLine(r, 1, /inflates to more than 1048576 bytes, but its gzip trailer states 1048576/);
    expectRssBelow(r, BOMB_RSS_MB);
  });

  /** A .npz of the seed's layout for eval, with W1 replaced by `w1`. */
  function npzWith(name: string, w1: ReturnType<typeof honestEntry>): string {
    const f32 = (shape: number[]) => encodeNpy({ dtype: '<f4', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const f = join(dir, name);
    writeFileSync(f, forgeZip([w1, honestEntry('b1.npy', f32([10, 1])), honestEntry('W2.npy', f32([10, 10])),
      honestEntry('b2.npy', f32([10, 1]))]));
    return f;
  }
  const w1Bytes = () => encodeNpy({ dtype: '<f4', shape: [10, 784], data: new Float32Array(7840) });

  it('an .npz member whose zip header under-states its size (it inflates to 1 GiB) is refused at once', async () => {
    const honest = w1Bytes();
    const lie = { name: 'W1.npy', data: deflateZeros(1024), method: 8 as const, crc: 0, originalSize: honest.length };
    const r = await runCli(dir, CLI('eval'), ['--model', npzWith('understated.npz', lie), '--data', tiny, '--threads', '1']);
    expectOneLine(r, 1, /W1\.npy is not a valid \.npy array: missing the .*NUMPY magic/);
    expectRssBelow(r, BOMB_RSS_MB);
    // The same with a true npy header in front of the zeros: its array's size is the limit.
    const head = deflateRawSync(honest.subarray(0, 128), { finishFlush: Z.Z_SYNC_FLUSH }); // byte-aligned, not final
    const prefixed = Buffer.concat([head, deflateZeros(1024)]);
    const r2 = await runCli(dir, CLI('eval'), ['--model', npzWith('understated2.npz',
      { ...lie, data: prefixed, originalSize: honest.length }), '--data', tiny, '--threads', '1']);
    expectOneLine(r2, 1, /W1\.npy inflates to more than the 31488 bytes its zip header states/);
    expectRssBelow(r2, BOMB_RSS_MB);
  });

  it('an .npz member whose npy header and zip header disagree is refused before inflating', async () => {
    const honest = w1Bytes();
    const e = honestEntry('W1.npy', honest);
    const r = await runCli(dir, CLI('eval'), ['--model', npzWith('disagree.npz', { ...e, originalSize: 100 }),
      '--data', tiny, '--threads', '1']);
    expectOneLine(r, 1, /W1\.npy is not a valid \.npy array: shape \(10,784\) of '<f4' needs 31360 data bytes \(31488 with its header\) but its zip header states 100/);
  });

  it('an .npz member with a bad CRC-32 is refused (it used to load as all-zero weights)', async () => {
    const e = honestEntry('W1.npy', w1Bytes());
    const r = await runCli(dir, CLI('eval'), ['--model', npzWith('crc.npz', { ...e, crc: e.crc ^ 0x10 }),
      '--data', tiny, '--threads', '1']);
    expectOneLine(r, 1, /entry W1\.npy fails its CRC-32 check \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);
  });
});

describe('class 5: a file is looked at (type, size, first bytes) before it is read', () => {
  it('infer /dev/zero, a 3 GB file and a 200 MB non-image: refused in one line each, in little memory', async () => {
    const big = join(dir, 'big.png');
    writeFileSync(big, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    truncateSync(big, 3 * 2 ** 30); // sparse: costs no disk
    const notImage = join(dir, 'not-an-image.bin');
    writeFileSync(notImage, 'hello');
    truncateSync(notImage, 200 * 2 ** 20);
    const r = await runCli(dir, CLI('infer'), ['/dev/zero', big, notImage, '--no-annotate']);
    expect(r.code, r.err).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\/dev\/zero\s+error: not read: it is not a regular file/);
    expect(lines[1]).toMatch(/big\.png\s+error: not read: it is 3072 MiB, over the 256 MiB limit/);
    expect(lines[2]).toMatch(/not-an-image\.bin\s+error: not an image: expected a PNG, JPEG or GIF file/);
    expectRssBelow(r, 150);
  });

  it('a checkpoint that is /dev/zero or 1.5 GB of zeros is refused from its first bytes', async () => {
    const r = await runCli(dir, CLI('train'), ['--resume', '/dev/zero']);
    expectOneLine(r, 1, /\/dev\/zero is not a regular file/);
    const fake = join(dir, 'fake.safetensors');
    writeFileSync(fake, '');
    truncateSync(fake, 1536 * 2 ** 20);
    const r2 = await runCli(dir, CLI('eval'), ['--model', fake, '--data', tiny, '--threads', '1']);
    expectOneLine(r2, 1, /fake\.safetensors is not a valid safetensors file: header does not start with a JSON object/);
    expectRssBelow(r2, 150);
  });

  it('a named pipe given as data or picture is refused instead of waited on forever', async () => {
    const fifo = join(dir, 'pipe.csv');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = await runCli(dir, CLI('train'), ['--train-csv', fifo, '--out', join(dir, 'run-fifo')], { timeoutMs: 20_000 });
    expectOneLine(r, 1, /CSV dataset: .*pipe\.csv is not a regular file \(a device, pipe or socket\)/);
    const i = await runCli(dir, CLI('infer'), [fifo, '--no-annotate'], { timeoutMs: 20_000 });
    expectOneLine(i, 1, /pipe\.csv\s+error: not read: it is not a regular file/, /pipe\.csv/);
  });

  it('an IDX file that does not start like one is refused from its magic', async () => {
    const d = idxFolderWith('magic', 'train-images-idx3-ubyte', new Uint8Array(0));
    truncateSync(join(d, 'train-images-idx3-ubyte'), 1024 * 2 ** 20);
    const r = await runCli(dir, CLI('train'), ['--data', d, '--out', join(dir, 'run-magic'), '--threads', '1']);
    expectOneLine(r, 1, /bad IDX magic .* \(not an IDX file\)/);
    expectRssBelow(r, 150);
  });
});

describe('class 6: large JPEGs decode within the memory bound, or are refused in one line', () => {
  it('a 12 MP phone-size JPEG (4:2:0) decodes under 400 MiB; a 49 MP one is refused from its header', async () => {
    const phone = join(dir, 'phone.jpg'), huge = join(dir, 'huge.jpg');
    writeFileSync(phone, flatJpeg(4032, 3024, '420'));
    writeFileSync(huge, flatJpeg(7008, 7008, '444'));
    // Decoded: the flat picture is then found to hold no ink (prepare.ts speaks only after decoding).
    const r = await runCli(dir, CLI('infer'), [phone, '--no-annotate']);
    expectOneLine(r, 1, /phone\.jpg\s+error: no ink found: the image is one flat colour/, /phone\.jpg/);
    expectRssBelow(r, 400);
    const h = await runCli(dir, CLI('infer'), [huge, '--no-annotate']);
    expectOneLine(h, 1, /huge\.jpg\s+error: JPEG too large to decode here: 7008x7008 \(49\.1 megapixels\) would take about \d+ MB .*fit up to about 7 megapixels.*scale it down/, /huge\.jpg/);
    expectRssBelow(h, 150);
  });

  it('a 49 MP RGBA PNG is refused from its header in one line (pngjs would peak at 800 MB)', async () => {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(7000, 0); ihdr.writeUInt32BE(7000, 4); ihdr[8] = 8; ihdr[9] = 6;
    const f = join(dir, 'huge.png');
    writeFileSync(f, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr),
      pngChunk('IDAT', deflateSync(Buffer.alloc(7001))), pngChunk('IEND', new Uint8Array(0))]));
    const r = await runCli(dir, CLI('infer'), [f, '--no-annotate']);
    expectOneLine(r, 1, /huge\.png\s+error: PNG too large to decode here: 7000x7000 \(49\.0 megapixels\) would take about 561 MB .*fit up to about 17\.4 megapixels/, /huge\.png/);
    expectRssBelow(r, 150);
  });

  it('the decode estimate follows the sampling: 4:2:0 photos fit to ~12 MP, 4:4:4 to ~7 MP', () => {
    const fits = (w: number, h: number, s: '444' | '420') => jpegDecodeBytes(jpegFrame(flatJpeg(w, h, s))) <= JPEG_DECODE_BUDGET;
    expect(fits(4032, 3024, '420')).toBe(true);
    expect(fits(4096, 3200, '420')).toBe(false);
    expect(fits(2800, 2496, '444')).toBe(true);
    expect(fits(4032, 3024, '444')).toBe(false);
  });


  it('a 4:4:4 JPEG exactly at the limit decodes (jpeg-js gets the memory it counts)', async () => {
    const w = 640, h = 480;
    const rgba = new Uint8Array(w * h * 4).fill(255);
    for (let y = 200; y < 280; y++) for (let x = 300; x < 340; x++) rgba.fill(0, 4 * (y * w + x), 4 * (y * w + x) + 3);
    const jpg = jpeg.encode({ width: w, height: h, data: rgba }, 90).data;
    const img = await decodeImage(new Uint8Array(jpg), w * h);
    expect([img.width, img.height]).toEqual([w, h]);
    await expect(decodeImage(new Uint8Array(jpg), w * h - 1)).rejects.toThrow(/image too large/);
  });
});

describe('class 8: pictures that lie, or hold no digit, get a true answer', () => {
  function png(name: string, w: number, h: number, fill: (x: number, y: number) => number): string {
    const p = new PNG({ width: w, height: h });
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const v = fill(x, y);
      p.data.set([v, v, v, 255], 4 * (y * w + x));
    }
    const f = join(dir, name);
    writeFileSync(f, PNG.sync.write(p));
    return f;
  }
  /** A gray 100x100 PNG whose (complete, valid) zlib data holds only `rows` of its rows. */
  function shortPng(name: string, rows: number, extra = 0): string {
    const W = 100, H = 100;
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(W, 0); ihdr.writeUInt32BE(H, 4); ihdr[8] = 8; ihdr[9] = 0;
    const data = Buffer.alloc((W + 1) * rows + extra); // filter byte 0, then black pixels: what pngjs would happily pad
    const f = join(dir, name);
    writeFileSync(f, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr),
      pngChunk('IDAT', deflateSync(data)), pngChunk('IEND', new Uint8Array(0))]));
    return f;
  }

  it('noise, half black / half white, a flat picture, a PNG with a tenth or 99% of its data, and one with too much', async () => {
    const rng = new Rng(7);
    const files = [
      png('noise.png', 120, 90, () => rng.int(256)),
      png('halves.png', 100, 100, (x) => (x < 50 ? 0 : 255)),
      png('flat.png', 60, 60, () => 200),
      shortPng('tenth.png', 10),
      shortPng('almost.png', 99),
      shortPng('toomuch.png', 100, 500),
    ];
    const r = await runCli(dir, CLI('infer'), [...files, '--no-annotate']);
    expect(r.code, r.err).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(files.length);
    expect(lines[0]).toMatch(/noise\.png\s+error: no digit found: the picture's edge, which should be plain paper, varies/);
    expect(lines[1]).toMatch(/halves\.png\s+error: no digit found/);
    expect(lines[2]).toMatch(/flat\.png\s+error: no ink found: the image is one flat colour/);
    expect(lines[3]).toMatch(/tenth\.png\s+error: truncated PNG: its image data covers 10% of the 100x100 pixels/);
    expect(lines[4]).toMatch(/almost\.png\s+error: truncated PNG: its image data covers 99%/);
    expect(lines[5]).toMatch(/toomuch\.png\s+error: corrupt PNG: its image data is larger than its 100x100 header promises/);
    expect(r.out).toBe('');
  });
});
