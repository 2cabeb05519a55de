// One picture file -> planes, or the one-line reason it cannot be read. Used by the decode workers
// (decode-worker.ts) and in-process when there is one thread or a handful of files.
import { readFileSync } from 'node:fs';
import { decodeImage } from '../infer/decode.js';
import { rgbaToPlanes, type Planes } from './planes.js';

/** Largest picture a class folder may hold (pixels): a training picture is small; 16 MP is a photo. */
export const MAX_TRAIN_PIXELS = 16_000_000;

export type Decoded = { ok: true; planes: Planes } | { ok: false; error: string };

export async function decodeFile(path: string): Promise<Decoded> {
  try {
    const img = await decodeImage(readFileSync(path), MAX_TRAIN_PIXELS);
    return { ok: true, planes: rgbaToPlanes(img) };
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0] };
  }
}
