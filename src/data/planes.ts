// One decoded picture as the training set stores it: u8 planes C x H x W (C = 1 grey or 3 RGB),
// and the two conversions a class folder needs to make its pictures alike: grey <-> colour, and
// an area-averaging resize (the one infer uses) to the set's size.
import type { RgbaImage } from '../infer/decode.js';
import { resizeArea } from '../infer/prepare.js';

/** A picture as u8 planes, channel-major: data[(c * height + y) * width + x]. */
export interface Planes { channels: 1 | 3; height: number; width: number; data: Uint8Array }

/**
 * RGBA -> planes, alpha composited over white (transparent is background, as infer reads it).
 * A picture whose every pixel has R = G = B is grey: one plane, a third of the bytes.
 */
export function rgbaToPlanes(img: RgbaImage): Planes {
  const n = img.width * img.height;
  const d = img.data;
  const rgb = new Uint8Array(3 * n);
  let grey = true;
  for (let i = 0; i < n; i++) {
    const a = d[4 * i + 3];
    for (let c = 0; c < 3; c++) {
      const v = a === 255 ? d[4 * i + c] : Math.round((a * d[4 * i + c] + (255 - a) * 255) / 255);
      rgb[c * n + i] = v;
    }
    grey = grey && rgb[i] === rgb[n + i] && rgb[i] === rgb[2 * n + i];
  }
  return grey ? { channels: 1, height: img.height, width: img.width, data: rgb.slice(0, n) }
    : { channels: 3, height: img.height, width: img.width, data: rgb };
}

/** The same picture with `channels` planes: grey repeated three times, or colour to luminance (BT.601). */
export function withChannels(p: Planes, channels: 1 | 3): Planes {
  if (p.channels === channels) return p;
  const n = p.height * p.width;
  const out = new Uint8Array(channels * n);
  if (channels === 3) for (let c = 0; c < 3; c++) out.set(p.data.subarray(0, n), c * n);
  else for (let i = 0; i < n; i++) out[i] = Math.round(0.299 * p.data[i] + 0.587 * p.data[n + i] + 0.114 * p.data[2 * n + i]);
  return { channels, height: p.height, width: p.width, data: out };
}

/** The picture at height x width, each plane area-averaged (a true mean when shrinking). */
export function resizeTo(p: Planes, height: number, width: number): Planes {
  if (p.height === height && p.width === width) return p;
  const n = p.height * p.width;
  const out = new Uint8Array(p.channels * height * width);
  for (let c = 0; c < p.channels; c++) {
    const plane = Float32Array.from(p.data.subarray(c * n, (c + 1) * n));
    const r = resizeArea({ width: p.width, height: p.height, data: plane }, width, height).data;
    for (let i = 0; i < r.length; i++) out[c * height * width + i] = Math.min(255, Math.max(0, Math.round(r[i])));
  }
  return { channels: p.channels, height, width, data: out };
}

/** Any picture as a model of input C x H x W takes it: the same conversions training made. */
export function picturePlanes(img: RgbaImage, channels: 1 | 3, height: number, width: number): Uint8Array {
  return resizeTo(withChannels(rgbaToPlanes(img), channels), height, width).data;
}
