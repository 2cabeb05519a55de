// Realistic picture files made from MNIST test digits, for the inference tests: a digit enlarged
// onto a bigger canvas, off-centre, dark ink on light paper (or the other way), with paper noise,
// then encoded as PNG (gray, RGB, RGBA with transparency, palette, 16-bit), JPEG or GIF.
// The PNG palette writer here is a test fixture (pngjs cannot write palette images), not a decoder.
import { deflateSync, crc32 } from 'node:zlib';
import { join } from 'node:path';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import omggif from 'omggif';
import { loadIdxImages, loadIdxLabels } from '../src/data/index.js';
import { projectRoot } from '../src/engine/root.js';
import type { RgbaImage } from '../src/infer/decode.js';
import { Rng } from '../src/util/rng.js';

const { PNG } = pngjs;

/** The first n MNIST test digits (28x28 u8, ink 255) and their labels. */
export function mnistTest(n: number): { images: Uint8Array[]; labels: number[] } {
  const dir = join(projectRoot(), 'data', 'mnist');
  const im = loadIdxImages(join(dir, 't10k-images-idx3-ubyte.gz'));
  const lb = loadIdxLabels(join(dir, 't10k-labels-idx1-ubyte.gz'));
  const images: Uint8Array[] = [];
  for (let i = 0; i < n; i++) images.push(im.images.slice(i * 784, (i + 1) * 784));
  return { images, labels: Array.from(lb.subarray(0, n)) };
}

export interface SceneOptions {
  width: number;
  height: number;
  /** Side of the enlarged digit (the 28x28 scaled by side/28, bilinear). */
  side: number;
  /** Top-left corner of the digit on the canvas. */
  x: number;
  y: number;
  /** Paper and ink colours (RGB); ink is drawn where the digit is bright. */
  paper: [number, number, number];
  ink: [number, number, number];
  /** Uniform paper noise amplitude in gray levels (seeded). */
  noise: number;
  seed: number;
  /** Transparent paper: alpha = ink coverage, colour = ink (for RGBA tests). */
  transparent?: boolean;
}

/** A digit drawn on a canvas as described: an RGBA picture. */
export function scene(digit: Uint8Array, o: SceneOptions): RgbaImage {
  const rng = new Rng(o.seed);
  const data = new Uint8Array(o.width * o.height * 4);
  const s = o.side / 28;
  for (let y = 0; y < o.height; y++) {
    for (let x = 0; x < o.width; x++) {
      // Bilinear sample of the digit at this canvas pixel's centre.
      const u = (x - o.x + 0.5) / s - 0.5, v = (y - o.y + 0.5) / s - 0.5;
      const cov = bilinear(digit, u, v) / 255;
      const n = o.noise ? (rng.float() * 2 - 1) * o.noise : 0;
      const i = (y * o.width + x) * 4;
      for (let c = 0; c < 3; c++) {
        // Transparent paper: the ink colour with alpha = coverage (dark ink, shown over white).
        const val = o.transparent ? Math.min(o.ink[c], o.paper[c]) : o.paper[c] + (o.ink[c] - o.paper[c]) * cov + n;
        data[i + c] = Math.max(0, Math.min(255, Math.round(val)));
      }
      data[i + 3] = o.transparent ? Math.round(cov * 255) : 255;
    }
  }
  return { width: o.width, height: o.height, data };
}

function bilinear(d: Uint8Array, u: number, v: number): number {
  const x0 = Math.floor(u), y0 = Math.floor(v), fx = u - x0, fy = v - y0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x > 27 || y > 27 ? 0 : d[y * 28 + x]);
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

/** PNG of the given colour type: 0 gray, 2 RGB, 6 RGBA (8-bit), or 16-bit gray with `bits16`. */
export function encodePng(img: RgbaImage, colorType: 0 | 2 | 6, bits16 = false): Uint8Array {
  if (bits16) {
    // 16-bit RGBA input (big-endian samples, as pngjs expects), written as 16-bit gray.
    const d16 = Buffer.alloc(img.width * img.height * 8);
    for (let i = 0; i < img.width * img.height * 4; i++) d16.writeUInt16BE(img.data[i] * 257, i * 2);
    return PNG.sync.write({ width: img.width, height: img.height, data: d16 } as any,
      { colorType, bitDepth: 16, inputHasAlpha: true } as any);
  }
  return PNG.sync.write({ width: img.width, height: img.height, data: Buffer.from(img.data) } as any,
    { colorType, inputColorType: 6, inputHasAlpha: true } as any);
}

/** 8-bit palette PNG (colour type 3) with a 256-level gray palette of the image's red channel. */
export function encodePalettePng(img: RgbaImage): Uint8Array {
  const chunk = (type: string, body: Uint8Array) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(img.width, 0);
  ihdr.writeUInt32BE(img.height, 4);
  ihdr.set([8, 3, 0, 0, 0], 8);
  const plte = Buffer.alloc(768);
  for (let i = 0; i < 256; i++) plte.set([i, i, i], i * 3);
  const raw = Buffer.alloc((img.width + 1) * img.height);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) raw[y * (img.width + 1) + 1 + x] = img.data[(y * img.width + x) * 4];
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('PLTE', plte), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

export function encodeJpeg(img: RgbaImage, quality = 85): Uint8Array {
  return jpeg.encode({ width: img.width, height: img.height, data: img.data }, quality).data;
}

/** GIF with a 256-level gray palette (red channel); index 0 transparent when `transparentBg`. */
export function encodeGif(img: RgbaImage, transparentBg = false): Uint8Array {
  const buf = new Uint8Array(img.width * img.height + 4096);
  const palette = Array.from({ length: 256 }, (_, i) => (i << 16) | (i << 8) | i);
  const w = new omggif.GifWriter(buf, img.width, img.height, { palette });
  const idx = Array.from({ length: img.width * img.height }, (_, i) =>
    transparentBg && img.data[i * 4 + 3] === 0 ? 0 : img.data[i * 4]);
  w.addFrame(0, 0, img.width, img.height, idx, transparentBg ? { transparent: 0 } : {});
  return buf.slice(0, w.end());
}

/** Varied realistic settings for the i-th test picture (seeded): size, place, colours, noise. */
export function varietyScene(digit: Uint8Array, i: number): SceneOptions {
  const rng = new Rng(1000 + i);
  const width = 120 + rng.int(160), height = 100 + rng.int(120);
  const side = Math.round(Math.min(width, height) * (0.5 + 0.4 * rng.float()));
  const paperLevel = 200 + rng.int(56), inkLevel = rng.int(70);
  const tint = rng.int(3);
  const paper: [number, number, number] = [paperLevel, paperLevel, paperLevel];
  const ink: [number, number, number] = [inkLevel, inkLevel, inkLevel];
  if (tint === 1) { ink[2] = Math.min(255, inkLevel + 120); } // blue ballpoint
  if (tint === 2) { paper[2] = paperLevel - 30; }            // yellowish paper
  const dark = i % 5 !== 4; // every fifth: light ink on a dark board
  return {
    width, height, side,
    x: rng.int(width - side + 1), y: rng.int(height - side + 1),
    paper: dark ? paper : ink, ink: dark ? ink : paper,
    noise: rng.int(25), seed: i,
  };
}
