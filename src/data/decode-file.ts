// One picture file -> planes, or the one-line reason it cannot be read. Used by the decode workers
// (decode-worker.ts) and in-process when there is one thread or a handful of files.
// PNG, the common case of a training folder, has its own path here: infer's decodeImage checks a
// PNG's image data with a streaming inflate before pngjs inflates it again, which for thousands
// of thumbnails costs more than pngjs itself; here one native inflate, bounded by the size the
// header promises, makes the same check (short data = truncated, longer = corrupt).
import { readFileSync } from '../platform/fs.js';
import { inflateSync } from 'node:zlib';
import pngjs from 'pngjs';
import { checkDimensions, decodeImage, imageFormat, pngDataSize, readDimensions, type RgbaImage } from '../infer/decode.js';
import { rgbaToPlanes, type Planes } from './planes.js';

/** Largest picture a class folder may hold (pixels): a training picture is small; 16 MP is a photo. */
export const MAX_TRAIN_PIXELS = 16_000_000;

export type Decoded = { ok: true; planes: Planes } | { ok: false; error: string };

export async function decodeFile(path: string): Promise<Decoded> {
  try {
    const bytes = readFileSync(path);
    const img = imageFormat(bytes) === 'png' ? decodePng(bytes) : await decodeImage(bytes, MAX_TRAIN_PIXELS);
    return { ok: true, planes: rgbaToPlanes(img) };
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0] };
  }
}

function decodePng(bytes: Buffer): RgbaImage {
  const { width, height } = readDimensions(bytes, 'png');
  checkDimensions(width, height, MAX_TRAIN_PIXELS);
  const want = pngDataSize(width, height, bytes[24], bytes[25], bytes[28]);
  const idat: Buffer[] = [];
  for (let p = 8; p + 8 <= bytes.length;) {
    const len = bytes.readUInt32BE(p);
    const type = bytes.toString('latin1', p + 4, p + 8);
    if (type === 'IEND') break;
    if (type === 'IDAT') idat.push(bytes.subarray(p + 8, Math.min(bytes.length, p + 8 + len)));
    p += 12 + len;
  }
  if (!idat.length) throw new Error('corrupt PNG: it holds no image data');
  let got: number;
  try {
    got = inflateSync(Buffer.concat(idat), { maxOutputLength: want + 1, finishFlush: 2 /* Z_SYNC_FLUSH: a cut stream inflates what it has */ }).length;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') got = want + 1;
    else throw new Error(`corrupt PNG: ${(e as Error).message}`);
  }
  if (got > want) throw new Error(`corrupt PNG: its image data is larger than its ${width}x${height} header promises`);
  if (got < want) throw new Error(`truncated PNG: its image data covers ${(100 * got / want).toFixed(0)}% of the ${width}x${height} pixels its header promises`);
  const png = pngjs.PNG.sync.read(bytes);
  return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
}
