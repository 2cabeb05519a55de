// Image file -> RGBA pixels, for inference on real pictures. The format is sniffed from the magic
// bytes (never the extension); width and height are read from the header bytes here and checked
// against a pixel cap, and what the decoder would take against a memory budget, BEFORE any decoder
// allocates, so a file that claims 100000x100000 pixels is refused in microseconds. Decoding
// itself is done by the packages: pngjs (every PNG colour type and bit depth, converted to 8-bit
// RGBA), jpeg-js, omggif (first frame). BMP, WebP and TIFF are recognized and refused with a
// hint: no decoder for them ships with the project.
import { createInflate } from 'node:zlib';
import { UserError } from '../errors.js';

export type ImageFormat = 'png' | 'jpeg' | 'gif';

/** An 8-bit RGBA image, row-major, 4 bytes per pixel (straight, not premultiplied, alpha). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A decoded file: its pixels and where they came from. */
export interface DecodedImage extends RgbaImage {
  format: ImageFormat;
}

/** Largest image accepted, in pixels (50 megapixels: RGBA of it is 200 MB). */
export const MAX_PIXELS = 50_000_000;

/** The format named by the first bytes, 'unsupported:<name>' for known others, or null. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | `unsupported:${string}` | null {
  const b = bytes;
  const starts = (...sig: number[]) => sig.every((v, i) => b[i] === v);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38) && (b[4] === 0x37 || b[4] === 0x39) && b[5] === 0x61) return 'gif';
  if (starts(0x42, 0x4d)) return 'unsupported:BMP';
  if (starts(0x52, 0x49, 0x46, 0x46) && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) {
    return 'unsupported:WebP';
  }
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return 'unsupported:TIFF';
  return null;
}

/** The format of a file's first bytes (16 suffice); a UserError for anything but PNG, JPEG, GIF. */
export function imageFormat(head: Uint8Array): ImageFormat {
  if (head.length === 0) throw new UserError('empty file');
  const format = sniffFormat(head);
  if (format === null) throw new UserError('not an image: expected a PNG, JPEG or GIF file');
  if (format.startsWith('unsupported:')) {
    throw new UserError(`${format.slice(12)} images are not supported: convert it to PNG first`);
  }
  return format as ImageFormat;
}

/** Width and height as written in the header, without decoding; throws UserError if unreadable. */
export function readDimensions(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } {
  const be32 = (i: number) => ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
  if (format === 'png') {
    // Signature (8), then the IHDR chunk: length (4), "IHDR" (4), width (4), height (4).
    if (bytes.length < 33) throw new UserError('truncated PNG: the file ends inside its header');
    if (bytes[12] !== 0x49 || bytes[13] !== 0x48 || bytes[14] !== 0x44 || bytes[15] !== 0x52) {
      throw new UserError('corrupt PNG: the first chunk is not IHDR');
    }
    return { width: be32(16), height: be32(20) };
  }
  if (format === 'gif') {
    // "GIF89a", then the logical screen: width and height, little-endian u16.
    if (bytes.length < 13) throw new UserError('truncated GIF: the file ends inside its header');
    return { width: bytes[6] | (bytes[7] << 8), height: bytes[8] | (bytes[9] << 8) };
  }
  const { width, height } = jpegFrame(bytes);
  return { width, height };
}

/** A JPEG's frame header: its size and each component's sampling factors (h, v: 1..4). */
export interface JpegFrame { width: number; height: number; components: { h: number; v: number }[] }

/** Reads a JPEG's first start-of-frame header; throws UserError if there is none. */
export function jpegFrame(bytes: Uint8Array): JpegFrame {
  const be16 = (i: number) => (bytes[i] << 8) | bytes[i + 1];
  // Walk the marker segments to the first start-of-frame (SOF0..SOF15 except DHT, JPG, DAC).
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) throw new UserError('corrupt JPEG: bad marker in the header');
    const marker = bytes[p + 1];
    if (marker === 0xff) { p++; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { p += 2; continue; }
    const len = be16(p + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (p + 10 > bytes.length) break;
      // Length, precision, height, width, component count, then per component: id, h<<4|v, table.
      const components: { h: number; v: number }[] = [];
      for (let i = 0, o = p + 10; i < bytes[p + 9] && o + 2 < bytes.length; i++, o += 3) {
        components.push({ h: Math.max(1, bytes[o + 1] >> 4), v: Math.max(1, bytes[o + 1] & 15) });
      }
      return { width: be16(p + 7), height: be16(p + 5), components };
    }
    if (marker === 0xda || marker === 0xd9) throw new UserError('corrupt JPEG: no frame header before the image data');
    p += 2 + len;
  }
  throw new UserError('truncated JPEG: the file ends before its frame header');
}

