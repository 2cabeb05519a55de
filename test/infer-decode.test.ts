// Decoding real image files: every PNG flavour, JPEG, GIF, sniffed by magic bytes; bad files and
// absurd header sizes refused with one clear line, before any big allocation.
import { describe, expect, it } from 'vitest';
import { checkDimensions, decodeImage, readDimensions, sniffFormat, MAX_PIXELS } from '../src/infer/decode.js';
import { UserError } from '../src/errors.js';
import { encodeGif, encodeJpeg, encodePalettePng, encodePng, mnistTest, scene } from './infer-fixtures.js';

const { images } = mnistTest(1);
const base = scene(images[0], {
  width: 61, height: 47, side: 40, x: 13, y: 4, paper: [240, 235, 225], ink: [20, 30, 90], noise: 8, seed: 3,
});
const grayOf = (d: Uint8Array, i: number) => d[i * 4];

describe('sniffFormat', () => {
  it('reads the magic bytes, not the name', () => {
    expect(sniffFormat(encodePng(base, 2))).toBe('png');
    expect(sniffFormat(encodeJpeg(base))).toBe('jpeg');
    expect(sniffFormat(encodeGif(base))).toBe('gif');
    expect(sniffFormat(Buffer.from('BM\x00\x00'))).toBe('unsupported:BMP');
    expect(sniffFormat(Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 '))).toBe('unsupported:WebP');
    expect(sniffFormat(Buffer.from('hello, world'))).toBeNull();
  });
});

describe('decodeImage', () => {
  it('decodes 8-bit RGB and RGBA PNG exactly', async () => {
    for (const ct of [2, 6] as const) {
      const img = await decodeImage(encodePng(base, ct));
      expect([img.format, img.width, img.height]).toEqual(['png', 61, 47]);
      expect(Buffer.compare(Buffer.from(img.data), Buffer.from(base.data))).toBe(0);
    }
  });
  it('decodes RGBA transparency (alpha kept for compositing)', async () => {
    const t = scene(images[0], { ...sceneOpts(), transparent: true });
    const img = await decodeImage(encodePng(t, 6));
    expect(img.data[3]).toBe(0);
    expect(Math.max(...Array.from({ length: t.width * t.height }, (_, i) => img.data[i * 4 + 3]))).toBeGreaterThan(240);
  });
  it('decodes gray, palette and 16-bit gray PNG to the same gray levels', async () => {
    const want = encodePng(base, 0);
    const ref = await decodeImage(want);
    for (const bytes of [encodePalettePng(ref), encodePng(ref, 0, true)]) {
      const img = await decodeImage(bytes);
      for (let i = 0; i < img.width * img.height; i++) expect(grayOf(img.data, i)).toBe(grayOf(ref.data, i));
    }
  });
  it('decodes JPEG close to the source', async () => {
    const img = await decodeImage(encodeJpeg(base, 90));
    expect([img.format, img.width, img.height]).toEqual(['jpeg', 61, 47]);
    let diff = 0;
    for (let i = 0; i < base.data.length; i++) if (i % 4 !== 3) diff += Math.abs(img.data[i] - base.data[i]);
    expect(diff / (61 * 47 * 3)).toBeLessThan(6);
  });
  it('decodes GIF, transparent index as alpha 0', async () => {
    const img = await decodeImage(encodeGif(base));
    for (let i = 0; i < 61 * 47; i++) expect(grayOf(img.data, i)).toBe(base.data[i * 4]);
    const t = scene(images[0], { ...sceneOpts(), transparent: true });
    const timg = await decodeImage(encodeGif(t, true));
    expect(timg.data[3]).toBe(0);
  });
});

function sceneOpts() {
  return { width: 40, height: 40, side: 30, x: 5, y: 5, paper: [255, 255, 255] as [number, number, number],
    ink: [0, 0, 0] as [number, number, number], noise: 0, seed: 1 };
}

/** A PNG signature + IHDR claiming w x h, and nothing else. */
function pngHeader(w: number, h: number): Uint8Array {
  const b = Buffer.alloc(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 0);
  b.write('IHDR', 12, 'ascii');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b.set([8, 6, 0, 0, 0], 24);
  return b;
}

describe('bad files: one clear line each', () => {
  const msg = async (bytes: Uint8Array) => {
    try { await decodeImage(bytes); } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).not.toContain('\n');
      return (e as Error).message;
    }
    throw new Error('decoded a bad file');
  };
  it('empty file', async () => expect(await msg(new Uint8Array(0))).toMatch(/empty file/));
  it('not an image', async () => expect(await msg(Buffer.from('just some text\n'))).toMatch(/not an image/));
  it('BMP is named and refused with a hint', async () => expect(await msg(Buffer.from('BM6\x00\x00\x00'))).toMatch(/BMP.*convert it to PNG/));
  it('truncated PNG, JPEG, GIF', async () => {
    for (const [bytes, kind] of [[encodePng(base, 2), 'PNG'], [encodeJpeg(base), 'JPEG'], [encodeGif(base), 'GIF']] as const) {
      const cut = bytes.subarray(0, Math.floor(bytes.length * 0.6));
      expect(await msg(cut)).toMatch(new RegExp(`(truncated|corrupt).*${kind}|${kind}.*(truncated|corrupt)`));
      expect(await msg(bytes.subarray(0, 10))).toMatch(/truncated/);
    }
  });
  it('absurd header sizes are refused from the header alone', async () => {
    const t0 = performance.now();
    expect(await msg(pngHeader(100000, 100000))).toMatch(/too large: the header says 100000x100000/);
    // JPEG: SOI + SOF0 claiming 65535 x 65535.
    const jpg = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xff, 0xff, 0xff, 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    expect(await msg(jpg)).toMatch(/too large: the header says 65535x65535/);
    const gif = Buffer.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x3b]);
    expect(await msg(gif)).toMatch(/too large/);
    expect(await msg(pngHeader(0, 10))).toMatch(/0x10 pixels/);
    expect(performance.now() - t0).toBeLessThan(1000); // nothing of 40 GB was touched
  });
  it('reads sizes from headers and checks the cap', () => {
    expect(readDimensions(encodePng(base, 2), 'png')).toEqual({ width: 61, height: 47 });
    expect(readDimensions(encodeJpeg(base), 'jpeg')).toEqual({ width: 61, height: 47 });
    expect(readDimensions(encodeGif(base), 'gif')).toEqual({ width: 61, height: 47 });
    expect(() => checkDimensions(10000, 5001)).toThrow(UserError);
    expect(() => checkDimensions(10000, 5000)).not.toThrow();
    expect(MAX_PIXELS).toBe(50_000_000);
  });
});