/**
 * Bytes jpeg-js takes to decode a frame: it keeps every 8x8 block of every component (as it is
 * laid out in MCUs) as its own Int32Array(64), about 800 bytes each with the object and the
 * garbage collector's slack (measured: 21-44 bytes per pixel for 4:2:0 to 4:4:4 photos of
 * 4-16 MP), then a byte per component sample and the 4-byte RGBA result.
 */
export function jpegDecodeBytes(f: JpegFrame): number {
  const hMax = Math.max(1, ...f.components.map((c) => c.h)), vMax = Math.max(1, ...f.components.map((c) => c.v));
  const mcusX = Math.ceil(f.width / (8 * hMax)), mcusY = Math.ceil(f.height / (8 * vMax));
  let blocks = 0, samples = 0;
  for (const c of f.components) {
    blocks += mcusX * c.h * mcusY * c.v;
    samples += Math.ceil(f.width * c.h / hMax) * Math.ceil(f.height * c.v / vMax);
  }
  return blocks * JPEG_BYTES_PER_BLOCK + samples + 4 * f.width * f.height;
}

/** What one block costs jpeg-js (see jpegDecodeBytes). */
export const JPEG_BYTES_PER_BLOCK = 800;

/**
 * Most memory a JPEG decode may take. With Node itself (~45 MB), the file and the working copy
 * that prepare.ts shrinks it to, the process stays under 400 MB. It lets through a 12 MP phone
 * photo (4:2:0, about 282 MB) and refuses a 49 MP 4:4:4 one (about 2 GB) in one line.
 */
export const JPEG_DECODE_BUDGET = 300 * 2 ** 20;

/** Refuses sizes that are empty or above MAX_PIXELS (before anything is allocated). */
export function checkDimensions(width: number, height: number, maxPixels = MAX_PIXELS): void {
  if (width <= 0 || height <= 0) {
    throw new UserError(`corrupt image: the header says ${width}x${height} pixels`);
  }
  if (width * height > maxPixels) {
    throw new UserError(`image too large: the header says ${width}x${height} ` +
      `(${(width * height / 1e6).toFixed(0)} megapixels), the limit is ${maxPixels / 1e6} megapixels; ` +
      'scale it down first');
  }
}

/** Decodes a PNG, JPEG or GIF file's bytes to RGBA; every failure is a one-line UserError. */
export async function decodeImage(bytes: Uint8Array, maxPixels = MAX_PIXELS): Promise<DecodedImage> {
  const fmt = imageFormat(bytes);
  const { width, height } = readDimensions(bytes, fmt);
  checkDimensions(width, height, maxPixels);
  try {
    if (fmt === 'png') {
      const data = pngDataSize(width, height, bytes[24], bytes[25], bytes[28]);
      // pngjs holds the inflated data, its unfiltered copy and the RGBA result at once (16-bit
      // samples first as 16-bit RGBA, then scaled to 8 bits).
      const rgba = (bytes[24] === 16 ? 12 : 4) * width * height;
      checkDecodeBytes('PNG', width, height, 2 * data + rgba, PNG_DECODE_BUDGET);
      await checkPngData(bytes, width, height, data);
      return { format: fmt, ...(await decodePng(bytes)) };
    }
    if (fmt === 'jpeg') return { format: fmt, ...(await decodeJpeg(bytes, width, height, maxPixels)) };
    return { format: fmt, ...(await decodeGif(bytes, width, height, maxPixels)) };
  } catch (e) {
    if (e instanceof UserError) throw e;
    const why = (e as Error).message.split('\n')[0];
    throw new UserError(`cannot decode this ${fmt.toUpperCase()} (truncated or corrupt file): ${why}`);
  }
}

/**
 * Refuses, in one line, a picture whose decoder would take more than `budget` bytes: the process
 * must stay under 400 MB, and the decoders (pngjs, jpeg-js) hold whole pictures several times over.
 */
function checkDecodeBytes(kind: string, width: number, height: number, need: number, budget: number): void {
  if (need <= budget) return;
  const fits = Math.floor(budget / need * width * height / 1e5) / 10;
  throw new UserError(`${kind} too large to decode here: ${width}x${height} (${(width * height / 1e6).toFixed(1)} megapixels) ` +
    `would take about ${Math.round(need / 2 ** 20)} MB to decode, over the ${budget / 2 ** 20} MB allowed ` +
    `(${kind}s laid out like this one fit up to about ${fits} megapixels); scale it down first: a digit needs only 28x28 pixels`);
}

/**
 * Most memory a PNG decode may take, as 2x its inflated data + the RGBA result (the estimate;
 * the collector's slack and prepare.ts's working copy come on top: a 16 MP RGBA PNG estimated at
 * 192 MB peaks at 332 MiB, a 25 MP RGB one estimated at 250 MB at 404 MiB). It admits about
 * 17 MP RGBA, 21 MP RGB and 35 MP gray, whose peaks measured 339, 349 and 361 MiB.
 */
export const PNG_DECODE_BUDGET = 200 * 2 ** 20;

async function decodePng(bytes: Uint8Array): Promise<RgbaImage> {
  const { PNG } = (await import('pngjs')).default;
  // pngjs turns gray, gray+alpha, palette (with tRNS), RGB and RGBA at 1-16 bits into 8-bit RGBA.
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
}

async function decodeJpeg(bytes: Uint8Array, width: number, height: number, maxPixels: number): Promise<RgbaImage> {
  // A JPEG's scan data never holds FF D9 (FF is byte-stuffed), so a file without an end-of-image
  // marker after its first scan is cut short; jpeg-js would silently fill the rest with gray.
  if (!hasJpegEnd(bytes)) throw new UserError('truncated JPEG: the file ends before the image does');
  const frame = jpegFrame(bytes);
  const need = jpegDecodeBytes(frame);
  checkDecodeBytes('JPEG', width, height, need, JPEG_DECODE_BUDGET);
  const jpeg = (await import('jpeg-js')).default;
  // jpeg-js counts what it allocates against maxMemoryUsageInMB (4 bytes per block coefficient, a
  // byte per sample, 4 per RGBA pixel): far less than jpegDecodeBytes, which was checked above.
  const img = jpeg.decode(bytes, {
    useTArray: true, formatAsRGBA: true,
    maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.ceil(need / 2 ** 20) + 16,
  });
  return { width: img.width, height: img.height, data: img.data };
}

/** Channels per PNG colour type (PNG spec, 11.2.2 IHDR). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/** Bytes of inflated image data (filter byte + packed pixels per row, per pass) a PNG header promises. */
export function pngDataSize(width: number, height: number, bitDepth: number, colorType: number, interlace: number): number {
  const channels = PNG_CHANNELS[colorType];
  if (channels === undefined) throw new UserError(`corrupt PNG: unknown colour type ${colorType}`);
  const row = (w: number) => 1 + Math.ceil((w * channels * bitDepth) / 8);
  if (interlace === 0) return height * row(width);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const pw = Math.ceil((width - x0) / dx), ph = Math.ceil((height - y0) / dy);
    if (pw > 0 && ph > 0) total += ph * row(pw);
  }
  return total;
}

/**
 * Inflates a PNG's image data (its IDAT chunks, in order) without keeping it, and refuses data
 * that covers less or more than the `want` bytes its header promises (pngDataSize): pngjs would fill a short image with
 * whatever its filters make of the gap, and answer with a guess. Node's own zlib stream counts
 * the output as it comes (no JavaScript inflater to load: that cost 10 ms of infer's start-up).
 */
async function checkPngData(bytes: Uint8Array, width: number, height: number, want: number): Promise<void> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let p = 8;
  while (p + 8 <= bytes.length) {
    const len = dv.getUint32(p, false);
    const type = String.fromCharCode(bytes[p + 4], bytes[p + 5], bytes[p + 6], bytes[p + 7]);
    if (type === 'IEND') break;
    if (type === 'IDAT') idat.push(bytes.subarray(p + 8, Math.min(bytes.length, p + 8 + len)));
    p += 12 + len;
  }
  if (idat.length === 0) throw new UserError('corrupt PNG: it holds no image data');
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    const inflater = createInflate({ chunkSize: 1 << 16 });
    inflater.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got > want) {
        inflater.destroy();
        reject(new UserError(`corrupt PNG: its image data is larger than its ${width}x${height} header promises`));
      }
    });
    inflater.on('end', resolve);
    // A stream cut short (Z_BUF_ERROR, "unexpected end of file") is said below with how much it covers.
    inflater.on('error', (e: NodeJS.ErrnoException) => (e.code === 'Z_BUF_ERROR' && got < want ? resolve() : reject(e)));
    for (const d of idat) inflater.write(d);
    inflater.end();
  });
  if (got < want) {
    throw new UserError(`truncated PNG: its image data covers ${(100 * got / want).toFixed(0)}% of the ${width}x${height} ` +
      'pixels its header promises; the file is cut short or damaged');
  }
}

function hasJpegEnd(bytes: Uint8Array): boolean {
  let sos = -1;
  for (let i = 2; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xda) { sos = i; break; }
  }
  if (sos < 0) return false;
  for (let i = bytes.length - 2; i > sos; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

async function decodeGif(bytes: Uint8Array, width: number, height: number, maxPixels: number): Promise<RgbaImage> {
  // Every GIF ends with the trailer byte 0x3B; without it the data was cut short.
  if (bytes[bytes.length - 1] !== 0x3b) throw new UserError('truncated GIF: the file ends before its trailer');
  const { GifReader } = (await import('omggif')).default;
  const reader = new GifReader(bytes);
  if (reader.numFrames() < 1) throw new UserError('corrupt GIF: it holds no frame');
  // omggif allocates the frame's own size (not the screen's) and loops forever on some invalid
  // LZW codes (both found by the loader fuzz tests): check both before it decodes.
  const frame = reader.frameInfo(0);
  checkDimensions(frame.width, frame.height, maxPixels);
  checkGifLzw(bytes, frame.data_offset);
  // Transparent pixels are left at alpha 0 and composited over white later, like PNG's.
  const data = new Uint8Array(width * height * 4);
  // omggif console.log()s "gif stream shorter/longer than expected" for slightly damaged files:
  // that would land in stdout (and break `infer --json`); the picture is still decoded.
  const log = console.log;
  console.log = () => {};
  try {
    reader.decodeAndBlitFrameRGBA(0, data);
  } finally {
    console.log = log;
  }
  return { width, height, data };
}

/**
 * Walks the first frame's LZW codes exactly as omggif reads them and refuses a stream it would
 * misread: a minimum code size outside 2..8 (GIF89a), or a code beyond the next table entry (with
 * such codes omggif's table can form a cycle, and its prefix chase never ends). With every code at
 * most the next entry, each entry's prefix is an older entry, so every chase terminates.
 */
function checkGifLzw(b: Uint8Array, p: number): void {
  const bad = () => new UserError('corrupt GIF: invalid LZW image data');
  const min = b[p++];
  if (!(min >= 2 && min <= 8)) throw bad();
  const clear = 1 << min, eoi = clear + 1;
  let next = eoi + 1, size = min + 1, mask = (1 << size) - 1;
  let cur = 0, shift = 0, sub = b[p++] ?? 0, prev = -1;
  for (;;) {
    while (shift < 16 && sub !== 0 && p < b.length) {
      cur |= b[p++] << shift;
      shift += 8;
      sub = sub === 1 ? (b[p++] ?? 0) : sub - 1;
    }
    if (shift < size) return; // data ends (omggif stops here too)
    const code = cur & mask;
    cur >>= size;
    shift -= size;
    if (code === clear) { next = eoi + 1; size = min + 1; mask = (1 << size) - 1; prev = -1; continue; }
    if (code === eoi) return;
    if (code > next || (code === next && prev < 0)) throw bad();
    if (prev >= 0 && next < 4096) {
      next++;
      if (next >= mask + 1 && size < 12) { size++; mask = (mask << 1) | 1; }
    }
    prev = code;
  }
}
